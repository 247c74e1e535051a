//! The delivery of one produced message: its state (`DeliveryCell`, resolved without the GIL),
//! the Rust side of its Python future (`DeliveryState`, `future._native`), the report it resolves
//! to (`DeliveryReport`) and the producer's context that resolves them (`native::producer`'s
//! `ProducerEvents`). The Python side of the
//! future is `python/ferrokafka/_delivery.py` (`DeliveryFuture`).

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
use pyo3::{PyTraverseError, PyVisit};

use super::delivery_results::DeliveryResults;
use super::loop_sink::LoopSink;
use crate::callbacks::ClientCallbacks;
use crate::errors::KafkaErrorInfo;
use crate::message::TimestampType;
use crate::native::producer::{DeliveryResult, ProducerEvents};
use rdkafka::types::RDKafkaErrorCode;

/// Where a delivered message landed. The result of a `produce()` future.
#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct DeliveryReport {
    #[pyo3(get)]
    pub(super) topic: Py<PyString>,
    #[pyo3(get)]
    pub(super) partition: i32,
    #[pyo3(get)]
    pub(super) offset: i64,
    /// Milliseconds since the epoch, or None.
    #[pyo3(get)]
    pub(super) timestamp: Option<i64>,
}

#[pymethods]
impl DeliveryReport {
    pub(super) fn __eq__(&self, other: PyRef<'_, DeliveryReport>) -> PyResult<bool> {
        let py = other.py();
        Ok((self.partition, self.offset, self.timestamp) == (other.partition, other.offset, other.timestamp)
            && self.topic.bind(py).as_any().eq(other.topic.bind(py))?)
    }

    pub(super) fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "DeliveryReport(topic={:?}, partition={}, offset={}, timestamp={})",
            self.topic.bind(py).to_string(),
            self.partition,
            self.offset,
            self.timestamp.map_or("None".to_owned(), |t| t.to_string())
        )
    }
}

/// How a message's delivery ended (or, for `produce_batch()`, every message's of the batch).
pub(super) enum Outcome {
    Delivered {
        partition: i32,
        offset: i64,
        timestamp: Option<i64>,
    },
    /// Boxed: most outcomes are deliveries.
    Failed(Box<KafkaErrorInfo>),
    Batch(BatchOutcomes),
}

/// The delivery state of one message, shared by its future (through `DeliveryState`) and the
/// delivery threads. Resolving it needs no GIL: the delivery thread stores the outcome and sets
/// [`FINISHED`]; only a future that someone waits on or subscribed to ([`WATCHED`]), or a message
/// with an `on_delivery` callback, needs Python afterwards.
pub struct DeliveryCell {
    pub(super) topic: Arc<str>,
    pub(super) outcome: std::sync::OnceLock<Outcome>,
    /// [`FINISHED`] and [`WATCHED`], each set once by one `fetch_or` (see `finish` and `watch`).
    pub(super) state: AtomicU8,
    /// The future to wake, once watched and until it has been woken. Taken by whichever side sees
    /// the other's flag (see `watch` and `finish`), so no reference cycle outlives delivery.
    pub(super) watcher: Mutex<Option<Py<PyAny>>>,
    /// The message's `on_delivery` callback (its own or the config's), taken when it runs.
    pub(super) on_delivery: Mutex<Option<Py<PyAny>>>,
    pub(super) has_callback: bool,
    /// For a message of an `AIOProducer`: the loop's sink, where it goes once finished; its
    /// `asyncio.Future` waits in `watcher`.
    pub(super) sink: Option<Arc<LoopSink>>,
}

/// The outcome of each message of a batch, in order, each set once when it is delivered or failed;
/// all are set when the batch's future finishes.
pub(super) type BatchOutcomes = Arc<BatchSlots>;

/// An offset no delivery has: the slot is not set yet.
const UNSET: i64 = i64::MIN;
/// An offset no delivery has: the message failed, its error is in `errors`.
const FAILED: i64 = i64::MIN + 1;
/// A timestamp no delivery has: None.
const NO_TIMESTAMP: i64 = i64::MIN;

