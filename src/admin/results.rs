//! Reading results into plain Python values, and resolving a call's future with them.

use crate::errors::{FerroError, FerroResult};
use crate::topic_partition::{read_native_list, TopicPartition};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyNone};
use pyo3::IntoPyObjectExt;
use rdkafka::bindings as rdsys;
use std::convert::Infallible;

use super::request::{first_partition_error, local_error, native_array, native_error};

pub(super) fn wrong_result(context: &str) -> FerroError {
    local_error(context, "librdkafka returned a result of another type")
}

/// The group results of a ListConsumerGroupOffsets or AlterConsumerGroupOffsets result: the
/// partitions of the (only) group, or its first error (group-level, then partition-level).
///
/// # Safety
/// `groups` and `count` come from the `..._result_groups` accessor of a result event that stays
/// alive for the duration of the call.
pub(super) unsafe fn group_offsets(
    groups: *const *const rdsys::rd_kafka_group_result_t,
    count: usize,
    context: &str,
) -> FerroResult<Vec<TopicPartition>> {
    let mut partitions = Vec::new();
    // SAFETY: `groups` holds `count` group results owned by the live event (caller's guarantee).
    for &group in unsafe { native_array(groups, count) } {
        // SAFETY: `group` is a valid group result owned by the live event. Its error (NULL if none)
        // and its partition list (NULL if none) belong to it too, and are only read here.
        unsafe {
            if let Some(err) = native_error(rdsys::rd_kafka_group_result_error(group), context) {
                return Err(err);
            }
            partitions.extend(read_native_list(rdsys::rd_kafka_group_result_partitions(group)));
        }
    }
    first_partition_error(&partitions, &format!("{context}: partition"))?;
    let mut partitions: Vec<TopicPartition> = partitions.into_iter().map(|(tp, _)| tp).collect();
    partitions.sort();
    Ok(partitions)
}

/// A consumer group as `describe_groups` shows it.
pub(super) struct GroupDescription {
    pub(super) state: String,
    pub(super) group_type: String,
    pub(super) protocol: String,
    pub(super) members: Vec<GroupMember>,
}

pub(super) struct GroupMember {
    pub(super) member_id: String,
    pub(super) client_id: String,
    pub(super) host: String,
    pub(super) group_instance_id: Option<String>,
}

impl<'py> IntoPyObject<'py> for GroupMember {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("member_id", self.member_id)?;
        dict.set_item("client_id", self.client_id)?;
        dict.set_item("host", self.host)?;
        dict.set_item("group_instance_id", self.group_instance_id)?;
        Ok(dict)
    }
}

impl<'py> IntoPyObject<'py> for GroupDescription {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("state", self.state)?;
        dict.set_item("type", self.group_type)?;
        dict.set_item("protocol", self.protocol)?;
        dict.set_item("members", self.members)?;
        Ok(dict)
    }
}

/// What the calls that resolve to None return (`()` would become an empty tuple).
pub(super) struct Done;

impl<'py> IntoPyObject<'py> for Done {
    type Target = PyNone;
    type Output = Bound<'py, PyNone>;
    type Error = Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Bound<'py, PyNone>, Infallible> {
        Ok(PyNone::get(py).to_owned())
    }
}

/// Resolves `future` with the outcome of its request. With the GIL.
pub(super) fn resolve<T>(py: Python<'_>, future: &Bound<'_, PyAny>, outcome: FerroResult<T>)
where
    T: for<'py> IntoPyObject<'py>,
{
    let value = outcome.map_err(PyErr::from).and_then(|value| value.into_bound_py_any(py));
    let set = match value {
        Ok(value) => future.call_method1("set_result", (value,)),
        Err(err) => future.call_method1("set_exception", (err.into_value(py),)),
    };
    if let Err(err) = set {
        // Only a future someone else resolved could refuse; report it rather than lose it.
        err.write_unraisable(py, Some(future));
    }
}
