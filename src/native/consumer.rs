//! The librdkafka consumer handle, set up for librdkafka's batch API.
//!
//! rdkafka's `BaseConsumer` turns on librdkafka's *event* API, which hands out one message per
//! `rd_kafka_queue_poll` call (a queue lock, two clock reads and a partition lock per message).
//! `rd_kafka_consume_batch_queue` hands out a whole batch at once and is more than twice as fast
//! (benches/rust-consumer measures both), but it only works with librdkafka's *callbacks*: served
//! in the batch call, a rebalance without a rebalance callback is answered by unassigning. So this
//! module creates the handle itself, on rdkafka's `Client`, with the callbacks set, and offers the
//! `BaseConsumer` calls ferrokafka uses, with the same names and the same rdkafka error variants.
//!
//! The callbacks run on the thread that polls (librdkafka serves them inside the poll call), with
//! the GIL released; they reach the context (`consumer::core::CoreContext`, through the
//! [`ConsumerEvents`] trait: this layer sits below the consumer) through librdkafka's opaque
//! pointer, which rdkafka's `Client` sets to its context. A rebalance reaches it as a
//! [`Rebalance`]: librdkafka's handle lent for the call ([`ConsumerRef`]) and its partition list.
//! Consumed messages come out of [`NativeConsumer::consume`] as [`Consumed`] entries: messages
//! owned with the handle that keeps them valid, or the consumer errors librdkafka hands out among
//! them, read and destroyed here.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaType;
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::errors::{check, KafkaErrorInfo, NativeResult};
use crate::ffi::{self as raw, NativePtr};
use crate::native::message::{MessageSource, NativeBatch, NativeMessage};
use crate::native::partitions::read_native_list;
use crate::topic_partition::{first_partition_error, TopicPartition};

use super::client_events::{context, guarded, log_cb, stats_cb, throttle_cb, ClientEvents};

/// The group's identity, for a transactional producer's `send_offsets_to_transaction`.
pub struct GroupMetadata(NativePtr<rdsys::rd_kafka_consumer_group_metadata_t>);

impl GroupMetadata {
    pub fn native(&self) -> &NativePtr<rdsys::rd_kafka_consumer_group_metadata_t> {
        &self.0
    }
}

/// What a consumer's context does with librdkafka's callbacks (implemented by
/// `consumer::core::CoreContext`; a trait, so that this layer does not depend on the consumer).
/// Statistics go to rdkafka's `ClientContext::stats_raw`.
pub trait ConsumerEvents: ClientEvents {
    /// A rebalance, to be applied (librdkafka waits for it) before the call returns or later.
    fn rebalance(&self, rebalance: Rebalance<'_>);
    /// An error librdkafka reports for the whole consumer (fatal or not).
    fn consumer_error(&self, info: KafkaErrorInfo);
}

/// A consumer handle lent for `'a`: librdkafka's own, for the length of one of its callbacks, or a
/// [`NativeConsumer`]'s, borrowed. The calls a rebalance needs are made on it.
#[derive(Clone, Copy)]
pub struct ConsumerRef<'a> {
    rk: *mut rdsys::rd_kafka_t,
    _handle: PhantomData<&'a rdsys::rd_kafka_t>,
}

impl ConsumerRef<'_> {
    /// Whether the assignment being revoked was lost (`rd_kafka_assignment_lost`).
    pub fn assignment_lost(&self) -> bool {
        // SAFETY: a live consumer handle, lent for the lifetime of `self`.
        unsafe { rdsys::rd_kafka_assignment_lost(self.rk) == 1 }
    }

    /// Stores the offsets of `list` (`rd_kafka_offsets_store`).
    pub fn store_offsets(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: a live consumer handle (lent for the lifetime of `self`) and a valid list.
        check(unsafe { raw::rd_kafka_offsets_store(self.rk, list.ptr()) }, "store_offsets failed")
    }

    /// Assigns (`assign`) or unassigns the partitions of `list` as a rebalance asked, with the
    /// group's protocol (see [`apply_rebalance`]).
    pub fn apply_rebalance(&self, assign: bool, list: &TopicPartitionList) {
        // SAFETY: a live consumer handle lent for the lifetime of `self`; a list owned by `list`.
        unsafe { apply_rebalance(self.rk, assign, list.ptr()) }
    }
}

