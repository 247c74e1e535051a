//! Messages: the zero-copy [`borrowed::BorrowedMessage`] and the self-contained [`owned::OwnedMessage`].
//!
//! Both Python classes read their fields through the helpers here, so the two stay one
//! implementation: [`MessageParts`] gives raw access to any rdkafka message, [`part_view`] and
//! [`requested_part`] let a message object export its key or payload itself through the buffer
//! protocol (`native::buffer` fills CPython's `Py_buffer`; a memoryview then keeps that memory
//! alive), and `headers` decodes headers without trusting them to be UTF-8.

// `deny`, not `forbid`: the two message classes allow it on their buffer slots alone, which PyO3
// declares `unsafe fn` (see native/buffer.rs).
#![deny(unsafe_code)]

pub mod batch;
pub mod borrowed;
pub mod headers;
pub mod owned;

pub use self::batch::MessageBatch;
pub use self::borrowed::BorrowedMessage;
pub use self::owned::OwnedMessage;

use std::cell::Cell;

use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::types::{PyMemoryView, PyString};
use rdkafka::message::{BorrowedHeaders, Message, OwnedMessage as RdOwnedMessage};
use rdkafka::Timestamp;

/// The messages of one partition handed out: the offset of the first, and the one after the last
/// (consumer/offsets.rs keeps the book; a `MessageBatch` carries them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handed {
    pub topic: String,
    pub partition: i32,
    pub first: i64,
    pub next: i64,
}

impl Handed {
    /// Of the same partition.
    pub(crate) fn is(&self, other: &Handed) -> bool {
        self.partition == other.partition && self.topic == other.topic
    }
}

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
    fn py_new(value: crate::args::Int<i32>) -> PyResult<Self> {
        let crate::args::Int(value) = value;
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
    /// An identity of the topic: equal non-null values, equal topics (librdkafka's topic handle,
    /// cheaper to compare than names); null when unknown. Never dereferenced.
    fn topic_handle(&self) -> *const rdkafka::bindings::rd_kafka_topic_t {
        std::ptr::null()
    }
}

impl<T: MessageParts> MessageParts for &T {
    fn key(&self) -> Option<&[u8]> {
        T::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        T::payload(self)
    }

    fn topic_bytes(&self) -> &[u8] {
        T::topic_bytes(self)
    }

    fn partition(&self) -> i32 {
        T::partition(self)
    }

    fn offset(&self) -> i64 {
        T::offset(self)
    }

    fn timestamp(&self) -> Timestamp {
        T::timestamp(self)
    }

    fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        T::raw_headers(self)
    }

    fn topic_handle(&self) -> *const rdkafka::bindings::rd_kafka_topic_t {
        T::topic_handle(self)
    }
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

/// Which part of a message a buffer export hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Part {
    Key = 0,
    Payload = 1,
}

impl Part {
    pub fn of(self, msg: &impl MessageParts) -> Option<&[u8]> {
        match self {
            Part::Key => msg.key(),
            Part::Payload => msg.payload(),
        }
    }
}

thread_local! {
    /// The export a `key`/`payload` getter on this thread is asking for: (message object, part).
    static REQUESTED: Cell<(usize, Part)> = const { Cell::new((0, Part::Payload)) };
}

// Which part a message object's next buffer export hands out: the payload, unless a `key` getter
// is asking. Both message classes are their own exporters (one object less per view than a
// separate exporter: a memoryview costs CPython's managed buffer + the view, nothing of ours), and
// the buffer protocol cannot say which part it wants, so the getter records its request just
// before the synchronous export. The request is per thread and per message object, and restored
// afterwards: a garbage-collector callback (or another thread, while one runs) that reads a part
// of the same message in the middle of CPython's export cannot switch what the outer export hands
// out. `memoryview(msg)` on its own gives the payload.

/// The part `owner`'s export on this thread hands out (read by `__getbuffer__`).
pub fn requested_part(owner: &Bound<'_, PyAny>) -> Part {
    match REQUESTED.get() {
        (who, part) if who == owner.as_ptr() as usize => part,
        _ => Part::Payload,
    }
}

/// A read-only memoryview of `part` exported by `message` (whose `__getbuffer__` reads
/// [`requested_part`]).
pub fn part_view<'py>(message: &Bound<'py, PyAny>, part: Part) -> PyResult<Bound<'py, PyMemoryView>> {
    let outer = REQUESTED.replace((message.as_ptr() as usize, part));
    let view = PyMemoryView::from(message);
    REQUESTED.set(outer);
    view
}

/// The error for exporting a part the message does not have (getters return None instead).
pub fn missing_part(part: Part) -> PyErr {
    PyBufferError::new_err(match part {
        Part::Key => "the message has no key",
        Part::Payload => "the message has no payload",
    })
}
