//! `TopicPartition` and its argument checks; the conversions to and from librdkafka's partition
//! lists live in the FFI layer (`native::partitions`).

#![forbid(unsafe_code)]

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::Int;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};

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

    /// For the confluent-kafka drop-in: `metadata` committed as confluent-kafka commits it, a C
    /// string with its NUL (`'x'` goes as the two bytes `x\0`, `''` as one), so that what either
    /// client committed reads back the same in both (each reads up to the first NUL).
    #[staticmethod]
    #[pyo3(signature = (topic, partition, offset, metadata, leader_epoch=None))]
    fn _with_c_string_metadata(
        topic: String,
        partition: Int<i32>,
        offset: Int<i64>,
        metadata: String,
        leader_epoch: Option<Int<i32>>,
    ) -> PyResult<Self> {
        let mut tp = Self::py_new(topic, partition, offset, Some(metadata), leader_epoch)?;
        if let Some(metadata) = tp.metadata.as_mut() {
            metadata.push('\0');
        }
        Ok(tp)
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

    /// Pickles through the constructor that made it: metadata kept as a C string (the drop-in's,
    /// ending in NUL) is rebuilt by `_with_c_string_metadata`, which the plain one would refuse.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let this = slf.borrow();
        let (constructor, metadata) = match this.metadata.as_deref().and_then(|m| m.strip_suffix('\0')) {
            Some(text) => (slf.get_type().getattr("_with_c_string_metadata")?, Some(text.to_owned())),
            None => (slf.get_type().into_any(), this.metadata.clone()),
        };
        let args = (this.topic.clone(), this.partition, this.offset, metadata, this.leader_epoch);
        Ok((constructor, args.into_pyobject(py)?))
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

/// The logical offsets as module constants.
pub fn add_constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("OFFSET_BEGINNING", OFFSET_BEGINNING)?;
    m.add("OFFSET_END", OFFSET_END)?;
    m.add("OFFSET_STORED", OFFSET_STORED)?;
    m.add("OFFSET_INVALID", OFFSET_INVALID)?;
    Ok(())
}