/// A rebalance as librdkafka's callback hands it over: the handle and librdkafka's list, both
/// valid for the call (`'a`).
pub struct Rebalance<'a> {
    consumer: ConsumerRef<'a>,
    code: c_int,
    list: *mut rdsys::rd_kafka_topic_partition_list_t,
}

impl<'a> Rebalance<'a> {
    /// `RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS`, `_REVOKE_PARTITIONS` or an error.
    pub fn code(&self) -> c_int {
        self.code
    }

    /// The handle calling back, lent for the call.
    pub fn consumer(&self) -> ConsumerRef<'a> {
        self.consumer
    }

    /// The partitions librdkafka gave.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        // SAFETY: librdkafka's list (or NULL), valid for the duration of the callback (`'a`).
        unsafe { read_native_list(self.list) }
    }

    /// Applies the rebalance with librdkafka's list, as given (assigned if the code says assign,
    /// else unassigned).
    pub fn apply_as_given(&self) {
        // SAFETY: the handle and the list librdkafka passed to the callback, valid for `'a`.
        unsafe { apply_rebalance(self.consumer.rk, self.code == ASSIGN, self.list) }
    }
}

const ASSIGN: c_int = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS as c_int;

/// Assigns or unassigns `list` (`assign`), with the group's protocol: incrementally when
/// cooperative, else the whole assignment (`rd_kafka_assign`, NULL to unassign).
///
/// # Safety
/// `rk` is a live consumer handle and `list` a valid partition list, both for the call.
unsafe fn apply_rebalance(rk: *mut rdsys::rd_kafka_t, assign: bool, list: *mut rdsys::rd_kafka_topic_partition_list_t) {
    // SAFETY: `rk` is the live handle; librdkafka returns a static string, or NULL (not a group
    // consumer, which a rebalance cannot come from; read as eager).
    let protocol = unsafe { rdsys::rd_kafka_rebalance_protocol(rk) };
    // SAFETY: a non-NULL protocol is one of librdkafka's static NUL-terminated names.
    let cooperative = !protocol.is_null() && unsafe { CStr::from_ptr(protocol) }.to_bytes() == b"COOPERATIVE";
    // SAFETY: the live handle and a valid list, which librdkafka copies; an error object the
    // incremental calls return is ours, destroyed by NativePtr. Errors are reported by librdkafka
    // itself (to the error callback) and need no handling here.
    unsafe {
        match (assign, cooperative) {
            (true, true) => drop(NativePtr::from_ptr(rdsys::rd_kafka_incremental_assign(rk, list))),
            (true, false) => drop(raw::rd_kafka_assign(rk, list)),
            (false, true) => drop(NativePtr::from_ptr(rdsys::rd_kafka_incremental_unassign(rk, list))),
            (false, false) => drop(raw::rd_kafka_assign(rk, ptr::null())),
        }
    }
}

/// One entry of a consumed batch.
pub enum Consumed {
    Message(NativeMessage),
    /// A consumer error librdkafka handed out among the messages (a partition's end, an unknown
    /// topic), read here; the message that carried it is destroyed.
    Error(ConsumeError),
}

/// What a consumer error entry said, and where.
pub struct ConsumeError {
    /// The error code, as the `int` it is.
    pub code: c_int,
    /// The topic's name, empty if the entry has no topic.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// librdkafka's text (not read for a partition's end, which needs none).
    pub detail: Option<String>,
}

/// Up to how many messages one [`NativeConsumer::consume`] call takes.
pub const MAX_BATCH: usize = 256;

