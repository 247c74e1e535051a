//! The librdkafka producer handle, made here as the consumer's is (native/consumer.rs): rdkafka's
//! `BaseProducer` turns on librdkafka's *event* API and offers no way to set a `throttle_cb`, so
//! [`NativeProducer`] creates the handle itself, on rdkafka's `Client`, with librdkafka's
//! *callbacks* set on the configuration (delivery report, error, statistics, log, throttle), and
//! offers the `BaseProducer` calls ferrokafka uses under the same names: `poll`, `flush`, `purge`,
//! producing one message or a run of them, the transactional calls.
//!
//! The callbacks run on the thread that serves the handle's queue (`poll`, and `flush`, which
//! serves it too while it waits, as confluent-kafka's does), with the GIL released; they reach the
//! context (`producer::delivery::DeliveryContext`, through the [`ProducerEvents`] trait: this layer
//! sits below the producer) through librdkafka's opaque pointer, which rdkafka's `Client` sets to
//! its context. A delivery report reaches it as a [`DeliveryResult`] (as rdkafka's
//! `ProducerContext::delivery` gets it) with the message's opaque converted back to the
//! `DeliveryOpaque` it was produced with.
//!
//! Topic handles are made and cached here too, lent as [`TopicRef`]s.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{OwnedHeaders, Timestamp};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaType};
use rdkafka::util::IntoOpaque;
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::errors::{known_code, FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::{self as raw, NativePtr};

use super::client_events::{context, guarded, log_cb, stats_cb, throttle_cb, ClientEvents};
use crate::topic_partition::topic_cstring;

/// What a producer's context does with librdkafka's callbacks (implemented by
/// `producer::delivery::DeliveryContext`; a trait, so that this layer does not depend on the
/// producer). Statistics go to rdkafka's `ClientContext::stats_raw`.
pub trait ProducerEvents: ClientEvents {
    /// What each message carries through librdkafka to its delivery report (rdkafka's
    /// `ProducerContext::DeliveryOpaque`).
    type DeliveryOpaque: IntoOpaque;
    /// A message delivered or failed, with the opaque it was produced with (rdkafka's
    /// `ProducerContext::delivery`).
    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Self::DeliveryOpaque);
    /// An error librdkafka reports for the whole client (a fatal one as its underlying error).
    fn producer_error(&self, info: KafkaErrorInfo);
}

/// A message as the delivery report callback hands it over, valid for the call (`'a`).
pub struct DeliveredMessage<'a> {
    message: *const rdsys::rd_kafka_message_t,
    _call: PhantomData<&'a rdsys::rd_kafka_message_t>,
}

impl DeliveredMessage<'_> {
    pub fn partition(&self) -> i32 {
        // SAFETY: librdkafka's message, live for the callback (`'a`).
        unsafe { (*self.message).partition }
    }

    pub fn offset(&self) -> i64 {
        // SAFETY: as for partition.
        unsafe { (*self.message).offset }
    }

    /// The message's timestamp and its kind, as rdkafka's `Message::timestamp` gives it.
    pub fn timestamp(&self) -> Timestamp {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: librdkafka's message, live for the callback; it writes one of the three
        // timestamp types into `kind`.
        let timestamp = unsafe { rdsys::rd_kafka_message_timestamp(self.message, &mut kind) };
        match kind {
            _ if timestamp == -1 => Timestamp::NotAvailable,
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => Timestamp::CreateTime(timestamp),
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => Timestamp::LogAppendTime(timestamp),
            _ => Timestamp::NotAvailable,
        }
    }
}

