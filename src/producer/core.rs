//! The producer's native half, shared by the Python `Producer` and its two delivery threads: the
//! librdkafka handle with its cached topic handles ([`ProducerHandle`], destroyed by close() through
//! a [`HandleSlot`]), the count of unresolved futures, and the *poller* and *resolver* threads (see
//! the module docs of `producer`).

use std::collections::HashMap;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use pyo3::intern;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, Producer as _};
use rdkafka::types::RDKafkaErrorCode;

use super::delivery::{DeliveryCell, DeliveryContext};
use crate::blocking::SLICE;
use crate::errors::{known_code, FerroError, KafkaErrorInfo};
use crate::ffi::NativePtr;
use crate::handle_slot::{HandleSlot, Teardown};
use crate::message::headers;
use crate::topic_partition::topic_cstring;

pub(super) const OPEN: u8 = 0;
/// close() started or the Python object died: no more produce; threads stop once all is resolved.
pub(super) const CLOSING: u8 = 1;

/// A librdkafka topic handle, destroyed with its producer (before the producer handle: see
/// ProducerHandle's Drop), and the topic's name for delivery reports.
pub(super) struct TopicHandle(pub(super) NativePtr<rdsys::rd_kafka_topic_t>, pub(super) Arc<str>);

/// Why librdkafka refused a message at once; its opaque (future and callback) comes back.
pub(super) struct Refused {
    pub(super) code: RDKafkaErrorCode,
    pub(super) cell: Arc<DeliveryCell>,
}

/// A message for [`ProducerCore::send_run`]: no headers, no timestamp.
pub(super) struct PlainMessage<'a> {
    pub(super) value: Option<&'a [u8]>,
    pub(super) key: Option<&'a [u8]>,
    pub(super) partition: Option<i32>,
    pub(super) cell: Arc<DeliveryCell>,
}

/// How long close() waits for the reports of messages it purged, past the caller's timeout.
pub(super) const PURGE_GRACE: Duration = Duration::from_secs(1);

/// At most this many topic handles are cached per producer (a producer writing to ever new topic
/// names must not grow without bound); other topics get a handle per produce call.
pub(super) const MAX_CACHED_TOPICS: usize = 1024;

