//! `Producer`: librdkafka's producer with a `concurrent.futures.Future` per message.
//!
//! Delivery reports need no polling by the user: a *poller* thread serves librdkafka's event queue
//! and resolves futures right there, without the GIL; only futures someone waits on and messages
//! with an `on_delivery` callback go on to a *resolver* thread, which takes the GIL once per batch
//! (the poller never waits for the GIL, so a busy Python thread cannot stall delivery reports). `flush()` waits (GIL released, Ctrl-C honoured) until every
//! produced message has a resolved future, so "flushed" means "delivered or reported".

use std::collections::HashMap;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
use pyo3::{PyTraverseError, PyVisit};
use rdkafka::bindings as rdsys;
use rdkafka::message::Message;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::args::{Int, Seconds};
use crate::blocking::{deadline, drop_in_background, remaining_ms, run_interruptible, wait_detached, SLICE};
use crate::bytes_like::with_opt_bytes;
use crate::callbacks::{ClientCallbacks, Setting};
use crate::config::{client_config, config_dict};
use crate::consumer::ConsumerGroupMetadata;
use crate::errors::{FerroError, KafkaErrorInfo};
use crate::ffi::NativePtr;
use crate::message::{headers, TimestampType};
use crate::topic_partition::{partitions_arg, to_list, topic_cstring, TopicPartition};
use rdkafka::util::Timeout;

/// Where a delivered message landed. The result of a `produce()` future.
#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct DeliveryReport {
    #[pyo3(get)]
    topic: Py<PyString>,
    #[pyo3(get)]
    partition: i32,
    #[pyo3(get)]
    offset: i64,
    /// Milliseconds since the epoch, or None.
    #[pyo3(get)]
    timestamp: Option<i64>,
}

#[pymethods]
impl DeliveryReport {
    fn __eq__(&self, other: PyRef<'_, DeliveryReport>) -> PyResult<bool> {
        let py = other.py();
        Ok((self.partition, self.offset, self.timestamp) == (other.partition, other.offset, other.timestamp)
            && self.topic.bind(py).as_any().eq(other.topic.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "DeliveryReport(topic={:?}, partition={}, offset={}, timestamp={})",
            self.topic.bind(py).to_string(),
            self.partition,
            self.offset,
            self.timestamp.map_or("None".to_owned(), |t| t.to_string())
        )
    }
}

/// How a message's delivery ended.
enum Outcome {
    Delivered { partition: i32, offset: i64, timestamp: Option<i64> },
    Failed(KafkaErrorInfo),
}

/// The delivery state of one message, shared by its future (through `DeliveryState`) and the
/// delivery threads. Resolving it needs no GIL: the delivery thread stores the outcome and sets
/// `finished`; only a future that someone waits on or subscribed to (`watched`), or a message with an
/// `on_delivery` callback, needs Python afterwards.
pub struct DeliveryCell {
    topic: Arc<str>,
    outcome: std::sync::OnceLock<Outcome>,
    finished: AtomicBool,
    watched: AtomicBool,
    /// The future to wake, once watched and until it has been woken. Taken by whichever side sees
    /// the other's flag (see `watch` and `finish`), so no reference cycle outlives delivery.
    watcher: Mutex<Option<Py<PyAny>>>,
    /// The message's `on_delivery` callback (its own or the config's), taken when it runs.
    on_delivery: Mutex<Option<Py<PyAny>>>,
    has_callback: bool,
}

/// `(report, None)` or `(None, KafkaError)` for Python.
type PyOutcome = (Option<Py<DeliveryReport>>, Option<Py<PyAny>>);

/// The Rust side of a `DeliveryFuture` (`future._native`).
#[pyclass(frozen, module = "ferrokafka._native")]
pub struct DeliveryState {
    cell: Arc<DeliveryCell>,
}

#[pymethods]
impl DeliveryState {
    #[getter]
    fn finished(&self) -> bool {
        self.cell.finished.load(Ordering::SeqCst)
    }

    /// Called (with the GIL) when the future gets its condition: from now on the delivery thread
    /// wakes it through `future._delivered()`.
    fn watch(&self, future: Py<PyAny>) {
        *self.cell.watcher.lock() = Some(future);
        self.cell.watched.store(true, Ordering::SeqCst);
        if self.cell.finished.load(Ordering::SeqCst) {
            // Finished already: the caller will see it; drop the reference (no cycle left behind).
            let taken = self.cell.watcher.lock().take();
            drop(taken);
        }
    }

    /// `(report, None)` or `(None, KafkaError)`; `(None, None)` while not finished.
    fn outcome(&self, py: Python<'_>) -> PyResult<PyOutcome> {
        self.cell.py_outcome(py)
    }

