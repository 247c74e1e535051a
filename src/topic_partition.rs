//! `TopicPartition` and conversions to and from rdkafka's `TopicPartitionList`.

use std::ffi::CStr;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::{Offset, TopicPartitionList};

use crate::args::Int;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::bytes_at;

pub const OFFSET_BEGINNING: i64 = -2;
pub const OFFSET_END: i64 = -1;
pub const OFFSET_STORED: i64 = -1000;
pub const OFFSET_INVALID: i64 = -1001;

/// A topic, a partition and an offset (negative offsets are the logical OFFSET_* constants), with
/// what Kafka keeps beside a committed offset: its `metadata` string and the `leader_epoch` of the
/// message it follows (KIP-320). `error` is the partition's own error in an answer that lists
/// partitions (None when it has none).
///
/// As confluent-kafka's: `partition` and `offset` may be set (e.g. in `on_assign`, before
/// `assign(partitions)`); two TopicPartitions are equal, ordered and hashed by topic and partition
/// only, whatever their offsets.
#[pyclass(module = "ferrokafka")]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    #[pyo3(get)]
    pub topic: String,
    #[pyo3(get)]
    pub partition: i32,
    #[pyo3(get)]
    pub offset: i64,
    #[pyo3(get)]
    pub metadata: Option<String>,
    #[pyo3(get)]
    pub leader_epoch: Option<i32>,
    /// The partition's error code in librdkafka's terms; 0 for none.
    pub error_code: i32,
}

impl TopicPartition {
    pub fn new(topic: String, partition: i32, offset: i64) -> Self {
        TopicPartition { topic, partition, offset, metadata: None, leader_epoch: None, error_code: 0 }
    }

    /// The same partition at another offset, with nothing else carried over.
    pub fn at(&self, offset: i64) -> Self {
        TopicPartition::new(self.topic.clone(), self.partition, offset)
    }

    /// What Python's comparisons and hash look at: the partition, not where in it (as
    /// confluent-kafka's TopicPartition), so that the offset may change while it is in a set.
    fn key(&self) -> (&str, i32) {
        (&self.topic, self.partition)
    }
}

#[pymethods]
impl TopicPartition {
    #[new]
    #[pyo3(signature = (topic, partition=Int(-1), offset=Int(OFFSET_INVALID), metadata=None, leader_epoch=None))]
    fn py_new(
        topic: String,
        partition: Int<i32>,
        offset: Int<i64>,
        metadata: Option<String>,
        leader_epoch: Option<Int<i32>>,
    ) -> PyResult<Self> {
        let leader_epoch = leader_epoch_arg(leader_epoch)?;
        if metadata.as_deref().is_some_and(|m| m.contains('\0')) {
            return Err(pyo3::exceptions::PyValueError::new_err("metadata contains a NUL character"));
        }
        Ok(TopicPartition { metadata, leader_epoch, ..TopicPartition::new(topic, partition.0, offset.0) })
    }

    #[setter]
    fn set_partition(&mut self, partition: Int<i32>) {
        self.partition = partition.0;
    }

    #[setter]
    fn set_offset(&mut self, offset: Int<i64>) {
        self.offset = offset.0;
    }

    /// The partition's error in the answer it came from (a `KafkaError`), or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        (self.error_code != 0).then(|| {
            let context = format!("{:?} [{}]", self.topic, self.partition);
            KafkaErrorInfo::from_raw(self.error_code, &context, None).into_pyerr(py).into_value(py).into_any()
        })
    }

    fn __richcmp__(&self, other: PyRef<'_, TopicPartition>, op: CompareOp) -> bool {
        op.matches(self.key().cmp(&other.key()))
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.key().hash(&mut hasher);
        hasher.finish()
    }

    #[allow(clippy::type_complexity)]
    fn __getnewargs__(&self) -> (String, i32, i64, Option<String>, Option<i32>) {
        (self.topic.clone(), self.partition, self.offset, self.metadata.clone(), self.leader_epoch)
    }

    fn __repr__(&self) -> String {
        let mut repr =
            format!("TopicPartition(topic={:?}, partition={}, offset={}", self.topic, self.partition, self.offset);
        if let Some(metadata) = &self.metadata {
            repr.push_str(&format!(", metadata={metadata:?}"));
        }
        if let Some(epoch) = self.leader_epoch {
            repr.push_str(&format!(", leader_epoch={epoch}"));
        }
        if self.error_code != 0 {
            repr.push_str(&format!(", error={}", crate::errors::error_name(self.error_code)));
        }
        repr + ")"
    }
}