/// A batch's outcomes in three columns, 20 bytes a message, set without a lock: a batch of a
/// million messages keeps a million of them until its results go, and that memory is new (each
/// page zeroed by the kernel as it is first touched). The few errors are kept apart. Each slot
/// is written once, by the thread that delivers the message, before it counts itself off the
/// batch (AcqRel); they are read once the batch finished, so Relaxed stores and loads suffice.
pub struct BatchSlots {
    offsets: Box<[AtomicI64]>,
    timestamps: Box<[AtomicI64]>,
    partitions: Box<[AtomicI32]>,
    errors: Mutex<HashMap<usize, Box<KafkaErrorInfo>>>,
}

impl BatchSlots {
    pub(super) fn new(count: usize) -> Self {
        BatchSlots {
            offsets: (0..count).map(|_| AtomicI64::new(UNSET)).collect(),
            timestamps: (0..count).map(|_| AtomicI64::new(NO_TIMESTAMP)).collect(),
            partitions: (0..count).map(|_| AtomicI32::new(-1)).collect(),
            errors: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Sets message `index`'s outcome (the first time).
    pub(super) fn set(&self, index: usize, outcome: Outcome) {
        let Some(slot) = self.offsets.get(index) else { return };
        if slot.load(Ordering::Relaxed) != UNSET {
            return;
        }
        match outcome {
            Outcome::Delivered { partition, offset, timestamp } => {
                self.partitions[index].store(partition, Ordering::Relaxed);
                self.timestamps[index].store(timestamp.unwrap_or(NO_TIMESTAMP), Ordering::Relaxed);
                // Offsets librdkafka reports are never these two; were one ever, it reads as a failure.
                slot.store(offset.max(FAILED + 1), Ordering::Relaxed);
            }
            Outcome::Failed(info) => {
                self.errors.lock().insert(index, info);
                slot.store(FAILED, Ordering::Relaxed);
            }
            Outcome::Batch(_) => {}
        }
    }

    /// Message `index`'s outcome, if set.
    pub(super) fn get(&self, index: usize) -> Option<Outcome> {
        match self.offsets.get(index)?.load(Ordering::Relaxed) {
            UNSET => None,
            FAILED => Some(Outcome::Failed(self.errors.lock().get(&index)?.clone())),
            offset => Some(Outcome::Delivered {
                partition: self.partitions[index].load(Ordering::Relaxed),
                offset,
                timestamp: Some(self.timestamps[index].load(Ordering::Relaxed)).filter(|&t| t != NO_TIMESTAMP),
            }),
        }
    }

    pub(super) fn is_failed(&self, index: usize) -> bool {
        self.offsets.get(index).is_some_and(|o| o.load(Ordering::Relaxed) == FAILED)
    }

    pub(super) fn delivered(&self) -> usize {
        self.offsets.iter().filter(|o| !matches!(o.load(Ordering::Relaxed), UNSET | FAILED)).count()
    }
}

/// The messages of one `produce_batch()` call: their outcomes, in order, until the last arrives.
/// Its messages travel through librdkafka as members of one batch (`native::batch_opaque`: one
/// member array per batch, no allocation or reference count per message), which counts them off.
pub struct BatchCell {
    pub(super) outcomes: BatchOutcomes,
    /// The batch's future (and its on_delivery callback, run once per message).
    pub(super) cell: Arc<DeliveryCell>,
}

/// A message of a `produce_batch()` on its way: its batch and place there.
pub(super) type BatchMember = crate::native::batch_opaque::Member<BatchCell>;

/// What each produced message carries through librdkafka: its own cell (`produce()`), its
/// place in a batch (`produce_batch()`), or nothing (`_produce_quiet()`: nobody waits for it).
pub type Delivery = crate::native::batch_opaque::Opaque<DeliveryCell, BatchCell>;

impl DeliveryCell {
    /// A cell for one message to `topic`; `on_delivery` is the callback to run once it finished.
    pub(super) fn new(topic: Arc<str>, on_delivery: Option<Py<PyAny>>) -> Self {
        DeliveryCell {
            topic,
            outcome: std::sync::OnceLock::new(),
            state: AtomicU8::new(0),
            watcher: Mutex::new(None),
            has_callback: on_delivery.is_some(),
            on_delivery: Mutex::new(on_delivery),
            sink: None,
        }
    }

    /// A cell for one message of an `AIOProducer`: resolved on the loop, through `sink`.
    pub(super) fn for_loop(
        topic: Arc<str>,
        on_delivery: Option<Py<PyAny>>,
        sink: Arc<LoopSink>,
        future: Py<PyAny>,
    ) -> Self {
        DeliveryCell { watcher: Mutex::new(Some(future)), sink: Some(sink), ..DeliveryCell::new(topic, on_delivery) }
    }
}

/// `DeliveryCell::state`: the outcome is stored (set by the delivery thread, once).
pub(super) const FINISHED: u8 = 1;
/// `DeliveryCell::state`: a future waits on or subscribed to the cell (set with the GIL, once).
pub(super) const WATCHED: u8 = 2;

/// `(report, None)` or `(None, KafkaError)` for Python (for a batch: `(list, None)`).
pub(super) type PyOutcome = (Option<Py<PyAny>>, Option<Py<PyAny>>);

/// The Rust side of a `DeliveryFuture` (`future._native`).
#[pyclass(frozen, module = "ferrokafka._native")]
pub struct DeliveryState {
    pub(super) cell: Arc<DeliveryCell>,
}

#[pymethods]
impl DeliveryState {
    #[getter]
    pub(super) fn finished(&self) -> bool {
        // Acquire pairs with the release half of `finish`'s fetch_or: whoever sees FINISHED then
        // sees the outcome stored before it.
        self.cell.state.load(Ordering::Acquire) & FINISHED != 0
    }

    /// Called (with the GIL) when the future gets its condition: from now on the delivery thread
    /// wakes it through `future._delivered()`.
    pub(super) fn watch(&self, future: Py<PyAny>) {
        *self.cell.watcher.lock() = Some(future);
        // One read-modify-write of the word `finish` sets FINISHED in: the two are ordered in that
        // word's modification order, so whichever comes second sees the other's bit (two flags,
        // each stored then the other loaded, needed SeqCst on all four accesses for that).
        // Release: `finish`, seeing WATCHED, also sees the watcher stored above.
        if self.cell.state.fetch_or(WATCHED, Ordering::Release) & FINISHED != 0 {
            // Finished already: the caller will see it; drop the reference (no cycle left behind).
            let taken = self.cell.watcher.lock().take();
            drop(taken);
        }
    }

    /// `(report, None)` or `(None, KafkaError)`; `(None, None)` while not finished.
    pub(super) fn outcome(&self, py: Python<'_>) -> PyResult<PyOutcome> {
        self.cell.py_outcome(py)
    }

    /// The future (watcher) and on_delivery callback may refer back to this state (the future holds
    /// it): let the garbage collector see them, e.g. for a message that is never delivered.
    pub(super) fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(watcher) = self.cell.watcher.try_lock() {
            visit.call(watcher.as_ref())?;
        }
        if let Some(callback) = self.cell.on_delivery.try_lock() {
            visit.call(callback.as_ref())?;
        }
        Ok(())
    }

    pub(super) fn __clear__(&self) {
        let watcher = self.cell.watcher.lock().take();
        let callback = self.cell.on_delivery.lock().take();
        drop((watcher, callback));
    }
}

impl Drop for DeliveryState {
    /// The future's state is gone (collected with its future, or cleared by the garbage
    /// collector): nobody can wait through it any more, so the cell lets go of the future too
    /// (the cell itself lives on with librdkafka until the message is delivered or failed).
    fn drop(&mut self) {
        let watcher = self.cell.watcher.lock().take();
        drop(watcher);
    }
}

impl DeliveryCell {
    pub(super) fn py_outcome(&self, py: Python<'_>) -> PyResult<PyOutcome> {
        match self.outcome.get() {
            None => Ok((None, None)),
            Some(Outcome::Batch(outcomes)) => {
                let results = DeliveryResults::new(PyString::new(py, &self.topic).unbind(), outcomes.clone());
                Ok((Some(Py::new(py, results)?.into_any()), None))
            }
            Some(outcome) => py_single_outcome(py, &PyString::new(py, &self.topic), outcome),
        }
    }