    /// The future (watcher) and on_delivery callback may refer back to this state (the future holds
    /// it): let the garbage collector see them, e.g. for a message that is never delivered.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(watcher) = self.cell.watcher.try_lock() {
            visit.call(watcher.as_ref())?;
        }
        if let Some(callback) = self.cell.on_delivery.try_lock() {
            visit.call(callback.as_ref())?;
        }
        Ok(())
    }

    fn __clear__(&self) {
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
    fn py_outcome(&self, py: Python<'_>) -> PyResult<PyOutcome> {
        match self.outcome.get() {
            None => Ok((None, None)),
            Some(Outcome::Delivered { partition, offset, timestamp }) => {
                let topic = PyString::new(py, &self.topic).unbind();
                let report = DeliveryReport { topic, partition: *partition, offset: *offset, timestamp: *timestamp };
                Ok((Some(Py::new(py, report)?), None))
            }
            Some(Outcome::Failed(info)) => Ok((None, Some(info.clone().into_pyerr(py).into_value(py).into_any()))),
        }
    }
}

impl DeliveryCell {
    /// Stores the outcome, without the GIL. Returns the cell if Python must still hear of it: a
    /// watched future to wake, or an `on_delivery` callback to run.
    fn finish(self: Arc<Self>, outcome: Outcome) -> Option<Arc<Self>> {
        let _ = self.outcome.set(outcome);
        self.finished.store(true, Ordering::SeqCst);
        // SeqCst pairs with `watch`: either it sees `finished`, or we see `watched`.
        (self.watched.load(Ordering::SeqCst) || self.has_callback).then_some(self)
    }
}

/// The rdkafka context: resolves futures as delivery reports arrive (no GIL needed), queues those
/// that still need Python, and queues logs, errors and statistics for the Python callbacks.
pub struct DeliveryContext {
    /// Finished messages whose future or callback needs Python: the resolver's (or poll()'s) work.
    need_python: Mutex<Vec<Arc<DeliveryCell>>>,
    need_python_ready: Condvar,
    /// Messages finished without needing Python, not yet counted off `unresolved` by the poller.
    finished_quietly: AtomicUsize,
    callbacks: ClientCallbacks,
}

crate::callbacks::client_context_via_callbacks!(DeliveryContext);

impl ProducerContext for DeliveryContext {
    /// The message's delivery cell travels through librdkafka as the message opaque.
    type DeliveryOpaque = Arc<DeliveryCell>;

    fn delivery(&self, result: &DeliveryResult<'_>, cell: Arc<DeliveryCell>) {
        let outcome = match result {
            Ok(msg) => Outcome::Delivered {
                partition: msg.partition(),
                offset: msg.offset(),
                timestamp: TimestampType::of(msg.timestamp()).0,
            },
            Err((err, _)) => Outcome::Failed(KafkaErrorInfo::from_rdkafka(err)),
        };
        match cell.finish(outcome) {
            None => drop(self.finished_quietly.fetch_add(1, Ordering::Relaxed)),
            Some(cell) => {
                self.need_python.lock().push(cell);
                self.need_python_ready.notify_one();
            }
        }
    }
}

const OPEN: u8 = 0;
/// close() started or the Python object died: no more produce; threads stop once all is resolved.
const CLOSING: u8 = 1;

/// A librdkafka topic handle, destroyed with its producer (before the producer handle: the
/// core drops its topics first), and the topic's name for delivery reports.
struct TopicHandle(NativePtr<rdsys::rd_kafka_topic_t>, Arc<str>);

/// Why librdkafka refused a message at once; its opaque (future and callback) comes back.
struct Refused {
    code: RDKafkaErrorCode,
    cell: Arc<DeliveryCell>,
}

/// How long close() waits for the reports of messages it purged, past the caller's timeout.
const PURGE_GRACE: Duration = Duration::from_secs(1);

/// At most this many topic handles are cached per producer (a producer writing to ever new topic
/// names must not grow without bound); other topics get a handle per produce call.
const MAX_CACHED_TOPICS: usize = 1024;

struct ProducerCore {
    /// Destroyed in `Drop`, on a background thread.
    producer: std::mem::ManuallyDrop<BaseProducer<DeliveryContext>>,
    /// Topic handles by name: produce() then neither allocates a C string nor looks the topic up
    /// in librdkafka's table per message, as rdkafka's `BaseProducer::send` does.
    topics: Mutex<HashMap<String, TopicHandle>>,
    state: AtomicU8,
    /// Messages accepted by produce() whose futures are not resolved yet.
    unresolved: AtomicUsize,
    idle_lock: Mutex<()>,
    idle: Condvar,
    born: crate::fork::Born,
}

