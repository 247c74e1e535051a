//! The native half of a consumer, shared by the Python `Consumer` and every message it lent out.
//!
//! ```text
//! Python Consumer ──Arc──► ConsumerCore (NativeConsumer + registry of live messages)
//!                              ▲
//! NativeMessage ──Arc──────────┘  (inside BorrowedMessage slots and exported buffers)
//! ```
//! librdkafka requires every message to be destroyed before its handle: the handle is destroyed
//! only when the last `Arc<ConsumerCore>` drops, and then on a background thread, because closing
//! it may block. The handle itself, with librdkafka's batch API, is [`NativeConsumer`].

use std::ffi::CStr;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::blocking::{drop_in_background, wait_detached};
use crate::callbacks::{ClientCallbacks, PythonSettings, Setting};
use crate::consumer::lent_ahead::{LentAhead, LEND_BATCH, SERVE_INTERVAL};
use crate::consumer::native::NativeConsumer;
use crate::consumer::offsets::HandedOffsets;
use crate::consumer::registry::MessageRegistry;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::{self as raw, NativePtr};
use crate::fork::Born;
use crate::message::borrowed::{current_thread_tag, NativeMessage};
use crate::message::MessageParts;
use crate::topic_partition::{read_native_list, TopicPartition};

/// The Python functions given to `subscribe()`, and the consumer they receive (a weak reference:
/// the consumer owns this context).
pub struct RebalanceCallbacks {
    pub consumer: Py<PyAny>,
    pub on_assign: Option<Py<PyAny>>,
    pub on_revoke: Option<Py<PyAny>>,
    pub on_lost: Option<Py<PyAny>>,
}

/// The context of our consumer handles: the rebalance protocol with the user's callbacks around it,
/// and queued logs, errors, statistics and commit results.
pub struct CoreContext {
    pub callbacks: ClientCallbacks,
    pub rebalance: Mutex<Option<RebalanceCallbacks>>,
    /// An exception raised by a rebalance callback, re-raised by the poll that served it.
    /// Kept as the exception object, so that the garbage collector can see it (`__traverse__`).
    pub rebalance_error: Mutex<Option<Py<PyAny>>>,
    /// A fatal error reported by librdkafka, raised by the next call that polls.
    pub fatal_error: Mutex<Option<KafkaErrorInfo>>,
    /// False once the consumer is closing for good: nothing may call into Python any more.
    pub python_enabled: AtomicBool,
    /// What was handed to the application: the only offsets ferrokafka stores and commits.
    pub offsets: HandedOffsets,
    /// Partitions revoked since the consumer last looked: their messages waiting to be lent go.
    pub revoked: Mutex<Vec<TopicPartition>>,
    /// Rebalances are kept for the caller to apply (asyncio), not served inside a poll.
    pub defer_rebalances: AtomicBool,
    pub pending_rebalance: Mutex<Option<PendingRebalance>>,
    /// Ends of partitions reached (`enable.partition.eof`), in order, each raised by one call.
    pub partition_eofs: Mutex<std::collections::VecDeque<PartitionEof>>,
}

/// librdkafka's partition-EOF event: `partition` of `topic` has no message at `offset` yet.
pub struct PartitionEof {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl CoreContext {
    /// Whether callbacks wait to be run (cheap; checked once per poll slice).
    pub fn has_pending(&self) -> bool {
        self.callbacks.has_pending()
            || self.rebalance_error.lock().is_some()
            || self.fatal_error.lock().is_some()
            || !self.partition_eofs.lock().is_empty()
    }

    /// Keeps an exception to raise from the next call into the consumer.
    /// If one is kept already, this one is reported as unraisable, after the lock is released
    /// (a hook may call back into the consumer).
    pub fn defer_error(&self, py: Python<'_>, err: PyErr) {
        let value = err.into_value(py).into_any();
        let spare = {
            let mut slot = self.rebalance_error.lock();
            if slot.is_none() {
                *slot = Some(value);
                None
            } else {
                Some(value)
            }
        };
        if let Some(spare) = spare {
            PyErr::from_value(spare.into_bound(py)).write_unraisable(py, None);
        }
    }

