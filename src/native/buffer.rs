//! CPython's buffer protocol from the exporter's side: filling the `Py_buffer` a `__getbuffer__`
//! slot is given, and releasing what it kept. The message classes export their key or payload
//! themselves (a memoryview's `obj` is the message), so their slots call these.
//!
//! PyO3 declares the two slots `unsafe fn` (their argument is CPython's raw `Py_buffer`): that
//! signature, and one call of a function here, is all the `unsafe` a message class has.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Arc;

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::True;
use pyo3::PyClass;

/// Marks a buffer request as failed, as the protocol requires (`view->obj = NULL`), before any
/// error can be returned.
///
/// # Safety
/// `view` is NULL or the Py_buffer CPython passed to a `__getbuffer__` slot.
unsafe fn clear_view(view: *mut ffi::Py_buffer) {
    if !view.is_null() {
        // SAFETY: a Py_buffer CPython gave us to fill (caller's guarantee).
        unsafe { (*view).obj = ptr::null_mut() };
    }
}

/// Fills `view` with a read-only, one-dimensional export of `bytes`, owned by `owner` (a strong
/// reference to it goes into `view.obj`) and by `keep`, an opaque pointer stored in
/// `view.internal` for the owner's `__releasebuffer__` to release. On error nothing is stored.
///
/// # Safety
/// `view` is the Py_buffer CPython passed to `owner`'s `__getbuffer__`; `bytes` stays valid and
/// unchanged while `owner` is alive and `keep` is not released.
unsafe fn fill(
    owner: Bound<'_, PyAny>,
    view: *mut ffi::Py_buffer,
    flags: c_int,
    bytes: &[u8],
    keep: *mut c_void,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("view is null"));
    }
    if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
        return Err(PyBufferError::new_err("message data is read-only"));
    }
    // SAFETY: `view` is non-null and points to a Py_buffer that CPython asks us to fill. The data
    // stays valid as long as `view.obj` and `keep` (caller's guarantee). `shape` and `strides` point
    // into the Py_buffer itself, as CPython's PyBuffer_FillInfo does.
    unsafe {
        (*view).obj = owner.into_ptr();
        (*view).buf = bytes.as_ptr() as *mut c_void;
        (*view).len = bytes.len() as isize;
        (*view).readonly = 1;
        (*view).itemsize = 1;
        (*view).format =
            if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT { c"B".as_ptr() as *mut _ } else { ptr::null_mut() };
        (*view).ndim = 1;
        (*view).shape = if flags & ffi::PyBUF_ND == ffi::PyBUF_ND { &mut (*view).len } else { ptr::null_mut() };
        (*view).strides =
            if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES { &mut (*view).itemsize } else { ptr::null_mut() };
        (*view).suboffsets = ptr::null_mut();
        (*view).internal = keep;
    }
    Ok(())
}

/// `__getbuffer__` of a frozen class that exports bytes of its own: `select` picks them (or the
/// error to raise). The view holds `owner` (`view.obj`); a frozen object's data cannot change, so
/// the bytes stay valid and unchanged for as long as the view lives. Nothing to release.
///
/// # Safety
/// `view` is NULL or the Py_buffer CPython passed to `owner`'s `__getbuffer__` slot (PyO3's
/// contract for that slot: the caller passes its own argument on).
pub unsafe fn export_own<T>(
    owner: Bound<'_, T>,
    view: *mut ffi::Py_buffer,
    flags: c_int,
    select: impl FnOnce(&T) -> PyResult<&[u8]>,
) -> PyResult<()>
where
    T: PyClass<Frozen = True> + Sync,
{
    // SAFETY: the caller's guarantee for `view`.
    unsafe { clear_view(view) };
    let bytes: *const [u8] = select(owner.get())?;
    // SAFETY: `bytes` borrows the frozen object's own data (`Bound::get` of a frozen class: never
    // mutated, no `&mut` ever handed out), which lives as long as the object; the view holds a
    // strong reference to it in `view.obj`. `view` is as the caller guarantees.
    unsafe { fill(owner.into_any(), view, flags, &*bytes, ptr::null_mut()) }
}

/// `__getbuffer__` of an object that exports bytes held by `data`: `select` picks them (or the
/// error to raise). The view holds `owner` (`view.obj`) and a strong reference to `data`
/// (`view.internal`), which [`release_shared`] gives back, so the bytes outlive whatever happens
/// to the owner meanwhile (a borrowed message invalidated while a view of it is still in use).
///
/// # Safety
/// `view` is NULL or the Py_buffer CPython passed to `owner`'s `__getbuffer__` slot, and `owner`'s
/// `__releasebuffer__` calls [`release_shared`] with the same `T`.
pub unsafe fn export_shared<T: Send + Sync>(
    owner: Bound<'_, PyAny>,
    view: *mut ffi::Py_buffer,
    flags: c_int,
    data: impl FnOnce() -> PyResult<Arc<T>>,
    select: impl FnOnce(&T) -> PyResult<&[u8]>,
) -> PyResult<()> {
    // SAFETY: the caller's guarantee for `view`.
    unsafe { clear_view(view) };
    let data = data()?;
    let bytes: *const [u8] = select(&data)?;
    let keep = Arc::into_raw(data) as *mut c_void;
    // SAFETY: `bytes` borrows from the `T` that `keep` (a strong reference, released by
    // release_shared) keeps alive for as long as the view exists; an `Arc`'s value is only ever
    // shared, so the bytes do not change. `view` is as the caller guarantees.
    let exported = unsafe { fill(owner, view, flags, &*bytes, keep) };
    if exported.is_err() {
        // SAFETY: `keep` came from Arc::into_raw just above and was not stored anywhere.
        drop(unsafe { Arc::from_raw(keep as *const T) });
    }
    exported
}

/// `__releasebuffer__` of an object whose `__getbuffer__` is [`export_shared`]: gives back the
/// reference the view held.
///
/// # Safety
/// `view` is the Py_buffer CPython passes back to `__releasebuffer__`, filled by [`export_shared`]
/// with the same `T` (CPython calls the slot exactly once per successful export).
pub unsafe fn release_shared<T>(view: *mut ffi::Py_buffer) {
    // SAFETY: by the caller's guarantee `internal` is NULL or the Arc<T> export_shared leaked,
    // released exactly once, here (from whichever thread: `T: Send + Sync` at the export).
    unsafe {
        let keep = (*view).internal as *const T;
        if !keep.is_null() {
            drop(Arc::from_raw(keep));
        }
    }
}