impl ProducerCore {
    fn context(&self) -> &DeliveryContext {
        self.producer.context()
    }

    /// The handle for `name`: cached, or, once [`MAX_CACHED_TOPICS`] are cached, a temporary one
    /// (returned as the third element) that the caller drops after producing.
    fn topic_handle(
        &self,
        name: &str,
    ) -> Result<(*mut rdsys::rd_kafka_topic_t, Arc<str>, Option<TopicHandle>), FerroError> {
        let mut topics = self.topics.lock();
        if let Some(handle) = topics.get(name) {
            return Ok((handle.0.ptr(), handle.1.clone(), None));
        }
        let c_name = topic_cstring(name)?;
        // SAFETY: the producer handle is live for the lifetime of `self`; librdkafka copies the name
        // and returns a new reference (or null with rd_kafka_last_error set for invalid names).
        let handle =
            unsafe { rdsys::rd_kafka_topic_new(self.producer.client().native_ptr(), c_name.as_ptr(), ptr::null_mut()) };
        // SAFETY: a new topic reference (or NULL), ours to release.
        let Some(owned_handle) = (unsafe { NativePtr::from_ptr(handle) }) else {
            // SAFETY: reads the calling thread's last librdkafka error; no arguments.
            let code = unsafe { rdsys::rd_kafka_last_error() };
            return Err(FerroError::Kafka(KafkaErrorInfo::from_code(code.into(), &format!("invalid topic {name:?}"))));
        };
        let shared_name: Arc<str> = Arc::from(name);
        let owned = TopicHandle(owned_handle, shared_name.clone());
        if topics.len() >= MAX_CACHED_TOPICS {
            // Every produced message holds its own reference to the handle: dropping ours after
            // the produce call is safe.
            return Ok((handle, shared_name, Some(owned)));
        }
        topics.insert(name.to_owned(), owned);
        Ok((handle, shared_name, None))
    }

