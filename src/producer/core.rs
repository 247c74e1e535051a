//! The producer's native half, shared by the Python `Producer` and its two delivery threads: the
//! librdkafka handle with its cached topic handles ([`ProducerHandle`], destroyed by close() through
//! a [`HandleSlot`]), the count of unresolved futures, and the *poller* and *resolver* threads (see
//! the module docs of `producer`).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use pyo3::intern;
use pyo3::prelude::*;
use rdkafka::message::OwnedHeaders;

use super::delivery::{Delivery, DeliveryCell, DeliveryContext};
use crate::blocking::SLICE;
use crate::errors::FerroError;
use crate::handle_slot::{HandOff, HandleSlot, Teardown};
use crate::native::producer::{Topic, TopicId, TopicRef, Topics};

/// The librdkafka producer handle with its context (native/producer.rs).
pub(super) type NativeProducer = crate::native::producer::NativeProducer<DeliveryContext>;

pub(super) const OPEN: u8 = 0;
/// close() started or the Python object died: no more produce; threads stop once all is resolved.
pub(super) const CLOSING: u8 = 1;

/// Why librdkafka refused a message at once; its opaque (its cell, or its place in a batch) comes back.
pub(super) type Refused = crate::native::producer::Refused<Delivery>;

/// A message for [`ProducerHandle::send_run`]: no headers, no timestamp.
pub(super) type PlainMessage<'a> = crate::native::producer::PlainMessage<'a, Delivery>;

/// How long close() waits for the reports of messages it purged, past the caller's timeout.
pub(super) const PURGE_GRACE: Duration = Duration::from_secs(1);

/// At most this many topic handles are cached per producer (a producer writing to ever new topic
/// names must not grow without bound); other topics get a handle per produce call.
pub(super) const MAX_CACHED_TOPICS: usize = 1024;

/// The librdkafka producer handle and its cached topic handles: held by the core until close()
/// (see handle_slot.rs) and, for the length of a call, by each call that uses it.
pub(super) struct ProducerHandle {
    producer: HandOff<NativeProducer>,
    /// Topic handles by name: produce() then neither allocates a C string nor looks the topic up
    /// in librdkafka's table per message, as rdkafka's `BaseProducer::send` does.
    topics: HandOff<Topics>,
    born: crate::fork::Born,
    teardown: Teardown,
}

pub(super) struct ProducerCore {
    /// The handle while open: emptied once close() (or the last delivery thread of a producer
    /// that was never closed) is done with it.
    pub(super) handle: HandleSlot<ProducerHandle>,
    /// The handle's destruction, which close() waits for.
    pub(super) teardown: Teardown,
    /// The context of the handle's callbacks, kept here too so that it outlives the handle.
    context: Arc<DeliveryContext>,
    pub(super) state: AtomicU8,
    /// Messages accepted by produce() whose futures are not resolved yet.
    pub(super) unresolved: AtomicUsize,
    pub(super) idle_lock: Mutex<()>,
    pub(super) idle: Condvar,
    pub(super) born: crate::fork::Born,
}

impl ProducerCore {
    pub(super) fn new(producer: NativeProducer) -> Self {
        let (born, teardown) = (crate::fork::Born::here(), Teardown::default());
        let context = producer.context().clone();
        let topics = Topics::new(producer.client(), MAX_CACHED_TOPICS);
        let handle = ProducerHandle {
            producer: HandOff::new(producer),
            topics: HandOff::new(topics),
            born,
            teardown: teardown.clone(),
        };
        ProducerCore {
            handle: HandleSlot::new(Arc::new(handle)),
            teardown,
            context,
            state: AtomicU8::new(OPEN),
            unresolved: AtomicUsize::new(0),
            idle_lock: Mutex::new(()),
            idle: Condvar::new(),
            born,
        }
    }

    pub(super) fn context(&self) -> &DeliveryContext {
        &self.context
    }

    /// Lets the handle go once the producer is finished (closed, every future resolved): it is
    /// destroyed when the last call using it returns. Idempotent.
    pub(super) fn release_handle(&self) {
        if self.finished() {
            drop(self.handle.take());
        }
    }
}

impl ProducerHandle {
    pub(super) fn producer(&self) -> &NativeProducer {
        &self.producer
    }

    /// The handle for `name`: cached, or, once [`MAX_CACHED_TOPICS`] are cached, a temporary one
    /// that the caller drops after producing. Borrowed from `self`.
    pub(super) fn topic_handle(&self, name: &str) -> Result<Topic<'_>, FerroError> {
        self.topics.get(self.producer.client(), name)
    }

    /// A cached topic handle again, by the id `topic_handle` gave.
    pub(super) fn cached_topic(&self, id: TopicId) -> Option<TopicRef<'_>> {
        self.topics.by_id(id)
    }

    /// Hands one message to librdkafka, which copies value and key and takes `headers` (taken out
    /// of the option; left there if refused, for a retry) and the message's cell or place in its
    /// batch as the opaque (given back to the delivery callback, as rdkafka's `send` does).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &self,
        topic: TopicRef<'_>,
        value: Option<&[u8]>,
        key: Option<&[u8]>,
        partition: Option<i32>,
        timestamp: Option<i64>,
        headers: &mut Option<OwnedHeaders>,
        delivery: Delivery,
    ) -> Result<(), Refused> {
        crate::native::producer::produce(&self.producer, topic, value, key, partition, timestamp, headers, delivery)
    }

    /// Hands a run of messages without headers or timestamps to librdkafka in one call
    /// (`rd_kafka_produce_batch`, which copies values and keys and takes each accepted message's
    /// opaque). Returns the refused ones, by index in `run`: after a full
    /// queue every later message is refused too, with the same code.
    pub(super) fn send_run(&self, topic: TopicRef<'_>, run: Vec<PlainMessage<'_>>) -> Vec<(usize, Refused)> {
        crate::native::producer::produce_run(&self.producer, topic, run)
    }

    /// Fails messages still queued (and, with `in_flight`, those sent but not acknowledged); their
    /// futures get `_PURGE_QUEUE` / `_PURGE_INFLIGHT` errors.
    pub(super) fn purge(&self, in_queue: bool, in_flight: bool) {
        self.producer.purge(in_queue, in_flight);
    }
}