/// A leader epoch given from Python: None or -1 (librdkafka's "unknown") as None, a negative
/// other than -1 refused.
pub fn leader_epoch_arg(epoch: Option<Int<i32>>) -> PyResult<Option<i32>> {
    match epoch.map(|e| e.0) {
        Some(epoch) if epoch < -1 => {
            Err(pyo3::exceptions::PyValueError::new_err(format!("leader_epoch must be None or >= -1, not {epoch}")))
        }
        Some(-1) | None => Ok(None),
        epoch => Ok(epoch),
    }
}

/// Copies partitions given from Python (as `PyRef`s) out of their Python objects.
pub fn partitions_arg(partitions: Vec<PyRef<'_, TopicPartition>>) -> Vec<TopicPartition> {
    partitions.iter().map(|p| (**p).clone()).collect()
}

/// Kafka's longest topic name. librdkafka crashes on names past 512 bytes in some calls (assign):
/// every name ferrokafka passes on is checked against Kafka's own limit first.
pub const MAX_TOPIC_NAME: usize = 249;

/// Checks a topic name before it reaches librdkafka: not empty, no NUL, at most [`MAX_TOPIC_NAME`].
pub fn check_topic_name(name: &str) -> FerroResult<()> {
    if name.is_empty() {
        return Err(FerroError::Value("topic name must not be empty".into()));
    }
    if name.contains('\0') {
        return Err(FerroError::Value(format!("topic name {name:?} contains a NUL character")));
    }
    if name.len() > MAX_TOPIC_NAME {
        let start: String = name.chars().take(20).collect();
        return Err(FerroError::Value(format!(
            "topic name {start:?}... is {} bytes long; Kafka allows {MAX_TOPIC_NAME}",
            name.len()
        )));
    }
    Ok(())
}

/// A checked topic name (see [`check_topic_name`]) as a C string.
pub fn topic_cstring(name: &str) -> FerroResult<std::ffi::CString> {
    check_topic_name(name)?;
    std::ffi::CString::new(name).map_err(|_| FerroError::Value("topic name contains a NUL character".into()))
}

/// Builds rdkafka's list from Python partitions.
pub fn to_list(partitions: &[TopicPartition]) -> FerroResult<TopicPartitionList> {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        // rdkafka's add_partition panics on a NUL, librdkafka crashes on very long names.
        check_topic_name(&tp.topic)?;
        let mut elem = list.add_partition(&tp.topic, tp.partition);
        elem.set_offset(Offset::from_raw(tp.offset)).map_err(FerroError::from)?;
        if let Some(metadata) = &tp.metadata {
            elem.set_metadata(metadata); // a fresh element: no earlier metadata to leak
        }
        if let Some(epoch) = tp.leader_epoch {
            // rdkafka's element has no setter for it: the element just added is the list's last.
            let last = list.count() - 1;
            // SAFETY: `list` owns a live rd_kafka_topic_partition_list_t whose `elems` holds `cnt`
            // initialised elements; add_partition appended one (so cnt >= 1) and `last` = cnt - 1
            // points to it. No Rust reference to it is used after `elem` above, and librdkafka's
            // setter writes only that element's own leader-epoch field.
            unsafe { rdsys::rd_kafka_topic_partition_set_leader_epoch((*list.ptr()).elems.add(last), epoch) };
        }
    }
    Ok(list)
}

/// Reads rdkafka's list without trusting topic names to be UTF-8 (rdkafka's accessor would panic).
pub fn from_list(list: &TopicPartitionList) -> Vec<TopicPartition> {
    // SAFETY: `list.ptr()` is the live rd_kafka_topic_partition_list_t owned by `list`, which is
    // borrowed (so neither freed nor modified) for the duration of the call.
    unsafe { read_native_list(list.ptr()) }
}

