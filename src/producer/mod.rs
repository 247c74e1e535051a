//! `Producer`: librdkafka's producer with a `concurrent.futures.Future` per message.
//!
//! Delivery reports need no polling by the user: a *poller* thread serves librdkafka's queue
//! and resolves futures right there, without the GIL; only futures someone waits on and messages
//! with an `on_delivery` callback go on to a *resolver* thread, which takes the GIL once per batch
//! (the poller never waits for the GIL, so a busy Python thread cannot stall delivery reports). `flush()` waits (GIL released, Ctrl-C honoured) until every
//! produced message has a resolved future, so "flushed" means "delivered or reported".

#![forbid(unsafe_code)]

mod batch;
mod core;
mod delivery;
mod delivery_results;
mod dropin;
mod loop_sink;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::{PyTraverseError, PyVisit};
use rdkafka::types::RDKafkaErrorCode;

use crate::args::{Int, Seconds};
use crate::blocking::{deadline, remaining_ms, run_interruptible, wait_detached};
use crate::callbacks::{ClientCallbacks, Setting};
use crate::config::{client_config, config_dict};
use crate::consumer::ConsumerGroupMetadata;
use crate::errors::{FerroError, KafkaErrorInfo};
use crate::message::headers;
use crate::native::bytes_like::with_opt_bytes;
use crate::native::partitions::to_list;
use crate::native::producer::{Topic, TopicId};
use crate::topic_partition::{partitions_arg, TopicPartition};

use self::core::{
    run_poller, run_resolver, NativeProducer, ProducerCore, ProducerHandle, CLOSING, DELIVERY_THREAD_OF, PURGE_GRACE,
};
use self::delivery::{new_delivery_future, Delivery, DeliveryCell, DeliveryContext, Outcome};
pub use self::delivery::{DeliveryReport, DeliveryState};
pub use self::delivery_results::DeliveryResults;
pub use self::dropin::DropInProduce;
pub use self::loop_sink::LoopDeliveries;

/// One message's arguments, as `produce()` takes them.
struct OneMessage<'a, 'py> {
    topic: &'a Bound<'py, PyString>,
    value: Option<&'a Bound<'py, PyAny>>,
    key: Option<&'a Bound<'py, PyAny>>,
    partition: Option<Int<i64>>,
    timestamp: Option<Int<i64>>,
    headers: Option<&'a Bound<'py, PyAny>>,
}

/// The topic produce() saw last: the same `str` object again (the usual case) needs no hashing.
struct LastTopic {
    topic: Py<PyString>,
    /// Where the producer handle's topic cache keeps it (the handle is the same for the producer's
    /// whole life; close() clears this anyway).
    id: TopicId,
    name: Arc<str>,
}

#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct Producer {
    core: Arc<ProducerCore>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    last_topic: Mutex<Option<LastTopic>>,
}