    /// Hands one message to librdkafka, which copies value and key and takes `headers` and the
    /// delivery cell as the opaque (given back to the delivery callback, as rdkafka's `send` does).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        topic: *mut rdsys::rd_kafka_topic_t,
        value: Option<&[u8]>,
        key: Option<&[u8]>,
        partition: Option<i32>,
        timestamp: Option<i64>,
        headers: Option<OwnedHeaders>,
        cell: Arc<DeliveryCell>,
    ) -> Result<(), Refused> {
        use rdsys::rd_kafka_vtype_t as V;
        use rdsys::rd_kafka_vu_s__bindgen_ty_1 as U;
        fn bytes(data: Option<&[u8]>) -> U {
            let (ptr, size) = data.map_or((ptr::null_mut(), 0), |d| (d.as_ptr() as *mut c_void, d.len()));
            U { mem: rdsys::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 { ptr, size } }
        }
        let vu = |vtype: V, u: U| rdsys::rd_kafka_vu_t { vtype, u };
        let opaque = Arc::into_raw(cell) as *mut c_void;
        let mut args = [
            vu(V::RD_KAFKA_VTYPE_RKT, U { rkt: topic }),
            vu(V::RD_KAFKA_VTYPE_PARTITION, U { i32_: partition.unwrap_or(-1) }),
            vu(V::RD_KAFKA_VTYPE_MSGFLAGS, U { i: rdsys::RD_KAFKA_MSG_F_COPY }),
            vu(V::RD_KAFKA_VTYPE_VALUE, bytes(value)),
            vu(V::RD_KAFKA_VTYPE_KEY, bytes(key)),
            vu(V::RD_KAFKA_VTYPE_OPAQUE, U { ptr: opaque }),
            vu(V::RD_KAFKA_VTYPE_TIMESTAMP, U { i64_: timestamp.unwrap_or(0) }),
            vu(V::RD_KAFKA_VTYPE_HEADERS, U { headers: ptr::null_mut() }),
        ];
        let count = match &headers {
            Some(h) => {
                args[7].u = U { headers: headers::native_ptr(h.as_borrowed()) };
                8
            }
            None => 7,
        };
        // SAFETY: the producer handle and the topic handle are live for the lifetime of `self`;
        // `args` holds `count` initialised entries whose pointers (value, key, headers, opaque) are
        // valid for the call. With RD_KAFKA_MSG_F_COPY librdkafka copies value and key. On success
        // it owns the headers and the opaque; on failure it owns neither and returns an error
        // object that we destroy.
        let error = unsafe { rdsys::rd_kafka_produceva(self.producer.client().native_ptr(), args.as_ptr(), count) };
        if error.is_null() {
            std::mem::forget(headers); // now librdkafka's
            return Ok(());
        }
        // SAFETY: `error` is a live error object we own; `opaque` came from Box::into_raw above and
        // librdkafka did not take it.
        unsafe {
            let code = rdsys::rd_kafka_error_code(error);
            rdsys::rd_kafka_error_destroy(error);
            Err(Refused { code: code.into(), cell: Arc::from_raw(opaque as *const DeliveryCell) })
        }
    }

    fn is_open(&self) -> bool {
        self.state.load(Ordering::Acquire) == OPEN
    }

    fn finished(&self) -> bool {
        !self.is_open() && self.unresolved.load(Ordering::Acquire) == 0
    }

    /// Takes the finished messages that need Python, waiting up to `timeout` for the first.
    fn take_need_python(&self, timeout: Duration) -> Vec<Arc<DeliveryCell>> {
        let context = self.context();
        let mut queued = context.need_python.lock();
        if queued.is_empty() && !timeout.is_zero() {
            context.need_python_ready.wait_for(&mut queued, timeout);
        }
        std::mem::take(&mut *queued)
    }

    /// Wakes watched futures and runs `on_delivery` callbacks; with the GIL. A callback that raises
    /// is reported as unraisable: the other messages still get theirs.
    fn notify(&self, py: Python<'_>, cells: Vec<Arc<DeliveryCell>>) {
        for cell in cells {
            let watcher = cell.watcher.lock().take();
            let on_delivery = cell.on_delivery.lock().take();
            // Each step reports its own failure: a future whose waking fails still gets its
            // on_delivery callback, and the other way round.
            if let Some(future) = &watcher {
                if let Err(err) = future.bind(py).call_method0(intern!(py, "_delivered")) {
                    err.write_unraisable(py, Some(future.bind(py)));
                }
            }
            if let Some(callback) = on_delivery {
                let called = cell.py_outcome(py).and_then(|(report, error)| callback.bind(py).call1((report, error)));
                if let Err(err) = called {
                    err.write_unraisable(py, Some(callback.bind(py)));
                }
            }
        }
    }

    /// Finishes a batch on a thread that holds the GIL (poll). Returns how many.
    fn notify_here(&self, py: Python<'_>, need_python: Vec<Arc<DeliveryCell>>) -> usize {
        let count = need_python.len();
        self.notify(py, need_python);
        self.settle(count);
        count
    }

    /// Counts `count` futures as resolved (or abandoned) and wakes flushers when none are left.
    fn settle(&self, count: usize) {
        if count > 0 && self.unresolved.fetch_sub(count, Ordering::AcqRel) == count {
            let _guard = self.idle_lock.lock();
            self.idle.notify_all();
        }
    }

    /// Waits up to `timeout` for every future to be resolved. Without the GIL.
    fn wait_idle(&self, timeout: Duration) -> bool {
        let mut guard = self.idle_lock.lock();
        if self.unresolved.load(Ordering::Acquire) > 0 {
            self.idle.wait_for(&mut guard, timeout);
        }
        self.unresolved.load(Ordering::Acquire) == 0
    }

    /// Fails messages still queued (and, with `in_flight`, those sent but not acknowledged); their
    /// futures get `_PURGE_QUEUE` / `_PURGE_INFLIGHT` errors.
    fn purge(&self, in_queue: bool, in_flight: bool) {
        let mut flags = 0;
        if in_queue {
            flags |= rdsys::RD_KAFKA_PURGE_F_QUEUE;
        }
        if in_flight {
            flags |= rdsys::RD_KAFKA_PURGE_F_INFLIGHT;
        }
        // SAFETY: the handle is a live producer for the lifetime of `self`; rd_kafka_purge is
        // thread-safe and only fails for invalid flags or a non-producer handle, neither possible here.
        unsafe {
            rdsys::rd_kafka_purge(self.producer.client().native_ptr(), flags);
        }
    }
}

impl Drop for ProducerCore {
    fn drop(&mut self) {
        // SAFETY: taken exactly once, here, as `self` is being dropped; nothing else refers to it.
        let producer = unsafe { std::mem::ManuallyDrop::take(&mut self.producer) };
        // Topic handles go first: librdkafka's handle must outlive them.
        let topics = std::mem::take(&mut *self.topics.lock());
        drop_in_background((topics, producer), "producer", self.born);
    }
}

