//! Messages: the zero-copy [`borrowed::BorrowedMessage`] and the self-contained [`owned::OwnedMessage`].
//!
//! Both Python classes read their fields through the helpers here, so the two stay one
//! implementation: [`MessageParts`] gives raw access to any rdkafka message, [`MessageBuffer`] exports
//! key and payload as read-only buffers that keep their memory alive, and `headers` decodes
//! headers without trusting them to be UTF-8.

pub mod borrowed;
pub mod headers;
pub mod owned;

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Arc;

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyMemoryView, PyString};
use rdkafka::message::{BorrowedHeaders, Message, OwnedMessage as RdOwnedMessage};
use rdkafka::Timestamp;

use borrowed::NativeMessage;

/// How a message's timestamp was set. Mirrors librdkafka's `rd_kafka_timestamp_type_t`.
#[pyclass(eq, eq_int, frozen, hash, from_py_object, module = "ferrokafka")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampType {
    #[pyo3(name = "NOT_AVAILABLE")]
    NotAvailable = 0,
    #[pyo3(name = "CREATE_TIME")]
    CreateTime = 1,
    #[pyo3(name = "LOG_APPEND_TIME")]
    LogAppendTime = 2,
}

#[pymethods]
impl TimestampType {
    #[new]
    fn py_new(value: i32) -> PyResult<Self> {
        match value {
            0 => Ok(TimestampType::NotAvailable),
            1 => Ok(TimestampType::CreateTime),
            2 => Ok(TimestampType::LogAppendTime),
            _ => Err(pyo3::exceptions::PyValueError::new_err(format!("{value} is not a valid TimestampType"))),
        }
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, pyo3::types::PyType>, (i32,)) {
        (slf.as_any().get_type(), (*slf.get() as i32,))
    }
}

impl TimestampType {
    pub fn of(timestamp: Timestamp) -> (Option<i64>, TimestampType) {
        match timestamp {
            Timestamp::NotAvailable => (None, TimestampType::NotAvailable),
            Timestamp::CreateTime(ms) => (Some(ms), TimestampType::CreateTime),
            Timestamp::LogAppendTime(ms) => (Some(ms), TimestampType::LogAppendTime),
        }
    }

    pub fn with(self, ms: Option<i64>) -> Timestamp {
        match (self, ms) {
            (_, None) | (TimestampType::NotAvailable, _) => Timestamp::NotAvailable,
            (TimestampType::CreateTime, Some(ms)) => Timestamp::CreateTime(ms),
            (TimestampType::LogAppendTime, Some(ms)) => Timestamp::LogAppendTime(ms),
        }
    }
}

/// What Python can read of a message, borrowed or owned, without panicking on non-UTF-8 data
/// (rdkafka's own `topic()` and header accessors do).
pub trait MessageParts {
    fn key(&self) -> Option<&[u8]>;
    fn payload(&self) -> Option<&[u8]>;
    fn topic_bytes(&self) -> &[u8];
    fn partition(&self) -> i32;
    fn offset(&self) -> i64;
    fn timestamp(&self) -> Timestamp;
    fn raw_headers(&self) -> Option<&BorrowedHeaders>;
}

impl MessageParts for RdOwnedMessage {
    fn key(&self) -> Option<&[u8]> {
        Message::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        Message::payload(self)
    }

    fn topic_bytes(&self) -> &[u8] {
        Message::topic(self).as_bytes()
    }

    fn partition(&self) -> i32 {
        Message::partition(self)
    }

    fn offset(&self) -> i64 {
        Message::offset(self)
    }

    fn timestamp(&self) -> Timestamp {
        Message::timestamp(self)
    }

    fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        Message::headers(self).map(|h| h.as_borrowed())
    }
}

/// The topic as a Python `str` (decoded leniently: topic names are ASCII in practice).
pub fn py_topic<'py>(py: Python<'py>, msg: &impl MessageParts) -> Bound<'py, PyString> {
    match std::str::from_utf8(msg.topic_bytes()) {
        Ok(topic) => PyString::new(py, topic),
        Err(_) => PyString::new(py, &String::from_utf8_lossy(msg.topic_bytes())),
    }
}

/// Which part of a message a [`MessageBuffer`] exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Key,
    Payload,
}

/// The memory a [`MessageBuffer`] exports, kept alive for as long as the buffer object lives.
pub enum BufferSource {
    /// librdkafka's fetch buffer, pinned through the native message.
    Borrowed(Arc<NativeMessage>),
    /// An OwnedMessage's own `Vec<u8>`.
    Owned(Arc<RdOwnedMessage>),
}

impl BufferSource {
    fn bytes(&self, part: Part) -> Option<&[u8]> {
        fn pick(msg: &impl MessageParts, part: Part) -> Option<&[u8]> {
            match part {
                Part::Key => msg.key(),
                Part::Payload => msg.payload(),
            }
        }
        match self {
            BufferSource::Borrowed(native) => pick(native.as_ref(), part),
            BufferSource::Owned(owned) => pick(owned.as_ref(), part),
        }
    }
}

/// Exports a message's key or payload through the buffer protocol, read-only and without a copy.
///
/// `memoryview(buffer)` holds a strong reference to this object, which holds the message memory:
/// the view stays valid after its message was released, superseded or its consumer closed, and
/// the native memory is freed when the last view is gone.
#[pyclass(frozen, weakref, module = "ferrokafka._native")]
pub struct MessageBuffer {
    source: BufferSource,
    part: Part,
}

#[pymethods]
impl MessageBuffer {
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("view is null"));
        }
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err("message data is read-only"));
        }
        let (data, len) = {
            let bytes: &[u8] = slf.get().source.bytes(slf.get().part).unwrap_or(&[]);
            (bytes.as_ptr(), bytes.len())
        };
        // SAFETY: `view` is non-null and points to a Py_buffer that CPython asks us to fill. The data
        // pointer stays valid as long as `view.obj` (this object, whose strong reference we store in
        // it) is alive: this object owns an Arc to the message memory, which never moves or changes.
        // `shape` and `strides` point into the Py_buffer itself, as CPython's PyBuffer_FillInfo does.
        unsafe {
            (*view).obj = slf.into_any().into_ptr();
            (*view).buf = data as *mut c_void;
            (*view).len = len as isize;
            (*view).readonly = 1;
            (*view).itemsize = 1;
            (*view).format = if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT {
                c"B".as_ptr() as *mut _
            } else {
                ptr::null_mut()
            };
            (*view).ndim = 1;
            (*view).shape = if flags & ffi::PyBUF_ND == ffi::PyBUF_ND { &mut (*view).len } else { ptr::null_mut() };
            (*view).strides =
                if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES { &mut (*view).itemsize } else { ptr::null_mut() };
            (*view).suboffsets = ptr::null_mut();
            (*view).internal = ptr::null_mut();
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        // Nothing to free: the format string is static and the memory belongs to `source`.
    }

    fn __len__(&self) -> usize {
        self.source.bytes(self.part).map_or(0, <[u8]>::len)
    }
}

/// A read-only memoryview over a message's key or payload, or `None` when the message has none.
pub fn memoryview<'py>(py: Python<'py>, source: BufferSource, part: Part) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
    if source.bytes(part).is_none() {
        return Ok(None);
    }
    let exporter = Bound::new(py, MessageBuffer { source, part })?;
    PyMemoryView::from(exporter.as_any()).map(Some)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TimestampType>()?;
    m.add_class::<MessageBuffer>()?;
    m.add_class::<borrowed::BorrowedMessage>()?;
    m.add_class::<owned::OwnedMessage>()?;
    Ok(())
}
