//! `BorrowedMessage`: a zero-copy view of a consumed message inside librdkafka's fetch buffer.
//!
//! Three layers, each with one job:
//! - [`NativeMessage`] keeps rdkafka's `BorrowedMessage<'a>` together with the `Arc<ConsumerCore>` it
//!   borrows from (a self-referential pair built with `self_cell`, so the borrow stays checked).
//! - [`MessageSlot`] is the message's state: valid (holding an `Arc<NativeMessage>`) or invalidated
//!   with a reason. Buffers exported from a valid message hold their own `Arc<NativeMessage>`, so
//!   invalidation frees the memory only once no view needs it.
//! - [`BorrowedMessage`] is the Python object: the slot, the thread that received it, and its entry in
//!   the consumer's registry.
//!
//! The rules (see `shared/design/message-model.md`): accessors work only from the receiving thread
//! and only while valid; `valid` and `release()` work from anywhere and never raise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyMemoryView, PyString};
use rdkafka::message::{BorrowedMessage as RdBorrowedMessage, Message, OwnedMessage as RdOwnedMessage};

use crate::consumer::core::ConsumerCore;
use crate::consumer::registry::MessageRegistry;
use crate::errors::{FerroError, InvalidReason};
use crate::message::owned::OwnedMessage;
use crate::message::{headers, memoryview, py_topic, BufferSource, MessageParts, Part, TimestampType};

self_cell::self_cell!(
    struct NativeCell {
        owner: Arc<ConsumerCore>,
        #[covariant]
        dependent: RdBorrowedMessage,
    }
);

/// A message as librdkafka handed it out, plus the consumer it borrows from. Dropping it returns
/// the message to librdkafka (from any thread).
pub struct NativeMessage(NativeCell);

impl NativeMessage {
    /// Builds a message by borrowing from `core`; `poll` returns the message or why there is none.
    pub fn try_new<E>(
        core: Arc<ConsumerCore>,
        poll: impl for<'a> FnOnce(&'a Arc<ConsumerCore>) -> Result<RdBorrowedMessage<'a>, E>,
    ) -> Result<Self, E> {
        let cell = NativeCell::try_new(core, poll)?;
        cell.borrow_owner().registry.native_created();
        Ok(NativeMessage(cell))
    }

    pub fn message(&self) -> &RdBorrowedMessage<'_> {
        self.0.borrow_dependent()
    }
}

impl Drop for NativeMessage {
    fn drop(&mut self) {
        // The cell (and with it librdkafka's message) is dropped right after this.
        self.0.borrow_owner().registry.native_dropped();
    }
}

enum SlotState {
    Valid(Arc<NativeMessage>),
    Invalid(InvalidReason),
}

/// The state of one borrowed message, shared by its Python object and the consumer's registry.
pub struct MessageSlot {
    state: Mutex<SlotState>,
}

impl MessageSlot {
    pub fn new(native: NativeMessage) -> Self {
        MessageSlot { state: Mutex::new(SlotState::Valid(Arc::new(native))) }
    }

    /// The native message if still valid. A clone of the Arc, so no lock is held while the caller
    /// builds Python objects from it.
    fn native(&self) -> Result<Arc<NativeMessage>, FerroError> {
        match &*self.state.lock() {
            SlotState::Valid(native) => Ok(native.clone()),
            SlotState::Invalid(reason) => Err(FerroError::Invalidated(*reason)),
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(&*self.state.lock(), SlotState::Valid(_))
    }

    /// Invalidates the message (the first reason wins) and hands back its native part, which the
    /// caller drops outside the lock. Never blocks on I/O, never raises.
    pub fn invalidate(&self, reason: InvalidReason) -> Option<Arc<NativeMessage>> {
        let mut state = self.state.lock();
        match &*state {
            SlotState::Invalid(_) => None,
            SlotState::Valid(_) => match std::mem::replace(&mut *state, SlotState::Invalid(reason)) {
                SlotState::Valid(native) => Some(native),
                SlotState::Invalid(_) => None,
            },
        }
    }
}

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
    registry: Arc<MessageRegistry>,
    registry_key: usize,
}

impl BorrowedMessage {
    /// Wraps an admitted message for Python. The registry entry is removed when the object dies.
    pub fn new(registry: Arc<MessageRegistry>, registry_key: usize, slot: Arc<MessageSlot>) -> Self {
        BorrowedMessage { slot, thread: current_thread_tag(), registry, registry_key }
    }

    pub fn slot(&self) -> &Arc<MessageSlot> {
        &self.slot
    }

    /// The native message, checking the thread and the state.
    pub fn native(&self) -> Result<Arc<NativeMessage>, FerroError> {
        if current_thread_tag() != self.thread {
            return Err(FerroError::WrongThread);
        }
        self.slot.native()
    }

    /// (topic, partition, offset) of a valid message, for commits and offset stores.
    pub fn position(&self) -> Result<(String, i32, i64), FerroError> {
        let native = self.native()?;
        let msg = native.message();
        Ok((String::from_utf8_lossy(msg.topic_bytes()).into_owned(), msg.partition(), msg.offset()))
    }
}

impl Drop for BorrowedMessage {
    fn drop(&mut self) {
        self.registry.forget(self.registry_key, &self.slot);
    }
}

#[pymethods]
impl BorrowedMessage {
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        Ok(py_topic(py, self.native()?.message()))
    }

    #[getter]
    fn partition(&self) -> PyResult<i32> {
        Ok(self.native()?.message().partition())
    }

    #[getter]
    fn offset(&self) -> PyResult<i64> {
        Ok(self.native()?.message().offset())
    }

    /// Milliseconds since the epoch, or None when the broker gave none.
    #[getter]
    fn timestamp(&self) -> PyResult<Option<i64>> {
        Ok(TimestampType::of(self.native()?.message().timestamp()).0)
    }

    #[getter]
    fn timestamp_type(&self) -> PyResult<TimestampType> {
        Ok(TimestampType::of(self.native()?.message().timestamp()).1)
    }

    /// A read-only memoryview of the key inside librdkafka's buffer (no copy), or None.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        memoryview(py, BufferSource::Borrowed(self.native()?), Part::Key)
    }

    /// A read-only memoryview of the payload inside librdkafka's buffer (no copy), or None.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyMemoryView>>> {
        memoryview(py, BufferSource::Borrowed(self.native()?), Part::Payload)
    }

    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        headers::to_python(py, self.native()?.message().raw_headers())
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
    fn detach(&self) -> PyResult<OwnedMessage> {
        let native = self.native()?;
        let msg = native.message();
        let owned = RdOwnedMessage::new(
            msg.payload().map(<[u8]>::to_vec),
            msg.key().map(<[u8]>::to_vec),
            String::from_utf8_lossy(msg.topic_bytes()).into_owned(),
            msg.timestamp(),
            msg.partition(),
            msg.offset(),
            // A raw copy of librdkafka's headers: keys need not be UTF-8.
            msg.raw_headers().map(|h| h.detach()),
        );
        Ok(OwnedMessage::from(owned))
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
            Ok(native) => {
                let msg = native.message();
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
