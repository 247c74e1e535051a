//! `BorrowedMessage`: a zero-copy view of a consumed message inside librdkafka's fetch buffer.
//!
//! Three layers, each with one job:
//! - [`NativeMessage`] (in the FFI layer, `native::message`) owns a `rd_kafka_message_t` as
//!   librdkafka's batch API handed it out, together with the consumer handle it came from (an
//!   `Arc<dyn MessageSource>`: the consumer's `ConsumerHandle`), so the handle outlives it.
//!   Dropping it destroys the message, from any thread. It plays the part of rdkafka's
//!   `BorrowedMessage`, whose lifetime parameter a `#[pyclass]` could not carry.
//! - [`MessageSlot`] is the message's state: valid or invalidated with a reason (an atomic, read
//!   without a lock), the `Arc<NativeMessage>` while valid, and the scalar fields copied at
//!   admission. Buffers exported from a valid message hold their own `Arc<NativeMessage>`, so
//!   invalidation frees the memory only once no view needs it.
//! - [`BorrowedMessage`] is the Python object: the slot and the thread that received it.
//!
//! The rules (see `docs/design/message-model.md`): accessors work only from the receiving thread
//! and only while valid; `valid` and `release()` work from anywhere and never raise.

use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyMemoryView, PyString};
use rdkafka::message::BorrowedHeaders;
use rdkafka::Timestamp;

use crate::errors::FerroError;
/// Lives with the error it explains (errors.rs), which is below this module.
pub use crate::errors::InvalidReason;
use crate::message::owned::OwnedMessage;
use crate::message::{headers, missing_part, part_view, py_topic, requested_part, MessageParts, Part, TimestampType};
use crate::native::buffer::{export_shared, release_shared};
/// The native message and the handle it keeps alive live in the FFI layer (native/message.rs).
pub use crate::native::message::{MessageSource, MessageView, NativeBatch, NativeMessage};
use crate::topic_partition::TopicPartition;

impl MessageParts for NativeMessage {
    fn key(&self) -> Option<&[u8]> {
        NativeMessage::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        NativeMessage::payload(self)
    }

    fn topic_bytes(&self) -> &[u8] {
        NativeMessage::topic_bytes(self)
    }

    fn partition(&self) -> i32 {
        NativeMessage::partition(self)
    }

    fn offset(&self) -> i64 {
        NativeMessage::offset(self)
    }

    fn timestamp(&self) -> Timestamp {
        NativeMessage::timestamp(self)
    }

    fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        NativeMessage::raw_headers(self)
    }

    fn topic_handle(&self) -> *const rdkafka::bindings::rd_kafka_topic_t {
        NativeMessage::topic_handle(self)
    }
}

impl MessageParts for MessageView<'_> {
    fn key(&self) -> Option<&[u8]> {
        MessageView::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        MessageView::payload(self)
    }

    fn topic_bytes(&self) -> &[u8] {
        MessageView::topic_bytes(self)
    }

    fn partition(&self) -> i32 {
        MessageView::partition(self)
    }

    fn offset(&self) -> i64 {
        MessageView::offset(self)
    }

    fn timestamp(&self) -> Timestamp {
        MessageView::timestamp(self)
    }

    fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        MessageView::raw_headers(self)
    }

    fn topic_handle(&self) -> *const rdkafka::bindings::rd_kafka_topic_t {
        MessageView::topic_handle(self)
    }
}

/// `MessageSlot::state` of a valid message; otherwise the state is `1 + InvalidReason as u8`.
const VALID: u8 = 0;

fn state_of(reason: InvalidReason) -> u8 {
    1 + reason as u8
}

fn reason_of(state: u8) -> InvalidReason {
    match state {
        1 => InvalidReason::Released,
        2 => InvalidReason::Superseded,
        _ => InvalidReason::ConsumerClosed,
    }
}

/// The state of one borrowed message, shared by its Python object, the consumer's registry and the
/// lending iterator.
pub struct MessageSlot {
    /// [`VALID`] or the reason it was invalidated (the first reason wins). Changes only under the
    /// `native` lock, so the two always agree once that lock is taken.
    state: AtomicU8,
    native: Mutex<Option<Arc<NativeMessage>>>,
    partition: i32,
    offset: i64,
    timestamp: Timestamp,
    has_key: bool,
    has_payload: bool,
}