    /// A consumer error: fatal ones are raised by the next poll, others go to `error_cb` or the log.
    pub fn consumer_error(&self, info: KafkaErrorInfo) {
        if info.fatal {
            self.fatal_error.lock().get_or_insert(info);
        } else {
            self.callbacks.report_error(info);
        }
    }

    /// Serves a rebalance as confluent-kafka does: the Python callback first — on_assign before the
    /// partitions are assigned, on_revoke (or on_lost) before they go, so it can still commit — and
    /// then, unless the callback changed the assignment itself (`assign()`, `unassign()`,
    /// `incremental_assign()`, `incremental_unassign()`, e.g. with offsets it set on the
    /// partitions), the default: the partitions as librdkafka gave them. Called by librdkafka (our
    /// rebalance callback) on the polling thread, without the GIL. The rebalance waits in
    /// `pending_rebalance` meanwhile; with rebalances deferred (asyncio) it is only kept there, for
    /// the event loop to run the callback and `finish_pending_rebalance`.
    pub fn rebalance(&self, rk: *mut rdsys::rd_kafka_t, code: i32, list: *mut rdsys::rd_kafka_topic_partition_list_t) {
        if code != ASSIGN && code != REVOKE {
            self.callbacks.report_error(KafkaErrorInfo::from_raw(code, "rebalance failed", None));
            apply_rebalance(rk, code, list);
            return;
        }
        // SAFETY: librdkafka's list (or null) for the duration of the callback.
        let partitions = unsafe { read_native_list(list) };
        // SAFETY: the live handle calling back.
        let lost = code == REVOKE && unsafe { rdsys::rd_kafka_assignment_lost(rk) } == 1;
        let Ok(copy) = crate::topic_partition::to_list(&partitions) else {
            // Names librdkafka gave cannot fail the checks; if one did, serve it without callbacks.
            if code == REVOKE {
                self.before_unassign(rk, partitions);
            }
            apply_rebalance(rk, code, list);
            return;
        };
        let pending =
            PendingRebalance { code, lost, list: copy, partitions: partitions.clone(), applied: false, stored: false };
        *self.pending_rebalance.lock() = Some(pending);
        if self.defer_rebalances.load(Ordering::Acquire) && self.python_enabled.load(Ordering::Acquire) {
            return;
        }
        if code == REVOKE {
            self.call_rebalance(
                |c| if lost { c.on_lost.as_ref().or(c.on_revoke.as_ref()) } else { c.on_revoke.as_ref() },
                partitions,
            );
        } else {
            self.call_rebalance(|c| c.on_assign.as_ref(), partitions);
        }
        self.finish_pending_rebalance(rk);
    }

    /// Before the application changes the assignment itself (see [`rebalance`](Self::rebalance)):
    /// while a revocation waits for its callback, what the application is done with is stored
    /// first, as before the default unassign.
    pub fn before_assignment_change(&self, rk: *mut rdsys::rd_kafka_t) {
        let revoked = {
            let mut pending = self.pending_rebalance.lock();
            match pending.as_mut() {
                Some(p) if p.code == REVOKE && !p.stored => {
                    p.stored = true;
                    p.partitions.clone()
                }
                _ => return,
            }
        };
        self.before_unassign(rk, revoked);
    }

    /// The application changed the assignment itself: a rebalance waiting for its callback is
    /// applied, not applied again by default when the callback returns (confluent-kafka's rule).
    pub fn assignment_changed(&self) {
        if let Some(pending) = self.pending_rebalance.lock().as_mut() {
            pending.applied = true;
        }
    }