thread_local! {
    /// On a producer's delivery threads: that producer's core (as an address, only compared).
    /// Its callbacks run there, and flush()/close() there would wait for the thread itself.
    static DELIVERY_THREAD_OF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Serves librdkafka's queue until the producer is finished.
fn run_poller(core: Arc<ProducerCore>) {
    DELIVERY_THREAD_OF.set(Arc::as_ptr(&core) as usize);
    while !core.finished() {
        core.producer.poll(SLICE);
        core.settle(core.context().finished_quietly.swap(0, Ordering::AcqRel));
    }
}

/// Resolves futures as delivery reports arrive, and runs queued callbacks, until the producer is
/// finished. Takes the GIL only for watched futures, `on_delivery` callbacks and queued callbacks.
fn run_resolver(core: Arc<ProducerCore>) {
    DELIVERY_THREAD_OF.set(Arc::as_ptr(&core) as usize);
    while !core.finished() {
        let need_python = core.take_need_python(SLICE);
        let callbacks_pending = core.context().callbacks.has_pending();
        if need_python.is_empty() && !callbacks_pending {
            continue;
        }
        let count = need_python.len();
        // Futures (and flush) first: a slow stats_cb or logger must not hold back delivery results.
        let attached = Python::try_attach(|py| {
            core.notify(py, need_python);
            core.settle(count);
            if let Err(err) = core.context().callbacks.dispatch(py, Some(SLICE)) {
                err.write_unraisable(py, None);
            }
        });
        if attached.is_none() {
            // During interpreter shutdown nobody can wait any more: the references are dropped.
            core.settle(count);
        }
    }
}

/// `concurrent.futures.Future`, for the admin client.
pub(crate) fn future_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static FUTURE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    FUTURE.import(py, "concurrent.futures", "Future")
}

/// A new `ferrokafka._delivery.DeliveryFuture` over `cell`: a `concurrent.futures.Future` in the
/// RUNNING state, made without running `Future.__init__` (see that module for why this is sound).
fn new_delivery_future<'py>(py: Python<'py>, cell: &Arc<DeliveryCell>) -> PyResult<Bound<'py, PyAny>> {
    static DELIVERY_FUTURE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let cls = DELIVERY_FUTURE.import(py, "ferrokafka._delivery", "DeliveryFuture")?;
    // What object.__new__ does for a class that overrides only __init__, without building an
    // argument tuple per call.
    // SAFETY: `cls` is a live heap type; PyType_GenericAlloc returns a new reference (or NULL with
    // an exception set), which from_owned_ptr_or_err takes over.
    let future = unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyType_GenericAlloc(cls.as_type_ptr(), 0))? };
    future.setattr(intern!(py, "_native"), DeliveryState { cell: cell.clone() })?;
    Ok(future)
}

/// The topic produce() saw last: the same `str` object again (the usual case) needs no hashing.
struct LastTopic {
    topic: Py<PyString>,
    handle: *mut rdsys::rd_kafka_topic_t,
    name: Arc<str>,
}

// SAFETY: `handle` is owned by the core's topic map, which destroys it only when the core drops;
// the Producer holding this cache holds the core, and librdkafka topic handles are thread-safe.
unsafe impl Send for LastTopic {}
// SAFETY: see Send.
unsafe impl Sync for LastTopic {}

#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct Producer {
    core: Arc<ProducerCore>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    last_topic: Mutex<Option<LastTopic>>,
}

impl Producer {
    /// The librdkafka topic handle and shared name for `topic`.
    fn topic_handle(
        &self,
        topic: &Bound<'_, PyString>,
    ) -> PyResult<(*mut rdsys::rd_kafka_topic_t, Arc<str>, Option<TopicHandle>)> {
        let mut last = self.last_topic.lock();
        if let Some(cached) = last.as_ref().filter(|cached| cached.topic.as_ptr() == topic.as_ptr()) {
            return Ok((cached.handle, cached.name.clone(), None));
        }
        let (handle, name, temporary) = self.core.topic_handle(topic.to_str()?)?;
        if temporary.is_none() {
            *last = Some(LastTopic { topic: topic.clone().unbind(), handle, name: name.clone() });
        }
        Ok((handle, name, temporary))
    }

    /// Refuses a call that would wait for the delivery thread from that very thread (a callback).
    fn not_from_own_callback(&self) -> PyResult<()> {
        if DELIVERY_THREAD_OF.get() == Arc::as_ptr(&self.core) as usize {
            return Err(FerroError::Reentrant(
                "poll(), flush() and close() cannot be called from this producer's own callbacks (on_delivery, a future's done-callback, error_cb, stats_cb, logger): they run on its delivery thread, which would wait for itself",
            )
            .into());
        }
        Ok(())
    }

    fn open_core(&self) -> PyResult<&ProducerCore> {
        self.core.born.check("producer")?;
        if self.core.is_open() {
            Ok(&self.core)
        } else {
            Err(FerroError::Closed("producer").into())
        }
    }