/// A librdkafka consumer handle with callbacks instead of events.
pub struct NativeConsumer<C: ConsumerEvents> {
    // Field order is drop order: our queue reference goes before the handle.
    /// Our reference to the queue messages come from: the consumer queue (to which the main queue
    /// is redirected) with a group, the main queue without. Released before the handle is
    /// destroyed (field order).
    queue: NativePtr<rdsys::rd_kafka_queue_t>,
    client: Client<C>,
    has_group: bool,
    /// Our duplicate of the descriptor librdkafka writes wake-ups to (`io_event_enable`): closed
    /// only after librdkafka stopped writing to it (disabled, or the handle destroyed: field order),
    /// so a number the application closed and reused is never written to.
    wake_fd: parking_lot::Mutex<Option<std::os::fd::OwnedFd>>,
}

// SAFETY: librdkafka handles and queues are thread-safe; rdkafka's Client is Send + Sync and the
// queue reference is only polled and destroyed.
unsafe impl<C: ConsumerEvents> Send for NativeConsumer<C> {}
// SAFETY: see Send.
unsafe impl<C: ConsumerEvents> Sync for NativeConsumer<C> {}

/// Destroys an `rd_kafka_error_t` (if any) and turns it into an error with its code and text.
///
/// # Safety
/// `error` is NULL or an error object the caller owns and hands over.
unsafe fn check_error_object(error: *mut rdsys::rd_kafka_error_t, what: &str) -> NativeResult<()> {
    // SAFETY: NULL or an error object handed over to us (caller's guarantee).
    let Some(error) = (unsafe { NativePtr::from_ptr(error) }) else { return Ok(()) };
    // SAFETY: a valid error object, read before `error` destroys it.
    let info = unsafe { crate::native::error_object(error.ptr(), what) };
    info.map_or(Ok(()), Err)
}

/// The first error librdkafka wrote into a partition list's elements, if any.
fn partition_errors(list: &TopicPartitionList, what: &str) -> NativeResult<()> {
    // SAFETY: `list.ptr()` is the live list owned by `list`, borrowed for the call.
    first_partition_error(&unsafe { read_native_list(list.ptr()) }, what)
}

impl<C: ConsumerEvents> NativeConsumer<C> {
    pub fn new(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        let native_config = config.create_native_config()?;
        // SAFETY: a fresh configuration object that we own until rd_kafka_new takes it; the
        // callbacks are `extern "C"` functions with librdkafka's C signatures (below). The casts
        // only change how the `int`-sized error parameter is typed on the Rust side: same size,
        // same ABI.
        unsafe {
            // The error code parameter is a C enum, passed as an `int`; our callbacks take the
            // `int` (see errors::raw for why), so their pointers are cast to rdkafka-sys's type.
            rdsys::rd_kafka_conf_set_rebalance_cb(
                native_config.ptr(),
                Some(std::mem::transmute::<ListCallback, RespErrListCallback>(rebalance_cb::<C>)),
            );
            rdsys::rd_kafka_conf_set_offset_commit_cb(
                native_config.ptr(),
                Some(std::mem::transmute::<ListCallback, RespErrListCallback>(offset_commit_cb::<C>)),
            );
            rdsys::rd_kafka_conf_set_error_cb(native_config.ptr(), Some(error_cb::<C>));
            rdsys::rd_kafka_conf_set_stats_cb(native_config.ptr(), Some(stats_cb::<C>));
            rdsys::rd_kafka_conf_set_log_cb(native_config.ptr(), Some(log_cb::<C>));
            // Only with a throttle_cb: librdkafka queues throttle reports only when it has one.
            if context.callbacks().wants_throttle() {
                rdsys::rd_kafka_conf_set_throttle_cb(native_config.ptr(), Some(throttle_cb::<C>));
            }
        }
        let client = Client::new(config, native_config, RDKafkaType::RD_KAFKA_CONSUMER, context)?;
        let has_group = config.get("group.id").is_some();
        let native = client.native_ptr();
        // SAFETY: `native` is the live handle just created. With a group.id the main queue (logs,
        // errors, statistics) is redirected to the consumer queue, so one queue serves everything,
        // as in rdkafka's BaseConsumer; either queue call returns a new reference, which `queue` owns.
        let queue = unsafe {
            if has_group {
                rdsys::rd_kafka_poll_set_consumer(native);
                rdsys::rd_kafka_queue_get_consumer(native)
            } else {
                rdsys::rd_kafka_queue_get_main(native)
            }
        };
        // SAFETY: a new queue reference (or NULL), ours to release.
        let queue = unsafe { NativePtr::from_ptr(queue) }
            .ok_or_else(|| KafkaError::ClientCreation("librdkafka gave no consumer queue".into()))?;
        Ok(NativeConsumer { queue, client, has_group, wake_fd: parking_lot::Mutex::new(None) })
    }