    /// After on_revoke, which may still commit them; before the unassign's own commit, which
    /// reads the stored offsets: what the application is done with is stored first.
    fn before_unassign(&self, rk: *mut rdsys::rd_kafka_t, revoked: Vec<TopicPartition>) {
        self.offsets.store_done(|list| {
            // SAFETY: the live handle and a valid list, which librdkafka copies.
            match unsafe { raw::rd_kafka_offsets_store(rk, list.ptr()) } {
                0 => Ok(()),
                _ => Err(()),
            }
        });
        self.offsets.forget(&revoked);
        self.revoked.lock().extend(revoked);
    }

    /// Whether a deferred rebalance waits (what `pending_rebalance` says, without copying it).
    pub fn has_pending_rebalance(&self) -> bool {
        self.pending_rebalance.lock().is_some()
    }

    /// The deferred rebalance, if one waits: ("assign" | "revoke" | "lost", partitions).
    pub fn pending_rebalance(&self) -> Option<(&'static str, Vec<TopicPartition>)> {
        let pending = self.pending_rebalance.lock();
        let p = pending.as_ref()?;
        let kind = match (p.code == ASSIGN, p.lost) {
            (true, _) => "assign",
            (false, true) => "lost",
            (false, false) => "revoke",
        };
        Some((kind, p.partitions.clone()))
    }

    /// Applies the waiting rebalance (librdkafka waits for it), without Python callbacks: the
    /// caller ran them. Unless a callback applied it already (see
    /// [`assignment_changed`](Self::assignment_changed)), with the partitions librdkafka gave.
    /// Returns whether one was pending.
    pub fn finish_pending_rebalance(&self, rk: *mut rdsys::rd_kafka_t) -> bool {
        let Some(pending) = self.pending_rebalance.lock().take() else { return false };
        if pending.code == REVOKE && !pending.stored {
            self.before_unassign(rk, pending.partitions);
        }
        if !pending.applied {
            apply_rebalance(rk, pending.code, pending.list.ptr());
        }
        true
    }

    fn call_rebalance(
        &self,
        pick: impl Fn(&RebalanceCallbacks) -> Option<&Py<PyAny>>,
        partitions: Vec<TopicPartition>,
    ) {
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
            IN_REBALANCE_CALLBACK.set(true);
            let result = consumer.bind(py).call0().and_then(|consumer| callback.bind(py).call1((consumer, partitions)));
            IN_REBALANCE_CALLBACK.set(false);
            if let Err(err) = result {
                self.defer_error(py, err);
            }
        });
    }
}

crate::callbacks::client_context_via_callbacks!(CoreContext);

const ASSIGN: i32 = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS as i32;
const REVOKE: i32 = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS as i32;

/// A rebalance waiting for its Python callback: while the callback runs, or kept for later
/// (`Consumer._defer_rebalances`: an event loop runs the callbacks, awaiting coroutines, and then
/// applies it); librdkafka waits for that (its "wait assign call").
pub struct PendingRebalance {
    code: i32,
    lost: bool,
    list: TopicPartitionList,
    partitions: Vec<TopicPartition>,
    /// The callback changed the assignment itself: nothing to apply by default.
    applied: bool,
    /// What the application is done with was stored before it unassigned (a revocation).
    stored: bool,
}

/// Assigns or unassigns `list` as librdkafka asked (`code`), with the group's protocol.
fn apply_rebalance(rk: *mut rdsys::rd_kafka_t, code: i32, list: *mut rdsys::rd_kafka_topic_partition_list_t) {
    // SAFETY: `rk` is the live handle; librdkafka returns a static string, or NULL (not a group
    // consumer, which a rebalance cannot come from; read as eager).
    let protocol = unsafe { rdsys::rd_kafka_rebalance_protocol(rk) };
    // SAFETY: a non-NULL protocol is one of librdkafka's static NUL-terminated names.
    let cooperative = !protocol.is_null() && unsafe { CStr::from_ptr(protocol) }.to_bytes() == b"COOPERATIVE";
    // SAFETY: the live handle and a valid list, which librdkafka copies; an error object the
    // incremental calls return is ours, destroyed by NativePtr. Errors are reported by librdkafka
    // itself (to the error callback) and need no handling here.
    unsafe {
        match (code == ASSIGN, cooperative) {
            (true, true) => drop(NativePtr::from_ptr(rdsys::rd_kafka_incremental_assign(rk, list))),
            (true, false) => drop(raw::rd_kafka_assign(rk, list)),
            (false, true) => drop(NativePtr::from_ptr(rdsys::rd_kafka_incremental_unassign(rk, list))),
            (false, false) => drop(raw::rd_kafka_assign(rk, ptr::null())),
        }
    }
}

