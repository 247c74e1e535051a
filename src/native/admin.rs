//! Admin requests in librdkafka's C API: making the request objects and options (each owned by a
//! `NativePtr`), and sending a request whose result arrives on a queue of its own. The admin
//! client (`crate::admin`) builds arguments and reads results (`native::results`) without `unsafe`.
//!
//! Every request object here is copied by librdkafka when the request is sent, so it may be dropped
//! as soon as the send returns; results are events independent of the request's queue.

use std::ffi::{c_char, c_int, CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::TopicPartitionList;

use crate::errors::KafkaErrorInfo;
use crate::ffi::{self as raw, LiveHandle, NativePtr};
use crate::native::queue::Queue;
use crate::native::results::Event;

pub type Options = NativePtr<rdsys::rd_kafka_AdminOptions_t>;
pub type ConfigResource = NativePtr<rdsys::rd_kafka_ConfigResource_t>;
pub type AclBinding = NativePtr<rdsys::rd_kafka_AclBinding_t>;
pub type TopicCollection = NativePtr<rdsys::rd_kafka_TopicCollection_t>;
pub type ElectLeaders = NativePtr<rdsys::rd_kafka_ElectLeaders_t>;
pub type ScramAlteration = NativePtr<rdsys::rd_kafka_UserScramCredentialAlteration_t>;
pub type ListGroupOffsets = NativePtr<rdsys::rd_kafka_ListConsumerGroupOffsets_t>;
pub type AlterGroupOffsets = NativePtr<rdsys::rd_kafka_AlterConsumerGroupOffsets_t>;

/// The error of an `rd_kafka_error_t` that a setter returned (NULL: none), destroyed here.
fn returned_error(error: *mut rdsys::rd_kafka_error_t, context: &str) -> Option<KafkaErrorInfo> {
    // SAFETY: librdkafka's setters return NULL or a new error object that the caller owns:
    // `NativePtr` destroys it after it was read.
    let error = unsafe { NativePtr::from_ptr(error) }?;
    // SAFETY: a live error object, read before `error` destroys it.
    unsafe { super::error_object(error.ptr(), context) }
}

/// The raw pointers of `objects`, as librdkafka's `T **` array arguments take them.
fn pointers<T: raw::NativeDrop>(objects: &[NativePtr<T>]) -> Vec<*mut T> {
    objects.iter().map(NativePtr::ptr).collect()
}

/// The C strings of `names`, as librdkafka's `const char **` array arguments take them.
fn string_pointers(names: &[CString]) -> Vec<*const c_char> {
    names.iter().map(|name| name.as_ptr()).collect()
}

// ---------------------------------------------------------------------------------------------
// Sending

/// A queue of one request's result, on a client borrowed for `'a` (so alive while it is used).
pub struct RequestQueue<'a> {
    /// The client, borrowed for `'a`.
    client: LiveHandle<'a>,
    rk: *mut rdsys::rd_kafka_t,
    // Field order is drop order: the queue goes before the descriptor it writes to.
    queue: Queue,
    wake: Option<OwnedFd>,
}

/// A request's queue kept past the call that sent the request (an event loop reads it when
/// woken), on a client it keeps alive ([`LiveHandle::kept`]): like every queue, it is dropped before
/// its client is destroyed.
pub struct DetachedQueue {
    // Field order is drop order: the queue goes before the descriptor it writes to, and before the
    // client it belongs to.
    queue: Queue,
    _wake: Option<OwnedFd>,
    _client: LiveHandle<'static>,
}

impl DetachedQueue {
    /// The next event on the queue, without waiting.
    pub fn poll_now(&self) -> Option<Event> {
        super::queue::poll(&self.queue, 0)
    }
}

impl RequestQueue<'static> {
    /// The queue, kept past the call that made it, with the client it keeps alive (see
    /// [`DetachedQueue`]).
    pub fn detach(self) -> DetachedQueue {
        DetachedQueue { queue: self.queue, _wake: self.wake, _client: self.client }
    }
}

impl<'a> RequestQueue<'a> {
    /// A new queue of `client`, or None if librdkafka could not make one.
    pub fn new<C: rdkafka::ClientContext>(client: &'a Client<C>) -> Option<Self> {
        Self::on(LiveHandle::borrowed(client))
    }

