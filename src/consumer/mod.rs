//! `Consumer`: librdkafka's high-level consumer lending out zero-copy `BorrowedMessage`s.

#![forbid(unsafe_code)]

mod app_positions;
pub mod core;
pub mod dropin;
mod janitor;
pub mod lent_ahead;
mod loop_request;
pub mod offsets;
pub mod registry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::{PyTraverseError, PyVisit};
use rdkafka::TopicPartitionList;

use crate::args::{Int, Seconds};
use crate::blocking::{deadline, request, run_interruptible, valid_timeout, wait_detached};
use crate::cluster_metadata;
use crate::config::{client_config, config_dict};
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::message::batch::{BatchData, MessageBatch};
use crate::message::borrowed::{current_thread_tag, BorrowedMessage, InvalidReason, MessageSlot, NativeMessage};
use crate::message::owned::OwnedMessage;
use crate::message::MessageParts;
use crate::native::consumer::GroupMetadata;
use crate::native::partitions::{from_list, to_list};
use crate::topic_partition::{check_topic_name, partitions_arg, topic_cstring, TopicPartition};

use self::core::{Batched, ConsumerCore, Fetched, NativeConsumer, RebalanceCallbacks};
pub use self::loop_request::LoopRequest;
use self::offsets::{last_per_partition, task_owner, Handed};
use crate::errors::NativeResult;

/// What one wait for messages ended with.
enum Received<T> {
    /// At least one message, lent as `T` (borrowed messages or a batch).
    Messages(T),
    Closed,
    TimedOut,
}

/// Whom a call hands its messages to, for the offsets (see offsets.rs).
#[derive(Clone, Copy)]
enum Taker {
    /// A synchronous call: the calling thread, which is done with what every earlier call handed
    /// out.
    Thread,
    /// A task of an event loop (`ferrokafka.aio`), numbered by it. The call finishes nothing: the
    /// task says itself when it moves on (`_move_on`).
    Task(u64),
}

impl Taker {
    fn owner(self) -> u64 {
        match self {
            Taker::Thread => current_thread_tag(),
            Taker::Task(number) => task_owner(number),
        }
    }
}

/// What one slice of waiting produced.
enum Slice<T> {
    /// Messages admitted (as `T`: registry slots, or a batch), the offsets after them, and
    /// consumer errors that came with them.
    Admitted(T, Vec<Handed>, Vec<KafkaErrorInfo>),
    Errors(Vec<KafkaErrorInfo>),
    /// Callbacks are queued: run them, then go on waiting.
    Callbacks,
    Closed,
}

/// The group's identity, for `Producer.send_offsets_to_transaction()`.
#[pyclass(frozen, module = "ferrokafka")]
pub struct ConsumerGroupMetadata {
    pub inner: GroupMetadata,
}

#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct Consumer {
    core: Arc<ConsumerCore>,
    /// The message the lending iterator handed out last; superseded by the next one.
    iterated: Mutex<Option<Arc<MessageSlot>>>,
    /// For event loops: what each task's iteration lent it, superseded when that task moves on.
    iterated_by_task: Mutex<Vec<(u64, Arc<MessageSlot>)>>,
}

/// What to commit or store for a Borrowed or Owned message (its topic, partition and offset + 1),
/// or for a `MessageBatch` (that per partition after its last message).
fn next_offsets_of(message: &Bound<'_, PyAny>) -> PyResult<Vec<TopicPartition>> {
    let position = if let Ok(borrowed) = message.cast::<BorrowedMessage>() {
        borrowed.get().position()?
    } else if let Ok(owned) = message.cast::<OwnedMessage>() {
        owned.get().position()
    } else if let Ok(batch) = message.cast::<MessageBatch>() {
        return Ok(batch.get().next_offsets());
    } else {
        return Err(FerroError::Type("expected a BorrowedMessage, an OwnedMessage or a MessageBatch".into()).into());
    };
    // The message's leader epoch goes with its offset, as librdkafka's rd_kafka_commit_message does.
    Ok(vec![TopicPartition { offset: position.offset + 1, ..position }])
}

/// What a receive call takes from librdkafka: `NativeMessage`s, or (for `consume_batch()`) a
/// [`Batched`].
trait Taking: Sized {
    /// Takes up to `max`, waiting up to `timeout` for the first (see [`ConsumerCore::fetch`]).
    fn take(core: &Arc<ConsumerCore>, timeout: Duration, max: usize) -> (Self, Vec<KafkaErrorInfo>);
    fn is_empty(&self) -> bool;
    /// Per partition, the offsets handed out (see [`last_per_partition`]).
    fn handed(&self) -> Vec<Handed>;
}

impl Taking for Vec<NativeMessage> {
    fn take(core: &Arc<ConsumerCore>, timeout: Duration, max: usize) -> (Self, Vec<KafkaErrorInfo>) {
        // poll() and the iterator lend from a batch (see lent_ahead.rs); consume() takes those first.
        let Fetched { messages, errors } = if max == 1 { core.lend(timeout) } else { core.take_or_fetch(timeout, max) };
        (messages, errors)
    }

    fn is_empty(&self) -> bool {
        <[NativeMessage]>::is_empty(self)
    }

    fn handed(&self) -> Vec<Handed> {
        last_per_partition(self.iter())
    }
}

impl Taking for Batched {
    fn take(core: &Arc<ConsumerCore>, timeout: Duration, max: usize) -> (Self, Vec<KafkaErrorInfo>) {
        core.take_or_fetch_batch(timeout, max)
    }

    fn is_empty(&self) -> bool {
        Batched::is_empty(self)
    }

    fn handed(&self) -> Vec<Handed> {
        match self {
            Batched::Ahead(messages) => last_per_partition(messages.iter()),
            Batched::Fresh(batch) => last_per_partition(batch.views()),
        }
    }
}

/// One slice of waiting: fetches (see [`ConsumerCore::fetch`]) and admits the messages with
/// `admit` (which gives `None` once the consumer is closed). `None` when nothing arrived and no
/// callback waits to run.
fn fetch_slice<M: Taking, T>(
    core: &Arc<ConsumerCore>,
    timeout: Duration,
    max: usize,
    admit: &impl Fn(M, &[Handed]) -> Option<T>,
) -> Option<Slice<T>> {
    if core.registry.is_closed() {
        return Some(Slice::Closed);
    }
    let (messages, errors) = M::take(core, timeout, max);
    if messages.is_empty() {
        return if !errors.is_empty() {
            Some(Slice::Errors(errors))
        } else {
            core.context().has_pending().then_some(Slice::Callbacks)
        };
    }
    let handed = messages.handed();
    match admit(messages, &handed) {
        Some(admitted) => Some(Slice::Admitted(admitted, handed, errors)),
        None => Some(Slice::Closed),
    }
}