thread_local! {
    /// Set while this thread runs an on_assign/on_revoke/on_lost callback, inside librdkafka's
    /// rebalance: close() there would wait for the rebalance it is part of.
    static IN_REBALANCE_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub struct ConsumerCore {
    /// Destroyed in `Drop`, on a background thread.
    consumer: ManuallyDrop<NativeConsumer>,
    pub registry: Arc<MessageRegistry>,
    /// Fetched in a batch, not lent yet (see lent_ahead.rs).
    pub ahead: LentAhead,
    /// When librdkafka's queue was last served.
    served_at: Mutex<Instant>,
    /// Set once close() is done: from then on every call raises. (While closing, rebalance
    /// callbacks may still commit.)
    calls_closed: AtomicBool,
    pub born: Born,
}

/// What one poll brought: messages (in order) and consumer errors (a partition's end, an unknown
/// topic), which librdkafka hands out among the messages.
#[derive(Default)]
pub struct Fetched {
    pub messages: Vec<NativeMessage>,
    pub errors: Vec<KafkaErrorInfo>,
}

/// ferrokafka's defaults where librdkafka's make a Python consumer slow. A user's setting wins.
pub const CONSUMER_DEFAULTS: [(&str, &str); 1] = [
    // librdkafka stops fetching a partition for fetch.queue.backoff.ms (default 1000) whenever its
    // local queue holds more than queued.min.messages (100,000): a Python application drains those
    // in a fraction of a second and then waits for the rest of it, at a few hundred thousand
    // messages per second, or at full speed: which one is luck (benches/README.md).
    ("fetch.queue.backoff.ms", "10"),
];

impl ConsumerCore {
    pub fn new(config: &ClientConfig, settings: PythonSettings) -> FerroResult<Arc<Self>> {
        let allowed = [
            Setting::ErrorCb,
            Setting::StatsCb,
            Setting::OnCommit,
            Setting::Logger,
            Setting::OAuthCb,
            Setting::ThrottleCb,
        ];
        settings.allow_only("consumer", &allowed)?;
        // librdkafka's auto-store stores what its batch call hands out, also while closing: always
        // off there; ferrokafka stores what it handed to the application (see offsets.rs), and
        // only for auto-commit, the one reader of stored offsets (commit() uses what was handed).
        let store = bool_property(config, "enable.auto.offset.store")? && bool_property(config, "enable.auto.commit")?;
        let mut config = config.clone();
        config.set("enable.auto.offset.store", "false");
        for (key, value) in CONSUMER_DEFAULTS {
            if config.get(key).is_none() {
                config.set(key, value);
            }
        }
        let config = &config;
        let context = CoreContext {
            callbacks: ClientCallbacks::new(settings, config),
            rebalance: Mutex::new(None),
            rebalance_error: Mutex::new(None),
            fatal_error: Mutex::new(None),
            python_enabled: AtomicBool::new(true),
            offsets: HandedOffsets::new(store),
            revoked: Mutex::new(Vec::new()),
            defer_rebalances: AtomicBool::new(false),
            pending_rebalance: Mutex::new(None),
            partition_eofs: Mutex::new(std::collections::VecDeque::new()),
        };
        let consumer = NativeConsumer::new(config, context)?;
        Ok(Arc::new(ConsumerCore {
            consumer: ManuallyDrop::new(consumer),
            registry: Arc::new(MessageRegistry::default()),
            ahead: LentAhead::default(),
            served_at: Mutex::new(Instant::now()),
            calls_closed: AtomicBool::new(false),
            born: Born::here(),
        }))
    }

    pub fn context(&self) -> &CoreContext {
        self.consumer.context()
    }

    /// Closes for good without waiting (finaliser path): the rest happens when the handle drops.
    pub fn abandon(&self) {
        drop(self.ahead.clear(true));
        self.calls_closed.store(true, Ordering::Release);
        self.context().python_enabled.store(false, Ordering::Release);
        self.context().callbacks.stop();
        self.registry.close();
    }

    /// Runs queued callbacks and re-raises what a rebalance callback raised, or a fatal error.
    /// With the GIL.
    pub fn dispatch_callbacks(&self, py: Python<'_>) -> PyResult<()> {
        let context = self.context();
        let queued = context.callbacks.dispatch(py, None);
        let deferred = context.rebalance_error.lock().take();
        if let Some(err) = deferred {
            return Err(PyErr::from_value(err.into_bound(py)));
        }
        if let Some(info) = context.fatal_error.lock().take() {
            return Err(info.into_pyerr(py));
        }
        queued
    }

    /// Raises the first partition EOF waiting (see [`PartitionEof`]) whose partition has no
    /// fetched message left to lend: a partition's end comes after its last message.
    pub fn raise_partition_eof(&self, py: Python<'_>) -> PyResult<()> {
        let eof = {
            let mut eofs = self.context().partition_eofs.lock();
            let ready = eofs.iter().position(|eof| {
                let tp = TopicPartition::new(eof.topic.clone(), eof.partition, 0);
                self.ahead.first_offset(&tp).is_none()
            });
            ready.and_then(|i| eofs.remove(i))
        };
        match eof {
            None => Ok(()),
            Some(eof) => Err(crate::errors::partition_eof_error(py, &eof.topic, eof.partition, eof.offset)),
        }
    }

    /// The librdkafka consumer, or `Closed` once closed.
    pub fn open(&self) -> FerroResult<&NativeConsumer> {
        self.born.check("consumer")?;
        if self.calls_closed.load(Ordering::Acquire) {
            Err(FerroError::Closed("consumer"))
        } else {
            Ok(&self.consumer)
        }
    }

    /// Waits up to `timeout` for a first message, then takes up to `max` in all that are ready now,
    /// serving callbacks on the way. Call with the GIL released (rebalance callbacks take it).
    pub fn fetch(self: &Arc<Self>, timeout: Duration, max: usize) -> Fetched {
        let mut fetched = Fetched::default();
        let mut batch = [ptr::null_mut(); LEND_BATCH];
        *self.served_at.lock() = Instant::now();
        // librdkafka's batch call waits until the whole batch is full: wait for one message only,
        // then take what is ready without waiting. With no room at all, the call only serves
        // librdkafka's queue (rebalances) and tells it that the application polls.
        let mut n = self.consumer.consume_batch(timeout, &mut batch[..max.min(1)]);
        while n > 0 {
            for &message in &batch[..n] {
                self.take(message, &mut fetched);
            }
            let room = max.saturating_sub(fetched.messages.len() + fetched.errors.len()).min(batch.len());
            if room == 0 {
                break;
            }
            n = self.consumer.consume_batch(Duration::ZERO, &mut batch[..room]);
        }
        fetched
    }

    /// For `poll()` and the iterator: one message, waiting or from a batch fetched now, whose
    /// others wait (see lent_ahead.rs).
    pub fn lend(self: &Arc<Self>, timeout: Duration) -> Fetched {
        let mut served = Fetched::default();
        if self.ahead.len() > 0 && self.served_at.lock().elapsed() >= SERVE_INTERVAL {
            // Let librdkafka serve rebalances and see a poll, taking no more than the room left.
            served = self.fetch(Duration::ZERO, LEND_BATCH.saturating_sub(self.ahead.len()));
            drop(self.ahead.keep(std::mem::take(&mut served.messages)));
        }
        self.drop_revoked();
        let waiting = self.ahead.take(1);
        if !waiting.is_empty() {
            return Fetched { messages: waiting, errors: served.errors };
        }
        let mut fetched = self.fetch(timeout, LEND_BATCH);
        fetched.errors.splice(0..0, served.errors);
        let mut rest = fetched.messages.split_off(fetched.messages.len().min(1));
        if self.drop_revoked() {
            // A rebalance ran inside the fetch: keep only messages of partitions still assigned
            // (one revoked and not given back is read by another member, from the committed offset).
            if let Ok(assigned) = self.consumer.assignment() {
                rest.retain(|message| {
                    assigned
                        .iter()
                        .any(|tp| tp.partition == message.partition() && tp.topic.as_bytes() == message.topic_bytes())
                });
            }
        }
        drop(self.ahead.keep(rest));
        fetched
    }

    /// For the express lane of `poll()` and the iterator: whether a waiting message may be lent
    /// without calling librdkafka or Python first — librdkafka was served within
    /// [`SERVE_INTERVAL`], and no callback, deferred error or revocation waits.
    pub fn may_lend_ready(&self) -> bool {
        let context = self.context();
        self.served_at.lock().elapsed() < SERVE_INTERVAL && !context.has_pending() && context.revoked.lock().is_empty()
    }

    /// For `consume(max)`: those waiting to be lent first (so none is overtaken), else a fetch.
    pub fn take_or_fetch(self: &Arc<Self>, timeout: Duration, max: usize) -> Fetched {
        self.drop_revoked();
        let waiting = self.ahead.take(max);
        if !waiting.is_empty() {
            return Fetched { messages: waiting, errors: Vec::new() };
        }
        self.fetch(timeout, max)
    }

    /// Drops the waiting messages of partitions revoked since the last look; whether any were.
    fn drop_revoked(&self) -> bool {
        let revoked = std::mem::take(&mut *self.context().revoked.lock());
        if revoked.is_empty() {
            return false;
        }
        drop(self.ahead.remove(&revoked));
        true
    }

    /// Files one message handed out by librdkafka: a message, or the consumer error it carries.
    fn take(self: &Arc<Self>, message: *mut rdsys::rd_kafka_message_t, fetched: &mut Fetched) {
        let Some(message) = NonNull::new(message) else { return };
        // SAFETY: librdkafka handed the message over to us; it is live until destroyed.
        let code = unsafe { raw::message_error(message.as_ptr()) };
        if code == 0 {
            // SAFETY: an error-free message of our handle, handed over.
            fetched.messages.push(unsafe { NativeMessage::from_consumed(self.clone(), message) });
            return;
        }
        if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF as i32 {
            // SAFETY: as above: the message's fields, and the name of its topic handle (owned by
            // the handle, which the message references), copied before the message is destroyed.
            let eof = unsafe {
                let raw_message = message.as_ptr();
                let topic = if (*raw_message).rkt.is_null() {
                    None
                } else {
                    raw::lossy(rdsys::rd_kafka_topic_name((*raw_message).rkt))
                };
                PartitionEof {
                    topic: topic.unwrap_or_default(),
                    partition: (*raw_message).partition,
                    offset: (*raw_message).offset,
                }
            };
            // SAFETY: ours, destroyed once.
            unsafe { rdsys::rd_kafka_message_destroy(message.as_ptr()) };
            // Only emitted with enable.partition.eof: the caller asked to hear of it (raised).
            self.context().partition_eofs.lock().push_back(eof);
            return;
        }
        // SAFETY: as above; the error string is owned by the message, copied before it is destroyed.
        let detail = unsafe { raw::lossy(rdsys::rd_kafka_message_errstr(message.as_ptr())) };
        // SAFETY: ours, destroyed once.
        unsafe { rdsys::rd_kafka_message_destroy(message.as_ptr()) };
        let info = KafkaErrorInfo::from_raw(code, "consume failed", detail);
        fetched.errors.push(info);
    }

    /// Invalidates every live message, leaves the group and closes librdkafka's consumer, with the
    /// GIL released and Ctrl-C honoured. Returns once closed or at `deadline`; what is left then
    /// finishes when the handle is destroyed. Idempotent.
    pub fn close(self: &Arc<Self>, py: Python<'_>, deadline: Option<Instant>) -> PyResult<()> {
        if IN_REBALANCE_CALLBACK.get() {
            return Err(FerroError::Reentrant("Consumer.close() cannot be called from a rebalance callback (on_assign, on_revoke, on_lost): close after the poll that ran it returns").into());
        }
        if self.born.inherited() {
            // See fork.rs: only marked closed; its messages are invalidated (and leaked).
            self.abandon();
            return Ok(());
        }
        // Closing serves the last revocation itself; one kept for an event loop is applied now.
        self.context().defer_rebalances.store(false, Ordering::Release);
        self.context().finish_pending_rebalance(self.consumer.native_ptr());
        if !self.registry.is_closed() {
            // The closing thread is done with what it received; another thread's last batch may
            // still be in the middle of processing and is left for the group to deliver again.
            let offsets = &self.context().offsets;
            offsets.finish(&self.consumer, Some(current_thread_tag()));
            offsets.store_done(|list| self.consumer.store_offsets(list).map_err(drop));
        }
        drop(self.ahead.clear(true));
        if !self.registry.close() {
            self.calls_closed.store(true, Ordering::Release);
            return Ok(());
        }
        let consumer = &self.consumer;
        let waited = if consumer.has_group() && consumer.close_queue().is_ok() {
            // An asynchronous close whose revocation (on_revoke) and commit results we serve by
            // polling. Messages still queued are dropped: their partitions are being revoked.
            wait_detached(py, deadline, |slice| {
                if !consumer.closed() {
                    consumer.serve_and_discard(slice);
                }
                consumer.closed().then_some(())
            })
            .map(drop)
        } else {
            Ok(())
        };
        // From here on the handle may be finished off on any thread: no more Python callbacks.
        self.calls_closed.store(true, Ordering::Release);
        self.context().python_enabled.store(false, Ordering::Release);
        let dispatched = self.dispatch_callbacks(py);
        self.context().callbacks.stop();
        // Still referenced, the closed handle goes on queueing statistics and errors that nobody
        // polls for: the janitor drains them until the last reference goes.
        super::janitor::watch(self);
        // Dropped outside the lock: a finaliser of the callbacks may call back into the consumer.
        let callbacks = self.context().rebalance.lock().take();
        drop(callbacks);
        waited.and(dispatched)
    }
}

/// A boolean librdkafka property whose default is true, as librdkafka reads it.
fn bool_property(config: &ClientConfig, key: &str) -> FerroResult<bool> {
    match config.get(key).map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => {
            Err(FerroError::Config(format!("configuration property {key:?}: expected true or false, not {other:?}")))
        }
    }
}

impl ConsumerCore {
    /// Serves a closed consumer's queue once, without waiting, discarding what is there (see
    /// janitor.rs). Its Python callbacks are off: the events are dropped.
    pub fn drain_closed(&self) {
        if self.born.inherited() {
            return;
        }
        self.consumer.serve_and_discard(Duration::ZERO);
    }
}

impl Drop for ConsumerCore {
    fn drop(&mut self) {
        self.context().python_enabled.store(false, Ordering::Release);
        // SAFETY: `consumer` is taken exactly once, here, and never touched again: `self` is being
        // dropped. No message refers to the handle any more, since every NativeMessage holds an
        // Arc<ConsumerCore> and this is the last one.
        let consumer = unsafe { ManuallyDrop::take(&mut self.consumer) };
        drop_in_background(consumer, "consumer", self.born);
    }
}

impl crate::oauth::TokenClient for ConsumerCore {
    fn callbacks(&self) -> &crate::callbacks::ClientCallbacks {
        &self.context().callbacks
    }
}

impl crate::ffi::ClientHandle for ConsumerCore {
    fn open_handle(&self) -> Option<*mut rdkafka::bindings::rd_kafka_t> {
        self.open().ok().map(NativeConsumer::native_ptr)
    }
}
