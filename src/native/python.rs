//! CPython calls that PyO3 does not wrap.

use pyo3::prelude::*;
use pyo3::types::PyType;

/// A new instance of `cls` made as `object.__new__` makes one for a class that overrides only
/// `__init__`, without building an argument tuple and without running `__init__`.
pub fn new_uninitialised<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `cls` is a live type object (borrowed); PyType_GenericAlloc returns a new reference
    // (or NULL with an exception set), which from_owned_ptr_or_err takes over.
    unsafe { Bound::from_owned_ptr_or_err(cls.py(), pyo3::ffi::PyType_GenericAlloc(cls.as_type_ptr(), 0)) }
}
