//! A producer handle's calls: producing one message or a run of them to a topic handle (topic
//! handles made and cached here, lent as [`TopicRef`]s), flushing, purging and transactional offsets.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;

use parking_lot::Mutex;
use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, Producer as _, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::IntoOpaque;
use rdkafka::TopicPartitionList;

use crate::errors::{known_code, FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::NativePtr;
use crate::topic_partition::topic_cstring;

/// `rd_kafka_flush` for up to `timeout_ms`: sends what is queued at once (ignoring linger.ms)
/// and serves delivery reports on this thread while it waits.
pub fn flush<C: rdkafka::ClientContext>(producer: &Client<C>, timeout_ms: c_int) {
    // SAFETY: a live producer handle (borrowed); rd_kafka_flush is thread-safe and touches no Rust
    // state. Its result (a timeout) is read by the caller from what is still in flight.
    unsafe { rdsys::rd_kafka_flush(producer.native_ptr(), timeout_ms) };
}

/// Fails messages still queued (and, with `in_flight`, those sent but not acknowledged).
pub fn purge<C: rdkafka::ClientContext>(producer: &Client<C>, in_queue: bool, in_flight: bool) {
    let mut flags = 0;
    if in_queue {
        flags |= rdsys::RD_KAFKA_PURGE_F_QUEUE;
    }
    if in_flight {
        flags |= rdsys::RD_KAFKA_PURGE_F_INFLIGHT;
    }
    // SAFETY: a live producer handle (borrowed); rd_kafka_purge is thread-safe and only fails for
    // invalid flags or a non-producer handle, neither possible here.
    unsafe { rdsys::rd_kafka_purge(producer.native_ptr(), flags) };
}

/// `rd_kafka_send_offsets_to_transaction`: the error, if it failed.
pub fn send_offsets_to_transaction<C: rdkafka::ClientContext>(
    producer: &Client<C>,
    offsets: &TopicPartitionList,
    group: &NativePtr<rdsys::rd_kafka_consumer_group_metadata_t>,
    timeout_ms: c_int,
    context: &str,
) -> Option<KafkaErrorInfo> {
    // SAFETY: the producer handle, the list and the group metadata are live (borrowed) for the
    // call, which copies what it keeps; it returns NULL or an error object that we own.
    let error = unsafe {
        NativePtr::from_ptr(rdsys::rd_kafka_send_offsets_to_transaction(
            producer.native_ptr(),
            offsets.ptr(),
            group.ptr(),
            timeout_ms,
        ))
    }?;
    // SAFETY: a live error object, read before `error` destroys it.
    unsafe { super::error_object(error.ptr(), context) }
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
/// hands back to the producer context's delivery callback, as rdkafka's `BaseProducer::send` does.
#[allow(clippy::too_many_arguments)]
pub fn produce<C: ProducerContext>(
    producer: &BaseProducer<C>,
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
    // owns the headers and the opaque (given back to `C::delivery`, which rdkafka converts back
    // with `C::DeliveryOpaque::from_ptr`, the type it came from); on failure it owns neither and
    // returns an error object that we destroy.
    let error = unsafe { rdsys::rd_kafka_produceva(producer.client().native_ptr(), args.as_ptr(), count) };
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
pub fn produce_run<C: ProducerContext>(
    producer: &BaseProducer<C>,
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
