//! Reading results into plain Python values, and resolving a call's future with them.

use std::collections::BTreeMap;
use std::convert::Infallible;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyNone};
use pyo3::IntoPyObjectExt;
use rdkafka::bindings as rdsys;

use super::request::kafka_error;
use crate::errors::FerroResult;
use crate::ffi::{self as raw, lossy, native_array};
use crate::native::results::{GroupDescription, GroupMember};

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
