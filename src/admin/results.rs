//! Reading results into plain Python values, and resolving a call's future with them.

#![forbid(unsafe_code)]

use std::convert::Infallible;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyNone};
use pyo3::IntoPyObjectExt;

use crate::errors::FerroResult;
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
