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
//! the GIL released; they reach the [`CoreContext`] through librdkafka's opaque pointer, which
//! rdkafka's `Client` sets to its context.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::metadata::Metadata;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaType};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, ClientContext as _, TopicPartitionList};

use crate::callbacks::log_level_of_syslog;
use crate::consumer::core::CoreContext;
use crate::errors::{raw, KafkaErrorInfo};
use crate::topic_partition::{read_native_list, TopicPartition};

/// Our reference to the queue messages come from: the consumer queue (to which the main queue is
/// redirected) with a group, the main queue without.
struct QueueRef(NonNull<rdsys::rd_kafka_queue_t>);

impl Drop for QueueRef {
    fn drop(&mut self) {
        // SAFETY: we own this reference (from rd_kafka_queue_get_*) and release it exactly once,
        // before the handle is destroyed (NativeConsumer's field order).
        unsafe { rdsys::rd_kafka_queue_destroy(self.0.as_ptr()) };
    }
}

/// The group's identity, for a transactional producer's `send_offsets_to_transaction`.
pub struct GroupMetadata(NonNull<rdsys::rd_kafka_consumer_group_metadata_t>);

// SAFETY: an immutable librdkafka object, only read (by rd_kafka_send_offsets_to_transaction) and
// destroyed once.
unsafe impl Send for GroupMetadata {}
// SAFETY: see Send.
unsafe impl Sync for GroupMetadata {}

impl GroupMetadata {
    pub fn ptr(&self) -> *mut rdsys::rd_kafka_consumer_group_metadata_t {
        self.0.as_ptr()
    }
}

impl Drop for GroupMetadata {
    fn drop(&mut self) {
        // SAFETY: ours, from rd_kafka_consumer_group_metadata, destroyed exactly once.
        unsafe { rdsys::rd_kafka_consumer_group_metadata_destroy(self.0.as_ptr()) };
    }
}

/// A librdkafka consumer handle with callbacks instead of events.
pub struct NativeConsumer {
    // Field order is drop order: our queue reference goes before the handle.
    queue: QueueRef,
    client: Client<CoreContext>,
    has_group: bool,
}

// SAFETY: librdkafka handles and queues are thread-safe; rdkafka's Client is Send + Sync and the
// queue reference is only polled and destroyed.
unsafe impl Send for NativeConsumer {}
// SAFETY: see Send.
unsafe impl Sync for NativeConsumer {}

/// rdkafka's timeout as librdkafka's milliseconds (-1: forever).
fn timeout_ms(timeout: Timeout) -> i32 {
    match timeout {
        Timeout::Never => -1,
        Timeout::After(d) => i32::try_from(d.as_millis()).unwrap_or(i32::MAX),
    }
}

/// `Err(make(description))` for a failed `rd_kafka_resp_err_t`, as rdkafka's BaseConsumer does.
fn check(code: rdsys::rd_kafka_resp_err_t, make: impl FnOnce(String) -> KafkaError) -> KafkaResult<()> {
    if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    // SAFETY: rd_kafka_err2str returns a static string for every code.
    Err(make(unsafe { CStr::from_ptr(rdsys::rd_kafka_err2str(code)) }.to_string_lossy().into_owned()))
}

/// `Ok(value)`, or `Err(make(code))` for a failed `rd_kafka_resp_err_t`.
fn or_code<T>(code: rdsys::rd_kafka_resp_err_t, value: T, make: impl FnOnce(RDKafkaErrorCode) -> KafkaError) -> KafkaResult<T> {
    if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        Ok(value)
    } else {
        Err(make(code.into()))
    }
}

/// Destroys an `rd_kafka_error_t` (if any) and turns it into `make(its name)`.
///
/// # Safety
/// `error` is NULL or an error object the caller owns and hands over.
unsafe fn check_error_object(error: *mut rdsys::rd_kafka_error_t, make: impl FnOnce(String) -> KafkaError) -> KafkaResult<()> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: a valid error object we own (caller's guarantee), read, then destroyed once.
    let name = unsafe {
        let name = raw::lossy(rdsys::rd_kafka_error_name(error)).unwrap_or_default();
        rdsys::rd_kafka_error_destroy(error);
        name
    };
    Err(make(name))
}

