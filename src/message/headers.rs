//! Kafka record headers in Python: `list[tuple[str, bytes | None]]`.
//!
//! Header keys come from the wire and need not be UTF-8: they are decoded with `surrogateescape`
//! (like file names in `os`), so no key is lost and encoding them back gives the original bytes.
//! Values may be null (`None`) or empty. Both borrowed and owned messages go through [`to_python`].

#![forbid(unsafe_code)]

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use rdkafka::message::{BorrowedHeaders, OwnedHeaders};

use crate::native::bytes_like::with_opt_bytes;
/// Read and written in librdkafka by the FFI layer; re-exported for the message modules.
pub use crate::native::headers::{add, raw_pairs};

fn decode_key<'py>(py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    match std::str::from_utf8(key) {
        Ok(text) => Ok(PyString::new(py, text).into_any()),
        Err(_) => PyBytes::new(py, key).call_method1("decode", ("utf-8", "surrogateescape")),
    }
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
    let mut headers = OwnedHeaders::new();
    for pair in pairs.try_iter()? {
        let pair = pair?;
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("headers must be a dict or a list of (key, value) pairs")
        })?;
        let key = key_bytes(&key)?;
        with_opt_bytes(Some(&value), "a header value", |value| {
            add(&mut headers, &key, value);
        })?;
    }
    Ok(headers)
}