    /// A new queue of the client `client` keeps alive for 'a, or None if librdkafka could not
    /// make one.
    pub fn on(client: LiveHandle<'a>) -> Option<Self> {
        let rk = client.ptr();
        // SAFETY: `rk` is the live client, kept so by `client` for 'a. rd_kafka_queue_new returns a
        // new queue that we own (or NULL), destroyed by `NativePtr` when `self` goes, before
        // `client` (field order), within 'a. Destroying it before a request answered is safe: the
        // request holds its own reference to the queue and librdkafka discards a result enqueued on
        // a destroyed application queue.
        let queue = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_new(rk)) }?;
        Some(RequestQueue { client, rk, queue, wake: None })
    }

    /// A new queue of `client` (see [`on`](Self::on)) that writes a byte to `wake` whenever a
    /// result arrives (for an event loop watching that descriptor); the queue keeps `wake` open
    /// for as long as it lives.
    pub fn waking(client: LiveHandle<'a>, wake: OwnedFd) -> Option<Self> {
        const WAKE: [u8; 1] = [1];
        let mut request = Self::on(client)?;
        // SAFETY: our live queue; librdkafka copies the one-byte payload; `wake` stays open for as
        // long as the queue lives (both are owned by `request`, the queue dropped first).
        unsafe {
            rdsys::rd_kafka_queue_io_event_enable(
                request.queue.ptr(),
                wake.as_raw_fd(),
                WAKE.as_ptr().cast(),
                WAKE.len(),
            )
        };
        request.wake = Some(wake);
        Some(request)
    }

    /// New options for the request `op` on this queue's client (see [`options_on`]).
    pub fn options(&self, op: rdsys::rd_kafka_admin_op_t) -> Option<Options> {
        options_on(&self.client, op)
    }

    /// Commits the offsets of `list` (`rd_kafka_commit_queue`); the result arrives as an
    /// `RD_KAFKA_EVENT_OFFSET_COMMIT` event. Returns the error code of the call itself (0: sent).
    pub fn commit(&self, list: &TopicPartitionList) -> c_int {
        // SAFETY: see describe_configs; with no callback the result is posted on the queue. The
        // code is read as the C int it is (crate::ffi's rule).
        unsafe { raw::rd_kafka_commit_queue(self.rk, list.ptr(), self.queue.ptr(), None, ptr::null_mut()) }
    }

    /// ListOffsets of `list` (each partition's offset is its spec) with `options`.
    pub fn list_offsets_with(&self, list: &TopicPartitionList, options: &Options) {
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_ListOffsets(self.rk, list.ptr(), options.ptr(), self.queue.ptr()) }
    }

    /// The next event on the queue, waiting up to `timeout_ms`.
    pub fn poll(&self, timeout_ms: c_int) -> Option<Event> {
        super::queue::poll(&self.queue, timeout_ms)
    }

    /// DescribeConfigs of one resource, with librdkafka's default options.
    pub fn describe_configs(&self, resource: &ConfigResource) {
        let mut resources = [resource.ptr()];
        // SAFETY: (the same for every sender below) `self.rk` and `self.queue` are live (see `new`);
        // the request objects and C strings are live for the call (borrowed) and librdkafka copies
        // what it keeps; the arrays hold exactly the given number of live elements; NULL options
        // mean librdkafka's defaults.
        unsafe { rdsys::rd_kafka_DescribeConfigs(self.rk, resources.as_mut_ptr(), 1, ptr::null(), self.queue.ptr()) }
    }

    /// IncrementalAlterConfigs of one resource.
    pub fn incremental_alter_configs(&self, resource: &ConfigResource) {
        let mut resources = [resource.ptr()];
        // SAFETY: see describe_configs.
        unsafe {
            rdsys::rd_kafka_IncrementalAlterConfigs(self.rk, resources.as_mut_ptr(), 1, ptr::null(), self.queue.ptr())
        }
    }

    /// ListConsumerGroups with `options` (None: the defaults).
    pub fn list_consumer_groups(&self, options: Option<&Options>) {
        let options = options.map_or(ptr::null(), |options| options.ptr().cast_const());
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_ListConsumerGroups(self.rk, options, self.queue.ptr()) }
    }

    /// DescribeConsumerGroups of `ids`.
    pub fn describe_consumer_groups(&self, ids: &[CString]) {
        let mut names = string_pointers(ids);
        // SAFETY: see describe_configs.
        unsafe {
            rdsys::rd_kafka_DescribeConsumerGroups(
                self.rk,
                names.as_mut_ptr(),
                names.len(),
                ptr::null(),
                self.queue.ptr(),
            )
        }
    }

    /// ListConsumerGroupOffsets of one group.
    pub fn list_group_offsets(&self, request: &ListGroupOffsets) {
        let mut requests = [request.ptr()];
        // SAFETY: see describe_configs.
        unsafe {
            rdsys::rd_kafka_ListConsumerGroupOffsets(self.rk, requests.as_mut_ptr(), 1, ptr::null(), self.queue.ptr())
        }
    }

    /// AlterConsumerGroupOffsets of one group.
    pub fn alter_group_offsets(&self, request: &AlterGroupOffsets) {
        let mut requests = [request.ptr()];
        // SAFETY: see describe_configs.
        unsafe {
            rdsys::rd_kafka_AlterConsumerGroupOffsets(self.rk, requests.as_mut_ptr(), 1, ptr::null(), self.queue.ptr())
        }
    }

    /// CreateAcls of `acls`.
    pub fn create_acls(&self, acls: &[AclBinding]) {
        let mut acls = pointers(acls);
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_CreateAcls(self.rk, acls.as_mut_ptr(), acls.len(), ptr::null(), self.queue.ptr()) }
    }

    /// DescribeAcls matching `filter`.
    pub fn describe_acls(&self, filter: &AclBinding, options: &Options) {
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_DescribeAcls(self.rk, filter.ptr(), options.ptr(), self.queue.ptr()) }
    }

    /// DeleteAcls matching each of `filters`.
    pub fn delete_acls(&self, filters: &[AclBinding]) {
        let mut filters = pointers(filters);
        // SAFETY: see describe_configs.
        unsafe {
            rdsys::rd_kafka_DeleteAcls(self.rk, filters.as_mut_ptr(), filters.len(), ptr::null(), self.queue.ptr())
        }
    }

    /// DescribeCluster.
    pub fn describe_cluster(&self, options: &Options) {
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_DescribeCluster(self.rk, options.ptr(), self.queue.ptr()) }
    }

    /// DescribeTopics of `topics`.
    pub fn describe_topics(&self, topics: &TopicCollection, options: &Options) {
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_DescribeTopics(self.rk, topics.ptr(), options.ptr(), self.queue.ptr()) }
    }

    /// ElectLeaders.
    pub fn elect_leaders(&self, request: &ElectLeaders) {
        // SAFETY: see describe_configs.
        unsafe { rdsys::rd_kafka_ElectLeaders(self.rk, request.ptr(), ptr::null(), self.queue.ptr()) }
    }

    /// ListOffsets of `list` (each partition's offset is its spec).
    pub fn list_offsets(&self, list: &TopicPartitionList) {
        // SAFETY: see describe_configs; librdkafka only reads the list (its `*mut` is historical).
        unsafe { rdsys::rd_kafka_ListOffsets(self.rk, list.ptr(), ptr::null(), self.queue.ptr()) }
    }

    /// DescribeUserScramCredentials of `users` (empty: every user that has some).
    pub fn describe_scram_users(&self, users: &[CString]) {
        let mut names = string_pointers(users);
        let array = if names.is_empty() { ptr::null_mut() } else { names.as_mut_ptr() };
        // SAFETY: see describe_configs (NULL, 0 is librdkafka's "every user").
        unsafe {
            rdsys::rd_kafka_DescribeUserScramCredentials(self.rk, array, names.len(), ptr::null(), self.queue.ptr())
        }
    }

    /// AlterUserScramCredentials with `alterations`.
    pub fn alter_scram_users(&self, alterations: &[ScramAlteration]) {
        let mut alterations = pointers(alterations);
        // SAFETY: see describe_configs.
        unsafe {
            rdsys::rd_kafka_AlterUserScramCredentials(
                self.rk,
                alterations.as_mut_ptr(),
                alterations.len(),
                ptr::null(),
                self.queue.ptr(),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Options

/// New options for the request `op` of `client` (librdkafka's defaults), or None if librdkafka
/// could not allocate them.
pub fn options<C: rdkafka::ClientContext>(client: &Client<C>, op: rdsys::rd_kafka_admin_op_t) -> Option<Options> {
    options_on(&LiveHandle::borrowed(client), op)
}

/// [`options`] of a client's live handle (the one implementation, also [`RequestQueue::options`]).
pub fn options_on(client: &LiveHandle<'_>, op: rdsys::rd_kafka_admin_op_t) -> Option<Options> {
    // SAFETY: a live client (`LiveHandle` keeps it so while borrowed); rd_kafka_AdminOptions_new
    // returns new options that we own (or NULL), freed by rd_kafka_AdminOptions_destroy
    // (`NativePtr`).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_AdminOptions_new(client.ptr(), op)) }
}

/// Asks for the authorized operations in a describe request; the error if `options` refuse it.
pub fn include_authorized_operations(options: &Options, include: bool, context: &str) -> Option<KafkaErrorInfo> {
    // SAFETY: live options; returns NULL or an error object that we own (returned_error).
    returned_error(
        unsafe { rdsys::rd_kafka_AdminOptions_set_include_authorized_operations(options.ptr(), c_int::from(include)) },
        context,
    )
}

/// The isolation level of a ListOffsets request: read_committed, or read_uncommitted.
pub fn isolation_level(options: &Options, read_committed: bool, context: &str) -> Option<KafkaErrorInfo> {
    let level = if read_committed {
        rdsys::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_COMMITTED
    } else {
        rdsys::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED
    };
    // SAFETY: live options; NULL or an error object that we own (returned_error).
    returned_error(unsafe { rdsys::rd_kafka_AdminOptions_set_isolation_level(options.ptr(), level) }, context)
}

/// Only groups in `states` (librdkafka's state numbers).
pub fn match_group_states(options: &Options, states: &[c_int], context: &str) -> Option<KafkaErrorInfo> {
    // SAFETY: live options; `states` holds `len` ints that librdkafka copies; NULL or an error
    // object that we own (returned_error).
    returned_error(
        unsafe {
            raw::rd_kafka_AdminOptions_set_match_consumer_group_states(options.ptr(), states.as_ptr(), states.len())
        },
        context,
    )
}

/// Only groups of `types` (librdkafka's type numbers).
pub fn match_group_types(options: &Options, types: &[c_int], context: &str) -> Option<KafkaErrorInfo> {
    // SAFETY: as in match_group_states.
    returned_error(
        unsafe {
            raw::rd_kafka_AdminOptions_set_match_consumer_group_types(options.ptr(), types.as_ptr(), types.len())
        },
        context,
    )
}

// ---------------------------------------------------------------------------------------------
// Request objects (None: librdkafka could not allocate one)

/// A configuration resource of type `restype` named `name`.
pub fn config_resource(restype: rdsys::rd_kafka_ResourceType_t, name: &CStr) -> Option<ConfigResource> {
    // SAFETY: a valid C string, which librdkafka copies into a new resource that we own, freed by
    // rd_kafka_ConfigResource_destroy (`NativePtr`).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_ConfigResource_new(restype, name.as_ptr())) }
}

/// Adds an incremental change to `resource`: set `key` to `value`, or delete it (None); the error
/// if librdkafka refuses it.
pub fn add_incremental_config(
    resource: &ConfigResource,
    key: &CStr,
    value: Option<&CStr>,
    context: &str,
) -> Option<KafkaErrorInfo> {
    let op = match value {
        Some(_) => rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
        None => rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
    };
    let value = value.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: a live resource; `key` and `value` (or NULL, allowed with DELETE) are valid C strings
    // that librdkafka copies; NULL or an error object that we own (returned_error).
    returned_error(
        unsafe { rdsys::rd_kafka_ConfigResource_add_incremental_config(resource.ptr(), key.as_ptr(), op, value) },
        context,
    )
}

/// A ListConsumerGroupOffsets request for `group`, of `partitions` (None: all it committed).
pub fn list_group_offsets(group: &CStr, partitions: Option<&TopicPartitionList>) -> Option<ListGroupOffsets> {
    let partitions = partitions.map_or(ptr::null(), |list| list.ptr().cast_const());
    // SAFETY: a valid C string and NULL or a live list, which librdkafka copies into a new request
    // that we own, freed by rd_kafka_ListConsumerGroupOffsets_destroy (`NativePtr`).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), partitions)) }
}

/// An AlterConsumerGroupOffsets request setting `group`'s offsets to those of `offsets`.
pub fn alter_group_offsets(group: &CStr, offsets: &TopicPartitionList) -> Option<AlterGroupOffsets> {
    // SAFETY: as in list_group_offsets (rd_kafka_AlterConsumerGroupOffsets_destroy).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_AlterConsumerGroupOffsets_new(group.as_ptr(), offsets.ptr())) }
}

/// The fields of an ACL binding or filter (None: any, allowed in filters only).
pub struct AclFields<'a> {
    pub restype: c_int,
    pub name: Option<&'a CStr>,
    pub pattern: c_int,
    pub principal: Option<&'a CStr>,
    pub host: Option<&'a CStr>,
    pub operation: c_int,
    pub permission: c_int,
}

/// A new ACL binding (or filter), or librdkafka's reason for refusing the fields.
pub fn acl_binding(fields: &AclFields<'_>, filter: bool) -> Result<AclBinding, String> {
    let as_ptr = |value: Option<&CStr>| value.map_or(ptr::null(), CStr::as_ptr);
    let mut errstr = [0 as c_char; 512];
    let new = if filter { raw::rd_kafka_AclBindingFilter_new } else { raw::rd_kafka_AclBinding_new };
    // SAFETY: valid C strings or NULL, which librdkafka copies (it refuses NULL where a binding needs
    // a value), and an error buffer of the given size. It returns a new object that we own (freed
    // by rd_kafka_AclBinding_destroy, `NativePtr`), or NULL with the reason.
    let acl = unsafe {
        NativePtr::from_ptr(new(
            fields.restype,
            as_ptr(fields.name),
            fields.pattern,
            as_ptr(fields.principal),
            as_ptr(fields.host),
            fields.operation,
            fields.permission,
            errstr.as_mut_ptr(),
            errstr.len(),
        ))
    };
    // SAFETY: librdkafka NUL-terminated its reason in our zeroed buffer (its last byte stays 0).
    acl.ok_or_else(|| unsafe { raw::lossy(errstr.as_ptr()) }.unwrap_or_default())
}

/// A collection of the topics `names`.
pub fn topic_collection(names: &[CString]) -> Option<TopicCollection> {
    let mut pointers = string_pointers(names);
    // SAFETY: `pointers` holds valid C strings (owned by `names`) that librdkafka copies into a new
    // collection that we own, freed by rd_kafka_TopicCollection_destroy (`NativePtr`).
    unsafe {
        NativePtr::from_ptr(rdsys::rd_kafka_TopicCollection_of_topic_names(pointers.as_mut_ptr(), pointers.len()))
    }
}

/// An ElectLeaders request of `election_type` for `partitions` (None: every partition).
pub fn elect_leaders(election_type: c_int, partitions: Option<&TopicPartitionList>) -> Option<ElectLeaders> {
    let list = partitions.map_or(ptr::null_mut(), TopicPartitionList::ptr);
    // SAFETY: NULL or a live list, which librdkafka copies into a new request that we own, freed by
    // rd_kafka_ElectLeaders_destroy (`NativePtr`).
    unsafe { NativePtr::from_ptr(raw::rd_kafka_ElectLeaders_new(election_type, list)) }
}

/// A SCRAM credential upsertion (an empty salt: librdkafka makes one).
pub fn scram_upsertion(
    user: &CStr,
    mechanism: c_int,
    iterations: i32,
    password: &[u8],
    salt: &[u8],
) -> Option<ScramAlteration> {
    let salt_ptr = if salt.is_empty() { ptr::null() } else { salt.as_ptr() };
    // SAFETY: a valid C string and byte buffers of the given sizes (NULL, 0 for no salt), which
    // librdkafka copies into a new object that we own, freed by
    // rd_kafka_UserScramCredentialAlteration_destroy (`NativePtr`).
    unsafe {
        NativePtr::from_ptr(raw::rd_kafka_UserScramCredentialUpsertion_new(
            user.as_ptr(),
            mechanism,
            iterations,
            password.as_ptr(),
            password.len(),
            salt_ptr,
            salt.len(),
        ))
    }
}

/// A SCRAM credential deletion.
pub fn scram_deletion(user: &CStr, mechanism: c_int) -> Option<ScramAlteration> {
    // SAFETY: as in scram_upsertion, without secrets.
    unsafe { NativePtr::from_ptr(raw::rd_kafka_UserScramCredentialDeletion_new(user.as_ptr(), mechanism)) }
}