impl NativeConsumer {
    pub fn new(config: &ClientConfig, context: CoreContext) -> KafkaResult<Self> {
        let native_config = config.create_native_config()?;
        // SAFETY: a fresh configuration object that we own until rd_kafka_new takes it; the
        // callbacks are `extern "C"` functions with librdkafka's C signatures (below). The casts
        // only change how the `int`-sized error parameter is typed on the Rust side: same size,
        // same ABI.
        unsafe {
            // The error code parameter is a C enum, passed as an `int`; our callbacks take the
            // `int` (see errors::raw for why), so their pointers are cast to rdkafka-sys's type.
            rdsys::rd_kafka_conf_set_rebalance_cb(native_config.ptr(), Some(std::mem::transmute::<ListCallback, RespErrListCallback>(rebalance_cb)));
            rdsys::rd_kafka_conf_set_offset_commit_cb(native_config.ptr(), Some(std::mem::transmute::<ListCallback, RespErrListCallback>(offset_commit_cb)));
            rdsys::rd_kafka_conf_set_error_cb(native_config.ptr(), Some(error_cb));
            rdsys::rd_kafka_conf_set_stats_cb(native_config.ptr(), Some(stats_cb));
            rdsys::rd_kafka_conf_set_log_cb(native_config.ptr(), Some(log_cb));
        }
        let client = Client::new(config, native_config, RDKafkaType::RD_KAFKA_CONSUMER, context)?;
        let has_group = config.get("group.id").is_some();
        let native = client.native_ptr();
        // SAFETY: `native` is the live handle just created. With a group.id the main queue (logs,
        // errors, statistics) is redirected to the consumer queue, so one queue serves everything,
        // as in rdkafka's BaseConsumer; either queue call returns a new reference for QueueRef.
        let queue = unsafe {
            if has_group {
                rdsys::rd_kafka_poll_set_consumer(native);
                rdsys::rd_kafka_queue_get_consumer(native)
            } else {
                rdsys::rd_kafka_queue_get_main(native)
            }
        };
        let queue = NonNull::new(queue).ok_or_else(|| KafkaError::ClientCreation("librdkafka gave no consumer queue".into()))?;
        Ok(NativeConsumer { queue: QueueRef(queue), client, has_group })
    }

    pub fn context(&self) -> &CoreContext {
        self.client.context()
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_t {
        self.client.native_ptr()
    }

    /// Fills `messages` with up to its length of messages (waiting up to `timeout` for all of
    /// them), serving callbacks on the way; returns how many. The caller owns (and must destroy)
    /// each message returned. Call without the GIL.
    pub fn consume_batch(&self, timeout: Duration, messages: &mut [*mut rdsys::rd_kafka_message_t]) -> usize {
        let timeout_ms = timeout_ms(Timeout::After(timeout));
        // SAFETY: the queue lives as long as `self`; librdkafka writes at most `messages.len()`
        // message pointers, which it hands over to us.
        let n = unsafe { rdsys::rd_kafka_consume_batch_queue(self.queue.0.as_ptr(), timeout_ms, messages.as_mut_ptr(), messages.len()) };
        usize::try_from(n).unwrap_or(0)
    }

    pub fn subscribe(&self, topics: &[&str]) -> KafkaResult<()> {
        let mut list = TopicPartitionList::new();
        for topic in topics {
            list.add_topic_unassigned(topic);
        }
        // SAFETY: our live handle and a valid list, which librdkafka copies.
        check(unsafe { rdsys::rd_kafka_subscribe(self.ptr(), list.ptr()) }, KafkaError::Subscription)
    }

    pub fn unsubscribe(&self) {
        // SAFETY: our live handle.
        unsafe { rdsys::rd_kafka_unsubscribe(self.ptr()) };
    }

    pub fn assign(&self, list: &TopicPartitionList) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list, which librdkafka copies.
        check(unsafe { rdsys::rd_kafka_assign(self.ptr(), list.ptr()) }, KafkaError::Subscription)
    }