impl Producer {
    /// The librdkafka topic handle (of `producer`, borrowed from it) and shared name for `topic`.
    fn topic_handle<'h>(&self, producer: &'h ProducerHandle, topic: &Bound<'_, PyString>) -> PyResult<Topic<'h>> {
        let mut last = self.last_topic.lock();
        if let Some(cached) = last.as_ref().filter(|cached| cached.topic.as_ptr() == topic.as_ptr()) {
            if let Some(handle) = producer.cached_topic(cached.id) {
                return Ok(Topic::Cached { topic: handle, name: cached.name.clone(), id: cached.id });
            }
        }
        let found = producer.topic_handle(topic.to_str()?)?;
        if let Topic::Cached { id, name, .. } = &found {
            *last = Some(LastTopic { topic: topic.clone().unbind(), id: *id, name: name.clone() });
        }
        Ok(found)
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

    /// The librdkafka handle of an open producer, held by the caller for as long as it uses it.
    fn open_handle(&self) -> PyResult<Arc<ProducerHandle>> {
        self.core.born.check("producer")?;
        match self.core.handle.get() {
            Some(handle) if self.core.is_open() => Ok(handle),
            _ => Err(FerroError::Closed("producer").into()),
        }
    }

    /// Runs a transactional call on its own thread (they cannot be sliced), GIL released.
    fn transaction_call<F>(&self, py: Python<'_>, what: &str, call: F) -> PyResult<()>
    where
        F: FnOnce(&NativeProducer) -> Result<(), FerroError> + Send + 'static,
    {
        let handle = self.open_handle()?;
        run_interruptible(py, what, move || call(handle.producer()))?.map_err(PyErr::from)
    }

    /// Queues one message whose delivery cell `make_cell` builds (given the topic's shared name).
    /// A message librdkafka refuses at once (too large, unknown partition, ...) fails through its
    /// cell, as if the failure were reported later; a full queue raises `QueueFullError` (retriable).
    fn queue_one(
        &self,
        py: Python<'_>,
        message: OneMessage<'_, '_>,
        make_cell: impl FnOnce(Arc<str>) -> PyResult<Arc<DeliveryCell>>,
    ) -> PyResult<()> {
        self.queue_one_or(py, message, |name| Ok(Delivery::One(make_cell(name.clone())?)), false)
    }

    /// [`queue_one`](Self::queue_one); with `raise_refused`, a message librdkafka refuses at once
    /// raises its error instead of finishing its cell with it (confluent-kafka's `produce()`);
    /// `make_delivery` gives what the message carries (its cell, or `Delivery::Quiet`).
    fn queue_one_or(
        &self,
        py: Python<'_>,
        message: OneMessage<'_, '_>,
        make_delivery: impl FnOnce(&Arc<str>) -> PyResult<Delivery>,
        raise_refused: bool,
    ) -> PyResult<()> {
        // The same rule as produce_batch()'s, for every message.
        let partition = batch::check_partition(message.partition)?;
        let timestamp = batch::check_timestamp(message.timestamp)?;
        let producer = self.open_handle()?;
        let core = &*self.core;
        let mut headers = match message.headers {
            Some(h) if !h.is_none() => Some(headers::from_python(h)?),
            _ => None,
        };
        let topic = self.topic_handle(&producer, message.topic)?;
        let delivery = make_delivery(topic.name())?;
        core.unresolved.fetch_add(1, Ordering::AcqRel);
        let sent = with_opt_bytes(message.value, "value", |value| {
            with_opt_bytes(message.key, "key", |key| {
                producer.send(topic.get(), value, key, partition, timestamp, &mut headers, delivery)
            })
        });
        let refused = match sent {
            Ok(Ok(Ok(()))) => return Ok(()),
            Ok(Ok(Err(refused))) => refused,
            Err(err) | Ok(Err(err)) => {
                core.settle(1);
                return Err(err);
            }
        };
        let info = KafkaErrorInfo::from_code(refused.code, "produce failed");
        if refused.code == RDKafkaErrorCode::QueueFull || raise_refused {
            // The queue frees up as deliveries complete: the caller should retry (or flush).
            core.settle(1);
            return Err(info.into_pyerr(py));
        }
        match refused.opaque {
            Delivery::One(cell) if cell.sink.is_none() => {
                core.settle(1);
                if let Some(cell) = cell.finish(Outcome::Failed(Box::new(info))) {
                    core.notify(py, vec![cell]);
                }
            }
            // To its loop like any other outcome (counted off `unresolved` by the poller).
            delivery => core.context().resolve_delivery(delivery, Outcome::Failed(Box::new(info))),
        }
        Ok(())
    }

    /// Waits until every future is resolved or `deadline`; returns how many are still unresolved.
    fn wait_resolved(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<usize> {
        self.core.born.check("producer")?;
        self.not_from_own_callback()?;
        let core = &self.core;
        wait_detached(py, deadline, |slice| {
            // While rd_kafka_flush waits, librdkafka sends at once, ignoring linger.ms (a zero
            // timeout would lift that again immediately). It serves the queue meanwhile, as the
            // poller thread does.
            if let Some(producer) = core.handle.get() {
                producer.producer().flush(slice.as_millis() as i32);
            }
            // rd_kafka_flush serves delivery reports on this thread too (the handle uses librdkafka's
            // callbacks, native/producer.rs): count those off here, not a poller slice later.
            core.settle(core.context().finished_quietly.swap(0, Ordering::AcqRel));
            core.wait_idle(Duration::from_millis(10)).then_some(())
        })?;
        Ok(self.core.unresolved.load(Ordering::Acquire))
    }
}

#[pymethods]
impl Producer {
    #[new]
    fn py_new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (config, settings) = client_config(&config_dict(config)?)?;
        let allowed = [
            Setting::ErrorCb,
            Setting::StatsCb,
            Setting::OnDelivery,
            Setting::Logger,
            Setting::OAuthCb,
            Setting::ThrottleCb,
        ];
        settings.allow_only("producer", &allowed)?;
        let first_token = crate::oauth::first_token(py, &config, &settings)?;
        let context = DeliveryContext {
            need_python: Mutex::new(Vec::new()),
            need_python_ready: Condvar::new(),
            finished_quietly: AtomicUsize::new(0),
            callbacks: ClientCallbacks::new(settings, &config),
        };
        let producer = NativeProducer::new(&config, context).map_err(FerroError::from)?;
        // What librdkafka queued while it was being created (its INIT log line, say) is taken
        // here, before the poller exists: the first poll()/flush() hands it to the logger, as
        // confluent-kafka's does, instead of whenever the poller thread gets to it.
        producer.poll(Duration::ZERO);
        let core = Arc::new(ProducerCore::new(producer));
        let spawn = |name: &str, run: fn(Arc<ProducerCore>)| {
            let core = core.clone();
            std::thread::Builder::new().name(name.to_owned()).spawn(move || run(core))
        };
        let threads = vec![spawn("ferrokafka-poller", run_poller)?, spawn("ferrokafka-resolver", run_resolver)?];
        let producer = Producer { core, threads: Mutex::new(threads), last_topic: Mutex::new(None) };
        if let Some(token) = first_token {
            if let Err(err) = crate::oauth::start(&producer.core, token) {
                // Nothing was produced: the threads end at once, the last one drops the client.
                producer.core.state.store(CLOSING, Ordering::Release);
                return Err(err.into());
            }
        }
        Ok(producer)
    }

    /// Queues a message and returns a Future resolving to its DeliveryReport or raising KafkaError.
    /// `value`/`key`: any bytes-like object or str, copied once into librdkafka. `on_delivery(error,
    /// report)` (or the config's `on_delivery`; error first, as confluent-kafka's) runs on the
    /// delivery thread once the message is delivered or failed. Raises `QueueFullError` (a
    /// `KafkaError` `_QUEUE_FULL` and a `BufferError`) when librdkafka's queue is full.
    /// `partition`: -1 or None (the partitioner) or 0 to 2**31-1; `timestamp`: ms since the epoch,
    /// >= 0 (0 or None: now); other values raise ValueError (as in `produce_batch()`).
    #[pyo3(signature = (topic, value=None, key=None, *, partition=None, timestamp=None, headers=None, on_delivery=None))]
    #[allow(clippy::too_many_arguments)]
    fn produce<'py>(
        &self,
        py: Python<'py>,
        topic: Bound<'py, PyString>,
        value: Option<&Bound<'py, PyAny>>,
        key: Option<&Bound<'py, PyAny>>,
        partition: Option<Int<i64>>,
        timestamp: Option<Int<i64>>,
        headers: Option<&Bound<'py, PyAny>>,
        on_delivery: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::callbacks::check_callable(py, "on_delivery", on_delivery.as_ref())?;
        let mut future = None;
        let message = OneMessage { topic: &topic, value, key, partition, timestamp, headers };
        self.queue_one(py, message, |topic_name| {
            // The per-message callback, else the config's: known now, so the delivery thread can
            // tell without the GIL whether this message needs Python after delivery.
            let on_delivery = on_delivery.or_else(|| self.core.context().callbacks.on_delivery(py));
            let cell = Arc::new(DeliveryCell::new(topic_name, on_delivery));
            // Starts RUNNING: a produced message cannot be taken back, so its future cannot be cancelled.
            future = Some(new_delivery_future(py, &cell)?);
            Ok(cell)
        })?;
        future.ok_or_else(|| FerroError::Closed("producer").into())
    }

    /// `produce()` for the confluent-kafka drop-in (`ferrokafka.confluent`) when no delivery
    /// callback is set: no future is made (nothing waits for the outcome; `flush()` still counts
    /// the message), and a message librdkafka refuses at once raises, as confluent-kafka's
    /// `produce()` does. The arguments are `produce()`'s.
    #[pyo3(signature = (topic, value=None, key=None, partition=None, timestamp=None, headers=None))]
    #[allow(clippy::too_many_arguments)]
    fn _produce_quiet<'py>(
        &self,
        py: Python<'py>,
        topic: Bound<'py, PyString>,
        value: Option<&Bound<'py, PyAny>>,
        key: Option<&Bound<'py, PyAny>>,
        partition: Option<Int<i64>>,
        timestamp: Option<Int<i64>>,
        headers: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let message = OneMessage { topic: &topic, value, key, partition, timestamp, headers };
        // Nothing travels with the message (no cell to allocate and free): it is only counted.
        self.queue_one_or(py, message, |_| Ok(Delivery::Quiet), true)
    }

