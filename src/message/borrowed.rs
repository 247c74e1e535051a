//! `BorrowedMessage`: a zero-copy view of a consumed message inside librdkafka's fetch buffer.
//!
//! Three layers, each with one job:
//! - [`NativeMessage`] owns a `rd_kafka_message_t` as librdkafka's batch API handed it out,
//!   together with the consumer handle it came from (an `Arc<dyn MessageSource>`: the consumer's
//!   `ConsumerHandle`), so the handle outlives it.
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

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyMemoryView, PyString};
use rdkafka::bindings as rdsys;
use rdkafka::message::{BorrowedHeaders, OwnedMessage as RdOwnedMessage};
use rdkafka::Timestamp;

use crate::errors::FerroError;
/// Lives with the error it explains (errors.rs), which is below this module.
pub use crate::errors::InvalidReason;
use crate::ffi::bytes_at;
use crate::message::owned::OwnedMessage;
use crate::message::{
    clear_view, export_read_only, headers, missing_part, part_view, py_topic, requested_part, MessageParts, Part,
    TimestampType,
};
use crate::topic_partition::TopicPartition;

/// The consumer handle a native message came from, as the message sees it (implemented by
/// consumer/core.rs's `ConsumerHandle`; a trait, so that messages do not depend on the consumer).
/// Each message holds its handle, which librdkafka requires to outlive it.
pub trait MessageSource: Send + Sync {
    /// Counts a native message in, at its creation.
    fn native_created(&self);
    /// Counts it out, at its drop.
    fn native_dropped(&self);
    /// The handle was inherited across fork(): librdkafka's state must not be touched (fork.rs).
    fn inherited(&self) -> bool;
}

/// A message as librdkafka handed it out, plus the consumer handle it came from.
pub struct NativeMessage {
    message: NonNull<rdsys::rd_kafka_message_t>,
    handle: Arc<dyn MessageSource>,
}

// SAFETY: librdkafka allows destroying a message from any thread, and a consumed message is not
// written after it was handed out, except that rd_kafka_message_headers parses headers lazily into
// it: `raw_headers` is only reached through BorrowedMessage accessors and detach(), which run on the
// one thread that received the message (checked), while other threads only read key and payload
// bytes, which header parsing does not touch.
unsafe impl Send for NativeMessage {}
// SAFETY: see Send.
unsafe impl Sync for NativeMessage {}

impl NativeMessage {
    /// Takes ownership of a consumed message.
    ///
    /// # Safety
    /// `message` was handed out by `handle` (rd_kafka_consume_batch_queue), without error, and is
    /// handed over here: nobody else destroys it.
    pub unsafe fn from_consumed(handle: Arc<dyn MessageSource>, message: NonNull<rdsys::rd_kafka_message_t>) -> Self {
        handle.native_created();
        NativeMessage { message, handle }
    }

    fn raw(&self) -> &rdsys::rd_kafka_message_t {
        // SAFETY: we own the message until drop.
        unsafe { self.message.as_ref() }
    }

    /// The partition leader's epoch when the message was fetched (KIP-320), if the broker said.
    pub fn leader_epoch(&self) -> Option<i32> {
        // SAFETY: we own the live message until drop; librdkafka only reads it.
        let epoch = unsafe { rdsys::rd_kafka_message_leader_epoch(self.message.as_ptr()) };
        (epoch >= 0).then_some(epoch)
    }
}

impl Drop for NativeMessage {
    fn drop(&mut self) {
        self.handle.native_dropped();
        if self.handle.inherited() {
            return; // see fork.rs: librdkafka's state in a forked child cannot be touched
        }
        // SAFETY: we own the message (from_consumed's contract) and destroy it exactly once; the
        // handle is still alive because `self.handle` is. Nothing borrows the message any more.
        unsafe { rdsys::rd_kafka_message_destroy(self.message.as_ptr()) };
    }
}

/// rdkafka's own message interface, so that Rust code reads a ferrokafka message as it reads
/// rdkafka's `BorrowedMessage` (`key_view`, `payload_view`, `headers` included).
impl rdkafka::message::Message for NativeMessage {
    type Headers = BorrowedHeaders;

    fn key(&self) -> Option<&[u8]> {
        MessageParts::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        MessageParts::payload(self)
    }

    unsafe fn payload_mut(&mut self) -> Option<&mut [u8]> {
        let m = self.raw();
        // SAFETY: `&mut self` is the only access to the message (an `Arc<NativeMessage>` hands out
        // `&mut` only when unique), and librdkafka's payload bytes live as long as the message;
        // the caller upholds the trait's contract for writing them.
        (!m.payload.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(m.payload as *mut u8, m.len) })
    }

    /// The topic name; Kafka's names are ASCII, and one that were not UTF-8 reads as "" here (use
    /// `MessageParts::topic_bytes` for the raw bytes) rather than panicking as rdkafka's would.
    fn topic(&self) -> &str {
        std::str::from_utf8(self.topic_bytes()).unwrap_or("")
    }

    fn partition(&self) -> i32 {
        MessageParts::partition(self)
    }

    fn offset(&self) -> i64 {
        MessageParts::offset(self)
    }

    fn timestamp(&self) -> Timestamp {
        MessageParts::timestamp(self)
    }

    fn headers(&self) -> Option<&BorrowedHeaders> {
        self.raw_headers()
    }
}