impl MessageSlot {
    pub fn new(native: NativeMessage) -> Self {
        Self::shared(Arc::new(native))
    }

    /// A slot for a native message the caller also still reads.
    pub fn shared(native: Arc<NativeMessage>) -> Self {
        MessageSlot {
            state: AtomicU8::new(VALID),
            partition: native.partition(),
            offset: native.offset(),
            timestamp: native.timestamp(),
            has_key: native.key().is_some(),
            has_payload: native.payload().is_some(),
            native: Mutex::new(Some(native)),
        }
    }

    /// Ok while valid: enough for the fields copied at admission.
    fn check(&self) -> Result<(), FerroError> {
        match self.state.load(Ordering::Acquire) {
            VALID => Ok(()),
            state => Err(FerroError::Invalidated(reason_of(state))),
        }
    }

    /// The native message if still valid. A clone of the Arc, so no lock is held while the caller
    /// builds Python objects from it.
    fn native(&self) -> Result<Arc<NativeMessage>, FerroError> {
        match &*self.native.lock() {
            Some(native) => Ok(native.clone()),
            None => Err(FerroError::Invalidated(reason_of(self.state.load(Ordering::Acquire)))),
        }
    }

    pub fn is_valid(&self) -> bool {
        self.state.load(Ordering::Acquire) == VALID
    }

    /// Invalidates the message (the first reason wins) and hands back its native part, which the
    /// caller drops outside the lock. Never blocks on I/O, never raises.
    pub fn invalidate(&self, reason: InvalidReason) -> Option<Arc<NativeMessage>> {
        let mut native = self.native.lock();
        self.state.compare_exchange(VALID, state_of(reason), Ordering::AcqRel, Ordering::Acquire).ok()?;
        native.take()
    }
}

/// Messages are left out of the cyclic garbage collector (they hold no Python references).
pub use crate::native::python::untrack;

static NEXT_THREAD_TAG: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_TAG: u64 = NEXT_THREAD_TAG.fetch_add(1, Ordering::Relaxed);
}

/// A cheap, unique, never-reused identity of the calling OS thread (Python threads are OS threads).
pub fn current_thread_tag() -> u64 {
    THREAD_TAG.with(|tag| *tag)
}

/// A message lent by the consumer: zero-copy, valid until released, superseded or its consumer
/// closes, usable only from the thread that received it. `detach()` makes an `OwnedMessage`.
#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct BorrowedMessage {
    slot: Arc<MessageSlot>,
    thread: u64,
}

impl BorrowedMessage {
    /// A memoryview of the key or payload exported by this message, or None if it has none.
    fn view<'py>(&self, slf: &Bound<'py, Self>, part: Part) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        let slot = self.checked()?;
        if !(match part {
            Part::Key => slot.has_key,
            Part::Payload => slot.has_payload,
        }) {
            return Ok(None);
        }
        part_view(slf.as_any(), part).map(Some)
    }

    /// Wraps an admitted message for Python, owned by the calling thread.
    pub fn new(slot: Arc<MessageSlot>) -> Self {
        BorrowedMessage { slot, thread: current_thread_tag() }
    }

    /// The Python object for an admitted message, left out of the cyclic garbage collector.
    pub fn new_untracked(py: Python<'_>, slot: Arc<MessageSlot>) -> PyResult<Py<Self>> {
        let message = Py::new(py, Self::new(slot))?;
        untrack(message.bind(py).as_any());
        Ok(message)
    }

    pub fn slot(&self) -> &Arc<MessageSlot> {
        &self.slot
    }

    /// The slot of a valid message, checking the thread and the state (no lock).
    fn checked(&self) -> Result<&MessageSlot, FerroError> {
        if current_thread_tag() != self.thread {
            return Err(FerroError::WrongThread);
        }
        self.slot.check()?;
        Ok(&self.slot)
    }

    /// The native message, checking the thread and the state.
    pub fn native(&self) -> Result<Arc<NativeMessage>, FerroError> {
        self.checked()?.native()
    }

    /// Where a valid message is (its offset and leader epoch), for commits and offset stores.
    pub fn position(&self) -> Result<TopicPartition, FerroError> {
        let native = self.native()?;
        let topic = String::from_utf8_lossy(native.topic_bytes()).into_owned();
        Ok(TopicPartition {
            leader_epoch: native.leader_epoch(),
            ..TopicPartition::new(topic, native.partition(), native.offset())
        })
    }
}

