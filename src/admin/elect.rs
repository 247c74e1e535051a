//! `elect_leaders(election_type, partitions=None)`: preferred or unclean leader election, as
//! confluent-kafka's (a dict of each partition's outcome).

#![forbid(unsafe_code)]

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rdkafka::bindings as rdsys;
use rdkafka::TopicPartitionList;

use super::args::enum_arg;
use super::request::{local_error, Call, Request};
use crate::errors::{FerroResult, KafkaErrorInfo};
use crate::native::results as native;
use crate::topic_partition::TopicPartition;

/// rd_kafka_ElectionType_t, by confluent-kafka's `ElectionType` names.
const ELECTION_TYPES: [(&str, i32); 2] = [("PREFERRED", 0), ("UNCLEAN", 1)];

pub(super) fn election_type_arg(value: &Bound<'_, PyAny>) -> PyResult<i32> {
    enum_arg(value, "election_type", &ELECTION_TYPES)
}

/// Each partition and its error (None: elected, or nothing to do for it).
pub(super) struct Elections(Vec<(TopicPartition, Option<KafkaErrorInfo>)>);

impl<'py> IntoPyObject<'py> for Elections {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (tp, error) in self.0 {
            dict.set_item(tp, error.map(|info| info.into_pyerr(py).into_value(py)))?;
        }
        Ok(dict)
    }
}

/// Runs the election for `partitions` (None: every partition, for preferred elections).
pub(super) fn elect_leaders(
    call: Call<'_>,
    election_type: i32,
    partitions: Option<&TopicPartitionList>,
) -> FerroResult<()> {
    let context = "could not elect leaders";
    let request = crate::native::admin::elect_leaders(election_type, partitions)
        .ok_or_else(|| local_error(context, "librdkafka could not allocate the request"))?;
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ELECTLEADERS, context),
        |admin, options| admin.elect_leaders(&request, options),
        move |event| {
            let mut outcomes = native::elected_partitions(event, context)?;
            outcomes.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Elections(outcomes))
        },
    )
}
