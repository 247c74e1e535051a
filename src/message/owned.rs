//! `OwnedMessage`: a message that owns its data (rdkafka's `OwnedMessage`), immutable and thread-safe.
//!
//! Made by `BorrowedMessage.detach()` or constructed from Python. Its key and payload are still
//! memoryviews, over its own memory, so code that reads messages works with both kinds.

use std::ffi::c_int;
use std::hash::{Hash, Hasher};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyMemoryView, PyString, PyTuple};
use rdkafka::message::OwnedMessage as RdOwnedMessage;

use crate::message::{headers, missing_part, part_view, py_topic, requested_part, MessageParts, Part, TimestampType};
use crate::native::buffer::export_own;
use crate::native::bytes_like::with_opt_bytes;
use crate::topic_partition::{leader_epoch_arg, TopicPartition, OFFSET_INVALID};

#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct OwnedMessage {
    inner: RdOwnedMessage,
    /// Kept beside rdkafka's message, which has no field for it.
    leader_epoch: Option<i32>,
}

impl From<RdOwnedMessage> for OwnedMessage {
    fn from(message: RdOwnedMessage) -> Self {
        OwnedMessage::new(message, None)
    }
}

impl OwnedMessage {
    pub fn new(message: RdOwnedMessage, leader_epoch: Option<i32>) -> Self {
        OwnedMessage { inner: message, leader_epoch }
    }

    /// Where the message is (its offset and leader epoch), for commits and offset stores.
    pub fn position(&self) -> TopicPartition {
        let m = self.message();
        let topic = String::from_utf8_lossy(m.topic_bytes()).into_owned();
        TopicPartition { leader_epoch: self.leader_epoch, ..TopicPartition::new(topic, m.partition(), m.offset()) }
    }

    /// A memoryview of the key or payload exported by this message, or None if it has none.
    fn view<'py>(&self, slf: &Bound<'py, Self>, part: Part) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        if part.of(self.message()).is_none() {
            return Ok(None);
        }
        part_view(slf.as_any(), part).map(Some)
    }

    pub fn message(&self) -> &RdOwnedMessage {
        &self.inner
    }

    /// Everything equality looks at, borrowed.
    #[allow(clippy::type_complexity)]
    /// Not the leader epoch: it says how the message was fetched, not what it is.
    fn identity(
        &self,
    ) -> (&[u8], i32, i64, Option<&[u8]>, Option<&[u8]>, rdkafka::Timestamp, Vec<(&[u8], Option<&[u8]>)>) {
        let m = self.message();
        (
            m.topic_bytes(),
            m.partition(),
            m.offset(),
            m.key(),
            m.payload(),
            m.timestamp(),
            headers::raw_pairs(m.raw_headers()),
        )
    }
}

fn opt_bytes<'py>(py: Python<'py>, data: Option<&[u8]>) -> Option<Bound<'py, PyBytes>> {
    data.map(|d| PyBytes::new(py, d))
}

#[pymethods]
impl OwnedMessage {
    #[new]
    #[pyo3(
        signature = (topic, partition=crate::args::Int(0), offset=crate::args::Int(OFFSET_INVALID), payload=None, key=None, timestamp=None, timestamp_type=None, headers=None, leader_epoch=None),
        text_signature = "(topic, partition=0, offset=-1001, payload=None, key=None, timestamp=None, timestamp_type=None, headers=None, leader_epoch=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        topic: String,
        partition: crate::args::Int<i32>,
        offset: crate::args::Int<i64>,
        payload: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        timestamp: Option<crate::args::Int<i64>>,
        timestamp_type: Option<TimestampType>,
        headers: Option<&Bound<'_, PyAny>>,
        leader_epoch: Option<crate::args::Int<i32>>,
    ) -> PyResult<Self> {
        let (partition, offset, timestamp) = (partition.0, offset.0, timestamp.map(|t| t.0));
        let leader_epoch = leader_epoch_arg(leader_epoch)?;
        let payload = with_opt_bytes(payload, "payload", |b| b.map(<[u8]>::to_vec))?;
        let key = with_opt_bytes(key, "key", |b| b.map(<[u8]>::to_vec))?;
        let headers = match headers {
            Some(h) if !h.is_none() => Some(headers::from_python(h)?),
            _ => None,
        };
        let timestamp = timestamp_type.unwrap_or(TimestampType::CreateTime).with(timestamp);
        Ok(OwnedMessage::new(
            RdOwnedMessage::new(payload, key, topic, timestamp, partition, offset, headers),
            leader_epoch,
        ))
    }

    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        py_topic(py, self.message())
    }

    #[getter]
    fn partition(&self) -> i32 {
        self.message().partition()
    }

    #[getter]
    fn offset(&self) -> i64 {
        self.message().offset()
    }

    #[getter]
    fn timestamp(&self) -> Option<i64> {
        TimestampType::of(self.message().timestamp()).0
    }

    #[getter]
    fn timestamp_type(&self) -> TimestampType {
        TimestampType::of(self.message().timestamp()).1
    }

    /// The partition leader's epoch when the message was fetched (KIP-320), or None if unknown.
    #[getter]
    fn leader_epoch(&self) -> Option<i32> {
        self.leader_epoch
    }

    /// A read-only memoryview over this message's own copy of the key, or None.
    #[getter]
    fn key<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        slf.get().view(slf, Part::Key)
    }

    /// A read-only memoryview over this message's own copy of the payload, or None.
    #[getter]
    fn payload<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        slf.get().view(slf, Part::Payload)
    }

    /// Exports the part a getter asked for (the payload for a plain `memoryview(msg)`), from this
    /// frozen message's own data, which the view keeps alive by holding the message. Nothing to
    /// release: no `__releasebuffer__`.
    #[allow(unsafe_code)] // PyO3 declares the buffer slot `unsafe fn`; nothing else here is unsafe
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let part = requested_part(slf.as_any());
        // SAFETY: `view` is the Py_buffer CPython passed to this slot, passed on unchanged.
        unsafe { export_own(slf, view, flags, |this| part.of(this.message()).ok_or_else(|| missing_part(part))) }
    }

    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        headers::to_python(py, self.message().raw_headers())
    }

    /// Always True: an OwnedMessage does not depend on its consumer.
    #[getter]
    fn valid(&self) -> bool {
        true
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<OwnedMessage>().is_ok_and(|other| self.identity() == other.get().identity())
    }

    fn __hash__(&self) -> u64 {
        let m = self.message();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (m.topic_bytes(), m.partition(), m.offset(), m.key(), m.payload()).hash(&mut hasher);
        hasher.finish()
    }

    /// Pickles as a call to the constructor with plain bytes.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let this = slf.get();
        let m = this.message();
        let (timestamp, timestamp_type) = TimestampType::of(m.timestamp());
        let args = (
            py_topic(py, m),
            m.partition(),
            m.offset(),
            opt_bytes(py, m.payload()),
            opt_bytes(py, m.key()),
            timestamp,
            timestamp_type,
            this.headers(py)?,
            this.leader_epoch,
        )
            .into_pyobject(py)?;
        Ok((slf.get_type().into_any(), args))
    }

    fn __repr__(&self) -> String {
        let m = self.message();
        format!(
            "OwnedMessage(topic={:?}, partition={}, offset={}, key={}, payload={})",
            String::from_utf8_lossy(m.topic_bytes()),
            m.partition(),
            m.offset(),
            m.key().map_or("None".into(), |k| format!("<{} bytes>", k.len())),
            m.payload().map_or("None".into(), |p| format!("<{} bytes>", p.len())),
        )
    }
}