/// The librdkafka producer handle and its cached topic handles: held by the core until close()
/// (see handle_slot.rs) and, for the length of a call, by each call that uses it.
pub(super) struct ProducerHandle {
    producer: std::mem::ManuallyDrop<BaseProducer<DeliveryContext>>,
    /// Topic handles by name: produce() then neither allocates a C string nor looks the topic up
    /// in librdkafka's table per message, as rdkafka's `BaseProducer::send` does.
    topics: Mutex<HashMap<String, TopicHandle>>,
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
    pub(super) fn new(producer: BaseProducer<DeliveryContext>) -> Self {
        let (born, teardown) = (crate::fork::Born::here(), Teardown::default());
        let context = producer.context().clone();
        let handle = ProducerHandle {
            producer: std::mem::ManuallyDrop::new(producer),
            topics: Mutex::new(HashMap::new()),
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
    pub(super) fn native_ptr(&self) -> *mut rdsys::rd_kafka_t {
        self.producer.client().native_ptr()
    }

    pub(super) fn producer(&self) -> &BaseProducer<DeliveryContext> {
        &self.producer
    }

    /// The handle for `name`: cached, or, once [`MAX_CACHED_TOPICS`] are cached, a temporary one
    /// (returned as the third element) that the caller drops after producing. Valid while `self`.
    pub(super) fn topic_handle(
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
        let handle = unsafe { rdsys::rd_kafka_topic_new(self.native_ptr(), c_name.as_ptr(), ptr::null_mut()) };
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

    /// Hands one message to librdkafka, which copies value and key and takes `headers` (taken out
    /// of the option; left there if refused, for a retry) and the delivery cell as the opaque
    /// (given back to the delivery callback, as rdkafka's `send` does).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &self,
        topic: *mut rdsys::rd_kafka_topic_t,
        value: Option<&[u8]>,
        key: Option<&[u8]>,
        partition: Option<i32>,
        timestamp: Option<i64>,
        headers: &mut Option<OwnedHeaders>,
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
        let count = match headers.as_ref() {
            Some(h) => {
                args[7].u = U { headers: headers::native_ptr(h.as_borrowed()) };
                8
            }
            None => 7,
        };
        // SAFETY: the producer handle and the topic handle (one of its own, see `topic_handle`) are
        // live for the lifetime of `self`;
        // `args` holds `count` initialised entries whose pointers (value, key, headers, opaque) are
        // valid for the call. With RD_KAFKA_MSG_F_COPY librdkafka copies value and key. On success
        // it owns the headers and the opaque; on failure it owns neither and returns an error
        // object that we destroy.
        let error = unsafe { rdsys::rd_kafka_produceva(self.native_ptr(), args.as_ptr(), count) };
        if error.is_null() {
            std::mem::forget(headers.take()); // now librdkafka's
            return Ok(());
        }
        // SAFETY: `error` is a live error object we own; `opaque` came from Box::into_raw above and
        // librdkafka did not take it.
        unsafe {
            // Read as the `int` it is (see ffi.rs).
            let code = crate::ffi::rd_kafka_error_code(error);
            rdsys::rd_kafka_error_destroy(error);
            Err(Refused { code: known_code(code), cell: Arc::from_raw(opaque as *const DeliveryCell) })
        }
    }

    /// Hands a run of messages without headers or timestamps to librdkafka in one call
    /// (`rd_kafka_produce_batch`, which copies values and keys and takes each accepted message's
    /// delivery cell as its opaque). Returns the refused ones, by index in `run`: after a full
    /// queue every later message is refused too, with the same code.
    pub(super) fn send_run(
        &self,
        topic: *mut rdsys::rd_kafka_topic_t,
        run: Vec<PlainMessage<'_>>,
    ) -> Vec<(usize, Refused)> {
        fn raw(data: Option<&[u8]>) -> (*mut c_void, usize) {
            data.map_or((ptr::null_mut(), 0), |d| (d.as_ptr() as *mut c_void, d.len()))
        }
        let mut messages: Vec<rdsys::rd_kafka_message_t> = run
            .into_iter()
            .map(|message| {
                let ((payload, len), (key, key_len)) = (raw(message.value), raw(message.key));
                rdsys::rd_kafka_message_t {
                    err: rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                    rkt: ptr::null_mut(),
                    partition: message.partition.unwrap_or(-1),
                    payload,
                    len,
                    key,
                    key_len,
                    offset: 0,
                    _private: Arc::into_raw(message.cell) as *mut c_void,
                }
            })
            .collect();
        let count = std::os::raw::c_int::try_from(messages.len()).unwrap_or(std::os::raw::c_int::MAX);
        let flags = rdsys::RD_KAFKA_MSG_F_COPY | rdsys::RD_KAFKA_MSG_F_PARTITION;
        // SAFETY: `topic` is a live handle of this producer (see `topic_handle`); `messages` holds
        // `count` initialised entries whose value and key pointers are valid for the call (librdkafka
        // copies them: RD_KAFKA_MSG_F_COPY). librdkafka sets `err` per message and takes the opaque
        // only of those it accepted (err == 0).
        unsafe { rdsys::rd_kafka_produce_batch(topic, -1, flags, messages.as_mut_ptr(), count) };
        let mut refused = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            // SAFETY: an initialised message of ours, whose `err` librdkafka wrote, read as the
            // `int` it is (see ffi.rs). A refused message's opaque was not taken: it is still the
            // Arc we made above.
            unsafe {
                let code = crate::ffi::message_error(message);
                if code != 0 {
                    let cell = Arc::from_raw(message._private as *const DeliveryCell);
                    refused.push((index, Refused { code: known_code(code), cell }));
                }
            }
        }
        refused
    }

    /// Fails messages still queued (and, with `in_flight`, those sent but not acknowledged); their
    /// futures get `_PURGE_QUEUE` / `_PURGE_INFLIGHT` errors.
    pub(super) fn purge(&self, in_queue: bool, in_flight: bool) {
        crate::native::producer::purge(self.producer.client(), in_queue, in_flight);
    }
}

impl Drop for ProducerHandle {
    fn drop(&mut self) {
        // SAFETY: taken exactly once, here, as `self` is being dropped; nothing else refers to it.
        let producer = unsafe { std::mem::ManuallyDrop::take(&mut self.producer) };
        // Topic handles go first (a tuple drops in order): librdkafka's handle must outlive them.
        let topics = std::mem::take(&mut *self.topics.lock());
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
            Some(handle) => handle.producer().poll(SLICE),
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
    fn open_handle(&self) -> Option<crate::ffi::LiveHandle> {
        let handle = self.handle.get().filter(|_| self.is_open())?;
        Some(crate::ffi::LiveHandle::new(handle.native_ptr(), handle))
    }
}
