//! The native half of a consumer, shared by the Python `Consumer` and every message it lent out.
//!
//! ```text
//! Python Consumer ──Arc──► ConsumerCore (rdkafka BaseConsumer + registry of live messages)
//!                              ▲
//! NativeMessage ──Arc──────────┘  (inside BorrowedMessage slots and exported buffers)
//! ```
//! librdkafka requires every message to be destroyed before its handle: the handle is destroyed
//! only when the last `Arc<ConsumerCore>` drops, and then on a background thread, because
//! `BaseConsumer`'s drop closes the consumer and may block.
//!
//! rdkafka's `BaseConsumer` does everything but poll: we serve the consumer queue ourselves
//! ([`ConsumerCore::poll_native`]), with rdkafka's own event API (the same events, the same queue,
//! the same rebalance protocol), so that a message costs one librdkafka call and no allocation
//! beyond its Python object and slot. rdkafka's `poll` allocates an `Arc` per event, reads the clock
//! twice and hands out a `BorrowedMessage` tied to a borrow no `#[pyclass]` can hold.

use std::ffi::CStr;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext};
use rdkafka::{ClientConfig, ClientContext as _, TopicPartitionList};

use crate::blocking::{drop_in_background, wait_detached};
use crate::callbacks::{log_level_of_syslog, ClientCallbacks, PythonSettings};
use crate::consumer::registry::MessageRegistry;
use crate::errors::{raw, FerroError, FerroResult, KafkaErrorInfo};
use crate::message::borrowed::NativeMessage;
use crate::topic_partition::{read_native_list, TopicPartition};

/// The Python functions given to `subscribe()`, and the consumer they receive (a weak reference:
/// the consumer owns this context).
pub struct RebalanceCallbacks {
    pub consumer: Py<PyAny>,
    pub on_assign: Option<Py<PyAny>>,
    pub on_revoke: Option<Py<PyAny>>,
    pub on_lost: Option<Py<PyAny>>,
}

/// The rdkafka context of our consumers: rdkafka's rebalance handling (eager or cooperative) with
/// the user's callbacks around it, and queued logs, errors, statistics and commit results.
pub struct CoreContext {
    pub callbacks: ClientCallbacks,
    pub rebalance: Mutex<Option<RebalanceCallbacks>>,
    /// An exception raised by a rebalance callback, re-raised by the poll that served it.
    pub rebalance_error: Mutex<Option<PyErr>>,
    /// False once the consumer is closing for good: nothing may call into Python any more.
    pub python_enabled: AtomicBool,
}

impl CoreContext {
    /// Whether callbacks wait to be run (cheap; checked once per poll slice).
    pub fn has_pending(&self) -> bool {
        self.callbacks.has_pending() || self.rebalance_error.lock().is_some()
    }

    /// Keeps an exception to raise from the next call into the consumer.
    pub fn defer_error(&self, err: PyErr) {
        let mut slot = self.rebalance_error.lock();
        if slot.is_none() {
            *slot = Some(err);
        }
    }

    fn call_rebalance(&self, pick: impl Fn(&RebalanceCallbacks) -> Option<&Py<PyAny>>, partitions: Vec<TopicPartition>) {
        if !self.python_enabled.load(Ordering::Acquire) {
            return;
        }
        // We are on the thread that released the GIL to poll; take it back for the callback.
        Python::try_attach(|py| {
            let (consumer, callback) = {
                let guard = self.rebalance.lock();
                let Some(callbacks) = guard.as_ref() else { return };
                let Some(callback) = pick(callbacks) else { return };
                (callbacks.consumer.clone_ref(py), callback.clone_ref(py))
            };
            let result = consumer.bind(py).call0().and_then(|consumer| callback.bind(py).call1((consumer, partitions)));
            if let Err(err) = result {
                let mut slot = self.rebalance_error.lock();
                match slot.as_ref() {
                    None => *slot = Some(err),
                    Some(_) => err.write_unraisable(py, None),
                }
            }
        });
    }
}

crate::callbacks::client_context_via_callbacks!(CoreContext);

/// rdkafka's defaults: they only run when rdkafka itself polls, which it does when the handle is
/// finally dropped (without Python). Everything else goes through [`ConsumerCore::poll_native`].
impl ConsumerContext for CoreContext {}

pub type NativeConsumer = BaseConsumer<CoreContext>;