impl NativeMessage {
    /// librdkafka's topic handle of the message: equal handles, equal topics (cheaper to compare
    /// than names, which librdkafka hands out as C strings).
    pub fn topic_handle(&self) -> *const rdsys::rd_kafka_topic_t {
        self.raw().rkt
    }

    /// Copies the message into rdkafka's `OwnedMessage`, as rdkafka's `BorrowedMessage::detach`
    /// does (the topic decoded lossily, headers copied raw: keys need not be UTF-8).
    pub fn detach(&self) -> RdOwnedMessage {
        use rdkafka::message::Message;
        RdOwnedMessage::new(
            Message::payload(self).map(<[u8]>::to_vec),
            Message::key(self).map(<[u8]>::to_vec),
            String::from_utf8_lossy(self.topic_bytes()).into_owned(),
            Message::timestamp(self),
            Message::partition(self),
            Message::offset(self),
            Message::headers(self).map(BorrowedHeaders::detach),
        )
    }
}

impl MessageParts for NativeMessage {
    fn key(&self) -> Option<&[u8]> {
        let m = self.raw();
        // SAFETY: librdkafka's key pointer and length describe bytes inside the fetch buffer, which
        // the message pins for as long as we hold it.
        unsafe { bytes_at(m.key, m.key_len) }
    }

    fn payload(&self) -> Option<&[u8]> {
        let m = self.raw();
        // SAFETY: as for the key.
        unsafe { bytes_at(m.payload, m.len) }
    }

    fn topic_bytes(&self) -> &[u8] {
        // SAFETY: a consumed message always has a topic handle (`rkt`) that lives as long as the
        // message; rd_kafka_topic_name returns its NUL-terminated name, owned by that handle.
        unsafe { std::ffi::CStr::from_ptr(rdsys::rd_kafka_topic_name(self.raw().rkt)) }.to_bytes()
    }

    fn partition(&self) -> i32 {
        self.raw().partition
    }

    fn offset(&self) -> i64 {
        self.raw().offset
    }

    fn timestamp(&self) -> Timestamp {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is live; librdkafka writes one of the three timestamp types into `kind`.
        let ms = unsafe { rdsys::rd_kafka_message_timestamp(self.message.as_ptr(), &mut kind) };
        match kind {
            _ if ms < 0 => Timestamp::NotAvailable,
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => Timestamp::CreateTime(ms),
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => Timestamp::LogAppendTime(ms),
            _ => Timestamp::NotAvailable,
        }
    }

    fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        let mut native = std::ptr::null_mut();
        // SAFETY: the message is live; on success librdkafka points `native` at headers owned by the
        // message (parsed on first use, see the Send impl for why that write is not a race).
        // The code is read as the `int` it is (see ffi.rs).
        let err = unsafe { crate::ffi::rd_kafka_message_headers(self.message.as_ptr(), &mut native) };
        (err == 0 && !native.is_null())
            // SAFETY: the headers live inside the message, which lives as long as `self`.
            .then(|| unsafe { headers::from_native(self, native) })
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

/// Takes an object that holds no Python references out of the cyclic garbage collector. PyO3 makes
/// every class collectable, but a message refers to nothing the collector could find in a cycle,
/// and tens of thousands of tracked messages would be traversed on every collection for nothing.
pub fn untrack(obj: &Bound<'_, PyAny>) {
    // SAFETY: `obj` is a live object; PyObject_GC_UnTrack accepts any GC object, tracked or not,
    // and PyO3's deallocator untracks again safely. The object owns no Python references, so no
    // reference cycle can run through it and the collector never needs to see it.
    unsafe { ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) };
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
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        // SAFETY: the Py_buffer CPython passed us.
        unsafe { clear_view(view) };
        let this = slf.get();
        let part = requested_part(slf.as_any());
        let native = this.native()?;
        let bytes: *const [u8] = part.of(native.as_ref()).ok_or_else(|| missing_part(part))?;
        let keep = Arc::into_raw(native) as *mut c_void;
        // SAFETY: `bytes` lies in the native message, which `keep` (a strong reference, released in
        // __releasebuffer__) holds for as long as the view exists; librdkafka never changes it.
        let exported = unsafe { export_read_only(slf.into_any(), view, flags, &*bytes, keep) };
        if exported.is_err() {
            // SAFETY: `keep` came from Arc::into_raw just above and was not stored anywhere.
            drop(unsafe { Arc::from_raw(keep as *const NativeMessage) });
        }
        exported
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the Py_buffer our __getbuffer__ filled, whose `internal` is the
        // Arc<NativeMessage> it leaked; it is released exactly once, here (from whichever thread).
        unsafe {
            let keep = (*view).internal as *const NativeMessage;
            if !keep.is_null() {
                drop(Arc::from_raw(keep));
            }
        }
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