    /// Runs the `on_delivery` callback (taken: it runs once) with the outcome, or, for a batch,
    /// once per message.
    pub(super) fn call_on_delivery(&self, py: Python<'_>) {
        let Some(callback) = self.on_delivery.lock().take() else { return };
        let topic = PyString::new(py, &self.topic);
        match self.outcome.get() {
            Some(Outcome::Batch(outcomes)) => {
                for outcome in (0..outcomes.len()).filter_map(|i| outcomes.get(i)) {
                    call_with(py, &callback, &topic, &outcome);
                }
            }
            Some(outcome) => call_with(py, &callback, &topic, outcome),
            None => {}
        }
    }
}

/// Calls `callback(error, report)` with one message's outcome, error first as confluent-kafka's
/// `on_delivery(err, msg)`; what it raises is unraisable.
fn call_with(py: Python<'_>, callback: &Py<PyAny>, topic: &Bound<'_, PyString>, outcome: &Outcome) {
    let called =
        py_single_outcome(py, topic, outcome).and_then(|(report, error)| callback.bind(py).call1((error, report)));
    if let Err(err) = called {
        err.write_unraisable(py, Some(callback.bind(py)));
    }
}

/// `(report, None)` or `(None, KafkaError)` of one message.
pub(super) fn py_single_outcome(py: Python<'_>, topic: &Bound<'_, PyString>, outcome: &Outcome) -> PyResult<PyOutcome> {
    match outcome {
        Outcome::Delivered { partition, offset, timestamp } => {
            let report = DeliveryReport {
                topic: topic.clone().unbind(),
                partition: *partition,
                offset: *offset,
                timestamp: *timestamp,
            };
            Ok((Some(Py::new(py, report)?.into_any()), None))
        }
        Outcome::Failed(info) => Ok((None, Some((**info).clone().into_pyerr(py).into_value(py).into_any()))),
        Outcome::Batch(_) => Ok((None, None)),
    }
}

impl DeliveryCell {
    /// Stores the outcome, without the GIL. Returns the cell if Python must still hear of it: a
    /// watched future to wake, or an `on_delivery` callback to run.
    pub(super) fn finish(self: Arc<Self>, outcome: Outcome) -> Option<Arc<Self>> {
        let _ = self.outcome.set(outcome);
        // The weakest ordering that is correct, on the one atomic access per delivered message:
        // a read-modify-write, so that this and `watch`'s fetch_or are ordered in the word's
        // modification order and whichever comes second sees the other's bit (either `watch` sees
        // FINISHED, or this sees WATCHED: no future is left unwoken). Release: the outcome stored
        // above is seen by whoever then reads FINISHED with Acquire (`finished`). Acquire: seeing
        // WATCHED, the resolver this hands the cell to sees the watcher `watch` stored.
        let before = self.state.fetch_or(FINISHED, Ordering::AcqRel);
        (before & WATCHED != 0 || self.has_callback || self.sink.is_some()).then_some(self)
    }
}

/// The producer handle's context: resolves futures as delivery reports arrive (no GIL needed), queues those
/// that still need Python, and queues logs, errors and statistics for the Python callbacks.
pub struct DeliveryContext {
    /// Finished messages whose future or callback needs Python: the resolver's (or poll()'s) work.
    pub(super) need_python: Mutex<Vec<Arc<DeliveryCell>>>,
    pub(super) need_python_ready: Condvar,
    /// Messages finished without needing Python, not yet counted off `unresolved` by the poller.
    pub(super) finished_quietly: AtomicUsize,
    pub(super) callbacks: ClientCallbacks,
}

impl DeliveryContext {
    /// Wakes the resolver (and a `poll()` waiting) for the callbacks just queued: they waited for
    /// its next turn otherwise, up to a slice (100 ms) late — a `stats_cb` at
    /// `statistics.interval.ms=10` first ran after 100 ms, where confluent-kafka's `poll(0.1)`
    /// has had several.
    fn wake_for_callbacks(&self) {
        if self.callbacks.has_pending() {
            // Under the lock its waiters check `need_python` with: the wake-up cannot be lost.
            let _queued = self.need_python.lock();
            self.need_python_ready.notify_all();
        }
    }
}

// Each queued callback wakes the resolver.
impl rdkafka::ClientContext for DeliveryContext {
    fn stats_raw(&self, statistics: &[u8]) {
        self.callbacks.stats_raw(statistics);
        self.wake_for_callbacks();
    }
}

impl crate::native::client_events::ClientEvents for DeliveryContext {
    fn callbacks(&self) -> &ClientCallbacks {
        &self.callbacks
    }