/// A delivery report, as rdkafka's `DeliveryResult`: the message, or the error it failed with and
/// the message.
pub type DeliveryResult<'a> = Result<DeliveredMessage<'a>, (KafkaError, DeliveredMessage<'a>)>;

/// A transactional call's error: what Python sees, and librdkafka's own flag that the call may
/// be retried (`rd_kafka_error_is_retriable`, without the codes ferrokafka counts as retriable).
#[derive(Debug)]
pub struct TransactionError {
    pub info: KafkaErrorInfo,
    pub native_retriable: bool,
}

impl From<TransactionError> for FerroError {
    fn from(error: TransactionError) -> Self {
        FerroError::Kafka(error.info)
    }
}

/// A transactional call's result: its error object (NULL for none), read and destroyed.
///
/// # Safety
/// `error` is NULL or an error object the caller owns and hands over.
unsafe fn transaction_result(error: *mut rdsys::rd_kafka_error_t) -> Result<(), TransactionError> {
    // SAFETY: NULL or an error object handed over to us (the caller's guarantee), destroyed by
    // `NativePtr`.
    let Some(error) = (unsafe { NativePtr::from_ptr(error) }) else { return Ok(()) };
    // SAFETY: a live error object, read before `error` destroys it.
    let (object, info) =
        unsafe { (raw::read_error_object(error.ptr()), super::error_object(error.ptr(), "transaction failed")) };
    match info {
        Some(info) => Err(TransactionError { info, native_retriable: object.is_some_and(|o| o.retriable) }),
        None => Ok(()),
    }
}

/// A librdkafka producer handle with callbacks instead of events.
pub struct NativeProducer<C: ProducerEvents> {
    client: Client<C>,
}

/// How long a `flush` in the transactional calls waits at a time (rdkafka's poll slice).
const FLUSH_SLICE_MS: c_int = 100;

impl<C: ProducerEvents> NativeProducer<C> {
    pub fn new(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        let native_config = config.create_native_config()?;
        // SAFETY: a fresh configuration object that we own until rd_kafka_new takes it; the
        // callbacks are `extern "C"` functions with librdkafka's C signatures (below). The error
        // callback's cast only changes how its `int`-sized error parameter is typed on the Rust
        // side: same size, same ABI.
        unsafe {
            rdsys::rd_kafka_conf_set_dr_msg_cb(native_config.ptr(), Some(dr_msg_cb::<C>));
            rdsys::rd_kafka_conf_set_error_cb(native_config.ptr(), Some(error_cb::<C>));
            rdsys::rd_kafka_conf_set_stats_cb(native_config.ptr(), Some(stats_cb::<C>));
            rdsys::rd_kafka_conf_set_log_cb(native_config.ptr(), Some(log_cb::<C>));
            // Only with a throttle_cb: librdkafka queues throttle reports only when it has one.
            if context.callbacks().wants_throttle() {
                rdsys::rd_kafka_conf_set_throttle_cb(native_config.ptr(), Some(throttle_cb::<C>));
            }
        }
        // OAUTHBEARER tokens are set from outside (oauth.rs), never through librdkafka's refresh
        // callback: none is set, as for the consumer.
        let client = Client::new(config, native_config, RDKafkaType::RD_KAFKA_PRODUCER, context)?;
        Ok(NativeProducer { client })
    }

    pub fn context(&self) -> &Arc<C> {
        self.client.context()
    }

    /// rdkafka's client, which a `LiveHandle` lends (tokens from oauth_cb, metadata) and topic
    /// handles are made on.
    pub fn client(&self) -> &Client<C> {
        &self.client
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_t {
        self.client.native_ptr()
    }

    /// Serves the handle's queue (delivery reports, logs, errors, statistics, throttle reports, each
    /// to its callback), waiting up to `timeout` for the first; returns how many were served.
    pub fn poll(&self, timeout: Duration) -> c_int {
        let timeout_ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: our live handle; the callbacks it runs are ours (see `new`).
        unsafe { rdsys::rd_kafka_poll(self.ptr(), timeout_ms) }
    }

    /// `rd_kafka_flush` for up to `timeout_ms` (-1: until done): sends what is queued at once
    /// (ignoring linger.ms) and serves the queue on this thread while it waits. True once nothing
    /// is left.
    pub fn flush(&self, timeout_ms: c_int) -> bool {
        // SAFETY: our live handle; rd_kafka_flush is thread-safe and runs only our callbacks. It
        // returns NO_ERROR, _TIMED_OUT or _NOT_IMPLEMENTED (not a producer), all variants of the enum.
        unsafe {
            rdsys::rd_kafka_flush(self.ptr(), timeout_ms) == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    /// Flushes until done or `timeout_ms` (-1: no limit) pass, as rdkafka's `Producer::flush`: a
    /// `_TIMED_OUT` "flush failed" error if messages are left.
    fn flush_for(&self, timeout_ms: c_int) -> Result<(), TransactionError> {
        let deadline = (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            let slice = deadline.map_or(FLUSH_SLICE_MS, |d| {
                let left = d.saturating_duration_since(Instant::now()).as_millis();
                c_int::try_from(left).unwrap_or(c_int::MAX).min(FLUSH_SLICE_MS)
            });
            if self.flush(slice) {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let info = KafkaErrorInfo::from_code(RDKafkaErrorCode::OperationTimedOut, "flush failed");
                return Err(TransactionError { info, native_retriable: false });
            }
        }
    }

    /// Fails messages still queued (and, with `in_flight`, those sent but not acknowledged); their
    /// delivery reports say `_PURGE_QUEUE` / `_PURGE_INFLIGHT`.
    pub fn purge(&self, in_queue: bool, in_flight: bool) {
        let mut flags = 0;
        if in_queue {
            flags |= rdsys::RD_KAFKA_PURGE_F_QUEUE;
        }
        if in_flight {
            flags |= rdsys::RD_KAFKA_PURGE_F_INFLIGHT;
        }
        // SAFETY: our live handle; rd_kafka_purge is thread-safe and only fails for invalid flags
        // or a non-producer handle, neither possible here.
        unsafe { rdsys::rd_kafka_purge(self.ptr(), flags) };
    }

    pub fn init_transactions(&self, timeout_ms: c_int) -> Result<(), TransactionError> {
        // SAFETY: our live handle; the error object (if any) is handed to us.
        unsafe { transaction_result(rdsys::rd_kafka_init_transactions(self.ptr(), timeout_ms)) }
    }

    pub fn begin_transaction(&self) -> Result<(), TransactionError> {
        // SAFETY: as for init_transactions.
        unsafe { transaction_result(rdsys::rd_kafka_begin_transaction(self.ptr())) }
    }

    /// `rd_kafka_send_offsets_to_transaction`: the error, if it failed.
    pub fn send_offsets_to_transaction(
        &self,
        offsets: &TopicPartitionList,
        group: &NativePtr<rdsys::rd_kafka_consumer_group_metadata_t>,
        timeout_ms: c_int,
        context: &str,
    ) -> Option<KafkaErrorInfo> {
        // SAFETY: our live handle, the list and the group metadata are live (borrowed) for the
        // call, which copies what it keeps; it returns NULL or an error object that we own.
        let error = unsafe {
            NativePtr::from_ptr(rdsys::rd_kafka_send_offsets_to_transaction(
                self.ptr(),
                offsets.ptr(),
                group.ptr(),
                timeout_ms,
            ))
        }?;
        // SAFETY: a live error object, read before `error` destroys it.
        unsafe { super::error_object(error.ptr(), context) }
    }

    /// Flushes (as rdkafka's `commit_transaction` does first), then commits.
    pub fn commit_transaction(&self, timeout_ms: c_int) -> Result<(), TransactionError> {
        self.flush_for(timeout_ms)?;
        // SAFETY: as for init_transactions.
        unsafe { transaction_result(rdsys::rd_kafka_commit_transaction(self.ptr(), timeout_ms)) }
    }

    pub fn abort_transaction(&self, timeout_ms: c_int) -> Result<(), TransactionError> {
        // SAFETY: as for init_transactions.
        unsafe { transaction_result(rdsys::rd_kafka_abort_transaction(self.ptr(), timeout_ms)) }
    }
}

impl<C: ProducerEvents> Drop for NativeProducer<C> {
    /// Fails what is still queued or in flight and serves those reports (for up to 500 ms), so
    /// that every opaque goes back to its context before the handle is destroyed, as rdkafka's
    /// `BaseProducer` does. Runs on the teardown thread (handle_slot.rs).
    fn drop(&mut self) {
        self.purge(true, true);
        self.flush(500);
    }
}

// ---------------------------------------------------------------------------------------------
// librdkafka's callbacks. Each reaches the context through the opaque pointer rdkafka's Client set
// (`Arc::as_ptr` of the context it keeps for the handle's whole life) and never unwinds into C.

unsafe extern "C" fn dr_msg_cb<C: ProducerEvents>(
    _rk: *mut rdsys::rd_kafka_t,
    message: *const rdsys::rd_kafka_message_t,
    opaque: *mut c_void,
) {
    guarded(|| {
        // SAFETY: librdkafka's message, live for this call; its error read as the `int` it is.
        let (code, message_opaque) = unsafe { (raw::message_error(message), (*message)._private) };
        // SAFETY: every message of ours was produced with an opaque made by `into_ptr` of a
        // `C::DeliveryOpaque` (`produce`, `produce_run`), which librdkafka hands back once, here.
        let delivery = unsafe { C::DeliveryOpaque::from_ptr(message_opaque) };
        let delivered = DeliveredMessage { message, _call: PhantomData };
        let result =
            if code == 0 { Ok(delivered) } else { Err((KafkaError::MessageProduction(known_code(code)), delivered)) };
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context::<C>(opaque) }.delivery(&result, delivery);
    });
}

unsafe extern "C" fn error_cb<C: ProducerEvents>(
    rk: *mut rdsys::rd_kafka_t,
    err: c_int,
    reason: *const c_char,
    opaque: *mut c_void,
) {
    guarded(|| {
        // SAFETY: librdkafka's reason string, valid for this call.
        let mut detail = unsafe { raw::lossy(reason) };
        let mut code = err;
        let fatal = err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FATAL as c_int;
        if fatal {
            // The underlying error of a fatal one, as librdkafka's error events give it.
            let mut buf = [0 as c_char; 512];
            // SAFETY: our live handle and a buffer of the given size, NUL-terminated by librdkafka.
            let fatal = unsafe { raw::rd_kafka_fatal_error(rk, buf.as_mut_ptr(), buf.len()) };
            if fatal != 0 {
                code = fatal;
                // SAFETY: the buffer is ours and NUL-terminated (zeroed, and librdkafka terminates).
                detail = unsafe { raw::lossy(buf.as_ptr()) };
            }
        }
        let mut info = KafkaErrorInfo::from_raw(code, "client error", None);
        info.fatal |= fatal;
        // librdkafka's reason (which broker, what failed) is the message, as confluent-kafka's
        // `err.str()` gives it; without one, the code's description.
        if let Some(detail) = detail.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            info.message = detail.to_owned();
        }
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context::<C>(opaque) }.producer_error(info);
    });
}

// ---------------------------------------------------------------------------------------------
// Topic handles

/// A topic handle that we own (`rd_kafka_topic_new`), destroyed by `NativePtr`, and its name.
pub struct OwnedTopic {
    ptr: NativePtr<rdsys::rd_kafka_topic_t>,
    name: Arc<str>,
}

impl OwnedTopic {
    /// A new handle of `producer` for the topic `name` (librdkafka copies the name), or the error
    /// librdkafka gives for it (an invalid name).
    fn new<C: rdkafka::ClientContext>(producer: &Client<C>, name: &str) -> FerroResult<Self> {
        let c_name = topic_cstring(name)?;
        // SAFETY: a live producer handle (borrowed) and a valid C string, which librdkafka copies;
        // it returns a new topic reference that we own (destroyed by `NativePtr`), or NULL.
        let ptr = unsafe {
            NativePtr::from_ptr(rdsys::rd_kafka_topic_new(producer.native_ptr(), c_name.as_ptr(), ptr::null_mut()))
        };
        let Some(ptr) = ptr else {
            // SAFETY: reads the calling thread's last librdkafka error, set by the failed call above.
            let code = unsafe { rdsys::rd_kafka_last_error() };
            return Err(FerroError::Kafka(KafkaErrorInfo::from_code(code.into(), &format!("invalid topic {name:?}"))));
        };
        Ok(OwnedTopic { ptr, name: Arc::from(name) })
    }

    /// The handle, borrowed from `self`.
    pub fn get(&self) -> TopicRef<'_> {
        TopicRef { ptr: self.ptr.ptr(), _owner: PhantomData }
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }
}