    pub fn incremental_assign(&self, list: &TopicPartitionList) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list; the error object (if any) is handed to us.
        unsafe { check_error_object(rdsys::rd_kafka_incremental_assign(self.ptr(), list.ptr()), KafkaError::Subscription) }
    }

    pub fn incremental_unassign(&self, list: &TopicPartitionList) -> KafkaResult<()> {
        // SAFETY: as for incremental_assign.
        unsafe { check_error_object(rdsys::rd_kafka_incremental_unassign(self.ptr(), list.ptr()), KafkaError::Subscription) }
    }

    /// The current assignment.
    pub fn assignment(&self) -> KafkaResult<Vec<TopicPartition>> {
        let mut list = ptr::null_mut();
        // SAFETY: our live handle; on success librdkafka gives us a list that we read and destroy.
        unsafe {
            or_code(rdsys::rd_kafka_assignment(self.ptr(), &mut list), (), KafkaError::MetadataFetch)?;
            let partitions = read_native_list(list).into_iter().map(|(tp, _)| tp).collect();
            if !list.is_null() {
                rdsys::rd_kafka_topic_partition_list_destroy(list);
            }
            Ok(partitions)
        }
    }

    /// Fills in the fetch positions of `list`.
    pub fn position(&self, list: &TopicPartitionList) -> rdsys::rd_kafka_resp_err_t {
        // SAFETY: our live handle and a valid list we own; librdkafka only writes offsets into it.
        unsafe { rdsys::rd_kafka_position(self.ptr(), list.ptr()) }
    }

    /// Commits `list`; asynchronously, the result goes to the offset commit callback (`on_commit`).
    pub fn commit(&self, list: &TopicPartitionList, asynchronous: bool) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list, which librdkafka copies.
        let code = unsafe { rdsys::rd_kafka_commit(self.ptr(), list.ptr(), c_int::from(asynchronous)) };
        or_code(code, (), KafkaError::ConsumerCommit)
    }

    pub fn store_offsets(&self, list: &TopicPartitionList) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list.
        let code = unsafe { rdsys::rd_kafka_offsets_store(self.ptr(), list.ptr()) };
        or_code(code, (), KafkaError::StoreOffset)
    }

    pub fn seek(&self, list: &TopicPartitionList, timeout: Timeout) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list we own (librdkafka writes per-partition errors
        // into it); the error object (if any) is handed to us.
        unsafe { check_error_object(rdsys::rd_kafka_seek_partitions(self.ptr(), list.ptr(), timeout_ms(timeout)), KafkaError::Seek) }
    }

    pub fn pause(&self, list: &TopicPartitionList) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list we own.
        check(unsafe { rdsys::rd_kafka_pause_partitions(self.ptr(), list.ptr()) }, KafkaError::PauseResume)
    }

    pub fn resume(&self, list: &TopicPartitionList) -> KafkaResult<()> {
        // SAFETY: our live handle and a valid list we own.
        check(unsafe { rdsys::rd_kafka_resume_partitions(self.ptr(), list.ptr()) }, KafkaError::PauseResume)
    }

    pub fn committed_offsets(&self, list: TopicPartitionList, timeout: Timeout) -> KafkaResult<TopicPartitionList> {
        // SAFETY: our live handle and a valid list we own; librdkafka writes offsets into it.
        let code = unsafe { rdsys::rd_kafka_committed(self.ptr(), list.ptr(), timeout_ms(timeout)) };
        or_code(code, list, KafkaError::MetadataFetch)
    }

    pub fn offsets_for_times(&self, list: TopicPartitionList, timeout: Timeout) -> KafkaResult<TopicPartitionList> {
        // SAFETY: as for committed_offsets.
        let code = unsafe { rdsys::rd_kafka_offsets_for_times(self.ptr(), list.ptr(), timeout_ms(timeout)) };
        or_code(code, list, KafkaError::MetadataFetch)
    }

    pub fn fetch_metadata(&self, topic: Option<&str>, timeout: Timeout) -> KafkaResult<Metadata> {
        self.client.fetch_metadata(topic, timeout)
    }

    pub fn fetch_watermarks(&self, topic: &str, partition: i32, timeout: Timeout) -> KafkaResult<(i64, i64)> {
        self.client.fetch_watermarks(topic, partition, timeout)
    }

    pub fn group_metadata(&self) -> Option<GroupMetadata> {
        // SAFETY: our live handle; returns a new object (NULL without a group) that we own.
        NonNull::new(unsafe { rdsys::rd_kafka_consumer_group_metadata(self.ptr()) }).map(GroupMetadata)
    }

    /// Starts leaving the group; poll until [`closed`](Self::closed) to serve the revocation.
    pub fn close_queue(&self) -> KafkaResult<()> {
        // SAFETY: our live handle and queue; the error object (if any) is handed to us.
        unsafe { check_error_object(rdsys::rd_kafka_consumer_close_queue(self.ptr(), self.queue.0.as_ptr()), |_| KafkaError::Canceled) }
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
        let mut messages = [ptr::null_mut(); 64];
        let n = self.consume_batch(timeout, &mut messages);
        for &message in &messages[..n] {
            // SAFETY: handed to us by rd_kafka_consume_batch_queue; destroyed once.
            unsafe { rdsys::rd_kafka_message_destroy(message) };
        }
    }
}