/// Our reference to the queue `BaseConsumer` polls: the consumer queue (to which rdkafka redirects
/// the main queue) with a group, the main queue without.
struct QueueRef(NonNull<rdsys::rd_kafka_queue_t>);

// SAFETY: librdkafka queues are thread-safe; the reference is only polled and finally destroyed.
unsafe impl Send for QueueRef {}
// SAFETY: see Send.
unsafe impl Sync for QueueRef {}

impl Drop for QueueRef {
    fn drop(&mut self) {
        // SAFETY: we own this reference (from rd_kafka_queue_get_*) and release it exactly once,
        // before the handle is destroyed (ConsumerCore's Drop drops it first).
        unsafe { rdsys::rd_kafka_queue_destroy(self.0.as_ptr()) };
    }
}

/// A polled event, destroyed when dropped unless handed over to a [`NativeMessage`].
pub struct PolledEvent(NonNull<rdsys::rd_kafka_event_t>);

// SAFETY: librdkafka events may be served and destroyed on any thread.
unsafe impl Send for PolledEvent {}

impl PolledEvent {
    fn ptr(&self) -> *mut rdsys::rd_kafka_event_t {
        self.0.as_ptr()
    }

    fn into_raw(self) -> NonNull<rdsys::rd_kafka_event_t> {
        ManuallyDrop::new(self).0
    }
}

impl Drop for PolledEvent {
    fn drop(&mut self) {
        // SAFETY: the event came from rd_kafka_queue_poll, is ours and is destroyed exactly once.
        unsafe { rdsys::rd_kafka_event_destroy(self.0.as_ptr()) };
    }
}

pub struct ConsumerCore {
    /// Destroyed in `Drop`, on a background thread.
    consumer: ManuallyDrop<NativeConsumer>,
    /// Released in `Drop`, before the handle.
    queue: ManuallyDrop<QueueRef>,
    pub registry: Arc<MessageRegistry>,
    has_group: bool,
    /// Set once close() is done: from then on every call raises. (While closing, rebalance
    /// callbacks may still commit.)
    calls_closed: AtomicBool,
}

/// What a zero-timeout poll with the GIL held found.
pub enum Ready {
    Message(NativeMessage),
    /// Any other event: served with the GIL released (a rebalance can block in librdkafka).
    Other(PolledEvent),
    Nothing,
}

/// One result of polling librdkafka.
pub enum Polled {
    Message(NativeMessage),
    /// A consumer error: fatal ones are raised, others reported.
    Error(KafkaErrorInfo),
    /// Another event (a rebalance, a commit result, statistics) was served.
    Served,
    /// Nothing arrived within the timeout.
    Nothing,
}

impl ConsumerCore {
    pub fn new(config: &ClientConfig, settings: PythonSettings) -> FerroResult<Arc<Self>> {
        settings.allow_only("consumer", &["error_cb", "stats_cb", "on_commit", "logger"])?;
        let context = CoreContext {
            callbacks: ClientCallbacks::new(settings),
            rebalance: Mutex::new(None),
            rebalance_error: Mutex::new(None),
            python_enabled: AtomicBool::new(true),
        };
        let consumer: NativeConsumer = config.create_with_context(context)?;
        let has_group = config.get("group.id").is_some();
        let native = consumer.client().native_ptr();
        // SAFETY: `native` is the live handle just created. With a group.id, BaseConsumer redirected
        // the main queue to the consumer queue and polls that; without, it polls the main queue.
        // Either call returns a new reference that QueueRef releases.
        let queue = unsafe {
            if has_group { rdsys::rd_kafka_queue_get_consumer(native) } else { rdsys::rd_kafka_queue_get_main(native) }
        };
        let queue = NonNull::new(queue).ok_or_else(|| FerroError::Value("librdkafka gave no consumer queue".into()))?;
        Ok(Arc::new(ConsumerCore {
            consumer: ManuallyDrop::new(consumer),
            queue: ManuallyDrop::new(QueueRef(queue)),
            registry: Arc::new(MessageRegistry::default()),
            has_group,
            calls_closed: AtomicBool::new(false),
        }))
    }

    pub fn native(&self) -> &NativeConsumer {
        &self.consumer
    }

    pub fn context(&self) -> &CoreContext {
        self.consumer.context()
    }

