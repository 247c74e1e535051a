//! Reading the bytes of whatever a user may pass as a key, value or header value: any object that
//! supports the buffer protocol (bytes, bytearray, memoryview — a borrowed payload included, numpy
//! arrays, mmap) or a `str` (encoded as UTF-8). The bytes are only lent to a closure, so callers copy
//! exactly once, into librdkafka, and keep no reference afterwards.

use std::ffi::c_void;
use std::mem::MaybeUninit;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A buffer obtained with `PyObject_GetBuffer`, released on drop.
struct HeldBuffer(ffi::Py_buffer);

impl Drop for HeldBuffer {
    fn drop(&mut self) {
        // SAFETY: the Py_buffer was filled by a successful PyObject_GetBuffer and is released exactly
        // once, here; whoever drops it is attached to the interpreter (it never leaves `with_bytes`).
        unsafe { ffi::PyBuffer_Release(&mut self.0) }
    }
}

/// Calls `f` with the bytes of `obj`. `what` names the argument in the `TypeError`.
pub fn with_bytes<R>(obj: &Bound<'_, PyAny>, what: &str, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    if let Ok(text) = obj.cast::<PyString>() {
        return Ok(f(text.to_str()?.as_bytes()));
    }
    let mut raw = MaybeUninit::<ffi::Py_buffer>::uninit();
    // SAFETY: `obj` is a live object and `raw` has room for a Py_buffer. PyBUF_SIMPLE asks for one
    // C-contiguous block of bytes; on failure nothing is filled and nothing must be released.
    if unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), raw.as_mut_ptr(), ffi::PyBUF_SIMPLE) } != 0 {
        let py = obj.py();
        let mut cause = PyErr::take(py);
        // A message that cannot export (released, another thread's) says so itself.
        if let Some(err) = cause.take_if(|err| err.is_instance_of::<crate::errors::Error>(py)) {
            return Err(err);
        }
        let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        // SAFETY: `obj` is a live object; the check has no side effects.
        if unsafe { ffi::PyObject_CheckBuffer(obj.as_ptr()) } != 0 {
            let detail = cause.map(|err| err.to_string()).unwrap_or_default();
            return Err(PyTypeError::new_err(format!(
                "{what} must be one C-contiguous block of bytes; this {type_name} is not ({detail}): copy it with bytes() first"
            )));
        }
        return Err(PyTypeError::new_err(format!(
            "{what} must be bytes, bytearray, memoryview (any bytes-like object) or str, not {type_name}"
        )));
    }
    // SAFETY: PyObject_GetBuffer succeeded, so `raw` is initialised and must be released: HeldBuffer
    // does that on every path out of this function.
    let held = HeldBuffer(unsafe { raw.assume_init() });
    let len = usize::try_from(held.0.len).unwrap_or(0);
    let bytes = if len == 0 || held.0.buf.is_null() {
        &[][..]
    } else {
        // SAFETY: with PyBUF_SIMPLE the exporter provides `len` contiguous, initialised bytes at `buf`,
        // valid until the buffer is released (after `f` returns). We hold the GIL throughout, so no
        // Python code can resize a bytearray under us (its exports counter forbids it anyway).
        unsafe { std::slice::from_raw_parts(held.0.buf as *const c_void as *const u8, len) }
    };
    Ok(f(bytes))
}

/// Like [`with_bytes`] for an optional argument: `None` stays `None`.
pub fn with_opt_bytes<R>(
    obj: Option<&Bound<'_, PyAny>>,
    what: &str,
    f: impl FnOnce(Option<&[u8]>) -> R,
) -> PyResult<R> {
    match obj {
        Some(obj) if !obj.is_none() => with_bytes(obj, what, |b| f(Some(b))),
        _ => Ok(f(None)),
    }
}

/// The bytes of an immutable `bytes` object, or the UTF-8 form a `str` caches in itself, readable
/// without the GIL and from any thread: holds a strong reference to the object, whose bytes never
/// change and live as long as it does. For data read under the GIL and sent without it.
pub struct HeldBytes {
    _object: Py<PyAny>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: the bytes belong to `_object`, which this holds (a `Py` is Send + Sync), are never written
// (`bytes` and a `str`'s cached UTF-8 are immutable), and freed only with the object.
unsafe impl Send for HeldBytes {}
// SAFETY: see Send; only ever read.
unsafe impl Sync for HeldBytes {}

impl HeldBytes {
    /// The bytes of `obj` if it is a `bytes` or a `str` (None for any other object: the caller copies
    /// those, whose contents may change).
    pub fn of(obj: &Bound<'_, PyAny>) -> PyResult<Option<Self>> {
        let bytes = if let Ok(bytes) = obj.cast::<PyBytes>() {
            bytes.as_bytes()
        } else if let Ok(text) = obj.cast::<PyString>() {
            // The UTF-8 form is cached in the str object, which lives as long as it does.
            text.to_str()?.as_bytes()
        } else {
            return Ok(None);
        };
        Ok(Some(HeldBytes { _object: obj.clone().unbind(), ptr: bytes.as_ptr(), len: bytes.len() }))
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr`, inside the object `self` holds, immutable and alive as long
        // as it (see the Send impl); the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}