impl Consumer {
    /// Waits until `deadline` for a first message (GIL released, in slices that let Ctrl-C
    /// through), then takes what is ready now along with it, up to `max`, in the same GIL-free
    /// stretch, and turns them into what `lend` makes of what `admit` made of them (GIL-free).
    /// Callbacks run as they queue up. Fatal consumer errors are raised; others (an unknown
    /// topic, a partition EOF, a transport error) go to `error_cb`, or to the log, and
    /// consumption goes on — unless `errors_end`: then a call that took error events returns
    /// (`TimedOut`: no messages) once they went to `error_cb`, as confluent-kafka's `poll()`
    /// returns its first event, leaving what librdkafka queued after them (a rebalance) to the
    /// next call (the drop-in's poll, whose `error_cb` queues them as its events).
    #[allow(clippy::too_many_arguments)]
    fn receive<M: Taking, T: Send, R>(
        &self,
        py: Python<'_>,
        deadline: Option<Instant>,
        max: usize,
        taker: Taker,
        errors_end: bool,
        admit: impl Fn(M, &[Handed]) -> Option<T> + Sync,
        lend: impl FnOnce(Python<'_>, T) -> PyResult<R>,
    ) -> PyResult<Received<R>> {
        let consumer = self.core.open()?;
        if let Taker::Thread = taker {
            // The application is done with what the previous call handed out.
            self.core.context().offsets.finish(&consumer, None);
        }
        let core = &self.core;
        // With enable.partition.eof: a partition's end reached since the last call, before more.
        core.raise_partition_eof(py)?;
        // Messages librdkafka already holds are taken without releasing the GIL (a call that does
        // not wait: cheaper than a release and re-acquire per message); only a wait releases it.
        let mut ready = fetch_slice(core, Duration::ZERO, max, &admit);
        loop {
            let outcome = match ready.take() {
                Some(slice) => Some(slice),
                None => wait_detached(py, deadline, |slice| fetch_slice(core, slice, max, &admit))?,
            };
            let dispatched = self.core.dispatch_callbacks(py);
            match outcome {
                None => return dispatched.and_then(|()| core.raise_partition_eof(py)).map(|()| Received::TimedOut),
                Some(Slice::Closed) => return dispatched.map(|()| Received::Closed),
                Some(Slice::Callbacks) => {
                    dispatched?;
                    core.raise_partition_eof(py)?;
                }
                Some(Slice::Errors(errors)) => {
                    dispatched?;
                    self.consumer_errors(py, errors)?;
                    core.raise_partition_eof(py)?;
                    if errors_end {
                        return Ok(Received::TimedOut);
                    }
                }
                Some(Slice::Admitted(admitted, handed, errors)) => {
                    let messages = lend(py, admitted)?;
                    self.core.context().offsets.record(taker.owner(), handed);
                    // The messages are in hand: an exception from a callback or a fatal error waits
                    // for the next call rather than losing them.
                    let deferred = dispatched.and_then(|()| self.consumer_errors(py, errors));
                    if let Err(err) = deferred {
                        self.core.context().defer_error(py, err);
                    }
                    return Ok(Received::Messages(messages));
                }
            }
        }
    }

    /// The express lane of `poll()` and the iterator: a message fetched in an earlier batch (see
    /// lent_ahead.rs) is lent with no call into librdkafka, when [`ConsumerCore::may_lend_ready`]
    /// says nothing else is due. The same steps as [`receive`](Self::receive), minus its waiting and
    /// callback machinery. `None`: take the full path.
    /// `make` turns the message into what the caller lends (`None`: the consumer closed meanwhile);
    /// it is recorded as handed out only once made.
    fn lend_ready<R>(
        &self,
        py: Python<'_>,
        taker: Taker,
        make: impl FnOnce(Python<'_>, &Arc<NativeMessage>) -> PyResult<Option<R>>,
    ) -> PyResult<Option<R>> {
        let core = &self.core;
        let Ok(consumer) = core.open() else { return Ok(None) };
        if !core.may_lend_ready() {
            return Ok(None);
        }
        let Some(native) = core.ahead.take_one() else { return Ok(None) };
        let native = Arc::new(native);
        let Some(message) = make(py, &native)? else { return Ok(None) };
        // A synchronous call first finishes what the previous call handed out (see offsets.rs).
        core.context().offsets.lent_one(&consumer, taker.owner(), matches!(taker, Taker::Thread), &native);
        Ok(Some(message))
    }

    /// `make` for [`lend_ready`](Self::lend_ready): a `BorrowedMessage`.
    fn borrowed(&self) -> impl FnOnce(Python<'_>, &Arc<NativeMessage>) -> PyResult<Option<Py<BorrowedMessage>>> + '_ {
        |py, native| match self.core.registry.admit_one(native.clone()) {
            Some(slot) => BorrowedMessage::new_untracked(py, slot).map(Some),
            None => Ok(None),
        }
    }

    /// One step of the lending iterator, waiting until `deadline` (None: until a message comes
    /// or the consumer closes): supersedes the message it lent last, lends the next.
    fn lend_next(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Received<Py<BorrowedMessage>>> {
        if let Some(previous) = self.iterated.lock().take() {
            drop(previous.invalidate(InvalidReason::Superseded));
        }
        let received = match self.lend_ready(py, Taker::Thread, self.borrowed())? {
            Some(message) => Received::Messages(message),
            None if self.core.registry.is_closed() => Received::Closed,
            None => match self.receive_borrowed(py, deadline, 1, Taker::Thread)? {
                Received::Messages(mut messages) => messages.pop().map_or(Received::TimedOut, Received::Messages),
                Received::Closed => Received::Closed,
                Received::TimedOut => Received::TimedOut,
            },
        };
        if let Received::Messages(message) = &received {
            *self.iterated.lock() = Some(message.get().slot().clone());
        }
        Ok(received)
    }

    /// [`receive`](Self::receive) lending `BorrowedMessage`s.
    fn receive_borrowed(
        &self,
        py: Python<'_>,
        deadline: Option<Instant>,
        max: usize,
        taker: Taker,
    ) -> PyResult<Received<Vec<Py<BorrowedMessage>>>> {
        let registry = &self.core.registry;
        self.receive(
            py,
            deadline,
            max,
            taker,
            false,
            |messages, _| registry.admit(messages),
            |py, slots: Vec<Arc<MessageSlot>>| {
                slots.into_iter().map(|slot| BorrowedMessage::new_untracked(py, slot)).collect()
            },
        )
    }

    /// [`receive`](Self::receive) into one `MessageBatch`; an empty batch on timeout.
    fn receive_batch(
        &self,
        py: Python<'_>,
        deadline: Option<Instant>,
        max_messages: usize,
        taker: Taker,
    ) -> PyResult<MessageBatch> {
        if max_messages == 0 {
            return Ok(MessageBatch::from(BatchData::empty()));
        }
        let registry = &self.core.registry;
        let admit = |messages: Batched, handed: &[Handed]| {
            let batch = match &messages {
                Batched::Ahead(messages) => BatchData::build(messages.iter(), handed.to_vec()),
                Batched::Fresh(batch) => BatchData::build(batch.views(), handed.to_vec()),
            };
            // Copied: the native messages go now (outside the registry, which never saw them).
            drop(messages);
            (!registry.is_closed()).then_some(batch)
        };
        match self.receive(py, deadline, max_messages, taker, false, admit, |_, batch| Ok(batch))? {
            Received::Messages(batch) => Ok(MessageBatch::from(batch)),
            Received::TimedOut => Ok(MessageBatch::from(BatchData::empty())),
            Received::Closed => Err(FerroError::Closed("consumer").into()),
        }
    }

    /// Takes what `number`'s task's iteration lent it out of the record (to be superseded or let be).
    fn take_iterated_by(&self, number: u64) -> Vec<Arc<MessageSlot>> {
        let mut iterated = self.iterated_by_task.lock();
        let (taken, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut *iterated).into_iter().partition(|(t, _)| *t == number);
        *iterated = kept;
        taken.into_iter().map(|(_, slot)| slot).collect()
    }

    /// Hands consumer errors to `error_cb` or the log (fatal ones are raised).
    fn consumer_errors(&self, py: Python<'_>, errors: Vec<KafkaErrorInfo>) -> PyResult<()> {
        if errors.is_empty() {
            return Ok(());
        }
        for info in errors {
            self.core.context().consumer_error(info);
        }
        self.core.dispatch_callbacks(py)
    }

    /// Commits `offsets`. Asynchronously the result goes to `on_commit` (when the consumer polls)
    /// and this returns None; synchronously the broker's answer is awaited on a worker thread, so
    /// Ctrl-C interrupts the wait (the commit itself then completes unobserved), and this returns
    /// the offsets committed.
    fn commit_list(
        &self,
        py: Python<'_>,
        offsets: TopicPartitionList,
        asynchronous: bool,
    ) -> PyResult<Option<Vec<TopicPartition>>> {
        let consumer = self.core.open()?;
        if asynchronous {
            consumer.commit(&offsets, true).map_err(FerroError::from)?;
            return Ok(None);
        }
        let core = self.core.clone();
        let committed = run_interruptible(py, "commit", move || {
            core.open().and_then(|c| Ok(c.commit(&offsets, false).map(|()| from_list(&offsets))?))
        })?;
        Ok(Some(committed?))
    }

    /// A request to the broker about `list`, run interruptibly until `timeout` (see
    /// [`blocking::request`](crate::blocking::request)); returns the list librdkafka filled in.
    fn list_request(
        &self,
        py: Python<'_>,
        what: &str,
        list: TopicPartitionList,
        timeout: Option<Seconds>,
        call: fn(&NativeConsumer, &TopicPartitionList, std::ffi::c_int) -> NativeResult<()>,
    ) -> PyResult<Vec<TopicPartition>> {
        let deadline = deadline(timeout)?;
        self.core.open()?;
        let core = self.core.clone();
        request(py, what, deadline, move |chunk| {
            let consumer = core.open().map_err(|_| closed_error())?;
            call(&consumer, &list, chunk).map(|()| from_list(&list))
        })
    }

    /// Runs an rdkafka call that takes a partition list made from Python partitions.
    fn with_partitions(
        &self,
        partitions: Vec<PyRef<'_, TopicPartition>>,
        call: impl FnOnce(&NativeConsumer, &TopicPartitionList) -> NativeResult<()>,
    ) -> PyResult<()> {
        let list = to_list(&partitions_arg(partitions))?;
        let consumer = self.core.open()?;
        Ok(call(&consumer, &list).map_err(FerroError::from)?)
    }

    /// Before `assign()` and its kind change the assignment: see
    /// [`CoreContext::before_assignment_change`](self::core::CoreContext::before_assignment_change).
    fn before_assignment_change(&self) -> PyResult<()> {
        let consumer = self.core.open()?;
        self.core.context().before_assignment_change(consumer.consumer_ref());
        Ok(())
    }

    /// librdkafka 2.12 does not wake its fetcher for a resumed partition: it starts at the fetcher's
    /// next wake-up, up to a second later (0.5-1 s measured, mock cluster and real broker), so every
    /// pause/resume left a gap without messages. A seek to the partition's own position (the offset
    /// after the last message librdkafka handed us, where it restarts anyway) wakes it at once; our
    /// messages fetched ahead stay valid (they are before that offset). Best effort, for partitions
    /// of the current assignment with a position: a failed seek only leaves the wait as it was.
    fn restart_fetching(&self, resumed: &[TopicPartition]) {
        let Ok(consumer) = self.core.open() else { return };
        let Ok(assigned) = consumer.assignment() else { return };
        let wanted: Vec<TopicPartition> = resumed
            .iter()
            .filter(|tp| assigned.iter().any(|a| a.topic == tp.topic && a.partition == tp.partition))
            .cloned()
            .collect();
        let Ok(list) = to_list(&wanted) else { return };
        if wanted.is_empty() || consumer.position(&list).is_err() {
            return;
        }
        let positioned: Vec<TopicPartition> = from_list(&list).into_iter().filter(|tp| tp.offset >= 0).collect();
        if let Ok(seek) = to_list(&positioned) {
            if !positioned.is_empty() {
                // Queued behind the resume on each partition's queue, so applied after it: no wait.
                let _ = consumer.seek(&seek, 0);
            }
        }
    }

    /// The partitions given, or the current assignment.
    fn partitions_or_assignment(
        &self,
        partitions: Option<Vec<PyRef<'_, TopicPartition>>>,
    ) -> PyResult<TopicPartitionList> {
        let partitions = match partitions {
            Some(partitions) => partitions_arg(partitions),
            None => self.core.open()?.assignment().map_err(FerroError::from)?,
        };
        Ok(to_list(&partitions)?)
    }
}

#[pymethods]
impl Consumer {
    #[new]
    fn py_new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (config, settings) = client_config(&config_dict(config)?)?;
        let first_token = crate::oauth::first_token(py, &config, &settings)?;
        let core = ConsumerCore::new(&config, settings)?;
        if let Some(token) = first_token {
            crate::oauth::start(&core, token)?;
        }
        Ok(Consumer { core, iterated: Mutex::new(None), iterated_by_task: Mutex::new(Vec::new()) })
    }

    /// Subscribes to topics (a name or a list of names; `^` starts a regex), replacing any previous
    /// subscription. As with confluent-kafka, `on_assign(consumer, partitions)` runs before the
    /// partitions are assigned: it may set their `offset`s and call `consumer.assign(partitions)`
    /// (`incremental_assign()` with a cooperative assignor) itself; if it does not, they are
    /// assigned as they came (at the committed offsets) when it returns. `on_revoke(consumer,
    /// partitions)` runs before they are taken away (commit there), `on_lost` instead of
    /// `on_revoke` when the assignment was lost (e.g. the session timed out); unless it called
    /// `unassign()`/`incremental_unassign()`, they go when it returns. They run on the thread
    /// calling poll/consume/close; an exception raised there propagates from it (the partitions
    /// are still assigned or revoked by default).
    #[pyo3(signature = (topics, on_assign=None, on_revoke=None, on_lost=None))]
    fn subscribe(
        slf: &Bound<'_, Self>,
        topics: &Bound<'_, PyAny>,
        on_assign: Option<Py<PyAny>>,
        on_revoke: Option<Py<PyAny>>,
        on_lost: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let topics: Vec<String> =
            if let Ok(one) = topics.cast::<PyString>() { vec![one.to_str()?.to_owned()] } else { topics.extract()? };
        for topic in &topics {
            check_subscription(topic)?;
        }
        for (name, callback) in [("on_assign", &on_assign), ("on_revoke", &on_revoke), ("on_lost", &on_lost)] {
            crate::callbacks::check_callable(py, name, callback.as_ref())?;
        }
        let consumer = this.core.open()?;
        // A weak reference: the consumer owns the context that keeps these callbacks.
        let weak = py.import("weakref")?.getattr("ref")?.call1((slf,))?.unbind();
        // The old callbacks are dropped outside the lock: their finalisers may call back in.
        let old = this.core.context().rebalance.lock().replace(RebalanceCallbacks {
            consumer: weak,
            on_assign,
            on_revoke,
            on_lost,
        });
        drop(old);
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        Ok(consumer.subscribe(&names).map_err(FerroError::from)?)
    }

    fn unsubscribe(&self) -> PyResult<()> {
        Ok(self.core.open()?.unsubscribe().map_err(FerroError::from)?)
    }

    /// Consumes exactly these partitions, from their given offsets (no group rebalancing; or,
    /// from `on_assign`, the group's partitions with the offsets it set on them, in place of the
    /// default assignment, as with confluent-kafka).
    fn assign(&self, partitions: Vec<PyRef<'_, TopicPartition>>) -> PyResult<()> {
        self.before_assignment_change()?;
        self.with_partitions(partitions, |consumer, list| consumer.assign(list))?;
        self.core.context().assignment_changed();
        self.core.context().offsets.forget_all();
        self.core.context().positions.forget_all();
        drop(self.core.ahead.clear(false));
        Ok(())
    }

    /// Removes the whole assignment made by `assign()` (confluent-kafka's `unassign()`): the
    /// consumer stops fetching until the next `assign()`. From `on_revoke`/`on_lost`, in place of
    /// the default unassign.
    fn unassign(&self) -> PyResult<()> {
        self.before_assignment_change()?;
        let consumer = self.core.open()?;
        consumer.unassign().map_err(FerroError::from)?;
        self.core.context().assignment_changed();
        self.core.context().offsets.forget_all();
        self.core.context().positions.forget_all();
        drop(self.core.ahead.clear(false));
        Ok(())
    }

    /// This consumer's member id in its group (assigned by the group coordinator when it joins),
    /// or None before it joined or without a group.
    fn memberid(&self) -> PyResult<Option<String>> {
        Ok(self.core.open()?.member_id())
    }

    /// Replaces the SASL username and password (PLAIN, SCRAM) used for connections made from now
    /// on (existing ones stay as they are): for credentials that rotate.
    fn set_sasl_credentials(&self, username: &str, password: &str) -> PyResult<()> {
        let consumer = self.core.open()?;
        let handle = crate::ffi::LiveHandle::kept(consumer, |consumer| consumer.client());
        Ok(crate::config::set_sasl_credentials(&handle, username, password)?)
    }

    /// Cooperative rebalancing: adds partitions to the current assignment (from `on_assign`, in
    /// place of the default, e.g. with offsets set on the partitions).
    fn incremental_assign(&self, partitions: Vec<PyRef<'_, TopicPartition>>) -> PyResult<()> {
        self.before_assignment_change()?;
        self.with_partitions(partitions, |consumer, list| consumer.incremental_assign(list))?;
        self.core.context().assignment_changed();
        Ok(())
    }

    /// Cooperative rebalancing: removes partitions from the current assignment (from
    /// `on_revoke`/`on_lost`, in place of the default).
    fn incremental_unassign(&self, partitions: Vec<PyRef<'_, TopicPartition>>) -> PyResult<()> {
        let gone: Vec<TopicPartition> = partitions.iter().map(|p| (**p).clone()).collect();
        self.before_assignment_change()?;
        self.with_partitions(partitions, |consumer, list| consumer.incremental_unassign(list))?;
        self.core.context().assignment_changed();
        self.core.context().offsets.forget(&gone);
        self.core.context().positions.forget(&gone);
        drop(self.core.ahead.remove(&gone));
        Ok(())
    }

    fn assignment(&self) -> PyResult<Vec<TopicPartition>> {
        Ok(self.core.open()?.assignment().map_err(FerroError::from)?)
    }

    /// The next message, or None if none arrived within `timeout` seconds (None: wait forever).
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<Option<Py<BorrowedMessage>>> {
        if valid_timeout(timeout.as_ref()) {
            if let Some(message) = self.lend_ready(py, Taker::Thread, self.borrowed())? {
                return Ok(Some(message));
            }
        }
        match self.receive_borrowed(py, deadline(timeout)?, 1, Taker::Thread)? {
            Received::Messages(mut messages) => Ok(messages.pop()),
            Received::TimedOut => Ok(None),
            Received::Closed => Err(FerroError::Closed("consumer").into()),
        }
    }

    /// Waits up to `timeout` seconds for a first message, then adds those already fetched, up to
    /// `num_messages` (1 by default, as confluent-kafka's). Returns an empty list on timeout.
    #[pyo3(signature = (num_messages=Int(1), timeout=None), text_signature = "(self, /, num_messages=1, timeout=None)")]
    fn consume(
        &self,
        py: Python<'_>,
        num_messages: Int<usize>,
        timeout: Option<Seconds>,
    ) -> PyResult<Vec<Py<BorrowedMessage>>> {
        let Int(max_messages) = num_messages;
        if max_messages == 0 {
            return Ok(Vec::new());
        }
        match self.receive_borrowed(py, deadline(timeout)?, max_messages, Taker::Thread)? {
            Received::Messages(messages) => Ok(messages),
            Received::TimedOut => Ok(Vec::new()),
            Received::Closed => Err(FerroError::Closed("consumer").into()),
        }
    }

    /// Like `consume()`, into one `MessageBatch` of Arrow columns (copied once, GIL-free) instead
    /// of a list of borrowed messages; an empty batch on timeout. For auto-commit the batch is
    /// done at the next poll/consume/consume_batch call or close(), like consume()'s messages.
    #[pyo3(signature = (max_messages=Int(10000), timeout=None), text_signature = "(self, /, max_messages=10000, timeout=None)")]
    fn consume_batch(
        &self,
        py: Python<'_>,
        max_messages: Int<usize>,
        timeout: Option<Seconds>,
    ) -> PyResult<MessageBatch> {
        let Int(max_messages) = max_messages;
        self.receive_batch(py, deadline(timeout)?, max_messages, Taker::Thread)
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The lending iterator: the previous message is invalidated ("superseded") before the next is
    /// fetched. Ends when the consumer is closed, also from another thread.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<BorrowedMessage>>> {
        match self.lend_next(py, None)? {
            Received::Messages(message) => Ok(Some(message)),
            Received::Closed | Received::TimedOut => Ok(None),
        }
    }

    /// For event loops (`ferrokafka.aio`), which lend to tasks (numbered by the loop, `task`): the
    /// task is done with what it was handed so far (stored for auto-commit as far as no other task
    /// still holds an earlier message, see offsets.rs), and with `iterating` what its iteration
    /// lent it is superseded. Nothing once closed.
    fn _move_on(&self, task: u64, iterating: bool) {
        if iterating {
            for slot in self.take_iterated_by(task) {
                drop(slot.invalidate(InvalidReason::Superseded));
            }
        }
        if let Ok(consumer) = self.core.open() {
            self.core.context().offsets.finish(&consumer, Some(task_owner(task)));
        }
    }

    /// For event loops: the next message for `task`, without waiting, or None. With `iterating` it
    /// is superseded when the task moves on (`_move_on`); with `ready_only`, None while a rebalance
    /// waits for the loop to serve it, and once closed (the caller takes the slow path, which
    /// serves and waits); otherwise a closed consumer raises.
    fn _poll_for(
        &self,
        py: Python<'_>,
        task: u64,
        iterating: bool,
        ready_only: bool,
    ) -> PyResult<Option<Py<BorrowedMessage>>> {
        if ready_only && self.core.context().has_pending_rebalance() {
            return Ok(None);
        }
        let taker = Taker::Task(task);
        let message = match self.lend_ready(py, taker, self.borrowed())? {
            Some(message) => Some(message),
            None if ready_only && self.core.registry.is_closed() => None,
            None => match self.receive_borrowed(py, Some(Instant::now()), 1, taker)? {
                Received::Messages(mut messages) => messages.pop(),
                Received::TimedOut => None,
                Received::Closed if ready_only => None,
                Received::Closed => return Err(FerroError::Closed("consumer").into()),
            },
        };
        if let (true, Some(message)) = (iterating, &message) {
            self.iterated_by_task.lock().push((task, message.get().slot().clone()));
        }
        Ok(message)
    }

    /// For event loops: `consume(max_messages, 0)` for `task`.
    fn _consume_for(&self, py: Python<'_>, task: u64, max_messages: Int<usize>) -> PyResult<Vec<Py<BorrowedMessage>>> {
        let Int(max_messages) = max_messages;
        if max_messages == 0 {
            return Ok(Vec::new());
        }
        match self.receive_borrowed(py, Some(Instant::now()), max_messages, Taker::Task(task))? {
            Received::Messages(messages) => Ok(messages),
            Received::TimedOut => Ok(Vec::new()),
            Received::Closed => Err(FerroError::Closed("consumer").into()),
        }
    }

    /// For event loops: `consume_batch(max_messages, 0)` for `task`.
    fn _consume_batch_for(&self, py: Python<'_>, task: u64, max_messages: Int<usize>) -> PyResult<MessageBatch> {
        let Int(max_messages) = max_messages;
        self.receive_batch(py, Some(Instant::now()), max_messages, Taker::Task(task))
    }

    /// For event loops: `task` ended. What its iteration lent it stays valid (it may have handed
    /// it on); what it was handed is done if it `finished` (returned), else abandoned: never
    /// stored, and nothing past it is, until its partitions are taken away (see offsets.rs).
    fn _task_ended(&self, task: u64, finished: bool) {
        drop(self.take_iterated_by(task));
        let offsets = &self.core.context().offsets;
        match self.core.open() {
            Ok(consumer) if finished => offsets.finish(&consumer, Some(task_owner(task))),
            _ => offsets.abandon(task_owner(task)),
        }
    }

    /// For event loops: what `commit()` without arguments from `task` commits — the task is done
    /// with what it was handed; per assigned partition, the offset after the last message handed
    /// out, capped at the first one another task still holds. Stores what is done first.
    fn _commit_offsets_for(&self, task: u64) -> PyResult<Vec<TopicPartition>> {
        let consumer = self.core.open()?;
        let offsets = &self.core.context().offsets;
        offsets.finish(&consumer, Some(task_owner(task)));
        offsets.store_done(|list| consumer.store_offsets(list).map_err(drop));
        Ok(offsets.handed_in(&consumer.assignment().map_err(FerroError::from)?))
    }

    /// For event loops (`ferrokafka.aio`): commits exactly `offsets`; the result reaches the
    /// returned request, whose queue writes a wake-up byte to (a duplicate of) `wake_fd` when it
    /// arrives: wait until readable, then `request.result()`.
    fn _commit_to_loop(&self, offsets: Vec<PyRef<'_, TopicPartition>>, wake_fd: i32) -> PyResult<LoopRequest> {
        let list = to_list(&partitions_arg(offsets))?;
        LoopRequest::commit(&self.core, &list, crate::blocking::duplicate_fd(wake_fd, "wake_fd")?)
    }

    /// For event loops: `committed()` of `group_id` (this consumer's `group.id`) as a request
    /// like `_commit_to_loop`'s; its result is the partitions with their committed offsets.
    fn _committed_to_loop(
        &self,
        partitions: Option<Vec<PyRef<'_, TopicPartition>>>,
        group_id: &str,
        wake_fd: i32,
    ) -> PyResult<LoopRequest> {
        let list = self.partitions_or_assignment(partitions)?;
        let group = std::ffi::CString::new(group_id)
            .map_err(|_| FerroError::Value("group_id must not contain NUL characters".into()))?;
        LoopRequest::committed(&self.core, &group, &list, crate::blocking::duplicate_fd(wake_fd, "wake_fd")?)
    }

    /// For event loops: the offsets of `partitions` by the spec in each one's `offset` (-2:
    /// earliest, -1: latest, else a timestamp in ms) as a request like `_commit_to_loop`'s, at
    /// the isolation level `read_committed` says.
    fn _list_offsets_to_loop(
        &self,
        partitions: Vec<PyRef<'_, TopicPartition>>,
        read_committed: bool,
        wake_fd: i32,
    ) -> PyResult<LoopRequest> {
        let partitions = partitions_arg(partitions);
        if partitions.is_empty() {
            return Err(FerroError::Value("partitions must not be empty".into()).into());
        }
        if let Some(bad) = partitions.iter().find(|tp| tp.offset < -2) {
            return Err(
                FerroError::Value(format!("offset {} is no spec: -2, -1 or a timestamp (ms)", bad.offset)).into()
            );
        }
        let list = to_list(&partitions)?;
        LoopRequest::list_offsets(&self.core, &list, read_committed, crate::blocking::duplicate_fd(wake_fd, "wake_fd")?)
    }

    /// Commits offsets to the group. With a BorrowedMessage or OwnedMessage: its offset + 1. With
    /// `offsets`: exactly those (each the next offset to read). With neither: the position (last
    /// returned offset + 1) of every assigned partition that returned a message; nothing to commit
    /// is not an error. As confluent-kafka's, asynchronous by default: returns None at once and the
    /// result goes to `on_commit`. `asynchronous=False` waits for the broker's answer, raises its
    /// `KafkaError`, and returns the offsets committed (an empty list when there was nothing).
    #[pyo3(signature = (message=None, offsets=None, asynchronous=true))]
    fn commit(
        &self,
        py: Python<'_>,
        message: Option<&Bound<'_, PyAny>>,
        offsets: Option<Vec<PyRef<'_, TopicPartition>>>,
        asynchronous: bool,
    ) -> PyResult<Option<Vec<TopicPartition>>> {
        let offsets = match (message, offsets) {
            (Some(message), _) if !message.is_none() => {
                let offsets = next_offsets_of(message)?;
                if offsets.is_empty() {
                    return Ok((!asynchronous).then(Vec::new)); // an empty batch
                }
                to_list(&offsets)?
            }
            (_, Some(offsets)) => to_list(&partitions_arg(offsets))?,
            _ => {
                // What was handed out, not librdkafka's position: closing drains queued messages
                // through the same call that moves the position (see offsets.rs).
                let consumer = self.core.open()?;
                let offsets = &self.core.context().offsets;
                offsets.finish(&consumer, None);
                offsets.store_done(|list| consumer.store_offsets(list).map_err(drop));
                let consumed = offsets.handed_in(&consumer.assignment().map_err(FerroError::from)?);
                if consumed.is_empty() {
                    return Ok((!asynchronous).then(Vec::new));
                }
                to_list(&consumed)?
            }
        };
        self.commit_list(py, offsets, asynchronous)
    }

    /// Stores offsets for the next commit (automatic or argument-less), for consumers configured
    /// with `enable.auto.offset.store=false`. With a message: its offset + 1; with `offsets`: those.
    #[pyo3(signature = (message=None, offsets=None))]
    fn store_offsets(
        &self,
        message: Option<&Bound<'_, PyAny>>,
        offsets: Option<Vec<PyRef<'_, TopicPartition>>>,
    ) -> PyResult<()> {
        let list = match (message, offsets) {
            (Some(message), _) if !message.is_none() => {
                let offsets = next_offsets_of(message)?;
                if offsets.is_empty() {
                    return Ok(()); // an empty batch
                }
                to_list(&offsets)?
            }
            (_, Some(offsets)) => to_list(&partitions_arg(offsets))?,
            _ => return Err(FerroError::Type("store_offsets() needs a message or offsets".into()).into()),
        };
        Ok(self.core.open()?.store_offsets(&list).map_err(FerroError::from)?)
    }

    /// Moves the fetch position of an assigned partition to `partition.offset`, waiting up to
    /// `timeout` seconds (None: until done) for it to take effect.
    #[pyo3(signature = (partition, timeout=None))]
    fn seek(&self, py: Python<'_>, partition: PyRef<'_, TopicPartition>, timeout: Option<Seconds>) -> PyResult<()> {
        let list = to_list(&[(*partition).clone()])?;
        self.list_request(py, "seek", list, timeout, NativeConsumer::seek)?;
        self.core.context().positions.forget(&[(*partition).clone()]);
        // Fetched before the seek: the new position replaces them.
        drop(self.core.ahead.remove(&[(*partition).clone()]));
        Ok(())
    }

    fn pause(&self, partitions: Vec<PyRef<'_, TopicPartition>>) -> PyResult<()> {
        let paused: Vec<TopicPartition> = partitions.iter().map(|p| (**p).clone()).collect();
        // librdkafka restarts a paused partition at its position, which 2.12.1 may have moved past
        // an end or error (app_positions.rs): read before the pause, sought back after it. Read
        // for those partitions only (rd_kafka_position creates a partition it does not know, and
        // pause would then accept a partition never seen).
        let consumer = self.core.open()?;
        let marked = self.core.context().positions.marked(&paused);
        let positions = if marked.is_empty() {
            Vec::new()
        } else {
            let before = to_list(&marked)?;
            consumer.position(&before).map(|()| from_list(&before)).unwrap_or_default()
        };
        self.with_partitions(partitions, |consumer, list| consumer.pause(list))?;
        self.core.ahead.pause(&paused);
        let fix = &self.core.context().positions;
        let seek = fix.to_seek_after_pause(&positions);
        if !seek.is_empty() {
            // Queued behind the pause on each partition's queue, so applied after it: no wait.
            consumer.seek(&to_list(&seek)?, 0).map_err(FerroError::from)?;
            fix.sought(&seek);
        }
        Ok(())
    }

    fn resume(&self, partitions: Vec<PyRef<'_, TopicPartition>>) -> PyResult<()> {
        let resumed: Vec<TopicPartition> = partitions.iter().map(|p| (**p).clone()).collect();
        self.with_partitions(partitions, |consumer, list| consumer.resume(list))?;
        self.core.ahead.resume(&resumed);
        self.restart_fetching(&resumed);
        Ok(())
    }

    /// The fetch position (last returned offset + 1, or OFFSET_INVALID) of the given partitions or
    /// of the whole assignment.
    #[pyo3(signature = (partitions=None))]
    fn position(&self, partitions: Option<Vec<PyRef<'_, TopicPartition>>>) -> PyResult<Vec<TopicPartition>> {
        let list = self.partitions_or_assignment(partitions)?;
        self.core.open()?.position(&list).map_err(FerroError::from)?;
        // librdkafka's position is past the messages fetched but not lent yet (lent_ahead.rs).
        let mut positions = from_list(&list);
        self.core.context().positions.correct(&mut positions);
        for tp in &mut positions {
            if let Some(first) = self.core.ahead.first_offset(tp) {
                tp.offset = first;
            }
        }
        Ok(positions)
    }

    /// The group's committed offsets of the given partitions or of the whole assignment.
    #[pyo3(signature = (partitions=None, timeout=None))]
    fn committed(
        &self,
        py: Python<'_>,
        partitions: Option<Vec<PyRef<'_, TopicPartition>>>,
        timeout: Option<Seconds>,
    ) -> PyResult<Vec<TopicPartition>> {
        let list = self.partitions_or_assignment(partitions)?;
        self.list_request(py, "committed", list, timeout, NativeConsumer::committed_offsets)
    }

    /// (low, high) watermarks of a partition, asked of the broker.
    #[pyo3(signature = (partition, timeout=None))]
    fn get_watermark_offsets(
        &self,
        py: Python<'_>,
        partition: PyRef<'_, TopicPartition>,
        timeout: Option<Seconds>,
    ) -> PyResult<(i64, i64)> {
        let deadline = deadline(timeout)?;
        let (topic, number) = (topic_cstring(&partition.topic)?, partition.partition);
        self.core.open()?;
        let core = self.core.clone();
        request(py, "get_watermark_offsets", deadline, move |chunk| {
            core.open().map_err(|_| closed_error())?.fetch_watermarks(&topic, number, chunk)
        })
    }

    /// For each partition whose `offset` holds a timestamp (ms): the earliest offset whose timestamp
    /// is at least that (OFFSET_END when there is none).
    #[pyo3(signature = (partitions, timeout=None))]
    fn offsets_for_times(
        &self,
        py: Python<'_>,
        partitions: Vec<PyRef<'_, TopicPartition>>,
        timeout: Option<Seconds>,
    ) -> PyResult<Vec<TopicPartition>> {
        let list = to_list(&partitions_arg(partitions))?;
        self.list_request(py, "offsets_for_times", list, timeout, NativeConsumer::offsets_for_times)
    }

    /// Cluster metadata, for one topic or all: `{"brokers": {id: "host:port"}, "topics": {name:
    /// {partition: {"leader": id, "replicas": [ids], "isrs": [ids]}}}}`.
    #[pyo3(signature = (topic=None, timeout=None))]
    fn list_topics<'py>(
        &self,
        py: Python<'py>,
        topic: Option<String>,
        timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.core.open()?;
        cluster_metadata::list_topics(py, self.core.clone(), topic, timeout)
    }

    /// The cluster's id from the brokers' metadata, waiting up to `timeout` seconds (None: until
    /// known) for the first metadata; None if it did not come in time.
    #[pyo3(signature = (timeout=None))]
    fn cluster_id(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<Option<String>> {
        self.core.open()?;
        cluster_metadata::cluster_id(py, self.core.clone(), timeout)
    }

    /// The group's identity, for `Producer.send_offsets_to_transaction()`.
    fn consumer_group_metadata(&self) -> PyResult<ConsumerGroupMetadata> {
        let inner = self
            .core
            .open()?
            .group_metadata()
            .ok_or_else(|| FerroError::Value("the consumer has no group.id".into()))?;
        Ok(ConsumerGroupMetadata { inner })
    }

    /// Invalidates every borrowed message, leaves the group (running `on_revoke`), closes the
    /// consumer and releases librdkafka's threads, sockets and memory (unless a `memoryview` of a
    /// message's payload or key is still alive: they go with the last one). Idempotent. Waits at
    /// most `timeout` seconds (None: until librdkafka is done); Ctrl-C interrupts the wait.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<()> {
        self.iterated.lock().take();
        let by_task = std::mem::take(&mut *self.iterated_by_task.lock());
        drop(by_task);
        if let Ok(consumer) = self.core.open() {
            // No more wake-ups for an event loop that is done with this consumer.
            consumer.io_event_enable(None);
        }
        self.core.close(py, deadline(timeout)?)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.registry.is_closed()
    }

    /// The callbacks may refer back to this consumer: let the garbage collector see them.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let context = self.core.context();
        context.callbacks.traverse(&visit)?;
        if let Some(error) = context.rebalance_error.try_lock() {
            visit.call(error.as_ref())?;
        }
        if let Some(rebalance) = context.rebalance.try_lock() {
            if let Some(callbacks) = rebalance.as_ref() {
                for obj in [&callbacks.on_assign, &callbacks.on_revoke, &callbacks.on_lost] {
                    visit.call(obj)?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let context = self.core.context();
        context.callbacks.clear();
        let taken = context.rebalance.lock().take();
        drop(taken);
        let error = context.rebalance_error.lock().take();
        drop(error);
    }

    /// Native messages of this consumer still in memory: valid borrowed messages plus invalidated
    /// ones whose memoryviews are still alive. Each pins its whole fetch buffer. (Messages fetched
    /// but not lent yet, at most 256, are not counted.)
    #[getter]
    fn live_message_count(&self) -> usize {
        self.core.registry.live_native().saturating_sub(self.core.ahead.len())
    }

    /// For event loops (`ferrokafka.aio`): librdkafka writes a byte to (a duplicate of) `fd`
    /// whenever its queue gets something after the last poll; `None` turns that off. Wait until
    /// `fd` is readable, then poll with timeout 0.
    fn _io_event_enable(&self, fd: Option<std::os::fd::RawFd>) -> PyResult<()> {
        let consumer = self.core.open()?;
        let duplicate = fd.map(|fd| crate::blocking::duplicate_fd(fd, "fd")).transpose()?;
        consumer.io_event_enable(duplicate);
        Ok(())
    }

    /// For event loops (`ferrokafka.aio`): while on, a rebalance is kept instead of served inside
    /// poll/consume (no callback runs there); `_pending_rebalance()` shows it, `_finish_rebalance()`
    /// applies it. close() turns this off.
    fn _defer_rebalances(&self, on: bool) -> PyResult<()> {
        self.core.open()?;
        self.core.context().defer_rebalances.store(on, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// The kept rebalance: ("assign" | "revoke" | "lost", partitions), or None.
    fn _pending_rebalance(&self) -> Option<(&'static str, Vec<TopicPartition>)> {
        self.core.context().pending_rebalance()
    }

    /// Applies the kept rebalance (librdkafka waits for it); False if none was kept.
    fn _finish_rebalance(&self) -> PyResult<bool> {
        let consumer = self.core.open()?;
        Ok(self.core.context().finish_pending_rebalance(consumer.consumer_ref()))
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py, None)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("<Consumer {}>", if self.closed() { "closed" } else { "open" })
    }
}

impl Consumer {
    /// For the confluent-kafka drop-in (`ferrokafka.confluent`, see dropin.rs): `poll(timeout)`
    /// whose message, when its key and value together are at most `max_copy` bytes, is made by
    /// `copy` (with both copied) while the native message is valid: no borrowed message, no views.
    /// A bigger one comes as the `BorrowedMessage`. None on timeout.
    pub(crate) fn poll_for_dropin(
        &self,
        py: Python<'_>,
        timeout: Option<Seconds>,
        max_copy: usize,
        copy: &(dyn Fn(Python<'_>, &NativeMessage) -> PyResult<Py<PyAny>> + Sync),
    ) -> PyResult<Option<Py<PyAny>>> {
        if !valid_timeout(timeout.as_ref()) {
            deadline(timeout)?; // raises
        }
        let registry = &self.core.registry;
        let ready = self.lend_ready(py, Taker::Thread, |py, native| {
            if !fits(native, max_copy) {
                return self.borrowed()(py, native).map(|message| message.map(Py::into_any));
            }
            if registry.is_closed() {
                return Ok(None);
            }
            copy(py, native).map(Some)
        })?;
        if ready.is_some() {
            return Ok(ready);
        }
        let admit = |messages: Vec<NativeMessage>, _: &[Handed]| -> Option<Vec<ForDropIn>> {
            messages
                .into_iter()
                .map(|native| {
                    let native = Arc::new(native);
                    if fits(&native, max_copy) {
                        (!registry.is_closed()).then_some(ForDropIn::Copied(native))
                    } else {
                        registry.admit_one(native).map(ForDropIn::Borrowed)
                    }
                })
                .collect()
        };
        let lend = |py: Python<'_>, lent: Vec<ForDropIn>| -> PyResult<Vec<Py<PyAny>>> {
            lent.into_iter()
                .map(|message| match message {
                    ForDropIn::Copied(native) => copy(py, &native),
                    ForDropIn::Borrowed(slot) => BorrowedMessage::new_untracked(py, slot).map(Py::into_any),
                })
                .collect()
        };
        match self.receive(py, deadline(timeout)?, 1, Taker::Thread, true, admit, lend)? {
            Received::Messages(mut messages) => Ok(messages.pop()),
            Received::TimedOut => Ok(None),
            Received::Closed => Err(FerroError::Closed("consumer").into()),
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if self.core.registry.is_closed() {
            return;
        }
        crate::errors::warn_unclosed(c"ferrokafka.Consumer was not closed; call close() or use `with`");
        // Invalidate without blocking; the group is left when the last reference to the core drops,
        // on a background thread (see ConsumerCore's Drop), without Python callbacks.
        self.core.abandon();
    }
}

/// The error a request running on a worker reports when the consumer closed under it.
/// A message for the confluent-kafka drop-in (`Consumer::poll_for_dropin`), on its way to Python.
enum ForDropIn {
    /// Small enough to copy: its fields are copied and the message goes at once.
    Copied(Arc<NativeMessage>),
    /// Lent as a `BorrowedMessage` (the drop-in holds views of it).
    Borrowed(Arc<MessageSlot>),
}

/// Whether the drop-in copies `native`'s key and value (at most `max_copy` bytes together).
fn fits(native: &NativeMessage, max_copy: usize) -> bool {
    let len = |part: Option<&[u8]>| part.map_or(0, <[u8]>::len);
    len(MessageParts::key(native)).saturating_add(len(MessageParts::payload(native))) <= max_copy
}

fn closed_error() -> KafkaErrorInfo {
    let code = rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__DESTROY as std::ffi::c_int;
    KafkaErrorInfo::from_raw(code, "the consumer is closed", None)
}

/// A subscription: a topic name (see [`check_topic_name`]) or a regular expression (`^...`).
fn check_subscription(topic: &str) -> FerroResult<()> {
    const MAX_PATTERN: usize = 4096;
    if !topic.starts_with('^') {
        return check_topic_name(topic);
    }
    if topic.contains('\0') || topic.len() > MAX_PATTERN {
        return Err(FerroError::Value(format!("a topic pattern must have no NUL and at most {MAX_PATTERN} bytes")));
    }
    Ok(())
}