    fn log_syslog(&self, level: i32, facility: &str, message: &str) {
        self.callbacks.log_syslog(level, facility, message);
        self.wake_for_callbacks();
    }
}

impl ProducerEvents for DeliveryContext {
    /// The message's delivery cell, or its place in its batch, travels as the message opaque.
    type DeliveryOpaque = Delivery;

    fn producer_error(&self, info: KafkaErrorInfo) {
        self.callbacks.global_error(info);
        self.wake_for_callbacks();
    }

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Delivery) {
        let outcome = match result {
            Ok(msg) => Outcome::Delivered {
                partition: msg.partition(),
                offset: msg.offset(),
                timestamp: TimestampType::of(msg.timestamp()).0,
            },
            Err((err, _)) => {
                let mut info = KafkaErrorInfo::from_rdkafka(err);
                // A message that timed out says why it could not be sent, if librdkafka said:
                // "brokers are down" alone does not tell a wrong password from a wrong port.
                if info.code == RDKafkaErrorCode::MessageTimedOut as i32 {
                    if let Some(last) = self.callbacks.last_error() {
                        info.message = format!("{} (last client error: {last})", info.message);
                    }
                }
                Outcome::Failed(Box::new(info))
            }
        };
        self.resolve_delivery(delivery, outcome);
    }
}