    /// Runs a transactional call on its own thread (they cannot be sliced), GIL released.
    fn transaction_call<F>(&self, py: Python<'_>, what: &str, call: F) -> PyResult<()>
    where
        F: FnOnce(&BaseProducer<DeliveryContext>) -> Result<(), FerroError> + Send + 'static,
    {
        self.open_core()?;
        let core = self.core.clone();
        run_interruptible(py, what, move || call(&core.producer))?.map_err(PyErr::from)
    }

    /// Waits until every future is resolved or `deadline`; returns how many are still unresolved.
    fn wait_resolved(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<usize> {
        self.core.born.check("producer")?;
        self.not_from_own_callback()?;
        let core = &self.core;
        wait_detached(py, deadline, |slice| {
            // While rd_kafka_flush waits, librdkafka sends at once, ignoring linger.ms (a zero
            // timeout would lift that again immediately). With the event API it only waits for the
            // queue to drain; the poller thread serves the delivery reports.
            // SAFETY: the handle is a live producer for the lifetime of `core`; rd_kafka_flush is
            // thread-safe and touches no Rust state.
            unsafe { rdsys::rd_kafka_flush(core.producer.client().native_ptr(), slice.as_millis() as i32) };
            core.wait_idle(Duration::from_millis(10)).then_some(())
        })?;
        Ok(self.core.unresolved.load(Ordering::Acquire))
    }
}

#[pymethods]
impl Producer {
    #[new]
    fn py_new(config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (config, settings) = client_config(&config_dict(config)?)?;
        settings.allow_only("producer", &[Setting::ErrorCb, Setting::StatsCb, Setting::OnDelivery, Setting::Logger])?;
        let context = DeliveryContext {
            need_python: Mutex::new(Vec::new()),
            need_python_ready: Condvar::new(),
            finished_quietly: AtomicUsize::new(0),
            callbacks: ClientCallbacks::new(settings),
        };
        let producer: BaseProducer<DeliveryContext> = config.create_with_context(context).map_err(FerroError::from)?;
        let core = Arc::new(ProducerCore {
            producer: std::mem::ManuallyDrop::new(producer),
            topics: Mutex::new(HashMap::new()),
            state: AtomicU8::new(OPEN),
            unresolved: AtomicUsize::new(0),
            idle_lock: Mutex::new(()),
            idle: Condvar::new(),
            born: crate::fork::Born::here(),
        });
        let spawn = |name: &str, run: fn(Arc<ProducerCore>)| {
            let core = core.clone();
            std::thread::Builder::new().name(name.to_owned()).spawn(move || run(core))
        };
        let threads = vec![spawn("ferrokafka-poller", run_poller)?, spawn("ferrokafka-resolver", run_resolver)?];
        Ok(Producer { core, threads: Mutex::new(threads), last_topic: Mutex::new(None) })
    }

    /// Queues a message and returns a Future resolving to its DeliveryReport or raising KafkaError.
    /// `value`/`key`: any bytes-like object or str, copied once into librdkafka. `on_delivery(report,
    /// error)` (or the config's `on_delivery`) runs on the delivery thread once the message is
    /// delivered or failed. Raises KafkaError `_QUEUE_FULL` (retriable) when librdkafka's queue is full.
    #[pyo3(signature = (topic, value=None, key=None, *, partition=None, timestamp=None, headers=None, on_delivery=None))]
    #[allow(clippy::too_many_arguments)]
    fn produce<'py>(
        &self,
        py: Python<'py>,
        topic: Bound<'py, PyString>,
        value: Option<&Bound<'py, PyAny>>,
        key: Option<&Bound<'py, PyAny>>,
        partition: Option<Int<i32>>,
        timestamp: Option<Int<i64>>,
        headers: Option<&Bound<'py, PyAny>>,
        on_delivery: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (partition, timestamp) = (partition.map(|p| p.0), timestamp.map(|t| t.0));
        crate::callbacks::check_callable(py, "on_delivery", on_delivery.as_ref())?;
        let core = self.open_core()?;
        let headers = match headers {
            Some(h) if !h.is_none() => Some(headers::from_python(h)?),
            _ => None,
        };
        let (topic_handle, topic_name, _temporary_handle) = self.topic_handle(&topic)?;
        // The per-message callback, else the config's: known now, so the delivery thread can tell
        // without the GIL whether this message needs Python after delivery.
        let on_delivery = on_delivery.or_else(|| core.context().callbacks.on_delivery(py));
        let cell = Arc::new(DeliveryCell {
            topic: topic_name,
            outcome: std::sync::OnceLock::new(),
            finished: AtomicBool::new(false),
            watched: AtomicBool::new(false),
            watcher: Mutex::new(None),
            has_callback: on_delivery.is_some(),
            on_delivery: Mutex::new(on_delivery),
        });
        // Starts RUNNING: a produced message cannot be taken back, so its future cannot be cancelled.
        let future = new_delivery_future(py, &cell)?;

        core.unresolved.fetch_add(1, Ordering::AcqRel);
        let sent = with_opt_bytes(value, "value", |value| {
            with_opt_bytes(key, "key", |key| core.send(topic_handle, value, key, partition, timestamp, headers, cell))
        });
        let refused = match sent {
            Ok(Ok(Ok(()))) => return Ok(future),
            Ok(Ok(Err(refused))) => refused,
            Err(err) | Ok(Err(err)) => {
                core.settle(1);
                return Err(err);
            }
        };
        core.settle(1);
        let info = KafkaErrorInfo::from_code(refused.code, "produce failed");
        if refused.code == RDKafkaErrorCode::QueueFull {
            // The queue frees up as deliveries complete: the caller should retry (or flush).
            return Err(info.into_pyerr(py));
        }
        // Per-message errors (too large, unknown partition, ...) fail this message's future, and
        // its on_delivery callback runs, as for a failure reported later.
        if let Some(cell) = refused.cell.finish(Outcome::Failed(info)) {
            core.notify(py, vec![cell]);
        }
        Ok(future)
    }

    /// Runs, on this thread, the `on_delivery` callbacks (and wakes the waited-on futures) of
    /// messages finished so far, waiting up to `timeout` seconds for the first; returns how many.
    /// Futures resolve on their own, and callbacks run on the delivery thread otherwise: this is for
    /// callers who want that work done on their own thread.
    #[pyo3(signature = (timeout=Some(Seconds(0.0))), text_signature = "(self, /, timeout=0.0)")]
    fn poll(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<usize> {
        self.core.born.check("producer")?;
        self.not_from_own_callback()?;
        let core = &self.core;
        let batch = wait_detached(py, deadline(timeout)?, |slice| {
            let batch = core.take_need_python(slice);
            (!batch.is_empty() || core.context().callbacks.has_pending()).then_some(batch)
        })?;
        let resolved = batch.map_or(0, |batch| self.core.notify_here(py, batch));
        self.core.context().callbacks.dispatch(py, None)?;
        Ok(resolved)
    }

    /// Waits until every produced message is delivered or failed and its future resolved, or
    /// `timeout` seconds pass. Returns the number still unresolved (0 = all done).
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<usize> {
        self.wait_resolved(py, deadline(timeout)?)
    }

    /// Flushes (up to `timeout` seconds, None: until librdkafka's message.timeout.ms), fails what
    /// is left with a purge error, and stops the producer. Every future is resolved when it returns.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<()> {
        self.not_from_own_callback()?;
        let threads: Vec<JoinHandle<()>> = std::mem::take(&mut *self.threads.lock());
        if self.core.born.inherited() {
            // See fork.rs: the threads do not exist in this child; only mark it closed.
            self.core.state.store(CLOSING, Ordering::Release);
            std::mem::forget(threads);
            return Ok(());
        }
        let deadline = match deadline(timeout) {
            Ok(deadline) => deadline,
            Err(err) => {
                *self.threads.lock() = threads; // nothing happened: still open
                return Err(err);
            }
        };
        // From here on produce() is refused and `closed` is true, also for other threads.
        self.core.state.store(CLOSING, Ordering::Release);
        if threads.is_empty() {
            // Closed, or being closed by another thread: wait like that thread does.
            return self.wait_resolved(py, deadline).map(drop);
        }
        let remaining = match self.wait_resolved(py, deadline) {
            Ok(remaining) => remaining,
            Err(interrupted) => {
                // Ctrl-C: out at once, nothing purged; a later close() picks up from here.
                *self.threads.lock() = threads;
                return Err(interrupted);
            }
        };
        if remaining > 0 {
            self.core.purge(true, true);
            // Purged messages are reported promptly, but their callbacks may be slow: a short
            // grace past the caller's timeout, never an unbounded wait.
            let grace = Instant::now() + PURGE_GRACE;
            let _ = self.wait_resolved(py, Some(deadline.map_or(grace, |d| d.max(grace))));
        }
        if self.core.unresolved.load(Ordering::Acquire) == 0 {
            // Everything is resolved: the threads end within one poll slice.
            py.detach(|| threads.into_iter().for_each(|thread| drop(thread.join())));
        }
        // Otherwise (slow callbacks still running) the threads finish in the background; they
        // hold the core, which they drop when done.
        Ok(())
    }

    /// Fails messages not yet delivered: those still queued locally and, with `in_flight`, those
    /// sent and not acknowledged. Their futures raise `_PURGE_QUEUE` / `_PURGE_INFLIGHT`.
    #[pyo3(signature = (in_queue=true, in_flight=true))]
    fn purge(&self, in_queue: bool, in_flight: bool) -> PyResult<()> {
        self.open_core()?.purge(in_queue, in_flight);
        Ok(())
    }

    /// Transactions (config `transactional.id`): registers the producer with the coordinator and
    /// fences older instances. Call once, before `begin_transaction()`.
    #[pyo3(signature = (timeout=Some(Seconds(30.0))), text_signature = "(self, /, timeout=30.0)")]
    fn init_transactions(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<()> {
        let timeout = transaction_timeout(timeout)?;
        self.transaction_call(py, "init_transactions", move |p| p.init_transactions(timeout).map_err(FerroError::from))
    }

    fn begin_transaction(&self, py: Python<'_>) -> PyResult<()> {
        self.transaction_call(py, "begin_transaction", |p| p.begin_transaction().map_err(FerroError::from))
    }

    /// Adds the consumer's offsets (the next offsets to read) to the transaction, so that they are
    /// committed if and only if the transaction is: consume-transform-produce exactly once.
    #[pyo3(signature = (offsets, group_metadata, timeout=Some(Seconds(30.0))), text_signature = "(self, /, offsets, group_metadata, timeout=30.0)")]
    fn send_offsets_to_transaction(
        &self,
        py: Python<'_>,
        offsets: Vec<PyRef<'_, TopicPartition>>,
        group_metadata: Py<ConsumerGroupMetadata>,
        timeout: Option<Seconds>,
    ) -> PyResult<()> {
        let timeout_ms = remaining_ms(deadline(timeout)?);
        let list = to_list(&partitions_arg(offsets))?;
        self.transaction_call(py, "send_offsets_to_transaction", move |p| {
            // SAFETY: the producer handle, the list and the group metadata are live for the call
            // (moved into this closure); the error object (if any) is ours, read, then destroyed.
            unsafe {
                let error = rdsys::rd_kafka_send_offsets_to_transaction(
                    p.client().native_ptr(),
                    list.ptr(),
                    group_metadata.get().inner.ptr(),
                    timeout_ms,
                );
                let info = KafkaErrorInfo::from_error_object(error, "send_offsets_to_transaction failed");
                if !error.is_null() {
                    rdsys::rd_kafka_error_destroy(error);
                }
                info.map_or(Ok(()), |info| Err(FerroError::Kafka(info)))
            }
        })
    }

    /// Flushes and commits the transaction. A `KafkaError` with `txn_requires_abort` means: call
    /// `abort_transaction()`; with `retriable`, the commit may simply be retried.
    #[pyo3(signature = (timeout=Some(Seconds(60.0))), text_signature = "(self, /, timeout=60.0)")]
    fn commit_transaction(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<()> {
        let timeout = transaction_timeout(timeout)?;
        self.transaction_call(py, "commit_transaction", move |p| {
            p.commit_transaction(timeout).map_err(FerroError::from)
        })
    }

    #[pyo3(signature = (timeout=Some(Seconds(60.0))), text_signature = "(self, /, timeout=60.0)")]
    fn abort_transaction(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<()> {
        let timeout = transaction_timeout(timeout)?;
        self.transaction_call(py, "abort_transaction", move |p| p.abort_transaction(timeout).map_err(FerroError::from))
    }

    #[getter]
    fn closed(&self) -> bool {
        !self.core.is_open()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.core.context().callbacks.traverse(&visit)
    }

    fn __clear__(&self) {
        self.core.context().callbacks.clear();
    }

    /// Messages produced whose futures are not resolved yet.
    fn __len__(&self) -> usize {
        self.core.unresolved.load(Ordering::Acquire)
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
        format!("<Producer {}, {} unresolved>", if self.closed() { "closed" } else { "open" }, self.__len__())
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if !self.core.is_open() {
            return;
        }
        crate::errors::warn_unclosed(c"ferrokafka.Producer was not closed; call close() or use `with`");
        // The threads go on delivering in the background and end when every future is resolved;
        // the last of them drops the core. Nothing here blocks.
        self.core.state.store(CLOSING, Ordering::Release);
        let threads = std::mem::take(&mut *self.threads.lock());
        if self.core.born.inherited() {
            std::mem::forget(threads); // see fork.rs
        }
    }
}

/// A transaction call's timeout as rdkafka's type, through the API's one conversion (so it never
/// wraps: rdkafka's `Timeout` holds milliseconds as an `i32`).
fn transaction_timeout(timeout: Option<Seconds>) -> PyResult<Timeout> {
    Ok(match remaining_ms(deadline(timeout)?) {
        ms if ms < 0 => Timeout::Never,
        ms => Timeout::After(Duration::from_millis(ms as u64)),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Producer>()?;
    m.add_class::<DeliveryReport>()?;
    m.add_class::<DeliveryState>()?;
    Ok(())
}