/// A topic handle borrowed for `'a` from whatever owns it ([`OwnedTopic`], [`Topics`]), so alive
/// while it is used. The only way to hand librdkafka a topic (see [`produce`]).
#[derive(Clone, Copy)]
pub struct TopicRef<'a> {
    ptr: *mut rdsys::rd_kafka_topic_t,
    _owner: PhantomData<&'a OwnedTopic>,
}

// SAFETY: librdkafka's topic handles are thread-safe (its own threads share them), and the borrow
// `'a` keeps the handle alive wherever the reference goes.
unsafe impl Send for TopicRef<'_> {}
// SAFETY: see Send.
unsafe impl Sync for TopicRef<'_> {}

/// Where a cached topic is in its [`Topics`], for finding it again without hashing its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicId(usize);

/// A topic handle of [`Topics::get`]: one of the cache (with its id), or, once the cache is full,
/// one of its own that the caller drops after producing (every produced message holds its own
/// reference to the topic, so dropping the handle then is safe).
pub enum Topic<'a> {
    Cached { topic: TopicRef<'a>, name: Arc<str>, id: TopicId },
    Temporary(OwnedTopic),
}

impl Topic<'_> {
    pub fn get(&self) -> TopicRef<'_> {
        match self {
            Topic::Cached { topic, .. } => *topic,
            Topic::Temporary(owned) => owned.get(),
        }
    }

    pub fn name(&self) -> &Arc<str> {
        match self {
            Topic::Cached { name, .. } => name,
            Topic::Temporary(owned) => owned.name(),
        }
    }
}