impl Drop for ProducerHandle {
    fn drop(&mut self) {
        let producer = self.producer.take();
        // Topic handles go first (a tuple drops in order): librdkafka's handle must outlive them.
        let topics = self.topics.take();
        self.teardown.destroy((topics, producer), "producer", self.born);
    }
}

impl ProducerCore {
    pub(super) fn is_open(&self) -> bool {
        self.state.load(Ordering::Acquire) == OPEN
    }

    pub(super) fn finished(&self) -> bool {
        !self.is_open() && self.unresolved.load(Ordering::Acquire) == 0
    }

    /// Takes the finished messages that need Python, waiting up to `timeout` for the first.
    pub(super) fn take_need_python(&self, timeout: Duration) -> Vec<Arc<DeliveryCell>> {
        let context = self.context();
        let mut queued = context.need_python.lock();
        if queued.is_empty() && !timeout.is_zero() {
            context.need_python_ready.wait_for(&mut queued, timeout);
        }
        std::mem::take(&mut *queued)
    }

    /// Wakes watched futures and runs `on_delivery` callbacks; with the GIL. A callback that raises
    /// is reported as unraisable: the other messages still get theirs.
    pub(super) fn notify(&self, py: Python<'_>, cells: Vec<Arc<DeliveryCell>>) {
        for cell in cells {
            if crate::interpreter::exiting() {
                break; // nobody waits any more; the rest are dropped (see interpreter.rs)
            }
            let watcher = cell.watcher.lock().take();
            // Each step reports its own failure: a future whose waking fails still gets its
            // on_delivery callback, and the other way round.
            if let Some(future) = &watcher {
                if let Err(err) = future.bind(py).call_method0(intern!(py, "_delivered")) {
                    err.write_unraisable(py, Some(future.bind(py)));
                }
            }
            cell.call_on_delivery(py);
        }
    }

    /// Finishes a batch on a thread that holds the GIL (poll). Returns how many.
    pub(super) fn notify_here(&self, py: Python<'_>, need_python: Vec<Arc<DeliveryCell>>) -> usize {
        let count = need_python.len();
        self.notify(py, need_python);
        self.settle(count);
        count
    }

    /// Counts `count` futures as resolved (or abandoned) and wakes flushers when none are left.
    pub(super) fn settle(&self, count: usize) {
        if count > 0 && self.unresolved.fetch_sub(count, Ordering::AcqRel) == count {
            let _guard = self.idle_lock.lock();
            self.idle.notify_all();
        }
    }

    /// Waits up to `timeout` for every future to be resolved. Without the GIL.
    pub(super) fn wait_idle(&self, timeout: Duration) -> bool {
        let mut guard = self.idle_lock.lock();
        if self.unresolved.load(Ordering::Acquire) > 0 {
            self.idle.wait_for(&mut guard, timeout);
        }
        self.unresolved.load(Ordering::Acquire) == 0
    }
}

thread_local! {
    /// On a producer's delivery threads: that producer's core (as an address, only compared).
    /// Its callbacks run there, and flush()/close() there would wait for the thread itself.
    pub(super) static DELIVERY_THREAD_OF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Serves librdkafka's queue until the producer is finished.
pub(super) fn run_poller(core: Arc<ProducerCore>) {
    DELIVERY_THREAD_OF.set(Arc::as_ptr(&core) as usize);
    while !core.finished() {
        match core.handle.get() {
            Some(handle) => {
                handle.producer().poll(SLICE);
            }
            None => std::thread::sleep(SLICE),
        }
        core.settle(core.context().finished_quietly.swap(0, Ordering::AcqRel));
    }
    // Nobody produces or waits for reports any more: the handle can go, also when close() was
    // never called (the Python object died) or returned before the last future was resolved.
    core.release_handle();
}

/// Resolves futures as delivery reports arrive, and runs queued callbacks, until the producer is
/// finished. Takes the GIL only for watched futures, `on_delivery` callbacks and queued callbacks.
pub(super) fn run_resolver(core: Arc<ProducerCore>) {
    DELIVERY_THREAD_OF.set(Arc::as_ptr(&core) as usize);
    while !core.finished() {
        let need_python = core.take_need_python(SLICE);
        let callbacks_pending = core.context().callbacks.has_pending();
        if need_python.is_empty() && !callbacks_pending {
            continue;
        }
        let count = need_python.len();
        // Futures (and flush) first: a slow stats_cb or logger must not hold back delivery results.
        let attached = crate::interpreter::attach(|py| {
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

impl crate::oauth::TokenClient for ProducerCore {
    fn callbacks(&self) -> &crate::callbacks::ClientCallbacks {
        &self.context().callbacks
    }
}

impl crate::ffi::ClientHandle for ProducerCore {
    fn open_handle(&self) -> Option<crate::ffi::LiveHandle<'_>> {
        let handle = self.handle.get().filter(|_| self.is_open())?;
        Some(crate::ffi::LiveHandle::kept(handle, |handle| handle.producer().client()))
    }
}
