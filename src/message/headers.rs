//! Kafka record headers in Python: `list[tuple[str, bytes | None]]`.
//!
//! Header keys come from the wire and need not be UTF-8: they are decoded with `surrogateescape`
//! (like file names in `os`), so no key is lost and encoding them back gives the original bytes.
//! Values may be null (`None`) or empty. Both borrowed and owned messages go through [`to_python`].

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use rdkafka::bindings as rdsys;
use rdkafka::message::{BorrowedHeaders, OwnedHeaders};

use crate::bytes_like::with_opt_bytes;

/// The native `rd_kafka_headers_t` behind rdkafka's `BorrowedHeaders`.
pub fn native_ptr(headers: &BorrowedHeaders) -> *mut rdsys::rd_kafka_headers_t {
    // rdkafka's BorrowedHeaders is a zero-sized type whose references are made by casting the native
    // headers pointer (BorrowedHeaders::from_native_ptr, OwnedHeaders::as_borrowed), so the
    // reference's address is that pointer.
    headers as *const BorrowedHeaders as *mut rdsys::rd_kafka_headers_t
}

/// rdkafka's `BorrowedHeaders` view of a native headers object (the inverse of [`native_ptr`]).
///
/// # Safety
/// `native` points to a live `rd_kafka_headers_t` that is neither freed nor modified while the
/// returned reference (tied to `owner`) is in use.
pub unsafe fn from_native<T>(_owner: &T, native: *const rdsys::rd_kafka_headers_t) -> &BorrowedHeaders {
    // SAFETY: the same cast rdkafka's own BorrowedHeaders::from_native_ptr makes: the zero-sized
    // BorrowedHeaders is only ever used through references whose address is the native pointer.
    // The caller guarantees that pointer outlives the borrow of `owner`.
    unsafe { &*(native as *const BorrowedHeaders) }
}

fn decode_key<'py>(py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    match std::str::from_utf8(key) {
        Ok(text) => Ok(PyString::new(py, text).into_any()),
        Err(_) => PyBytes::new(py, key).call_method1("decode", ("utf-8", "surrogateescape")),
    }
}

/// The raw `(key, value)` pairs of a headers object, borrowed from it.
pub fn raw_pairs(headers: Option<&BorrowedHeaders>) -> Vec<(&[u8], Option<&[u8]>)> {
    let Some(headers) = headers else { return Vec::new() };
    let native = native_ptr(headers);
    // SAFETY: `native` is a live rd_kafka_headers_t owned by the message behind `headers`, which
    // outlives the returned slices (same lifetime); reading the count has no side effects.
    let count = unsafe { rdsys::rd_kafka_header_cnt(native) };
    let mut pairs = Vec::with_capacity(count);
    for idx in 0..count {
        let mut name: *const c_char = ptr::null();
        let mut value: *const c_void = ptr::null();
        let mut size: usize = 0;
        // SAFETY: idx < count; on success librdkafka points `name` at a NUL-terminated string and
        // `value` at `size` bytes (or null for a null value), all owned by the headers object.
        // The code is read as the `int` it is (see ffi.rs).
        let err = unsafe { crate::ffi::rd_kafka_header_get_all(native, idx, &mut name, &mut value, &mut size) };
        if err != 0 || name.is_null() {
            continue;
        }
        // SAFETY: see above; both live as long as the headers object.
        let key = unsafe { CStr::from_ptr(name) }.to_bytes();
        let value = (!value.is_null()).then(|| {
            // SAFETY: a non-null value points to `size` initialised bytes.
            unsafe { std::slice::from_raw_parts(value as *const u8, size) }
        });
        pairs.push((key, value));
    }
    pairs
}

/// The headers as a new Python list of `(key, value)` tuples.
pub fn to_python<'py>(py: Python<'py>, headers: Option<&BorrowedHeaders>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (key, value) in raw_pairs(headers) {
        let value = match value {
            None => py.None(),
            Some(bytes) => PyBytes::new(py, bytes).into_any().unbind(),
        };
        list.append(PyTuple::new(py, [decode_key(py, key)?.unbind(), value])?)?;
    }
    Ok(list)
}

/// A header key's bytes. librdkafka hands keys back as C strings, so a key with a NUL would come
/// back cut short (and two different keys equal): refused.
fn key_bytes(key: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let bytes = if let Ok(text) = key.cast::<PyString>() {
        match text.to_str() {
            Ok(s) => s.as_bytes().to_vec(),
            // Keys decoded with surrogateescape (see the module docs) encode back to their bytes.
            Err(_) => text.call_method1("encode", ("utf-8", "surrogateescape"))?.cast::<PyBytes>()?.as_bytes().to_vec(),
        }
    } else if let Ok(bytes) = key.cast::<PyBytes>() {
        bytes.as_bytes().to_vec()
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err("header keys must be str or bytes"));
    };
    if bytes.contains(&0) {
        // As the caller wrote it (Python's repr), not as Rust's debug text of the bytes.
        let shown = key.repr().map(|r| r.to_string()).unwrap_or_else(|_| "the header key".into());
        return Err(pyo3::exceptions::PyValueError::new_err(format!("header key {shown} contains a NUL byte")));
    }
    Ok(bytes)
}

/// Builds librdkafka headers from a list of `(key, value)` pairs or a dict. Keys are `str` or `bytes`;
/// values any bytes-like object, `str`, or `None`.
pub fn from_python(obj: &Bound<'_, PyAny>) -> PyResult<OwnedHeaders> {
    let pairs = match obj.cast::<pyo3::types::PyDict>() {
        Ok(dict) => dict.items().into_any(),
        Err(_) => obj.clone(),
    };
    let headers = OwnedHeaders::new();
    let native = native_ptr(headers.as_borrowed());
    for pair in pairs.try_iter()? {
        let pair = pair?;
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("headers must be a dict or a list of (key, value) pairs")
        })?;
        let key = key_bytes(&key)?;
        with_opt_bytes(Some(&value), "a header value", |value| {
            let (value_ptr, value_len) = value.map_or((ptr::null(), 0), |v| (v.as_ptr(), v.len() as isize));
            // SAFETY: `native` belongs to `headers`, which we own and nobody else sees yet; librdkafka
            // copies name and value, which are valid for the given lengths during the call. Adding
            // to a writable headers object cannot fail.
            unsafe {
                rdsys::rd_kafka_header_add(
                    native,
                    key.as_ptr() as *const c_char,
                    key.len() as isize,
                    value_ptr as *const c_void,
                    value_len,
                );
            }
        })?;
    }
    Ok(headers)
}