    /// `produce()` for `ferrokafka.aio.AIOProducer`: the message's outcome resolves `future` (an
    /// `asyncio.Future`) on its loop, through `deliveries`; `on_delivery` is returned to the loop
    /// too. Nothing else is made per message.
    #[pyo3(signature = (deliveries, future, topic, value=None, key=None, partition=None, timestamp=None, headers=None, on_delivery=None))]
    #[allow(clippy::too_many_arguments)]
    fn _produce_to_loop<'py>(
        &self,
        py: Python<'py>,
        deliveries: PyRef<'py, LoopDeliveries>,
        future: Py<PyAny>,
        topic: Bound<'py, PyString>,
        value: Option<&Bound<'py, PyAny>>,
        key: Option<&Bound<'py, PyAny>>,
        partition: Option<Int<i64>>,
        timestamp: Option<Int<i64>>,
        headers: Option<&Bound<'py, PyAny>>,
        on_delivery: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        crate::callbacks::check_callable(py, "on_delivery", on_delivery.as_ref())?;
        let sink = deliveries.sink.clone();
        let message = OneMessage { topic: &topic, value, key, partition, timestamp, headers };
        self.queue_one(py, message, |topic_name| {
            Ok(Arc::new(DeliveryCell::for_loop(topic_name, on_delivery, sink, future)))
        })
    }

    /// Queues many messages to `topic` in one call (GIL released; waits while librdkafka's queue
    /// is full) and returns ONE Future for the batch, resolving once every message is delivered or
    /// failed to a `DeliveryResults` sequence in the same order: each entry a DeliveryReport or
    /// that message's KafkaError. `messages`: a list or tuple of values, of (key, value[, headers[, timestamp[,
    /// partition]]]) tuples or of dicts with those names; or an Arrow table, record batch or array
    /// (anything with `__arrow_c_stream__`/`__arrow_c_array__`) with a `value` column and optional
    /// `key`, `headers`, `timestamp`, `partition` columns. Everything is read and checked before
    /// anything is sent, by `produce()`'s rules (`ValueError` naming `messages[i]`). `partition`
    /// applies to messages that name none; `on_delivery(error, report)` (or the config's) runs once
    /// per message. Ctrl-C while waiting for queue room raises KeyboardInterrupt carrying the
    /// batch's Future as `.future`: messages not yet sent fail with `_DESTROY` in its results.
    #[pyo3(signature = (topic, messages, *, partition=None, on_delivery=None))]
    fn produce_batch<'py>(
        &self,
        py: Python<'py>,
        topic: Bound<'py, PyString>,
        messages: &Bound<'py, PyAny>,
        partition: Option<Int<i64>>,
        on_delivery: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::callbacks::check_callable(py, "on_delivery", on_delivery.as_ref())?;
        let partition = batch::check_partition(partition)?;
        let producer = self.open_handle()?;
        let core = &*self.core;
        let source = batch::BatchSource::read(messages)?;
        let topic_handle = self.topic_handle(&producer, &topic)?;
        let topic_name = topic_handle.name().clone();
        let on_delivery = on_delivery.or_else(|| core.context().callbacks.on_delivery(py));
        let cell = Arc::new(DeliveryCell::new(topic_name, on_delivery));
        let future = new_delivery_future(py, &cell)?;
        if source.len() == 0 {
            // Nothing to wait for: resolved now, to an empty list.
            drop(cell.finish(Outcome::Batch(Arc::new(delivery::BatchSlots::new(0)))));
            return Ok(future);
        }
        let members = batch::new_batch(source.len(), cell);
        if let Err(interrupted) = batch::send_all(py, core, &producer, topic_handle.get(), partition, source, members) {
            // Ctrl-C (or another exception from a signal handler) while waiting for queue room:
            // the exception propagates, carrying the batch's future as `future`, so the caller can
            // still learn which messages went (those not sent fail with _DESTROY in its results).
            interrupted.value(py).setattr("future", &future)?;
            return Err(interrupted);
        }
        drop(topic_handle);
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
    /// is left with a purge error, waits for the delivery callbacks still running, stops the
    /// producer and releases librdkafka's threads, sockets and memory. Every future is resolved and
    /// every callback has run when it returns.
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
            self.wait_resolved(py, deadline)?;
            if self.core.handle.is_empty() {
                self.core.teardown.wait(py, None)?;
            }
            return Ok(());
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
            if let Some(producer) = self.core.handle.get() {
                producer.purge(true, true);
            }
            // Purged messages are reported promptly, but their callbacks may be slow: a short
            // grace past the caller's timeout, never an unbounded wait.
            let grace = Instant::now() + PURGE_GRACE;
            let _ = self.wait_resolved(py, Some(deadline.map_or(grace, |d| d.max(grace))));
        }
        // The cached topic handle belongs to the librdkafka handle, which goes now.
        self.last_topic.lock().take();
        if self.core.unresolved.load(Ordering::Acquire) > 0 {
            // Slow callbacks still run on the resolver thread. `timeout` bounded the deliveries;
            // every report still reaches its callback, and no thread of ours may outlive close()
            // (one left running Python code crashes the interpreter at its exit). So wait for
            // them, as confluent-kafka's flush runs its callbacks to their end. Ctrl-C stops the
            // wait; a later close() resumes it.
            if let Err(interrupted) = self.wait_resolved(py, None) {
                *self.threads.lock() = threads;
                return Err(interrupted);
            }
        }
        // Everything is resolved: the threads end within one poll slice, then the handle goes,
        // and close() returns once it is destroyed (its threads and sockets with it).
        py.detach(|| threads.into_iter().for_each(|thread| drop(thread.join())));
        self.core.release_handle();
        // Not bounded by `timeout`, which is the flush's: destroying a handle with nothing left
        // to deliver takes milliseconds (and at most TEARDOWN_BOUND).
        self.core.teardown.wait(py, None).map(drop)
    }

    /// Cluster metadata, for one topic or all, as `Consumer.list_topics()` gives it: `{"brokers":
    /// {id: "host:port"}, "topics": {name: {partition: {"leader", "replicas", "isrs"}}}}`.
    #[pyo3(signature = (topic=None, timeout=None))]
    fn list_topics<'py>(
        &self,
        py: Python<'py>,
        topic: Option<String>,
        timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        self.open_handle()?;
        crate::cluster_metadata::list_topics(py, self.core.clone(), topic, timeout)
    }

    /// The cluster's id from the brokers' metadata, waiting up to `timeout` seconds (None: until
    /// known) for the first metadata; None if it did not come in time.
    #[pyo3(signature = (timeout=None))]
    fn cluster_id(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<Option<String>> {
        self.open_handle()?;
        crate::cluster_metadata::cluster_id(py, self.core.clone(), timeout)
    }

    /// Replaces the SASL username and password (PLAIN, SCRAM) used for connections made from now
    /// on (existing ones stay as they are): for credentials that rotate.
    fn set_sasl_credentials(&self, username: &str, password: &str) -> PyResult<()> {
        let producer = self.open_handle()?;
        let handle = crate::ffi::LiveHandle::kept(producer, |producer| producer.producer().client());
        Ok(crate::config::set_sasl_credentials(&handle, username, password)?)
    }

    /// Fails messages not yet delivered: those still queued locally and, with `in_flight`, those
    /// sent and not acknowledged. Their futures raise `_PURGE_QUEUE` / `_PURGE_INFLIGHT`.
    #[pyo3(signature = (in_queue=true, in_flight=true))]
    fn purge(&self, in_queue: bool, in_flight: bool) -> PyResult<()> {
        self.open_handle()?.purge(in_queue, in_flight);
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
            let failed = p.send_offsets_to_transaction(
                &list,
                group_metadata.get().inner.native(),
                timeout_ms,
                "send_offsets_to_transaction failed",
            );
            failed.map_or(Ok(()), |info| Err(FerroError::Kafka(info)))
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

    /// One step of a transactional call for `ferrokafka.aio`, on the loop's thread, without a
    /// thread of its own: `call` is "init", "begin" or "abort" — not "commit": when a resumed
    /// rd_kafka_commit_transaction's first phase times out, librdkafka clears the current call's
    /// name, and the coordinator's EndTxn answer arriving then is taken for an abort's
    /// (rd_kafka_txn_endtxn_complete decides by that name); waits at most
    /// `timeout_ms` (≤ 100; GIL released). Returns True once the call finished, False while it goes
    /// on in the background (librdkafka's resumable timeout: step again). With `last`, that timeout
    /// raises its retriable `_TIMED_OUT` KafkaError instead, as the synchronous call does.
    #[pyo3(signature = (call, timeout_ms, last=false))]
    fn _transaction_step(&self, py: Python<'_>, call: &str, timeout_ms: u32, last: bool) -> PyResult<bool> {
        if timeout_ms > 100 {
            return Err(pyo3::exceptions::PyValueError::new_err("timeout_ms must be at most 100"));
        }
        let handle = self.open_handle()?;
        let producer = handle.producer();
        let timeout = timeout_ms as std::ffi::c_int; // at most 100
        let result = match call {
            "init" => py.detach(|| producer.init_transactions(timeout)),
            "begin" => py.detach(|| producer.begin_transaction()),
            "abort" => py.detach(|| producer.abort_transaction(timeout)),
            _ => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown transactional call {call:?}"))),
        };
        match result {
            Ok(()) => Ok(true),
            // A step that ran out of time is librdkafka's resumable timeout, except that an
            // `init_transactions` one reports the coordinator's last retriable error in its place
            // (NOT_COORDINATOR while a fresh broker loads its transaction log: rd_kafka_init_transactions
            // in rdkafka_txnmgr.c), so for "init" any retriable error means "still going".
            Err(error)
                if !last
                    && error.native_retriable
                    && (call == "init" || error.info.code == RDKafkaErrorCode::OperationTimedOut as i32) =>
            {
                Ok(false)
            }
            Err(error) => Err(FerroError::from(error).into()),
        }
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
        // Nobody can hear this client any more: its logs and global errors stop here (as the
        // consumer's and the admin client's do), instead of reaching whoever logs next, e.g. the
        // next test once its cluster is gone. Futures and on_delivery still get every outcome.
        self.core.context().callbacks.stop();
        let threads = std::mem::take(&mut *self.threads.lock());
        if self.core.born.inherited() {
            std::mem::forget(threads); // see fork.rs
        }
    }
}

/// A transaction call's timeout in milliseconds (-1: none), through the API's one conversion (so
/// it never wraps).
fn transaction_timeout(timeout: Option<Seconds>) -> PyResult<std::ffi::c_int> {
    Ok(remaining_ms(deadline(timeout)?))
}