/// The first partition with an error code, as the error of the whole call: `what` names the call,
/// the partition is appended.
pub fn first_partition_error<'a>(
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
    what: &str,
) -> Result<(), KafkaErrorInfo> {
    match partitions.into_iter().find(|tp| tp.error_code != 0) {
        Some(tp) => {
            Err(KafkaErrorInfo::from_raw(tp.error_code, &format!("{what} {:?} [{}]", tp.topic, tp.partition), None))
        }
        None => Ok(()),
    }
}

/// Reads one element of a librdkafka partition list, with its commit metadata, leader epoch and
/// error code (`error_code`, 0 = none).
///
/// The error code is read as the plain `int` it is in C: brokers may send codes that librdkafka
/// passes through but rdkafka-sys's Rust enum has no variant for, and such a value must never be
/// materialised as that enum. The topic name is decoded lossily, so nothing here can panic.
///
/// # Safety
/// `elem` points to an initialised `rd_kafka_topic_partition_t` whose `topic` is NULL or a
/// NUL-terminated string, both valid (not freed or modified) for the duration of the call.
pub unsafe fn read_native_partition(elem: *const rdsys::rd_kafka_topic_partition_t) -> TopicPartition {
    // SAFETY: the caller guarantees `elem` and its `topic` string are valid for this call. Fields are
    // read through the raw pointer one by one, so no reference to the whole struct (with its
    // enum-typed `err` field) is formed; `err` is read as the i32 that its #[repr(i32)] enum type
    // occupies, which every bit pattern is valid for.
    unsafe {
        let topic = (*elem).topic;
        let topic = if topic.is_null() { String::new() } else { CStr::from_ptr(topic).to_string_lossy().into_owned() };
        let err = std::ptr::addr_of!((*elem).err).cast::<i32>().read();
        let metadata =
            bytes_at((*elem).metadata, (*elem).metadata_size).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
        let epoch = rdsys::rd_kafka_topic_partition_get_leader_epoch(elem);
        TopicPartition {
            metadata,
            leader_epoch: (epoch >= 0).then_some(epoch),
            error_code: err,
            ..TopicPartition::new(topic, (*elem).partition, (*elem).offset)
        }
    }
}

/// Reads every element of a librdkafka partition list (see [`read_native_partition`]).
///
/// # Safety
/// `list` is NULL (read as empty) or points to a valid `rd_kafka_topic_partition_list_t` whose
/// `elems` holds `cnt` initialised entries, not freed or modified for the duration of the call.
pub unsafe fn read_native_list(list: *const rdsys::rd_kafka_topic_partition_list_t) -> Vec<TopicPartition> {
    // SAFETY: the caller guarantees `list` is NULL or valid with `cnt` initialised `elems` for this
    // call, so every `elems.add(i)` with i < cnt points to an initialised element.
    unsafe {
        if list.is_null() || (*list).elems.is_null() {
            return Vec::new();
        }
        let count = usize::try_from((*list).cnt).unwrap_or(0);
        (0..count).map(|i| read_native_partition((*list).elems.add(i))).collect()
    }
}

/// The logical offsets as module constants.
pub fn add_constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("OFFSET_BEGINNING", OFFSET_BEGINNING)?;
    m.add("OFFSET_END", OFFSET_END)?;
    m.add("OFFSET_STORED", OFFSET_STORED)?;
    m.add("OFFSET_INVALID", OFFSET_INVALID)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rdkafka_lists() {
        let parts = vec![TopicPartition::new("a".into(), 0, 5), TopicPartition::new("b".into(), 2, OFFSET_BEGINNING)];
        assert_eq!(from_list(&to_list(&parts).unwrap()), parts);
    }

    #[test]
    fn nul_in_a_topic_name_is_an_error_not_a_panic() {
        let parts = vec![TopicPartition::new("a\0b".into(), 0, 0)];
        assert!(matches!(to_list(&parts), Err(FerroError::Value(_))));
    }
}
