//! `TopicPartition` and conversions to and from rdkafka's `TopicPartitionList`.

use std::ffi::CStr;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::{Offset, TopicPartitionList};

use crate::args::Int;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};

pub const OFFSET_BEGINNING: i64 = -2;
pub const OFFSET_END: i64 = -1;
pub const OFFSET_STORED: i64 = -1000;
pub const OFFSET_INVALID: i64 = -1001;

/// A topic, a partition and an offset (negative offsets are the logical OFFSET_* constants).
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    #[pyo3(get)]
    pub topic: String,
    #[pyo3(get)]
    pub partition: i32,
    #[pyo3(get)]
    pub offset: i64,
}

#[pymethods]
impl TopicPartition {
    #[new]
    #[pyo3(signature = (topic, partition=Int(-1), offset=Int(OFFSET_INVALID)))]
    fn py_new(topic: String, partition: Int<i32>, offset: Int<i64>) -> Self {
        TopicPartition { topic, partition: partition.0, offset: offset.0 }
    }

    fn __richcmp__(&self, other: PyRef<'_, TopicPartition>, op: CompareOp) -> bool {
        op.matches(self.cmp(&other))
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }

    fn __getnewargs__(&self) -> (String, i32, i64) {
        (self.topic.clone(), self.partition, self.offset)
    }

    fn __repr__(&self) -> String {
        format!("TopicPartition(topic={:?}, partition={}, offset={})", self.topic, self.partition, self.offset)
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
        list.add_partition_offset(&tp.topic, tp.partition, Offset::from_raw(tp.offset)).map_err(FerroError::from)?;
    }
    Ok(list)
}

/// Reads rdkafka's list without trusting topic names to be UTF-8 (rdkafka's accessor would panic).
pub fn from_list(list: &TopicPartitionList) -> Vec<TopicPartition> {
    // SAFETY: `list.ptr()` is the live rd_kafka_topic_partition_list_t owned by `list`, which is
    // borrowed (so neither freed nor modified) for the duration of the call.
    unsafe { read_native_list(list.ptr()) }.into_iter().map(|(tp, _err)| tp).collect()
}

/// The first partition with an error code (as [`read_native_list`] returns them), as the error of
/// the whole call: `what` names the call, the partition is appended.
pub fn first_partition_error(partitions: &[(TopicPartition, i32)], what: &str) -> Result<(), KafkaErrorInfo> {
    match partitions.iter().find(|(_, err)| *err != 0) {
        Some((tp, err)) => {
            Err(KafkaErrorInfo::from_raw(*err, &format!("{what} {:?} [{}]", tp.topic, tp.partition), None))
        }
        None => Ok(()),
    }
}

/// Reads one element of a librdkafka partition list: the partition and its error code (0 = none).
///
/// The error code is read as the plain `int` it is in C: brokers may send codes that librdkafka
/// passes through but rdkafka-sys's Rust enum has no variant for, and such a value must never be
/// materialised as that enum. The topic name is decoded lossily, so nothing here can panic.
///
/// # Safety
/// `elem` points to an initialised `rd_kafka_topic_partition_t` whose `topic` is NULL or a
/// NUL-terminated string, both valid (not freed or modified) for the duration of the call.
pub unsafe fn read_native_partition(elem: *const rdsys::rd_kafka_topic_partition_t) -> (TopicPartition, i32) {
    // SAFETY: the caller guarantees `elem` and its `topic` string are valid for this call. Fields are
    // read through the raw pointer one by one, so no reference to the whole struct (with its
    // enum-typed `err` field) is formed; `err` is read as the i32 that its #[repr(i32)] enum type
    // occupies, which every bit pattern is valid for.
    unsafe {
        let topic = (*elem).topic;
        let topic = if topic.is_null() { String::new() } else { CStr::from_ptr(topic).to_string_lossy().into_owned() };
        let err = std::ptr::addr_of!((*elem).err).cast::<i32>().read();
        (TopicPartition { topic, partition: (*elem).partition, offset: (*elem).offset }, err)
    }
}

/// Reads every element of a librdkafka partition list with its error code (see
/// [`read_native_partition`]).
///
/// # Safety
/// `list` is NULL (read as empty) or points to a valid `rd_kafka_topic_partition_list_t` whose
/// `elems` holds `cnt` initialised entries, not freed or modified for the duration of the call.
pub unsafe fn read_native_list(list: *const rdsys::rd_kafka_topic_partition_list_t) -> Vec<(TopicPartition, i32)> {
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
        let parts = vec![
            TopicPartition { topic: "a".into(), partition: 0, offset: 5 },
            TopicPartition { topic: "b".into(), partition: 2, offset: OFFSET_BEGINNING },
        ];
        assert_eq!(from_list(&to_list(&parts).unwrap()), parts);
    }

    #[test]
    fn nul_in_a_topic_name_is_an_error_not_a_panic() {
        let parts = vec![TopicPartition { topic: "a\0b".into(), partition: 0, offset: 0 }];
        assert!(matches!(to_list(&parts), Err(FerroError::Value(_))));
    }
}