    /// Closes for good without waiting (finaliser path): the rest happens when the handle drops.
    pub fn abandon(&self) {
        self.calls_closed.store(true, Ordering::Release);
        self.context().python_enabled.store(false, Ordering::Release);
        self.registry.close();
    }

    /// Commits asynchronously with the result posted to the consumer queue, where poll hands it to
    /// the `on_commit` callback (rd_kafka_commit alone reports manual async commits nowhere).
    pub fn commit_async(&self, offsets: &TopicPartitionList) -> FerroResult<()> {
        let consumer = self.open()?;
        let native = consumer.client().native_ptr();
        // SAFETY: `native` is a live consumer handle while `consumer` is borrowed. The queue reference
        // from rd_kafka_queue_get_consumer (null without a group) is ours to destroy, which we do
        // right after rd_kafka_commit_queue enqueued the request (it keeps its own reference).
        let err = unsafe {
            let queue = rdkafka::bindings::rd_kafka_queue_get_consumer(native);
            if queue.is_null() {
                return Err(FerroError::Value("asynchronous commits need a group.id".into()));
            }
            let err = rdkafka::bindings::rd_kafka_commit_queue(native, offsets.ptr(), queue, None, std::ptr::null_mut());
            rdkafka::bindings::rd_kafka_queue_destroy(queue);
            err
        };
        if err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            Err(FerroError::Kafka(KafkaErrorInfo::from_code(err.into(), "commit failed")))
        }
    }

    /// Runs queued callbacks and re-raises what a rebalance callback raised. With the GIL.
    pub fn dispatch_callbacks(&self, py: Python<'_>) -> PyResult<()> {
        let context = self.context();
        let queued = context.callbacks.dispatch(py);
        if let Some(err) = context.rebalance_error.lock().take() {
            return Err(err);
        }
        queued
    }

    /// The rdkafka consumer, or `Closed` once closed.
    pub fn open(&self) -> FerroResult<&NativeConsumer> {
        if self.calls_closed.load(Ordering::Acquire) {
            Err(FerroError::Closed("consumer"))
        } else {
            Ok(&self.consumer)
        }
    }

    /// Polls librdkafka once, for at most `timeout`, and serves what arrived. Call with the GIL
    /// released (rebalance callbacks take it themselves).
    pub fn poll_native(self: &Arc<Self>, timeout: Duration) -> Polled {
        match self.pop_event(timeout) {
            Some(event) => self.serve_event(event),
            None => Polled::Nothing,
        }
    }

    /// Takes a message that is ready now, without blocking: safe to call with the GIL held.
    pub fn poll_ready(self: &Arc<Self>) -> Ready {
        let Some(event) = self.pop_event(Duration::ZERO) else { return Ready::Nothing };
        match self.fetched_message(&event) {
            Some(message) => {
                // SAFETY: a FETCH event of our handle, handed over with its error-free message.
                Ready::Message(unsafe { NativeMessage::from_fetch_event(self.clone(), event.into_raw(), message) })
            }
            None => Ready::Other(event),
        }
    }

    fn pop_event(&self, timeout: Duration) -> Option<PolledEvent> {
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: the queue reference lives as long as `self`; rd_kafka_queue_poll returns an event
        // that is ours to destroy, or null.
        NonNull::new(unsafe { rdsys::rd_kafka_queue_poll(self.queue.0.as_ptr(), timeout_ms) }).map(PolledEvent)
    }

    /// The message of a FETCH event that carries one without error.
    fn fetched_message(&self, event: &PolledEvent) -> Option<NonNull<rdsys::rd_kafka_message_t>> {
        // SAFETY: `event` is a live event we own; a FETCH event's message is owned by it.
        unsafe {
            if rdsys::rd_kafka_event_type(event.ptr()) != rdsys::RD_KAFKA_EVENT_FETCH {
                return None;
            }
            let message = NonNull::new(rdsys::rd_kafka_event_message_next(event.ptr()) as *mut rdsys::rd_kafka_message_t)?;
            (raw::message_error(message.as_ptr()) == 0).then_some(message)
        }
    }

    /// Serves one polled event (call with the GIL released; rebalance callbacks take it).
    pub fn serve_event(self: &Arc<Self>, event: PolledEvent) -> Polled {
        if let Some(message) = self.fetched_message(&event) {
            // SAFETY: a FETCH event of our handle, handed over with its error-free message.
            return Polled::Message(unsafe { NativeMessage::from_fetch_event(self.clone(), event.into_raw(), message) });
        }
        // SAFETY (every unsafe block below): `event` is a live event we own; the accessors used are
        // the ones librdkafka documents for its type, and what they return is owned by the event.
        match unsafe { rdsys::rd_kafka_event_type(event.ptr()) } {
            rdsys::RD_KAFKA_EVENT_FETCH => {
                // A message with an error (fetched_message took the others).
                let Some(message) = NonNull::new(unsafe { rdsys::rd_kafka_event_message_next(event.ptr()) } as *mut rdsys::rd_kafka_message_t) else {
                    return Polled::Served;
                };
                let code = unsafe { raw::message_error(message.as_ptr()) };
                {
                    // SAFETY: an erroneous message carries its partition and librdkafka's text.
                    let (partition, detail) = unsafe { ((*message.as_ptr()).partition, raw::lossy(rdsys::rd_kafka_message_errstr(message.as_ptr()))) };
                    Polled::Error(consumer_error(code, partition, false, detail))
                }
            }
            rdsys::RD_KAFKA_EVENT_ERROR => {
                let code = unsafe { raw::rd_kafka_event_error(event.ptr()) };
                let fatal = unsafe { rdsys::rd_kafka_event_error_is_fatal(event.ptr()) } != 0;
                let detail = unsafe { raw::lossy(rdsys::rd_kafka_event_error_string(event.ptr())) };
                let partition = if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF as i32 {
                    // The event's partition is a copy that we must destroy.
                    let tp = unsafe { rdsys::rd_kafka_event_topic_partition(event.ptr()) };
                    if tp.is_null() {
                        -1
                    } else {
                        let partition = unsafe { (*tp).partition };
                        unsafe { rdsys::rd_kafka_topic_partition_destroy(tp) };
                        partition
                    }
                } else {
                    -1
                };
                Polled::Error(consumer_error(code, partition, fatal, detail))
            }
            rdsys::RD_KAFKA_EVENT_REBALANCE => {
                let code = unsafe { raw::rd_kafka_event_error(event.ptr()) };
                let list = unsafe { rdsys::rd_kafka_event_topic_partition_list(event.ptr()) };
                self.serve_rebalance(code, list);
                Polled::Served
            }
            rdsys::RD_KAFKA_EVENT_OFFSET_COMMIT => {
                let code = unsafe { raw::rd_kafka_event_error(event.ptr()) };
                let error = (code != 0).then(|| KafkaErrorInfo::from_raw(code, "commit failed", None));
                // SAFETY: the list (or null) belongs to the event, alive during the call.
                let offsets = unsafe { read_native_list(rdsys::rd_kafka_event_topic_partition_list(event.ptr())) };
                self.context().callbacks.commit_result(error, offsets.into_iter().map(|(tp, _)| tp).collect());
                Polled::Served
            }
            rdsys::RD_KAFKA_EVENT_STATS => {
                let json = unsafe { rdsys::rd_kafka_event_stats(event.ptr()) };
                if !json.is_null() {
                    // SAFETY: a NUL-terminated JSON string owned by the event.
                    self.context().stats_raw(unsafe { CStr::from_ptr(json) }.to_bytes());
                }
                Polled::Served
            }
            rdsys::RD_KAFKA_EVENT_LOG => {
                let (mut facility, mut text, mut level) = (std::ptr::null(), std::ptr::null(), 0);
                if unsafe { rdsys::rd_kafka_event_log(event.ptr(), &mut facility, &mut text, &mut level) } == 0 {
                    // SAFETY: strings owned by the event (or null).
                    let (facility, text) = unsafe { (raw::lossy(facility), raw::lossy(text)) };
                    self.context().log(
                        log_level_of_syslog(level),
                        facility.unwrap_or_default().trim(),
                        text.unwrap_or_default().trim(),
                    );
                }
                Polled::Served
            }
            // Nothing else is enabled (rdkafka ignores the rest too).
            _ => Polled::Served,
        }
    }

    /// A rebalance, as rdkafka's default `ConsumerContext::rebalance` does it, with the Python
    /// callbacks around it: on_revoke (or on_lost) before partitions go, so it can still commit;
    /// on_assign after they came, so it can seek or read positions.
    fn serve_rebalance(&self, code: i32, list: *mut rdsys::rd_kafka_topic_partition_list_t) {
        const ASSIGN: i32 = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS as i32;
        const REVOKE: i32 = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS as i32;
        let context = self.context();
        let native = self.consumer.client().native_ptr();
        // SAFETY: the list (or null) belongs to the rebalance event, which the caller holds.
        let partitions = || unsafe { read_native_list(list) }.into_iter().map(|(tp, _)| tp).collect::<Vec<_>>();
        // SAFETY: `native` is our live handle; librdkafka returns a static string.
        let cooperative = unsafe { CStr::from_ptr(rdsys::rd_kafka_rebalance_protocol(native)) }.to_bytes() == b"COOPERATIVE";
        if code == REVOKE {
            // SAFETY: our live handle.
            let lost = unsafe { rdsys::rd_kafka_assignment_lost(native) } == 1;
            context.call_rebalance(|c| if lost { c.on_lost.as_ref().or(c.on_revoke.as_ref()) } else { c.on_revoke.as_ref() }, partitions());
        } else if code != ASSIGN {
            context.callbacks.consumer_error(KafkaErrorInfo::from_raw(code, "rebalance failed", None));
        }
        // SAFETY: our live handle and the event's list; librdkafka copies what it keeps. The returned
        // errors are reported by librdkafka itself (as error events) and need no handling here.
        unsafe {
            match (code == ASSIGN, cooperative) {
                (true, true) => drop(NonNull::new(rdsys::rd_kafka_incremental_assign(native, list)).map(|e| rdsys::rd_kafka_error_destroy(e.as_ptr()))),
                (true, false) => drop(rdsys::rd_kafka_assign(native, list)),
                (false, true) => drop(NonNull::new(rdsys::rd_kafka_incremental_unassign(native, list)).map(|e| rdsys::rd_kafka_error_destroy(e.as_ptr()))),
                (false, false) => drop(rdsys::rd_kafka_assign(native, std::ptr::null())),
            }
        }
        if code == ASSIGN {
            context.call_rebalance(|c| c.on_assign.as_ref(), partitions());
        }
    }

    /// Invalidates every live message, leaves the group and closes librdkafka's consumer, with the
    /// GIL released and Ctrl-C honoured. Returns once closed or at `deadline`; what is left then
    /// finishes when the handle is destroyed. Idempotent.
    pub fn close(self: &Arc<Self>, py: Python<'_>, deadline: Option<Instant>) -> PyResult<()> {
        if !self.registry.close() {
            self.calls_closed.store(true, Ordering::Release);
            return Ok(());
        }
        let waited = if self.has_group && self.consumer.close_queue().is_ok() {
            // An asynchronous close whose rebalance (on_revoke) and commit events we serve by polling.
            wait_detached(py, deadline, |slice| {
                if !self.consumer.closed() {
                    // Messages and errors still queued are dropped: their partitions are being revoked.
                    drop(self.poll_native(slice));
                }
                self.consumer.closed().then_some(())
            })
            .map(drop)
        } else {
            Ok(())
        };
        // From here on the handle may be finished off on any thread: no more Python callbacks.
        self.calls_closed.store(true, Ordering::Release);
        self.context().python_enabled.store(false, Ordering::Release);
        let dispatched = self.dispatch_callbacks(py);
        *self.context().rebalance.lock() = None;
        waited.and(dispatched)
    }
}

impl Drop for ConsumerCore {
    fn drop(&mut self) {
        self.context().python_enabled.store(false, Ordering::Release);
        // SAFETY: `queue` and `consumer` are taken exactly once, here, and never touched again:
        // `self` is being dropped. Our queue reference goes first, while the handle is alive. No
        // message borrows from the handle any more, since every NativeMessage holds an
        // Arc<ConsumerCore> and this is the last one.
        let consumer = unsafe {
            ManuallyDrop::drop(&mut self.queue);
            ManuallyDrop::take(&mut self.consumer)
        };
        drop_in_background(consumer, "consumer");
    }
}

/// A consumer error as Python sees it (partition only for "end of partition").
fn consumer_error(code: i32, partition: i32, fatal: bool, detail: Option<String>) -> KafkaErrorInfo {
    let mut info = KafkaErrorInfo::from_raw(code, if fatal { "fatal consumer error" } else { "consume failed" }, detail);
    if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF as i32 {
        info.message = format!("reached the end of partition {partition}");
    }
    info.fatal |= fatal;
    info
}