/// A producer's topic handles by name, made on first use (at most `max`), then kept until the cache
/// is dropped: a cached handle is never destroyed while the cache lives, which is what lets
/// [`TopicRef`]s borrow the cache rather than the lock's guard. Its owner drops it before the
/// producer handle (librdkafka's handle must outlive its topics: `ProducerHandle`'s Drop).
pub struct Topics {
    inner: Mutex<TopicsInner>,
    /// The producer handle the topics are made on (compared, never dereferenced).
    producer: usize,
    max: usize,
}

#[derive(Default)]
struct TopicsInner {
    by_name: HashMap<String, TopicId>,
    /// Only ever appended to while the cache lives.
    handles: Vec<OwnedTopic>,
}

impl Topics {
    /// The cache of `producer`'s topic handles, holding at most `max`.
    pub fn new<C: rdkafka::ClientContext>(producer: &Client<C>, max: usize) -> Self {
        Topics { inner: Mutex::new(TopicsInner::default()), producer: producer.native_ptr() as usize, max }
    }

    /// The handle for `name`: cached, made and cached, or (the cache full) made for this call.
    /// `producer` must be the one the cache was made for (else a `_FAIL` error).
    pub fn get<C: rdkafka::ClientContext>(&self, producer: &Client<C>, name: &str) -> FerroResult<Topic<'_>> {
        if producer.native_ptr() as usize != self.producer {
            let code = RDKafkaErrorCode::Fail;
            return Err(FerroError::Kafka(KafkaErrorInfo::from_code(code, "a topic of another producer")));
        }
        let mut inner = self.inner.lock();
        if let Some(&id) = inner.by_name.get(name) {
            let owned = &inner.handles[id.0];
            return Ok(Topic::Cached { topic: self.borrow(owned), name: owned.name.clone(), id });
        }
        let owned = OwnedTopic::new(producer, name)?;
        if inner.handles.len() >= self.max {
            return Ok(Topic::Temporary(owned));
        }
        let id = TopicId(inner.handles.len());
        let (topic, shared_name) = (self.borrow(&owned), owned.name.clone());
        inner.handles.push(owned);
        inner.by_name.insert(name.to_owned(), id);
        Ok(Topic::Cached { topic, name: shared_name, id })
    }

    /// A cached handle again, by the id [`get`](Self::get) gave.
    pub fn by_id(&self, id: TopicId) -> Option<TopicRef<'_>> {
        self.inner.lock().handles.get(id.0).map(|owned| self.borrow(owned))
    }

    /// A cached handle, borrowed from the cache rather than from the lock's guard: handles are
    /// only appended while the cache lives (never removed or replaced; moving an `OwnedTopic`
    /// within the vector does not move the librdkafka object it points to), so the handle lives
    /// as long as `self`.
    fn borrow(&self, owned: &OwnedTopic) -> TopicRef<'_> {
        TopicRef { ptr: owned.ptr.ptr(), _owner: PhantomData }
    }
}

