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

/// Takes an object that holds no Python references out of the cyclic garbage collector. PyO3 makes
/// every class collectable, but a message refers to nothing the collector could find in a cycle,
/// and tens of thousands of tracked messages would be traversed on every collection for nothing.
pub fn untrack(obj: &Bound<'_, PyAny>) {
    // SAFETY: `obj` is a live object; PyObject_GC_UnTrack accepts any GC object, tracked or not,
    // and PyO3's deallocator untracks again safely. The callers pass instances of their own classes
    // that own no Python references, so no reference cycle can run through them and the collector
    // never needs to see them.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) };
}