    pub fn context(&self) -> &Arc<C> {
        self.client.context()
    }

    /// librdkafka writes one byte to `fd` (the consumer's own descriptor, see `wake_fd`) when its
    /// queue gets something after the application last polled it (`rd_kafka_queue_io_event_enable`);
    /// `None` stops that. For event loops: wait until readable, then poll without waiting.
    pub fn io_event_enable(&self, fd: Option<std::os::fd::OwnedFd>) {
        use std::os::fd::AsRawFd;
        const WAKE: [u8; 1] = [1];
        let raw_fd = fd.as_ref().map_or(-1, |fd| fd.as_raw_fd());
        let mut wake_fd = self.wake_fd.lock();
        // SAFETY: our live queue reference; librdkafka copies the one-byte payload; `raw_fd` is
        // owned by `fd`, kept open (in `wake_fd`) for as long as librdkafka may write to it.
        unsafe { rdsys::rd_kafka_queue_io_event_enable(self.queue.ptr(), raw_fd, WAKE.as_ptr().cast(), WAKE.len()) };
        // The previous descriptor is closed only now that librdkafka writes to the new one (or none).
        *wake_fd = fd;
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_t {
        self.client.native_ptr()
    }

    /// rdkafka's client, on which the native layer sends requests (`native::admin::RequestQueue`)
    /// and which a `LiveHandle` lends (tokens from oauth_cb, metadata).
    pub fn client(&self) -> &Client<C> {
        &self.client
    }

    /// The handle, lent for a rebalance's calls (see [`ConsumerRef`]).
    pub fn consumer_ref(&self) -> ConsumerRef<'_> {
        ConsumerRef { rk: self.ptr(), _handle: PhantomData }
    }

    /// Fills `messages` with up to its length of messages (waiting up to `timeout` for all of
    /// them), serving callbacks on the way; returns how many, each written to the first elements
    /// of `messages`. The caller owns (and must destroy) each message returned. Call without the
    /// GIL.
    fn consume_batch(&self, timeout: Duration, messages: &mut [MaybeUninit<*mut rdsys::rd_kafka_message_t>]) -> usize {
        let timeout_ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: the queue lives as long as `self`; librdkafka writes at most `messages.len()`
        // message pointers (`MaybeUninit<T>` has `T`'s layout), which it hands over to us, and
        // returns how many (or -1).
        let n = unsafe {
            rdsys::rd_kafka_consume_batch_queue(
                self.queue.ptr(),
                timeout_ms,
                messages.as_mut_ptr().cast(),
                messages.len(),
            )
        };
        usize::try_from(n).unwrap_or(0).min(messages.len())
    }

