//! `list_offsets()` with confluent-kafka's `OffsetSpec` (earliest, latest, max_timestamp, a
//! timestamp) and its `ListOffsetsResultInfo` (offset, timestamp, leader epoch).

#![forbid(unsafe_code)]

use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::TopicPartitionList;

use super::request::{Call, Request};
use crate::errors::{FerroError, FerroResult};
use crate::native::results::{listed_offsets, Event};
use crate::topic_partition::{first_partition_error, TopicPartition};

const EARLIEST: i64 = rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST as i64;
const LATEST: i64 = rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64;
const MAX_TIMESTAMP: i64 = rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_MAX_TIMESTAMP as i64;

/// Which offset `list_offsets()` looks up: confluent-kafka's `OffsetSpec`.
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSpec(pub(super) i64);

#[pymethods]
impl OffsetSpec {
    /// The first offset still in the log.
    #[staticmethod]
    fn earliest() -> Self {
        OffsetSpec(EARLIEST)
    }

    /// The next offset to be written (the high watermark).
    #[staticmethod]
    fn latest() -> Self {
        OffsetSpec(LATEST)
    }

    /// The offset of the message with the largest timestamp (and that timestamp).
    #[staticmethod]
    fn max_timestamp() -> Self {
        OffsetSpec(MAX_TIMESTAMP)
    }

    /// The first offset whose timestamp is at least `timestamp` (milliseconds since the epoch), or
    /// -1 (the end) when there is none.
    #[staticmethod]
    fn for_timestamp(timestamp: i64) -> PyResult<Self> {
        if timestamp < 0 {
            return Err(
                FerroError::Value(format!("timestamp must be >= 0 (ms since the epoch), not {timestamp}")).into()
            );
        }
        Ok(OffsetSpec(timestamp))
    }

    fn __repr__(&self) -> String {
        match self.0 {
            EARLIEST => "OffsetSpec.earliest()".into(),
            LATEST => "OffsetSpec.latest()".into(),
            MAX_TIMESTAMP => "OffsetSpec.max_timestamp()".into(),
            timestamp => format!("OffsetSpec.for_timestamp({timestamp})"),
        }
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<OffsetSpec>().is_ok_and(|other| *other.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        self.0 as u64
    }
}

/// A spec given as an `OffsetSpec` or by name ("earliest", "latest", "max_timestamp").
pub(super) fn spec_arg(spec: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(spec) = spec.cast::<OffsetSpec>() {
        return Ok(spec.get().0);
    }
    match spec.extract::<String>() {
        Ok(name) => match name.as_str() {
            "earliest" => Ok(EARLIEST),
            "latest" => Ok(LATEST),
            "max_timestamp" => Ok(MAX_TIMESTAMP),
            other => Err(FerroError::Value(format!(
                "spec must be \"earliest\", \"latest\", \"max_timestamp\" or an OffsetSpec, not {other:?}"
            ))
            .into()),
        },
        Err(_) => {
            let type_name = spec.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            Err(FerroError::Type(format!("spec must be a str or an OffsetSpec, not {type_name}")).into())
        }
    }
}

/// The request list: each partition with its spec as its offset. rdkafka refuses negative
/// offsets it has no name for (max_timestamp is -3): they are written into the list afterwards.
pub(super) fn spec_list(requested: &[TopicPartition]) -> FerroResult<TopicPartitionList> {
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = requested.iter().find(|tp| !seen.insert((tp.topic.as_str(), tp.partition))) {
        return Err(FerroError::Value(format!("partition {:?} [{}] is listed twice", twice.topic, twice.partition)));
    }
    let placeholders: Vec<TopicPartition> = requested.iter().map(|tp| tp.at(LATEST)).collect();
    let mut list = crate::native::partitions::to_list(&placeholders)?;
    let specs: Vec<i64> = requested.iter().map(|tp| tp.offset).collect();
    crate::native::partitions::write_raw_offsets(&mut list, &specs);
    Ok(list)
}

/// The answer for one partition: confluent-kafka's `ListOffsetsResultInfo`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct ListOffsetsResultInfo {
    /// -1 for a timestamp spec that no message reaches.
    pub offset: i64,
    /// The message's timestamp (ms) for max_timestamp and timestamp specs; -1 otherwise.
    pub timestamp: i64,
    /// The leader epoch of that offset, None when the broker did not say.
    pub leader_epoch: Option<i32>,
}

#[pymethods]
impl ListOffsetsResultInfo {
    fn __repr__(&self) -> String {
        format!(
            "ListOffsetsResultInfo(offset={}, timestamp={}, leader_epoch={})",
            self.offset,
            self.timestamp,
            self.leader_epoch.map_or("None".into(), |e| e.to_string())
        )
    }
}

/// Runs ListOffsets for `list` (each partition's offset is its spec): each partition with its
/// answer, or the first partition's error.
pub(super) fn list_offsets<T>(
    call: Call<'_>,
    list: &TopicPartitionList,
    context: &'static str,
    read: impl FnOnce(Vec<(TopicPartition, ListOffsetsResultInfo)>) -> FerroResult<T> + Send + 'static,
) -> FerroResult<()>
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS, context),
        |admin, options| admin.list_offsets(list, options),
        move |event| read(answers(event, context)?),
    )
}

/// Each partition of a ListOffsets result with its answer, or the first partition's error.
fn answers(event: &Event, context: &str) -> FerroResult<Vec<(TopicPartition, ListOffsetsResultInfo)>> {
    let mut answers = Vec::new();
    for (tp, timestamp) in listed_offsets(event, context)? {
        let answer = ListOffsetsResultInfo { offset: tp.offset, timestamp, leader_epoch: tp.leader_epoch };
        answers.push((tp, answer));
    }
    first_partition_error(answers.iter().map(|(tp, _)| tp), &format!("{context} of partition"))?;
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(answers)
}
