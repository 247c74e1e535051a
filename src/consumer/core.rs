//! The native half of a consumer, shared by the Python `Consumer`, every message it lent out and
//! every request in flight.
//!
//! ```text
//! Python Consumer ──Arc──► ConsumerCore (context, registry of live messages, HandleSlot)
//!                                                                  │ until close()
//!                                                                  ▼
//! NativeMessage ──Arc────────────────────────────────────► ConsumerHandle (NativeConsumer)
//!   (inside BorrowedMessage slots and exported buffers)
//! ```
//! librdkafka requires every message to be destroyed before its handle: each native message holds
//! the [`ConsumerHandle`], which is destroyed when the last reference goes — at `close()`, unless
//! an exported buffer (a `memoryview` of a payload or key) still holds a message — on a thread of
//! its own (see handle_slot.rs). The handle itself, with librdkafka's batch API, is
//! [`NativeConsumer`] (`native::consumer`, which calls back into [`CoreContext`]).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::blocking::wait_detached;
use crate::callbacks::{ClientCallbacks, PythonSettings, Setting};
use crate::config::librdkafka_bool;
use crate::consumer::app_positions::{AppPositions, ErrorTaken};
use crate::consumer::lent_ahead::{LentAhead, LEND_BATCH, SERVE_INTERVAL};
use crate::consumer::offsets::HandedOffsets;
use crate::consumer::registry::MessageRegistry;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::flagged::Flagged;
use crate::fork::Born;
use crate::handle_slot::{HandOff, HandleSlot, Teardown};
use crate::message::borrowed::{current_thread_tag, NativeBatch, NativeMessage};
use crate::native::clock;
use crate::native::consumer::{ConsumeError, Consumed, ConsumerEvents, ConsumerRef, Rebalance, MAX_BATCH};
use crate::topic_partition::TopicPartition;

/// The librdkafka consumer handle, calling back into a [`CoreContext`].
pub type NativeConsumer = crate::native::consumer::NativeConsumer<CoreContext>;

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
    pub rebalance_error: Flagged<Option<Py<PyAny>>>,
    /// A fatal error reported by librdkafka, raised by the next call that polls.
    pub fatal_error: Flagged<Option<KafkaErrorInfo>>,
    /// False once the consumer is closing for good: nothing may call into Python any more.
    pub python_enabled: AtomicBool,
    /// What was handed to the application: the only offsets ferrokafka stores and commits.
    pub offsets: HandedOffsets,
    /// Partitions revoked since the consumer last looked: their messages waiting to be lent go.
    pub revoked: Flagged<Vec<TopicPartition>>,
    /// Rebalances are kept for the caller to apply (asyncio), not served inside a poll.
    pub defer_rebalances: AtomicBool,
    pub pending_rebalance: Mutex<Option<PendingRebalance>>,
    /// Ends of partitions reached (`enable.partition.eof`), in order, each raised by one call.
    pub partition_eofs: Flagged<std::collections::VecDeque<PartitionEof>>,
    /// Positions librdkafka 2.12.1 moved past an end or error it handed out (app_positions.rs).
    pub positions: AppPositions,
}