// ---------------------------------------------------------------------------------------------
// Producing

/// Why librdkafka refused a message at once; the message's opaque comes back to the caller.
pub struct Refused<O> {
    pub code: RDKafkaErrorCode,
    pub opaque: O,
}

/// One message to `topic` (`rd_kafka_produceva`): librdkafka copies value and key and takes
/// `headers` (taken out of the option; left there if refused, for a retry) and `opaque`, which it
/// hands back to the context's delivery callback ([`ProducerEvents::delivery`]), as rdkafka's
/// `BaseProducer::send` does.
#[allow(clippy::too_many_arguments)]
pub fn produce<C: ProducerEvents>(
    producer: &NativeProducer<C>,
    topic: TopicRef<'_>,
    value: Option<&[u8]>,
    key: Option<&[u8]>,
    partition: Option<i32>,
    timestamp: Option<i64>,
    headers: &mut Option<OwnedHeaders>,
    opaque: C::DeliveryOpaque,
) -> Result<(), Refused<C::DeliveryOpaque>> {
    use rdsys::rd_kafka_vtype_t as V;
    use rdsys::rd_kafka_vu_s__bindgen_ty_1 as U;
    fn bytes(data: Option<&[u8]>) -> U {
        let (ptr, size) = data.map_or((ptr::null_mut(), 0), |d| (d.as_ptr() as *mut c_void, d.len()));
        U { mem: rdsys::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 { ptr, size } }
    }
    let vu = |vtype: V, u: U| rdsys::rd_kafka_vu_t { vtype, u };
    let opaque = opaque.into_ptr();
    let mut args = [
        vu(V::RD_KAFKA_VTYPE_RKT, U { rkt: topic.ptr }),
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
            args[7].u = U { headers: super::headers::native_ptr(h.as_borrowed()) };
            8
        }
        None => 7,
    };
    // SAFETY: the producer handle (borrowed) and the topic handle (borrowed: `TopicRef`) are live;
    // `args` holds `count` initialised entries whose pointers (value, key, headers, opaque) are
    // valid for the call. With RD_KAFKA_MSG_F_COPY librdkafka copies value and key. On success it
    // owns the headers and the opaque (given back to `C::delivery` by `dr_msg_cb`, converted back
    // with `C::DeliveryOpaque::from_ptr`, the type it came from); on failure it owns neither and
    // returns an error object that we destroy.
    let error = unsafe { rdsys::rd_kafka_produceva(producer.ptr(), args.as_ptr(), count) };
    if error.is_null() {
        std::mem::forget(headers.take()); // now librdkafka's
        return Ok(());
    }
    // SAFETY: `error` is a live error object we own, read (as the `int` it is, see ffi.rs) and
    // destroyed once; `opaque` came from `into_ptr` above and librdkafka did not take it, so it is
    // converted back exactly once.
    unsafe {
        let code = crate::ffi::rd_kafka_error_code(error);
        rdsys::rd_kafka_error_destroy(error);
        Err(Refused { code: known_code(code), opaque: C::DeliveryOpaque::from_ptr(opaque) })
    }
}

