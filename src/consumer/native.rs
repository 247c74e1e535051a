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
use std::ptr;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaType;
use rdkafka::{ClientConfig, ClientContext as _, TopicPartitionList};

use crate::consumer::core::CoreContext;
use crate::errors::{check, KafkaErrorInfo, NativeResult};
use crate::ffi::{self as raw, NativePtr};
use crate::native::partitions::read_native_list;
use crate::topic_partition::{first_partition_error, TopicPartition};

/// The group's identity, for a transactional producer's `send_offsets_to_transaction`.
pub struct GroupMetadata(NativePtr<rdsys::rd_kafka_consumer_group_metadata_t>);

impl GroupMetadata {
    pub fn native(&self) -> &NativePtr<rdsys::rd_kafka_consumer_group_metadata_t> {
        &self.0
    }
}

/// A librdkafka consumer handle with callbacks instead of events.
pub struct NativeConsumer {
    // Field order is drop order: our queue reference goes before the handle.
    /// Our reference to the queue messages come from: the consumer queue (to which the main queue
    /// is redirected) with a group, the main queue without. Released before the handle is
    /// destroyed (field order).
    queue: NativePtr<rdsys::rd_kafka_queue_t>,
    client: Client<CoreContext>,
    has_group: bool,
    /// Our duplicate of the descriptor librdkafka writes wake-ups to (`io_event_enable`): closed
    /// only after librdkafka stopped writing to it (disabled, or the handle destroyed: field order),
    /// so a number the application closed and reused is never written to.
    wake_fd: parking_lot::Mutex<Option<std::os::fd::OwnedFd>>,
}

// SAFETY: librdkafka handles and queues are thread-safe; rdkafka's Client is Send + Sync and the
// queue reference is only polled and destroyed.
unsafe impl Send for NativeConsumer {}
// SAFETY: see Send.
unsafe impl Sync for NativeConsumer {}

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
            rdsys::rd_kafka_conf_set_rebalance_cb(
                native_config.ptr(),
                Some(std::mem::transmute::<ListCallback, RespErrListCallback>(rebalance_cb)),
            );
            rdsys::rd_kafka_conf_set_offset_commit_cb(
                native_config.ptr(),
                Some(std::mem::transmute::<ListCallback, RespErrListCallback>(offset_commit_cb)),
            );
            rdsys::rd_kafka_conf_set_error_cb(native_config.ptr(), Some(error_cb));
            rdsys::rd_kafka_conf_set_stats_cb(native_config.ptr(), Some(stats_cb));
            rdsys::rd_kafka_conf_set_log_cb(native_config.ptr(), Some(log_cb));
            // Only with a throttle_cb: librdkafka queues throttle reports only when it has one.
            if context.callbacks.wants_throttle() {
                rdsys::rd_kafka_conf_set_throttle_cb(native_config.ptr(), Some(throttle_cb));
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

    pub fn context(&self) -> &std::sync::Arc<CoreContext> {
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

    /// rdkafka's client, on which the native layer sends requests (`native::admin::RequestQueue`).
    pub fn client(&self) -> &Client<CoreContext> {
        &self.client
    }

    /// The librdkafka handle, for calls made elsewhere (tokens from oauth_cb).
    pub fn native_ptr(&self) -> *mut rdsys::rd_kafka_t {
        self.ptr()
    }

    /// Fills `messages` with up to its length of messages (waiting up to `timeout` for all of
    /// them), serving callbacks on the way; returns how many. The caller owns (and must destroy)
    /// each message returned. Call without the GIL.
    pub fn consume_batch(&self, timeout: Duration, messages: &mut [*mut rdsys::rd_kafka_message_t]) -> usize {
        let timeout_ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: the queue lives as long as `self`; librdkafka writes at most `messages.len()`
        // message pointers, which it hands over to us.
        let n = unsafe {
            rdsys::rd_kafka_consume_batch_queue(self.queue.ptr(), timeout_ms, messages.as_mut_ptr(), messages.len())
        };
        usize::try_from(n).unwrap_or(0)
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
        // SAFETY: our live handle and a valid list.
        check(unsafe { raw::rd_kafka_offsets_store(self.ptr(), list.ptr()) }, "store_offsets failed")
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
type ListCallback =
    unsafe extern "C" fn(*mut rdsys::rd_kafka_t, c_int, *mut rdsys::rd_kafka_topic_partition_list_t, *mut c_void);
/// ... and as rdkafka-sys declares them (error code as its Rust enum).
type RespErrListCallback = unsafe extern "C" fn(
    *mut rdsys::rd_kafka_t,
    rdsys::rd_kafka_resp_err_t,
    *mut rdsys::rd_kafka_topic_partition_list_t,
    *mut c_void,
);

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
        let offsets = unsafe { read_native_list(offsets) };
        // SAFETY: librdkafka passes the opaque of our live handle.
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
            // SAFETY: the buffer is ours and NUL-terminated (zeroed, and librdkafka terminates).
            detail = unsafe { raw::lossy(buf.as_ptr()) };
        }
        let mut info =
            KafkaErrorInfo::from_raw(code, if fatal { "fatal consumer error" } else { "consumer error" }, detail);
        info.fatal |= fatal;
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context(opaque) }.consumer_error(info);
    });
}

unsafe extern "C" fn stats_cb(
    _rk: *mut rdsys::rd_kafka_t,
    json: *mut c_char,
    len: usize,
    opaque: *mut c_void,
) -> c_int {
    guarded(|| {
        if !json.is_null() {
            // SAFETY: `len` bytes of JSON owned by librdkafka for this call (returning 0 keeps it
            // librdkafka's to free).
            let bytes = unsafe { std::slice::from_raw_parts(json as *const u8, len) };
            // SAFETY: librdkafka passes the opaque of our live handle.
            unsafe { context(opaque) }.stats_raw(bytes);
        }
    });
    0
}

unsafe extern "C" fn throttle_cb(
    _rk: *mut rdsys::rd_kafka_t,
    broker_name: *const c_char,
    broker_id: i32,
    throttle_time_ms: c_int,
    opaque: *mut c_void,
) {
    guarded(|| {
        // SAFETY: librdkafka's broker name, valid for this call.
        let broker_name = unsafe { raw::lossy(broker_name) }.unwrap_or_default();
        let event = crate::callbacks::ThrottleEvent {
            broker_name,
            broker_id,
            throttle_time: f64::from(throttle_time_ms) / 1000.0,
        };
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context(opaque) }.callbacks.throttle(event);
    });
}

unsafe extern "C" fn log_cb(
    rk: *const rdsys::rd_kafka_t,
    level: c_int,
    facility: *const c_char,
    message: *const c_char,
) {
    guarded(|| {
        // SAFETY: our live handle (its opaque is our context); strings valid for this call.
        let (opaque, facility, message) =
            unsafe { (rdsys::rd_kafka_opaque(rk), raw::lossy(facility), raw::lossy(message)) };
        if !opaque.is_null() {
            // SAFETY: a handle's non-NULL opaque is our context, alive while the handle is.
            unsafe { context(opaque) }.callbacks.log_syslog(
                level,
                facility.unwrap_or_default().trim(),
                message.unwrap_or_default().trim(),
            );
        }
    });
}