    /// Takes up to `room` (at most [`MAX_BATCH`]) messages from the consumer that `source` owns
    /// (`consumer` finds it there), waiting up to `timeout` for all of them, serving callbacks on
    /// the way, and hands each to `each` in order: a message, which holds `source` (so the handle
    /// outlives it, as librdkafka requires), or a consumer error. Returns how many entries there
    /// were. Call without the GIL.
    pub fn consume<S: MessageSource + 'static>(
        source: &Arc<S>,
        consumer: fn(&S) -> &Self,
        timeout: Duration,
        room: usize,
        mut each: impl FnMut(Consumed),
    ) -> usize {
        let mut batch = [const { MaybeUninit::<*mut rdsys::rd_kafka_message_t>::uninit() }; MAX_BATCH];
        let n = consumer(source).consume_batch(timeout, &mut batch[..room.min(MAX_BATCH)]);
        for slot in &batch[..n] {
            // SAFETY: librdkafka wrote the first `n` pointers (consume_batch).
            let Some(message) = NonNull::new(unsafe { slot.assume_init() }) else { continue };
            // SAFETY: handed over to us by the handle of `consumer(source)`, live until destroyed.
            // That handle lives as long as `source`, which each message holds: it is reached
            // through a shared reference to what `source` owns (as for `LiveHandle::kept`).
            each(unsafe { take_consumed(source.clone(), message) });
        }
        n
    }

    /// [`consume`](Self::consume) for `consume_batch()`: librdkafka writes the message pointers
    /// straight into `batch` (no `NativeMessage`, no `Arc` of the handle per message); the error
    /// entries among them are read, destroyed and handed to `error` with the number of messages
    /// before them in `batch`. `batch` holds `source`'s handle. Returns how many entries there were.
    /// Call without the GIL.
    pub fn consume_into<S: MessageSource + 'static>(
        source: &Arc<S>,
        consumer: fn(&S) -> &Self,
        timeout: Duration,
        room: usize,
        batch: &mut NativeBatch,
        mut error: impl FnMut(usize, ConsumeError),
    ) -> usize {
        if !batch.is_of(&**source) {
            if !batch.is_empty() {
                return 0; // another handle's messages: never mixed
            }
            *batch = NativeBatch::new(source.clone(), room);
        }
        let before = batch.len();
        let slots = batch.spare(room.min(MAX_BATCH));
        let n = consumer(source).consume_batch(timeout, slots);
        let mut kept = 0;
        for i in 0..n {
            // SAFETY: librdkafka wrote the first `n` pointers (consume_batch).
            let message = unsafe { slots[i].assume_init() };
            let Some(message) = NonNull::new(message) else { continue };
            // SAFETY: a live message handed over to us.
            if unsafe { raw::message_error(message.as_ptr()) } == 0 {
                slots[kept].write(message.as_ptr());
                kept += 1;
            } else {
                // SAFETY: an error entry handed over to us by the handle `source` keeps alive.
                error(before + kept, unsafe { consume_error(message) });
            }
        }
        // SAFETY: the first `kept` slots hold non-null, error-free messages of the handle `batch`
        // holds (the caller passes a batch of `source`), handed over to us.
        unsafe { batch.commit(kept) };
        n
    }

    /// Subscribes to `topics` (names already checked: no NUL, none too long).
    pub fn subscribe(&self, topics: &[&str]) -> NativeResult<()> {
        let mut list = TopicPartitionList::new();
        for topic in topics {
            list.add_topic_unassigned(topic);
        }
        // SAFETY: our live handle and a valid list, which librdkafka copies.
        check(unsafe { raw::rd_kafka_subscribe(self.ptr(), list.ptr()) }, "subscribe failed")
    }

    pub fn unsubscribe(&self) -> NativeResult<()> {
        // SAFETY: our live handle.
        check(unsafe { raw::rd_kafka_unsubscribe(self.ptr()) }, "unsubscribe failed")
    }

    pub fn assign(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list, which librdkafka copies.
        check(unsafe { raw::rd_kafka_assign(self.ptr(), list.ptr()) }, "assign failed")
    }

    /// Drops the whole assignment (`rd_kafka_assign` with NULL).
    pub fn unassign(&self) -> NativeResult<()> {
        // SAFETY: our live handle; NULL means "no assignment".
        check(unsafe { raw::rd_kafka_assign(self.ptr(), ptr::null()) }, "unassign failed")
    }

    /// The group member id librdkafka holds (None when not a member).
    pub fn member_id(&self) -> Option<String> {
        // SAFETY: our live handle; rd_kafka_memberid returns NULL or a string that the caller
        // owns and frees with rd_kafka_mem_free, done right after it was copied.
        unsafe {
            let id = rdsys::rd_kafka_memberid(self.ptr());
            if id.is_null() {
                return None;
            }
            let copied = raw::lossy(id);
            rdsys::rd_kafka_mem_free(self.ptr(), id.cast());
            copied.filter(|id| !id.is_empty())
        }
    }

    pub fn incremental_assign(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list; the error object (if any) is handed to us.
        unsafe {
            check_error_object(rdsys::rd_kafka_incremental_assign(self.ptr(), list.ptr()), "incremental_assign failed")
        }
    }

    pub fn incremental_unassign(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: as for incremental_assign.
        unsafe {
            check_error_object(
                rdsys::rd_kafka_incremental_unassign(self.ptr(), list.ptr()),
                "incremental_unassign failed",
            )
        }
    }

    /// The current assignment.
    pub fn assignment(&self) -> NativeResult<Vec<TopicPartition>> {
        let mut list = ptr::null_mut();
        // SAFETY: our live handle; on success librdkafka gives us a list that we own.
        check(unsafe { raw::rd_kafka_assignment(self.ptr(), &mut list) }, "assignment failed")?;
        // SAFETY: the list (or NULL) is ours: read, then destroyed once.
        unsafe {
            let partitions = read_native_list(list);
            if !list.is_null() {
                rdsys::rd_kafka_topic_partition_list_destroy(list);
            }
            Ok(partitions)
        }
    }

    /// Fills in the fetch positions of `list`.
    pub fn position(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list we own; librdkafka only writes offsets into it.
        check(unsafe { raw::rd_kafka_position(self.ptr(), list.ptr()) }, "position failed")
    }

    /// Commits `list` (NULL: the stored offsets). Asynchronously, the result goes to the offset
    /// commit callback (`on_commit`); synchronously this waits for the broker: call it through
    /// `blocking::run_in_chunks`.
    pub fn commit(&self, list: &TopicPartitionList, asynchronous: bool) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list, which librdkafka copies.
        let code = unsafe { raw::rd_kafka_commit(self.ptr(), list.ptr(), c_int::from(asynchronous)) };
        check(code, "commit failed")?;
        partition_errors(list, "commit failed")
    }

    pub fn store_offsets(&self, list: &TopicPartitionList) -> NativeResult<()> {
        self.consumer_ref().store_offsets(list)
    }

    /// Waits up to `timeout_ms` (-1: forever) for the seek to be applied.
    pub fn seek(&self, list: &TopicPartitionList, timeout_ms: c_int) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list we own (librdkafka writes per-partition errors
        // into it); the error object (if any) is handed to us.
        unsafe {
            check_error_object(rdsys::rd_kafka_seek_partitions(self.ptr(), list.ptr(), timeout_ms), "seek failed")?
        };
        if timeout_ms != 0 {
            return partition_errors(list, "seek failed");
        }
        // Without a wait librdkafka only starts each seek and marks the partitions it started
        // with _IN_PROGRESS: that is success here.
        const IN_PROGRESS: c_int = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__IN_PROGRESS as c_int;
        // SAFETY: `list.ptr()` is the live list owned by `list`, borrowed for the call.
        let mut partitions = unsafe { read_native_list(list.ptr()) };
        partitions.retain(|tp| tp.error_code != IN_PROGRESS);
        first_partition_error(&partitions, "seek failed")
    }

    pub fn pause(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list we own; librdkafka writes per-partition errors.
        check(unsafe { raw::rd_kafka_pause_partitions(self.ptr(), list.ptr()) }, "pause failed")?;
        partition_errors(list, "pause failed")
    }

    pub fn resume(&self, list: &TopicPartitionList) -> NativeResult<()> {
        // SAFETY: as for pause.
        check(unsafe { raw::rd_kafka_resume_partitions(self.ptr(), list.ptr()) }, "resume failed")?;
        partition_errors(list, "resume failed")
    }

    pub fn committed_offsets(&self, list: &TopicPartitionList, timeout_ms: c_int) -> NativeResult<()> {
        // SAFETY: our live handle and a valid list we own; librdkafka writes offsets into it.
        check(unsafe { raw::rd_kafka_committed(self.ptr(), list.ptr(), timeout_ms) }, "committed failed")
    }

    pub fn offsets_for_times(&self, list: &TopicPartitionList, timeout_ms: c_int) -> NativeResult<()> {
        // SAFETY: as for committed_offsets.
        check(
            unsafe { raw::rd_kafka_offsets_for_times(self.ptr(), list.ptr(), timeout_ms) },
            "offsets_for_times failed",
        )
    }

    /// (low, high) watermarks of a partition, asked of its leader.
    pub fn fetch_watermarks(&self, topic: &CStr, partition: i32, timeout_ms: c_int) -> NativeResult<(i64, i64)> {
        let (mut low, mut high) = (-1, -1);
        // SAFETY: our live handle, a NUL-terminated name and two out-parameters.
        let code = unsafe {
            raw::rd_kafka_query_watermark_offsets(
                self.ptr(),
                topic.as_ptr(),
                partition,
                &mut low,
                &mut high,
                timeout_ms,
            )
        };
        check(code, "get_watermark_offsets failed").map(|()| (low, high))
    }

    pub fn group_metadata(&self) -> Option<GroupMetadata> {
        // SAFETY: our live handle; returns a new object (NULL without a group) that we own.
        unsafe { NativePtr::from_ptr(rdsys::rd_kafka_consumer_group_metadata(self.ptr())) }.map(GroupMetadata)
    }

    /// Starts leaving the group; poll until [`closed`](Self::closed) to serve the revocation.
    pub fn close_queue(&self) -> NativeResult<()> {
        // SAFETY: our live handle and queue; the error object (if any) is handed to us.
        unsafe {
            check_error_object(rdsys::rd_kafka_consumer_close_queue(self.ptr(), self.queue.ptr()), "close failed")
        }
    }

    pub fn closed(&self) -> bool {
        // SAFETY: our live handle.
        unsafe { rdsys::rd_kafka_consumer_closed(self.ptr()) == 1 }
    }

    pub fn has_group(&self) -> bool {
        self.has_group
    }

    /// Polls once for up to `timeout` and destroys what arrived (for closing).
    pub fn serve_and_discard(&self, timeout: Duration) {
        let mut messages = [const { MaybeUninit::<*mut rdsys::rd_kafka_message_t>::uninit() }; 64];
        let n = self.consume_batch(timeout, &mut messages);
        for slot in &messages[..n] {
            // SAFETY: librdkafka wrote the first `n` pointers, each handed to us by
            // rd_kafka_consume_batch_queue; destroyed once.
            unsafe { rdsys::rd_kafka_message_destroy(slot.assume_init()) };
        }
    }
}

