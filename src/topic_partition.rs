//! `TopicPartition` and conversions to and from rdkafka's `TopicPartitionList`.

use std::ffi::CStr;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use rdkafka::{Offset, TopicPartitionList};

use crate::errors::{FerroError, FerroResult};

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
    #[pyo3(signature = (topic, partition=-1, offset=OFFSET_INVALID))]
    fn py_new(topic: String, partition: i32, offset: i64) -> Self {
        TopicPartition { topic, partition, offset }
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

/// Builds rdkafka's list from Python partitions.
pub fn to_list(partitions: &[TopicPartition]) -> FerroResult<TopicPartitionList> {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        list.add_partition_offset(&tp.topic, tp.partition, Offset::from_raw(tp.offset))
            .map_err(FerroError::from)?;
    }
    Ok(list)
}

/// Reads rdkafka's list without trusting topic names to be UTF-8 (rdkafka's accessor would panic).
pub fn from_list(list: &TopicPartitionList) -> Vec<TopicPartition> {
    let native = list.ptr();
    // SAFETY: `native` is the live rd_kafka_topic_partition_list_t owned by `list`, borrowed for this
    // call; `elems` holds `cnt` initialised entries whose `topic` is a NUL-terminated string.
    unsafe {
        let count = usize::try_from((*native).cnt).unwrap_or(0);
        (0..count)
            .map(|i| {
                let elem = &*(*native).elems.add(i);
                TopicPartition {
                    topic: CStr::from_ptr(elem.topic).to_string_lossy().into_owned(),
                    partition: elem.partition,
                    offset: elem.offset,
                }
            })
            .collect()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TopicPartition>()?;
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
}