impl Drop for NativeConsumer {
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

/// The context behind librdkafka's opaque pointer.
///
/// # Safety
/// `opaque` is the opaque of one of our consumer handles, which is alive (librdkafka only calls
/// back while it is).
unsafe fn context<'a>(opaque: *mut c_void) -> &'a CoreContext {
    // SAFETY: the caller's guarantee: the pointer is rdkafka's Arc<CoreContext>, alive.
    unsafe { &*(opaque as *const CoreContext) }
}

/// Runs `f`, swallowing a panic (it must not cross into C; there is nobody to report it to).
fn guarded(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// The rebalance and offset commit callbacks as librdkafka calls them (error code as `int`)...
type ListCallback = unsafe extern "C" fn(*mut rdsys::rd_kafka_t, c_int, *mut rdsys::rd_kafka_topic_partition_list_t, *mut c_void);
/// ... and as rdkafka-sys declares them (error code as its Rust enum).
type RespErrListCallback =
    unsafe extern "C" fn(*mut rdsys::rd_kafka_t, rdsys::rd_kafka_resp_err_t, *mut rdsys::rd_kafka_topic_partition_list_t, *mut c_void);

unsafe extern "C" fn rebalance_cb(
    rk: *mut rdsys::rd_kafka_t,
    code: c_int,
    partitions: *mut rdsys::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    // SAFETY: librdkafka passes our live handle, its list and our opaque for this call.
    guarded(|| unsafe { context(opaque) }.rebalance(rk, code, partitions));
}

unsafe extern "C" fn offset_commit_cb(
    _rk: *mut rdsys::rd_kafka_t,
    code: c_int,
    offsets: *mut rdsys::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    guarded(|| {
        let error = (code != 0).then(|| KafkaErrorInfo::from_raw(code, "commit failed", None));
        // SAFETY: the list (or NULL) is valid for this call; our opaque.
        let offsets = unsafe { read_native_list(offsets) }.into_iter().map(|(tp, _)| tp).collect();
        unsafe { context(opaque) }.callbacks.commit_result(error, offsets);
    });
}

unsafe extern "C" fn error_cb(rk: *mut rdsys::rd_kafka_t, err: c_int, reason: *const c_char, opaque: *mut c_void) {
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
            detail = unsafe { raw::lossy(buf.as_ptr()) };
        }
        let mut info = KafkaErrorInfo::from_raw(code, if fatal { "fatal consumer error" } else { "consumer error" }, detail);
        info.fatal |= fatal;
        unsafe { context(opaque) }.consumer_error(info);
    });
}

unsafe extern "C" fn stats_cb(_rk: *mut rdsys::rd_kafka_t, json: *mut c_char, len: usize, opaque: *mut c_void) -> c_int {
    guarded(|| {
        if !json.is_null() {
            // SAFETY: `len` bytes of JSON owned by librdkafka for this call (returning 0 keeps it
            // librdkafka's to free).
            let bytes = unsafe { std::slice::from_raw_parts(json as *const u8, len) };
            unsafe { context(opaque) }.stats_raw(bytes);
        }
    });
    0
}

unsafe extern "C" fn log_cb(rk: *const rdsys::rd_kafka_t, level: c_int, facility: *const c_char, message: *const c_char) {
    guarded(|| {
        // SAFETY: our live handle (its opaque is our context); strings valid for this call.
        let (opaque, facility, message) = unsafe { (rdsys::rd_kafka_opaque(rk), raw::lossy(facility), raw::lossy(message)) };
        if !opaque.is_null() {
            unsafe { context(opaque) }.log(
                log_level_of_syslog(level),
                facility.unwrap_or_default().trim(),
                message.unwrap_or_default().trim(),
            );
        }
    });
}