#[pymethods]
impl BorrowedMessage {
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        Ok(py_topic(py, self.native()?.as_ref()))
    }

    #[getter]
    fn partition(&self) -> PyResult<i32> {
        Ok(self.checked()?.partition)
    }

    #[getter]
    fn offset(&self) -> PyResult<i64> {
        Ok(self.checked()?.offset)
    }

    /// Milliseconds since the epoch, or None when the broker gave none.
    #[getter]
    fn timestamp(&self) -> PyResult<Option<i64>> {
        Ok(TimestampType::of(self.checked()?.timestamp).0)
    }

    #[getter]
    fn timestamp_type(&self) -> PyResult<TimestampType> {
        Ok(TimestampType::of(self.checked()?.timestamp).1)
    }

    /// A read-only memoryview of the key inside librdkafka's buffer (no copy), or None.
    /// The partition leader's epoch when the message was fetched (KIP-320), or None if unknown.
    #[getter]
    fn leader_epoch(&self) -> PyResult<Option<i32>> {
        Ok(self.native()?.leader_epoch())
    }

    #[getter]
    fn key<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        slf.get().view(slf, Part::Key)
    }

    /// A read-only memoryview of the payload inside librdkafka's buffer (no copy), or None.
    #[getter]
    fn payload<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        slf.get().view(slf, Part::Payload)
    }

    /// Exports the part a getter asked for (the payload for a plain `memoryview(msg)`). The view
    /// holds its own reference to the native message, so it stays readable after invalidation.
    #[allow(unsafe_code)] // PyO3 declares the buffer slot `unsafe fn`; nothing else here is unsafe
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let part = requested_part(slf.as_any());
        let this = slf.get();
        let native = || this.native().map_err(PyErr::from);
        // SAFETY: `view` is the Py_buffer CPython passed to this slot, passed on unchanged; our
        // __releasebuffer__ releases it with the same type, NativeMessage.
        unsafe {
            export_shared(slf.clone().into_any(), view, flags, native, |native| {
                part.of(native).ok_or_else(|| missing_part(part))
            })
        }
    }

    /// Gives back the view's reference to the native message (from whichever thread).
    #[allow(unsafe_code)] // PyO3 declares the buffer slot `unsafe fn`; nothing else here is unsafe
    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the Py_buffer our __getbuffer__ filled through export_shared
        // with NativeMessage, once.
        unsafe { release_shared::<NativeMessage>(view) }
    }

    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        headers::to_python(py, self.native()?.raw_headers())
    }

    /// True until the message is released, superseded or its consumer closes. Never raises.
    #[getter]
    fn valid(&self) -> bool {
        self.slot.is_valid()
    }

    /// Gives the message back to librdkafka now. Idempotent, allowed from any thread; memoryviews
    /// taken earlier stay readable.
    fn release(&self) {
        drop(self.slot.invalidate(InvalidReason::Released));
    }

    /// Copies the message into an OwnedMessage: thread-safe, picklable, independent of the consumer.
    fn detach(&self, py: Python<'_>) -> PyResult<Py<OwnedMessage>> {
        let native = self.native()?;
        let owned = Py::new(py, OwnedMessage::new(native.detach(), native.leader_epoch()))?;
        untrack(owned.bind(py).as_any());
        Ok(owned)
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().native()?;
        Ok(slf)
    }

    fn __exit__(
        &self,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> bool {
        self.release();
        false
    }

    fn __repr__(&self) -> String {
        match self.native() {
            Ok(msg) => {
                format!(
                    "<BorrowedMessage topic={:?} partition={} offset={}>",
                    String::from_utf8_lossy(msg.topic_bytes()),
                    msg.partition(),
                    msg.offset()
                )
            }
            Err(FerroError::Invalidated(reason)) => format!("<BorrowedMessage invalid: {}>", reason.as_str()),
            Err(_) => "<BorrowedMessage of another thread>".to_owned(),
        }
    }
}