/// One consumed entry, taken over: a message of `source`'s handle, or the error it carries (read,
/// then the message destroyed).
///
/// # Safety
/// `message` was handed over to us by the handle that `source` keeps alive, and is live.
unsafe fn take_consumed<S: MessageSource + 'static>(
    source: Arc<S>,
    message: NonNull<rdsys::rd_kafka_message_t>,
) -> Consumed {
    // SAFETY: a live message (the caller's guarantee).
    let code = unsafe { raw::message_error(message.as_ptr()) };
    if code == 0 {
        // SAFETY: an error-free message of `source`'s handle, handed over (the caller's guarantee).
        return Consumed::Message(unsafe { NativeMessage::from_consumed(source, message) });
    }
    // SAFETY: the caller's guarantee.
    Consumed::Error(unsafe { consume_error(message) })
}

/// Reads the error an error entry carries and destroys the entry.
///
/// # Safety
/// `message` is a live error entry handed over to us by a handle that is alive.
unsafe fn consume_error(message: NonNull<rdsys::rd_kafka_message_t>) -> ConsumeError {
    // SAFETY: a live message (the caller's guarantee).
    let code = unsafe { raw::message_error(message.as_ptr()) };
    let end = code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF as c_int;
    // SAFETY: the live message's fields, the name of its topic handle (owned by the consumer
    // handle, which `source` keeps alive) and its error string (owned by the message), copied
    // before the message is destroyed, once: it is ours (the caller's guarantee).
    unsafe {
        let raw_message = message.as_ptr();
        let topic = if (*raw_message).rkt.is_null() {
            None
        } else {
            raw::lossy(rdsys::rd_kafka_topic_name((*raw_message).rkt))
        };
        let detail = if end { None } else { raw::lossy(rdsys::rd_kafka_message_errstr(raw_message)) };
        let error = ConsumeError {
            code,
            topic: topic.unwrap_or_default(),
            partition: (*raw_message).partition,
            offset: (*raw_message).offset,
            detail,
        };
        rdsys::rd_kafka_message_destroy(raw_message);
        error
    }
}