impl DeliveryContext {
    /// Finishes a message with its outcome, whichever way it travelled.
    pub(super) fn resolve_delivery(&self, delivery: Delivery, outcome: Outcome) {
        match delivery {
            Delivery::One(cell) => self.resolve(cell, outcome),
            Delivery::Member(member) => self.finish_member(member, outcome),
            // Nobody waits for its outcome: counted off, nothing else (the outcome is dropped).
            Delivery::Quiet => self.finished(None),
        }
    }

    /// Finishes a message with its outcome; queues what still needs Python for the resolver.
    pub(super) fn resolve(&self, cell: Arc<DeliveryCell>, outcome: Outcome) {
        self.finished(cell.finish(outcome));
    }

    /// Files the outcome of a message of a batch; the last one finishes the batch's future.
    pub(super) fn finish_member(&self, member: BatchMember, outcome: Outcome) {
        let last = member.finish(|batch, index| batch.outcomes.set(index, outcome));
        // The last member sees every other member's outcome (`finish` counts off with AcqRel).
        self.finished(last.and_then(|batch| batch.cell.clone().finish(Outcome::Batch(batch.outcomes.clone()))));
    }

    /// After a message finished: queues its cell if it still needs Python, else counts it off.
    fn finished(&self, need_python: Option<Arc<DeliveryCell>>) {
        match need_python {
            None => drop(self.finished_quietly.fetch_add(1, Ordering::Relaxed)),
            Some(cell) if cell.sink.is_some() => {
                // Resolved on its loop: as far as flush() is concerned, it is settled now.
                if let Some(sink) = cell.sink.clone() {
                    sink.push(cell);
                }
                self.finished_quietly.fetch_add(1, Ordering::Relaxed);
            }
            Some(cell) => {
                self.need_python.lock().push(cell);
                self.need_python_ready.notify_one();
            }
        }
    }
}

/// A new `ferrokafka._delivery.DeliveryFuture` over `cell`: a `concurrent.futures.Future` in the
/// RUNNING state, made without running `Future.__init__` (see that module for why this is sound).
pub(super) fn new_delivery_future<'py>(py: Python<'py>, cell: &Arc<DeliveryCell>) -> PyResult<Bound<'py, PyAny>> {
    static DELIVERY_FUTURE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let cls = DELIVERY_FUTURE.import(py, "ferrokafka._delivery", "DeliveryFuture")?;
    // What object.__new__ does for a class that overrides only __init__, without building an
    // argument tuple per call.
    let future = crate::native::python::new_uninitialised(cls)?;
    future.setattr(intern!(py, "_native"), DeliveryState { cell: cell.clone() })?;
    Ok(future)
}