/// A message for [`produce_run`]: no headers, no timestamp.
pub struct PlainMessage<'a, O> {
    pub value: Option<&'a [u8]>,
    pub key: Option<&'a [u8]>,
    pub partition: Option<i32>,
    pub opaque: O,
}

/// A run of messages without headers or timestamps to `topic` in one call
/// (`rd_kafka_produce_batch`, which copies values and keys and takes each accepted message's
/// opaque). Returns the refused ones, by index in `run`: after a full queue every later message is
/// refused too, with the same code.
pub fn produce_run<C: ProducerEvents>(
    producer: &NativeProducer<C>,
    topic: TopicRef<'_>,
    run: Vec<PlainMessage<'_, C::DeliveryOpaque>>,
) -> Vec<(usize, Refused<C::DeliveryOpaque>)> {
    fn raw(data: Option<&[u8]>) -> (*mut c_void, usize) {
        data.map_or((ptr::null_mut(), 0), |d| (d.as_ptr() as *mut c_void, d.len()))
    }
    // The producer is only the proof that the topic's client is alive; librdkafka finds it from
    // the topic.
    let _ = producer;
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
                _private: message.opaque.into_ptr(),
            }
        })
        .collect();
    let count = c_int::try_from(messages.len()).unwrap_or(c_int::MAX);
    let flags = rdsys::RD_KAFKA_MSG_F_COPY | rdsys::RD_KAFKA_MSG_F_PARTITION;
    // SAFETY: `topic` is a live topic handle (borrowed), of the live producer (borrowed); `messages`
    // holds `count` initialised entries whose value and key pointers are valid for the call
    // (librdkafka copies them: RD_KAFKA_MSG_F_COPY). librdkafka sets `err` per message and takes the
    // opaque only of those it accepted (err == 0).
    unsafe { rdsys::rd_kafka_produce_batch(topic.ptr, -1, flags, messages.as_mut_ptr(), count) };
    let mut refused = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        // SAFETY: an initialised message of ours, whose `err` librdkafka wrote, read as the `int` it
        // is (see ffi.rs).
        let code = unsafe { crate::ffi::message_error(message) };
        if code != 0 {
            // SAFETY: a refused message's opaque was not taken: it is still the one `into_ptr`
            // made above, converted back exactly once, here.
            let opaque = unsafe { C::DeliveryOpaque::from_ptr(message._private) };
            refused.push((index, Refused { code: known_code(code), opaque }));
        }
    }
    refused
}