impl<C: ConsumerEvents> Drop for NativeConsumer<C> {
    /// Leaves the group (serving the revocation, without Python by now) before the handle goes, as
    /// rdkafka's BaseConsumer does. Runs on a background thread (ConsumerCore's Drop).
    fn drop(&mut self) {
        if self.has_group && !self.closed() && self.close_queue().is_ok() {
            while !self.closed() {
                self.serve_and_discard(Duration::from_millis(100));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// librdkafka's callbacks. Each reaches the context through the opaque pointer rdkafka's Client set
// (`Arc::as_ptr` of the context it keeps for the handle's whole life) and never unwinds into C.

/// The rebalance and offset commit callbacks as librdkafka calls them (error code as `int`)...
type ListCallback =
    unsafe extern "C" fn(*mut rdsys::rd_kafka_t, c_int, *mut rdsys::rd_kafka_topic_partition_list_t, *mut c_void);
/// ... and as rdkafka-sys declares them (error code as its Rust enum).
type RespErrListCallback = unsafe extern "C" fn(
    *mut rdsys::rd_kafka_t,
    rdsys::rd_kafka_resp_err_t,
    *mut rdsys::rd_kafka_topic_partition_list_t,
    *mut c_void,
);

unsafe extern "C" fn rebalance_cb<C: ConsumerEvents>(
    rk: *mut rdsys::rd_kafka_t,
    code: c_int,
    partitions: *mut rdsys::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    // librdkafka passes our live handle and its list, valid for this call: lent for it.
    let rebalance = Rebalance { consumer: ConsumerRef { rk, _handle: PhantomData }, code, list: partitions };
    // SAFETY: librdkafka passes the opaque of our live handle.
    guarded(|| unsafe { context::<C>(opaque) }.rebalance(rebalance));
}

unsafe extern "C" fn offset_commit_cb<C: ConsumerEvents>(
    _rk: *mut rdsys::rd_kafka_t,
    code: c_int,
    offsets: *mut rdsys::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    guarded(|| {
        let error = (code != 0).then(|| KafkaErrorInfo::from_raw(code, "commit failed", None));
        // SAFETY: the list (or NULL) is valid for this call; our opaque.
        let offsets = unsafe { read_native_list(offsets) };
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context::<C>(opaque) }.callbacks().commit_result(error, offsets);
    });
}

unsafe extern "C" fn error_cb<C: ConsumerEvents>(
    rk: *mut rdsys::rd_kafka_t,
    err: c_int,
    reason: *const c_char,
    opaque: *mut c_void,
) {
    guarded(|| {
        // SAFETY: librdkafka's reason string, valid for this call; our handle and opaque.
        let mut detail = unsafe { raw::lossy(reason) };
        let mut code = err;
        let fatal = err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FATAL as c_int;
        if fatal {
            // The underlying error of a fatal one.
            let mut buf = [0 as c_char; 512];
            // SAFETY: our live handle and a buffer of the given size, NUL-terminated by librdkafka.
            code = unsafe { raw::rd_kafka_fatal_error(rk, buf.as_mut_ptr(), buf.len()) };
            // SAFETY: the buffer is ours and NUL-terminated (zeroed, and librdkafka terminates).
            detail = unsafe { raw::lossy(buf.as_ptr()) };
        }
        let mut info =
            KafkaErrorInfo::from_raw(code, if fatal { "fatal consumer error" } else { "consumer error" }, detail);
        info.fatal |= fatal;
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context::<C>(opaque) }.consumer_error(info);
    });
}