/// librdkafka's partition-EOF event: `partition` of `topic` has no message at `offset` yet.
pub struct PartitionEof {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl CoreContext {
    /// Whether callbacks wait to be run (no lock taken: checked once per message, see flagged.rs).
    pub fn has_pending(&self) -> bool {
        self.callbacks.has_pending()
            || self.rebalance_error.occupied()
            || self.fatal_error.occupied()
            || self.partition_eofs.occupied()
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
    pub fn rebalance(&self, rebalance: Rebalance<'_>) {
        let (rk, code) = (rebalance.consumer(), rebalance.code());
        if code != ASSIGN && code != REVOKE {
            self.callbacks.report_error(KafkaErrorInfo::from_raw(code, "rebalance failed", None));
            rebalance.apply_as_given();
            return;
        }
        let partitions = rebalance.partitions();
        let lost = code == REVOKE && rk.assignment_lost();
        let Ok(copy) = crate::native::partitions::to_list(&partitions) else {
            // Names librdkafka gave cannot fail the checks; if one did, serve it without callbacks.
            if code == REVOKE {
                self.before_unassign(rk, partitions);
            }
            rebalance.apply_as_given();
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
    pub fn before_assignment_change(&self, rk: ConsumerRef<'_>) {
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
    fn before_unassign(&self, rk: ConsumerRef<'_>, revoked: Vec<TopicPartition>) {
        self.offsets.store_done(|list| rk.store_offsets(list).map_err(drop));
        self.offsets.forget(&revoked);
        self.positions.forget(&revoked);
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
    pub fn finish_pending_rebalance(&self, rk: ConsumerRef<'_>) -> bool {
        let Some(pending) = self.pending_rebalance.lock().take() else { return false };
        if pending.code == REVOKE && !pending.stored {
            self.before_unassign(rk, pending.partitions);
        }
        if !pending.applied {
            rk.apply_rebalance(pending.code == ASSIGN, &pending.list);
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

impl crate::native::client_events::ClientEvents for CoreContext {
    fn callbacks(&self) -> &ClientCallbacks {
        &self.callbacks
    }
}

impl ConsumerEvents for CoreContext {
    fn rebalance(&self, rebalance: Rebalance<'_>) {
        CoreContext::rebalance(self, rebalance);
    }

    fn consumer_error(&self, info: KafkaErrorInfo) {
        CoreContext::consumer_error(self, info);
    }
}

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

thread_local! {
    /// Set while this thread runs an on_assign/on_revoke/on_lost callback, inside librdkafka's
    /// rebalance: close() there would wait for the rebalance it is part of.
    static IN_REBALANCE_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The librdkafka consumer handle, shared by the core (until close) and by every native message
/// (librdkafka requires messages to go before their handle). Destroyed when the last reference
/// goes, on a thread of its own ([`Teardown`]).
pub struct ConsumerHandle {
    native: HandOff<NativeConsumer>,
    /// The consumer's book of live messages: each native message counts itself in and out.
    pub registry: Arc<MessageRegistry>,
    pub born: Born,
    teardown: Teardown,
    /// No plugin (`plugin.library.paths`) was configured, so no interceptor sets headers on
    /// consumed messages: "no headers" may be read from the record itself (native/message.rs).
    wire_headers: bool,
}

impl std::ops::Deref for ConsumerHandle {
    type Target = NativeConsumer;

    fn deref(&self) -> &NativeConsumer {
        &self.native
    }
}

impl ConsumerHandle {
    /// The librdkafka consumer (for `NativeConsumer::consume`).
    fn native(&self) -> &NativeConsumer {
        &self.native
    }

    /// Serves a closed consumer's queue once, without waiting, discarding what is there (see
    /// janitor.rs). Its Python callbacks are off: the events are dropped.
    pub fn drain_closed(&self) {
        if !self.born.inherited() {
            self.native.serve_and_discard(Duration::ZERO);
        }
    }
}

impl crate::message::borrowed::MessageSource for ConsumerHandle {
    fn native_created(&self) {
        self.registry.native_created();
    }

    fn native_dropped(&self) {
        self.registry.native_dropped();
    }

    fn natives_created(&self, n: usize) {
        self.registry.natives_created(n);
    }

    fn natives_dropped(&self, n: usize) {
        self.registry.natives_dropped(n);
    }

    fn inherited(&self) -> bool {
        self.born.inherited()
    }

    fn headers_from_wire(&self) -> bool {
        self.wire_headers
    }
}

impl Drop for ConsumerHandle {
    fn drop(&mut self) {
        // No message refers to the handle any more: each NativeMessage holds an
        // Arc<ConsumerHandle>, and this is the last one.
        let native = self.native.take();
        self.teardown.destroy(native, "consumer", self.born);
    }
}

pub struct ConsumerCore {
    /// The handle while open; close() empties it (see handle_slot.rs).
    handle: HandleSlot<ConsumerHandle>,
    /// The handle's destruction, which close() waits for.
    teardown: Teardown,
    /// The context librdkafka's callbacks reach through the handle; kept here too, so that it
    /// outlives the handle (a closed consumer still answers `closed`, `__traverse__`, ...).
    context: Arc<CoreContext>,
    pub registry: Arc<MessageRegistry>,
    /// Fetched in a batch, not lent yet (see lent_ahead.rs).
    pub ahead: LentAhead,
    /// When librdkafka's queue was last served: a coarse clock reading (an atomic, read once per
    /// message by the express lane; see native/clock.rs).
    served_at: AtomicU64,
    /// Set once close() is done: from then on every call raises. (While closing, rebalance
    /// callbacks may still commit.)
    calls_closed: AtomicBool,
    pub born: Born,
}

/// What `consume_batch()` takes: messages fetched earlier for `poll()` (see lent_ahead.rs), or a
/// fresh batch.
pub enum Batched {
    Ahead(Vec<NativeMessage>),
    Fresh(NativeBatch),
}

impl Batched {
    pub fn is_empty(&self) -> bool {
        match self {
            Batched::Ahead(messages) => messages.is_empty(),
            Batched::Fresh(batch) => batch.is_empty(),
        }
    }
}

/// Room reserved up front in a `consume_batch()` batch (pointers; more grows it).
const BATCH_CAPACITY: usize = 16_384;

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
        let wire_headers = config.get("plugin.library.paths").is_none_or(|paths| paths.trim().is_empty());
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
            rebalance_error: Flagged::new(None),
            fatal_error: Flagged::new(None),
            python_enabled: AtomicBool::new(true),
            offsets: HandedOffsets::new(store),
            revoked: Flagged::new(Vec::new()),
            defer_rebalances: AtomicBool::new(false),
            pending_rebalance: Mutex::new(None),
            partition_eofs: Flagged::new(std::collections::VecDeque::new()),
            positions: AppPositions::default(),
        };
        let consumer = NativeConsumer::new(config, context)?;
        let registry = Arc::new(MessageRegistry::default());
        let (born, teardown) = (Born::here(), Teardown::default());
        let context = consumer.context().clone();
        let handle = ConsumerHandle {
            native: HandOff::new(consumer),
            registry: registry.clone(),
            born,
            teardown: teardown.clone(),
            wire_headers,
        };
        Ok(Arc::new(ConsumerCore {
            handle: HandleSlot::new(Arc::new(handle)),
            teardown,
            context,
            registry,
            ahead: LentAhead::default(),
            served_at: AtomicU64::new(clock::coarse_nanos()),
            calls_closed: AtomicBool::new(false),
            born,
        }))
    }

    pub fn context(&self) -> &CoreContext {
        &self.context
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

    /// The librdkafka consumer, or `Closed` once closed. The caller holds the reference for as
    /// long as it uses the handle.
    pub fn open(&self) -> FerroResult<Arc<ConsumerHandle>> {
        self.born.check("consumer")?;
        if self.calls_closed.load(Ordering::Acquire) {
            return Err(FerroError::Closed("consumer"));
        }
        self.handle.get().ok_or(FerroError::Closed("consumer"))
    }

    /// Waits up to `timeout` for a first message, then takes up to `max` in all that are ready now,
    /// serving callbacks on the way. Call with the GIL released (rebalance callbacks take it).
    pub fn fetch(self: &Arc<Self>, timeout: Duration, max: usize) -> Fetched {
        let mut fetched = Fetched::default();
        let Some(handle) = self.handle.get() else { return fetched };
        self.mark_served();
        // librdkafka's batch call waits until the whole batch is full: wait for one message only,
        // then take what is ready without waiting. With no room at all, the call only serves
        // librdkafka's queue (rebalances) and tells it that the application polls.
        let mut errors_taken = Vec::new();
        let mut consume = |timeout, room, fetched: &mut Fetched| {
            NativeConsumer::consume(&handle, ConsumerHandle::native, timeout, room, |entry| {
                self.take(entry, fetched, &mut errors_taken);
            })
        };
        let mut n = consume(timeout, max.min(1), &mut fetched);
        while n > 0 {
            if !fetched.errors.is_empty() {
                // An error event ends the fetch, as it ends confluent-kafka's poll(): what
                // librdkafka queued after it (a rebalance: the partitions lost past
                // max.poll.interval.ms come right after _MAX_POLL_EXCEEDED) is served by the next
                // call into librdkafka, not within this one.
                break;
            }
            let room = max.saturating_sub(fetched.messages.len() + fetched.errors.len()).min(LEND_BATCH);
            if room == 0 {
                break;
            }
            n = consume(Duration::ZERO, room, &mut fetched);
        }
        self.context().positions.taken(fetched.messages.iter(), &errors_taken);
        fetched
    }

    /// [`fetch`](Self::fetch) for `consume_batch()`: the same calls into librdkafka, with the
    /// messages left in one [`NativeBatch`] (no `NativeMessage` per message).
    pub fn fetch_batch(self: &Arc<Self>, timeout: Duration, max: usize) -> (Batched, Vec<KafkaErrorInfo>) {
        let Some(handle) = self.handle.get() else { return (Batched::Ahead(Vec::new()), Vec::new()) };
        let mut batch = NativeBatch::new(handle.clone(), max.min(BATCH_CAPACITY));
        let mut errors = Vec::new();
        self.mark_served();
        let mut errors_taken = Vec::new();
        let mut consume = |timeout, room, batch: &mut NativeBatch, errors: &mut Vec<KafkaErrorInfo>| {
            NativeConsumer::consume_into(&handle, ConsumerHandle::native, timeout, room, batch, |index, error| {
                self.take_error(index, error, errors, &mut errors_taken);
            })
        };
        let mut n = consume(timeout, max.min(1), &mut batch, &mut errors);
        while n > 0 && errors.is_empty() {
            // As in fetch: an error event ends the fetch.
            let room = max.saturating_sub(batch.len() + errors.len()).min(MAX_BATCH);
            if room == 0 {
                break;
            }
            n = consume(Duration::ZERO, room, &mut batch, &mut errors);
        }
        self.context().positions.taken(batch.views(), &errors_taken);
        (Batched::Fresh(batch), errors)
    }

    /// For `consume_batch()`: what waits from an earlier batch (see lent_ahead.rs), or a fetch.
    pub fn take_or_fetch_batch(self: &Arc<Self>, timeout: Duration, max: usize) -> (Batched, Vec<KafkaErrorInfo>) {
        self.drop_revoked();
        let waiting = self.ahead.take(max);
        if !waiting.is_empty() {
            return (Batched::Ahead(waiting), Vec::new());
        }
        self.fetch_batch(timeout, max)
    }

    /// For `poll()` and the iterator: one message, waiting or from a batch fetched now, whose
    /// others wait (see lent_ahead.rs).
    pub fn lend(self: &Arc<Self>, timeout: Duration) -> Fetched {
        let mut served = Fetched::default();
        if self.ahead.len() > 0 && !self.served_within(SERVE_INTERVAL) {
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
            if let Some(Ok(assigned)) = self.handle.get().map(|handle| handle.assignment()) {
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
        !context.has_pending() && !context.revoked.occupied() && self.served_within(SERVE_INTERVAL)
    }

    fn mark_served(&self) {
        self.served_at.store(clock::coarse_nanos(), Ordering::Relaxed);
    }

    /// Whether librdkafka's queue was served less than `interval` ago (within the coarse clock's
    /// few milliseconds).
    fn served_within(&self, interval: Duration) -> bool {
        clock::within(self.served_at.load(Ordering::Relaxed), interval)
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
        // Also forgotten when revoked; again here, for what the fetch that served it took after.
        self.context().positions.forget(&revoked);
        true
    }

    /// Files one entry librdkafka handed out: a message, or a consumer error.
    fn take(&self, entry: Consumed, fetched: &mut Fetched, errors_taken: &mut Vec<ErrorTaken>) {
        match entry {
            Consumed::Message(message) => fetched.messages.push(message),
            Consumed::Error(error) => {
                self.take_error(fetched.messages.len(), error, &mut fetched.errors, errors_taken);
            }
        }
    }

    /// Files a consumer error that came after `index` messages.
    fn take_error(
        &self,
        index: usize,
        error: ConsumeError,
        errors: &mut Vec<KafkaErrorInfo>,
        errors_taken: &mut Vec<ErrorTaken>,
    ) {
        let ConsumeError { code, topic, partition, offset, detail } = error;
        let end = code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF as i32;
        if !topic.is_empty() {
            // librdkafka 2.12.1 moved this partition's position to the offset + 1 (app_positions.rs).
            errors_taken.push(ErrorTaken { index, topic: topic.clone(), partition, offset, end });
        }
        if end {
            // Only emitted with enable.partition.eof: the caller asked to hear of it (raised).
            self.context().partition_eofs.lock().push_back(PartitionEof { topic, partition, offset });
            return;
        }
        let info = KafkaErrorInfo::from_raw(code, "consume failed", detail);
        errors.push(info);
    }

    /// Invalidates every live message, leaves the group, closes librdkafka's consumer and destroys
    /// its handle, with the GIL released and Ctrl-C honoured. Returns once closed or at `deadline`;
    /// what is left then finishes on a thread of its own. Idempotent. The handle outlives this
    /// only while an exported buffer of one of its messages (a `memoryview`) does.
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
        let Some(consumer) = self.handle.get() else {
            // Closed before: only the handle's destruction may still be under way.
            self.calls_closed.store(true, Ordering::Release);
            return self.await_teardown(py, deadline);
        };
        self.context().finish_pending_rebalance(consumer.consumer_ref());
        if !self.registry.is_closed() {
            // The closing thread is done with what it received; another thread's last batch may
            // still be in the middle of processing and is left for the group to deliver again.
            let offsets = &self.context().offsets;
            offsets.finish(&consumer, Some(current_thread_tag()));
            offsets.store_done(|list| consumer.store_offsets(list).map_err(drop));
        }
        drop(self.ahead.clear(true));
        if !self.registry.close() {
            // Being closed by another thread, which destroys the handle.
            self.calls_closed.store(true, Ordering::Release);
            return Ok(());
        }
        let waited = if consumer.has_group() && consumer.close_queue().is_ok() {
            // An asynchronous close whose revocation (on_revoke) and commit results we serve by
            // polling. Messages still queued are dropped: their partitions are being revoked.
            let serving = consumer.clone();
            wait_detached(py, deadline, move |slice| {
                if !serving.closed() {
                    serving.serve_and_discard(slice);
                }
                serving.closed().then_some(())
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
        // Dropped outside the lock: a finaliser of the callbacks may call back into the consumer.
        let callbacks = self.context().rebalance.lock().take();
        drop(callbacks);
        // Let the handle go: its destruction starts now, unless a message's exported buffer or a
        // call on another thread still holds it; the janitor drains its queue until then.
        drop(consumer);
        if let Some(handle) = self.handle.take() {
            if Arc::strong_count(&handle) > 1 {
                super::janitor::watch(&handle);
            }
            drop(handle);
        }
        // Interrupted (Ctrl-C): the destruction goes on in the background; a second close() waits.
        let torn_down = if waited.is_ok() { self.await_teardown(py, deadline) } else { Ok(()) };
        waited.and(dispatched).and(torn_down)
    }

    /// Waits for the handle's destruction (see [`Teardown::wait`]), unless an exported buffer of a
    /// message still holds it: it then goes with the last such buffer.
    fn await_teardown(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<()> {
        self.teardown.wait(py, deadline).map(drop)
    }
}

// `fetch` asks `NativeConsumer::consume` for up to LEND_BATCH messages at a time.
const _: () = assert!(LEND_BATCH <= crate::native::consumer::MAX_BATCH);

/// A boolean librdkafka property whose default is true, as librdkafka reads it.
fn bool_property(config: &ClientConfig, key: &str) -> FerroResult<bool> {
    match config.get(key) {
        None => Ok(true),
        Some(value) => librdkafka_bool(value).ok_or_else(|| {
            FerroError::Config(format!("configuration property {key:?}: expected true/t/1 or false/f/0, not {value:?}"))
        }),
    }
}

impl Drop for ConsumerCore {
    fn drop(&mut self) {
        self.context.python_enabled.store(false, Ordering::Release);
        // The handle goes with its last reference (a message may still hold it): see
        // ConsumerHandle's Drop.
        drop(self.handle.take());
    }
}

impl crate::oauth::TokenClient for ConsumerCore {
    fn callbacks(&self) -> &crate::callbacks::ClientCallbacks {
        &self.context().callbacks
    }
}

impl crate::ffi::ClientHandle for ConsumerCore {
    fn open_handle(&self) -> Option<crate::ffi::LiveHandle<'_>> {
        let handle = self.open().ok()?;
        Some(crate::ffi::LiveHandle::kept(handle, |handle| handle.client()))
    }
}
