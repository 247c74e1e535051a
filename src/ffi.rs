//! The one home of ferrokafka's FFI plumbing (after rust-rdkafka's `util.rs`): an owning pointer
//! for librdkafka objects, librdkafka calls declared with the C `int` error code they return, and
//! reading C strings and error codes without trusting them.
//!
//! librdkafka functions returning an `rd_kafka_resp_err_t`, declared here as returning the C `int`
//! that it is. rdkafka-sys declares them as returning a Rust enum, which has no variant for codes
//! newer than librdkafka's list (broker codes are passed through unchanged, and the enum has gaps);
//! materialising such a value as that enum would be undefined behaviour, while every `int` is valid.
//! Same symbols, same C ABI (a C enum of these values is an `int`).

use std::ptr::NonNull;

use std::ffi::c_int;

use rdkafka::bindings::{
    rd_kafka_ConfigResource_t, rd_kafka_error_t, rd_kafka_event_t, rd_kafka_message_t, rd_kafka_metadata_t, rd_kafka_t,
    rd_kafka_topic_partition_list_t, rd_kafka_topic_t,
};

extern "C" {
    // The consumer's calls (native/consumer.rs).
    pub fn rd_kafka_subscribe(rk: *mut rd_kafka_t, topics: *const rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_unsubscribe(rk: *mut rd_kafka_t) -> c_int;
    pub fn rd_kafka_assign(rk: *mut rd_kafka_t, partitions: *const rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_assignment(rk: *mut rd_kafka_t, partitions: *mut *mut rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_position(rk: *mut rd_kafka_t, partitions: *mut rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_commit(
        rk: *mut rd_kafka_t,
        offsets: *const rd_kafka_topic_partition_list_t,
        is_async: c_int,
    ) -> c_int;
    pub fn rd_kafka_commit_queue(
        rk: *mut rd_kafka_t,
        offsets: *const rd_kafka_topic_partition_list_t,
        queue: *mut rdkafka::bindings::rd_kafka_queue_t,
        cb: Option<
            unsafe extern "C" fn(*mut rd_kafka_t, c_int, *mut rd_kafka_topic_partition_list_t, *mut std::ffi::c_void),
        >,
        commit_opaque: *mut std::ffi::c_void,
    ) -> c_int;
    pub fn rd_kafka_offsets_store(rk: *mut rd_kafka_t, offsets: *mut rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_pause_partitions(rk: *mut rd_kafka_t, partitions: *mut rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_resume_partitions(rk: *mut rd_kafka_t, partitions: *mut rd_kafka_topic_partition_list_t) -> c_int;
    pub fn rd_kafka_committed(
        rk: *mut rd_kafka_t,
        partitions: *mut rd_kafka_topic_partition_list_t,
        timeout_ms: c_int,
    ) -> c_int;
    pub fn rd_kafka_offsets_for_times(
        rk: *mut rd_kafka_t,
        offsets: *mut rd_kafka_topic_partition_list_t,
        timeout_ms: c_int,
    ) -> c_int;
    pub fn rd_kafka_query_watermark_offsets(
        rk: *mut rd_kafka_t,
        topic: *const std::ffi::c_char,
        partition: i32,
        low: *mut i64,
        high: *mut i64,
        timeout_ms: c_int,
    ) -> c_int;
    pub fn rd_kafka_metadata(
        rk: *mut rd_kafka_t,
        all_topics: c_int,
        only_rkt: *mut rd_kafka_topic_t,
        metadatap: *mut *const rd_kafka_metadata_t,
        timeout_ms: c_int,
    ) -> c_int;

    // Tokens from oauth_cb (oauth.rs).
    pub fn rd_kafka_oauthbearer_set_token(
        rk: *mut rd_kafka_t,
        token_value: *const std::ffi::c_char,
        md_lifetime_ms: i64,
        md_principal_name: *const std::ffi::c_char,
        extensions: *mut *const std::ffi::c_char,
        extension_size: usize,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_oauthbearer_set_token_failure(rk: *mut rd_kafka_t, errstr: *const std::ffi::c_char) -> c_int;

    // Admin calls whose enum parameters and results are C enums: passed and read as the `int` they
    // are, so that a value the broker sent and rdkafka-sys's enum lacks is never a Rust enum
    // (src/admin/acls.rs, scram.rs, configs.rs, groups.rs, elect.rs).
    pub fn rd_kafka_ConfigEntry_source(entry: *const rdkafka::bindings::rd_kafka_ConfigEntry_t) -> c_int;
    pub fn rd_kafka_ConsumerGroupListing_state(
        listing: *const rdkafka::bindings::rd_kafka_ConsumerGroupListing_t,
    ) -> c_int;
    pub fn rd_kafka_ConsumerGroupListing_type(
        listing: *const rdkafka::bindings::rd_kafka_ConsumerGroupListing_t,
    ) -> c_int;
    pub fn rd_kafka_AdminOptions_set_match_consumer_group_states(
        options: *mut rdkafka::bindings::rd_kafka_AdminOptions_t,
        states: *const c_int,
        count: usize,
    ) -> *mut rd_kafka_error_t;
    pub fn rd_kafka_AdminOptions_set_match_consumer_group_types(
        options: *mut rdkafka::bindings::rd_kafka_AdminOptions_t,
        types: *const c_int,
        count: usize,
    ) -> *mut rd_kafka_error_t;
    pub fn rd_kafka_AclBinding_new(
        restype: c_int,
        name: *const std::ffi::c_char,
        resource_pattern_type: c_int,
        principal: *const std::ffi::c_char,
        host: *const std::ffi::c_char,
        operation: c_int,
        permission_type: c_int,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> *mut rdkafka::bindings::rd_kafka_AclBinding_t;
    pub fn rd_kafka_AclBindingFilter_new(
        restype: c_int,
        name: *const std::ffi::c_char,
        resource_pattern_type: c_int,
        principal: *const std::ffi::c_char,
        host: *const std::ffi::c_char,
        operation: c_int,
        permission_type: c_int,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> *mut rdkafka::bindings::rd_kafka_AclBinding_t;
    pub fn rd_kafka_AclBinding_restype(acl: *const rdkafka::bindings::rd_kafka_AclBinding_t) -> c_int;
    pub fn rd_kafka_AclBinding_operation(acl: *const rdkafka::bindings::rd_kafka_AclBinding_t) -> c_int;
    pub fn rd_kafka_AclBinding_permission_type(acl: *const rdkafka::bindings::rd_kafka_AclBinding_t) -> c_int;
    pub fn rd_kafka_AclBinding_resource_pattern_type(acl: *const rdkafka::bindings::rd_kafka_AclBinding_t) -> c_int;
    pub fn rd_kafka_ScramCredentialInfo_mechanism(
        info: *const rdkafka::bindings::rd_kafka_ScramCredentialInfo_t,
    ) -> c_int;
    pub fn rd_kafka_UserScramCredentialUpsertion_new(
        username: *const std::ffi::c_char,
        mechanism: c_int,
        iterations: i32,
        password: *const u8,
        password_size: usize,
        salt: *const u8,
        salt_size: usize,
    ) -> *mut rdkafka::bindings::rd_kafka_UserScramCredentialAlteration_t;
    pub fn rd_kafka_UserScramCredentialDeletion_new(
        username: *const std::ffi::c_char,
        mechanism: c_int,
    ) -> *mut rdkafka::bindings::rd_kafka_UserScramCredentialAlteration_t;
    pub fn rd_kafka_ElectLeaders_new(
        election_type: c_int,
        partitions: *mut rd_kafka_topic_partition_list_t,
    ) -> *mut rdkafka::bindings::rd_kafka_ElectLeaders_t;

    // Messages and their headers (message/borrowed.rs, message/headers.rs).
    pub fn rd_kafka_message_headers(
        rkmessage: *const rd_kafka_message_t,
        hdrsp: *mut *mut rdkafka::bindings::rd_kafka_headers_t,
    ) -> c_int;
    pub fn rd_kafka_header_get_all(
        hdrs: *const rdkafka::bindings::rd_kafka_headers_t,
        idx: usize,
        namep: *mut *const std::ffi::c_char,
        valuep: *mut *const std::ffi::c_void,
        sizep: *mut usize,
    ) -> c_int;

    pub fn rd_kafka_event_error(rkev: *mut rd_kafka_event_t) -> c_int;
    pub fn rd_kafka_topic_result_error(topicres: *const rdkafka::bindings::rd_kafka_topic_result_t) -> c_int;
    pub fn rd_kafka_NewTopic_set_config(
        new_topic: *mut rdkafka::bindings::rd_kafka_NewTopic_t,
        name: *const std::ffi::c_char,
        value: *const std::ffi::c_char,
    ) -> c_int;
    pub fn rd_kafka_NewTopic_set_replica_assignment(
        new_topic: *mut rdkafka::bindings::rd_kafka_NewTopic_t,
        partition: i32,
        broker_ids: *mut i32,
        broker_id_cnt: usize,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_NewPartitions_set_replica_assignment(
        new_parts: *mut rdkafka::bindings::rd_kafka_NewPartitions_t,
        new_partition_idx: i32,
        broker_ids: *mut i32,
        broker_id_cnt: usize,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_AdminOptions_set_request_timeout(
        options: *mut rdkafka::bindings::rd_kafka_AdminOptions_t,
        timeout_ms: c_int,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_AdminOptions_set_operation_timeout(
        options: *mut rdkafka::bindings::rd_kafka_AdminOptions_t,
        timeout_ms: c_int,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_AdminOptions_set_validate_only(
        options: *mut rdkafka::bindings::rd_kafka_AdminOptions_t,
        true_or_false: c_int,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_ConfigResource_error(config: *const rd_kafka_ConfigResource_t) -> c_int;
    pub fn rd_kafka_error_code(error: *const rd_kafka_error_t) -> c_int;
    /// Any `int` is accepted: an unknown code gets "Err-<code>?" (in a thread-local buffer).
    pub fn rd_kafka_err2str(err: c_int) -> *const std::ffi::c_char;
    pub fn rd_kafka_fatal_error(
        rk: *mut rdkafka::bindings::rd_kafka_t,
        errstr: *mut std::ffi::c_char,
        errstr_size: usize,
    ) -> c_int;
}

/// A client (consumer, producer or admin client) whose librdkafka handle other modules use: the
/// token refresher, metadata requests.
pub trait ClientHandle: Send + Sync {
    /// The native handle while the client is open; `None` once it is closed. `close()` destroys
    /// the handle: what this returns keeps it alive while the caller uses it.
    fn open_handle(&self) -> Option<LiveHandle<'_>>;
}

/// A client's native handle together with what keeps it alive (see handle_slot.rs): either an
/// `Arc` of what owns the client ([`kept`](Self::kept)), or a borrow of the client for `'a`
/// ([`borrowed`](Self::borrowed)). Made only from a live rdkafka `Client`, so it is safe to make.
pub struct LiveHandle<'a> {
    ptr: *mut rd_kafka_t,
    _keep: Option<std::sync::Arc<dyn Send + Sync>>,
    _client: std::marker::PhantomData<&'a ()>,
}

impl LiveHandle<'static> {
    /// The handle of the client that `keep` owns (`client` finds it there), alive for as long as
    /// this is: `keep` is held, and an rdkafka `Client` reached through a shared reference is
    /// destroyed only when its owner is dropped, which the held `Arc` prevents.
    pub fn kept<K, C>(keep: std::sync::Arc<K>, client: fn(&K) -> &rdkafka::client::Client<C>) -> Self
    where
        K: Send + Sync + 'static,
        C: rdkafka::ClientContext,
    {
        let ptr = client(&keep).native_ptr();
        LiveHandle { ptr, _keep: Some(keep), _client: std::marker::PhantomData }
    }
}

impl<'a> LiveHandle<'a> {
    /// The handle of `client`, alive for as long as the borrow `'a` this carries.
    pub fn borrowed<C: rdkafka::ClientContext>(client: &'a rdkafka::client::Client<C>) -> Self {
        LiveHandle { ptr: client.native_ptr(), _keep: None, _client: std::marker::PhantomData }
    }

    /// The handle, valid while `self` lives.
    pub fn ptr(&self) -> *mut rd_kafka_t {
        self.ptr
    }
}

// SAFETY: librdkafka handles are thread-safe, `_keep` is Send + Sync, and the borrow `'a` is of a
// `Client`, which rdkafka declares Send + Sync.
unsafe impl Send for LiveHandle<'_> {}
// SAFETY: see Send.
unsafe impl Sync for LiveHandle<'_> {}

/// librdkafka's description of an error code, whatever the code (rd_kafka_err2str).
pub fn error_description(code: c_int) -> String {
    // SAFETY: rd_kafka_err2str accepts every int and returns a NUL-terminated string, static or in
    // a buffer of the calling thread that stays valid until its next call there; it is copied here.
    unsafe { lossy(rd_kafka_err2str(code)) }.unwrap_or_default()
}

/// A `len`-byte slice at `ptr`, or None for a null pointer.
///
/// # Safety
/// A non-null `ptr` points to `len` initialised bytes that live as long as `'a`.
pub unsafe fn bytes_at<'a>(ptr: *const std::ffi::c_void, len: usize) -> Option<&'a [u8]> {
    // SAFETY: guaranteed by the caller.
    (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
}

/// Decodes a C string from librdkafka without trusting it to be UTF-8.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that stays valid for the duration of the call.
pub unsafe fn lossy(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and valid and NUL-terminated by the caller's guarantee.
    Some(unsafe { std::ffi::CStr::from_ptr(ptr) }.to_string_lossy().into_owned())
}

/// The `err` field of a message, read as the `int` it is in C (see above).
///
/// # Safety
/// `message` points to a live, initialised `rd_kafka_message_t`.
pub unsafe fn message_error(message: *const rd_kafka_message_t) -> c_int {
    // SAFETY: the caller guarantees `message` is valid; the field is read through the raw
    // pointer as the i32 its #[repr(i32)] enum type occupies, which every bit pattern is valid for.
    unsafe { std::ptr::addr_of!((*message).err).cast::<c_int>().read() }
}

/// A librdkafka object type and the function that destroys it (rust-rdkafka's `KafkaDrop`).
///
/// # Safety
/// `DESTROY` frees one object of this type, which the caller owns and never uses again.
pub unsafe trait NativeDrop {
    const DESTROY: unsafe extern "C" fn(*mut Self);
}

/// Owns one librdkafka object and destroys it, exactly once, when dropped. Not `Send` or `Sync`
/// unless the object's type is thread-safe (impls below).
pub struct NativePtr<T: NativeDrop>(NonNull<T>);

impl<T: NativeDrop> NativePtr<T> {
    /// `None` for NULL (librdkafka's way to fail an allocation or a poll).
    ///
    /// # Safety
    /// `ptr` is NULL or a live object that the caller owns and hands over: nothing else destroys it.
    pub unsafe fn from_ptr(ptr: *mut T) -> Option<Self> {
        NonNull::new(ptr).map(NativePtr)
    }

    pub fn ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T: NativeDrop> Drop for NativePtr<T> {
    fn drop(&mut self) {
        // SAFETY: `from_ptr`'s contract: we own a live object that `DESTROY` frees; drop runs once.
        unsafe { T::DESTROY(self.0.as_ptr()) }
    }
}

macro_rules! native_drop {
    ($($native:ident => $destroy:ident),* $(,)?) => {$(
        // SAFETY: librdkafka's destructor of exactly this type.
        unsafe impl NativeDrop for rdkafka::bindings::$native {
            const DESTROY: unsafe extern "C" fn(*mut Self) = rdkafka::bindings::$destroy;
        }
    )*};
}

native_drop! {
    rd_kafka_queue_t => rd_kafka_queue_destroy,
    rd_kafka_event_t => rd_kafka_event_destroy,
    rd_kafka_topic_t => rd_kafka_topic_destroy,
    rd_kafka_consumer_group_metadata_t => rd_kafka_consumer_group_metadata_destroy,
    rd_kafka_error_t => rd_kafka_error_destroy,
    rd_kafka_ConfigResource_t => rd_kafka_ConfigResource_destroy,
    rd_kafka_ListConsumerGroupOffsets_t => rd_kafka_ListConsumerGroupOffsets_destroy,
    rd_kafka_AlterConsumerGroupOffsets_t => rd_kafka_AlterConsumerGroupOffsets_destroy,
    rd_kafka_AdminOptions_t => rd_kafka_AdminOptions_destroy,
    rd_kafka_TopicCollection_t => rd_kafka_TopicCollection_destroy,
    rd_kafka_AclBinding_t => rd_kafka_AclBinding_destroy,
    rd_kafka_UserScramCredentialAlteration_t => rd_kafka_UserScramCredentialAlteration_destroy,
    rd_kafka_ElectLeaders_t => rd_kafka_ElectLeaders_destroy,
    rd_kafka_NewTopic_t => rd_kafka_NewTopic_destroy,
    rd_kafka_DeleteTopic_t => rd_kafka_DeleteTopic_destroy,
    rd_kafka_NewPartitions_t => rd_kafka_NewPartitions_destroy,
    rd_kafka_DeleteGroup_t => rd_kafka_DeleteGroup_destroy,
    rd_kafka_DeleteRecords_t => rd_kafka_DeleteRecords_destroy,
}

// SAFETY: librdkafka's queues are thread-safe (polled, forwarded and destroyed from any thread).
unsafe impl Send for NativePtr<rdkafka::bindings::rd_kafka_queue_t> {}
// SAFETY: see Send.
unsafe impl Sync for NativePtr<rdkafka::bindings::rd_kafka_queue_t> {}
// SAFETY: topic handles are reference-counted and thread-safe; ours are only passed to produce
// calls and destroyed once.
unsafe impl Send for NativePtr<rdkafka::bindings::rd_kafka_topic_t> {}
// SAFETY: see Send.
unsafe impl Sync for NativePtr<rdkafka::bindings::rd_kafka_topic_t> {}
// SAFETY: group metadata is immutable once made; it is only read (by
// rd_kafka_send_offsets_to_transaction) and destroyed once.
unsafe impl Send for NativePtr<rdkafka::bindings::rd_kafka_consumer_group_metadata_t> {}
// SAFETY: see Send.
unsafe impl Sync for NativePtr<rdkafka::bindings::rd_kafka_consumer_group_metadata_t> {}

/// An array of `count` pointers returned by librdkafka, as a slice (empty for NULL).
///
/// # Safety
/// `array` is NULL or points to `count` initialised pointers that stay valid for `'a` (they belong
/// to a result event that the caller keeps alive that long).
pub unsafe fn native_array<'a, T>(array: *const *const T, count: usize) -> &'a [*const T] {
    if array.is_null() || count == 0 {
        &[]
    } else {
        // SAFETY: non-NULL, `count` initialised elements, valid for 'a: the caller's guarantee.
        unsafe { std::slice::from_raw_parts(array, count) }
    }
}

/// librdkafka's symbolic name of an error code.
pub fn err2name(err: rdkafka::types::RDKafkaRespErr) -> String {
    // SAFETY: rd_kafka_err2name accepts every rd_kafka_resp_err_t value (a valid enum value here)
    // and returns a pointer to a static, NUL-terminated string (or to "" for unknown codes); it is
    // never freed.
    unsafe { std::ffi::CStr::from_ptr(rdkafka::bindings::rd_kafka_err2name(err)) }.to_string_lossy().into_owned()
}

/// librdkafka's human-readable description of an error code.
pub fn err2str(err: rdkafka::types::RDKafkaRespErr) -> String {
    // SAFETY: as for rd_kafka_err2name: a static, NUL-terminated string for every code.
    unsafe { std::ffi::CStr::from_ptr(rdkafka::bindings::rd_kafka_err2str(err)) }.to_string_lossy().into_owned()
}

/// librdkafka's table of error codes: (code, symbolic name, description) for every code it knows.
pub fn error_descs() -> Vec<(i32, String, String)> {
    use std::ffi::CStr;
    /// rd_kafka_err_desc with the code read as a plain int (the table has gaps, and a Rust enum must
    /// never hold a value it does not declare).
    #[repr(C)]
    struct RawErrDesc {
        code: std::ffi::c_int,
        name: *const std::ffi::c_char,
        desc: *const std::ffi::c_char,
    }
    let mut table: *const rdkafka::bindings::rd_kafka_err_desc = std::ptr::null();
    let mut count: usize = 0;
    // SAFETY: librdkafka points `table` at its static array of `count` descriptors, which lives for
    // the whole process. RawErrDesc has the same C layout as rd_kafka_err_desc (an enum is an int).
    // Entries with a null name are gaps; names and descriptions are static NUL-terminated strings
    // (a null description is read as empty).
    unsafe {
        rdkafka::bindings::rd_kafka_get_err_descs(&mut table, &mut count);
        let table = std::slice::from_raw_parts(table as *const RawErrDesc, count);
        table
            .iter()
            .filter(|d| !d.name.is_null())
            .map(|d| {
                let desc = if d.desc.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(d.desc).to_string_lossy().into_owned()
                };
                (d.code, CStr::from_ptr(d.name).to_string_lossy().into_owned(), desc)
            })
            .filter(|(_, name, _)| !name.is_empty())
            .collect()
    }
}

/// What an `rd_kafka_error_t` says.
pub struct ErrorObject {
    pub code: c_int,
    pub detail: Option<String>,
    pub fatal: bool,
    pub retriable: bool,
    pub txn_requires_abort: bool,
}

/// Reads an `rd_kafka_error_t` (not destroyed here); `None` for NULL.
///
/// # Safety
/// `error` is NULL or a valid error object, alive for the duration of the call.
pub unsafe fn read_error_object(error: *const rd_kafka_error_t) -> Option<ErrorObject> {
    use rdkafka::bindings as rdsys;
    if error.is_null() {
        return None;
    }
    // SAFETY: `error` is valid (caller's guarantee); rd_kafka_error_string returns a string owned
    // by the error object, copied before the call returns; the code is read as the int it is.
    unsafe {
        Some(ErrorObject {
            code: rd_kafka_error_code(error),
            detail: lossy(rdsys::rd_kafka_error_string(error)),
            fatal: rdsys::rd_kafka_error_is_fatal(error) != 0,
            retriable: rdsys::rd_kafka_error_is_retriable(error) != 0,
            txn_requires_abort: rdsys::rd_kafka_error_txn_requires_abort(error) != 0,
        })
    }
}
