//! Reading results into plain Python values, and resolving a call's future with them.

use std::collections::BTreeMap;
use std::convert::Infallible;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyNone};
use pyo3::IntoPyObjectExt;
use rdkafka::bindings as rdsys;

use super::request::{kafka_error, native_error};
use crate::errors::FerroResult;
use crate::ffi::{self as raw, lossy, native_array};

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

/// The entries of one resource of a DescribeConfigs result, into `entries` (those without a
/// value, sensitive ones among them, are left out), or the resource's error.
///
/// # Safety
/// `resource` belongs to a DescribeConfigs result event that stays alive during the call.
pub(super) unsafe fn config_entries(
    resource: *const rdsys::rd_kafka_ConfigResource_t,
    context: &str,
    entries: &mut BTreeMap<String, String>,
) -> FerroResult<()> {
    // SAFETY: a live resource (caller's guarantee); the code is read as the int it is.
    let code = unsafe { raw::rd_kafka_ConfigResource_error(resource) };
    if code != 0 {
        // SAFETY: the resource's error string (or NULL), copied while the resource is alive.
        let detail = unsafe { lossy(rdsys::rd_kafka_ConfigResource_error_string(resource)) };
        return Err(kafka_error(code, context, detail));
    }
    let mut count = 0;
    // SAFETY: a live resource; librdkafka writes the array's length into `count`.
    let configs = unsafe { rdsys::rd_kafka_ConfigResource_configs(resource, &mut count) };
    // SAFETY: `count` entries owned by the resource, alive during the call.
    for &entry in unsafe { native_array(configs, count) } {
        // SAFETY: the entry's name and value strings (or NULL), copied while it is alive.
        let (name, value) = unsafe {
            (lossy(rdsys::rd_kafka_ConfigEntry_name(entry)), lossy(rdsys::rd_kafka_ConfigEntry_value(entry)))
        };
        if let (Some(name), Some(value)) = (name, value) {
            entries.insert(name, value);
        }
    }
    Ok(())
}

/// One group of a DescribeConsumerGroups result: its id and description, or its error.
///
/// # Safety
/// `group` belongs to a DescribeConsumerGroups result event that stays alive during the call.
pub(super) unsafe fn group_description(
    group: *const rdsys::rd_kafka_ConsumerGroupDescription_t,
    context: &str,
) -> FerroResult<(String, GroupDescription)> {
    // SAFETY: the group's id string, copied while the group is alive (caller's guarantee).
    let group_id = unsafe { lossy(rdsys::rd_kafka_ConsumerGroupDescription_group_id(group)) }.unwrap_or_default();
    // SAFETY: the group's error object (or NULL), owned by the group and only read.
    let error = unsafe {
        native_error(rdsys::rd_kafka_ConsumerGroupDescription_error(group), &format!("{context} {group_id:?}"))
    };
    if let Some(err) = error {
        return Err(err);
    }
    // SAFETY: a live group; state and type come from librdkafka's own mapping (always a variant of
    // its enum) and their names are static strings.
    let (state, group_type) = unsafe {
        (
            lossy(rdsys::rd_kafka_consumer_group_state_name(rdsys::rd_kafka_ConsumerGroupDescription_state(group))),
            lossy(rdsys::rd_kafka_consumer_group_type_name(rdsys::rd_kafka_ConsumerGroupDescription_type(group))),
        )
    };
    // SAFETY: the group's assignor name (or NULL), copied while it is alive.
    let protocol = unsafe { lossy(rdsys::rd_kafka_ConsumerGroupDescription_partition_assignor(group)) };
    // SAFETY: a live group.
    let member_count = unsafe { rdsys::rd_kafka_ConsumerGroupDescription_member_count(group) };
    let members = (0..member_count)
        // SAFETY: an index below the count; the member (or NULL) belongs to the group.
        .map(|i| unsafe { rdsys::rd_kafka_ConsumerGroupDescription_member(group, i) })
        .filter(|member| !member.is_null())
        // SAFETY: a member of the live group.
        .map(|member| unsafe { group_member(member) })
        .collect();
    let description = GroupDescription {
        state: state.unwrap_or_default(),
        group_type: group_type.unwrap_or_default(),
        protocol: protocol.unwrap_or_default(),
        members,
    };
    Ok((group_id, description))
}

/// One member of a group description.
///
/// # Safety
/// `member` belongs to a group description of a result event that stays alive during the call.
unsafe fn group_member(member: *const rdsys::rd_kafka_MemberDescription_t) -> GroupMember {
    // SAFETY: the member's strings (or NULL), each copied while the member is alive.
    unsafe {
        GroupMember {
            member_id: lossy(rdsys::rd_kafka_MemberDescription_consumer_id(member)).unwrap_or_default(),
            client_id: lossy(rdsys::rd_kafka_MemberDescription_client_id(member)).unwrap_or_default(),
            host: lossy(rdsys::rd_kafka_MemberDescription_host(member)).unwrap_or_default(),
            group_instance_id: lossy(rdsys::rd_kafka_MemberDescription_group_instance_id(member)),
        }
    }
}
