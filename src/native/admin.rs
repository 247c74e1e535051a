//! Admin requests in librdkafka's C API: the admin client's handle ([`NativeAdmin`], which sends
//! every request to its main queue, where one thread reads the results), the request objects and
//! options (each owned by a `NativePtr`), and a queue of one request's result on a client borrowed
//! or kept alive ([`RequestQueue`], for the consumer's asynchronous commits and offset lists). The
//! admin client (`crate::admin`) builds arguments and reads results (`native::results`) without
//! `unsafe`.
//!
//! Every request object here is copied by librdkafka when the request is sent, so it may be dropped
//! as soon as the send returns; results are events independent of the request.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaType;
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::errors::KafkaErrorInfo;
use crate::ffi::{self as raw, LiveHandle, NativePtr};
use crate::native::client_events::{throttle_cb, ClientEvents};
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
pub type NewTopic = NativePtr<rdsys::rd_kafka_NewTopic_t>;
pub type DeleteTopic = NativePtr<rdsys::rd_kafka_DeleteTopic_t>;
pub type NewPartitions = NativePtr<rdsys::rd_kafka_NewPartitions_t>;
pub type DeleteGroup = NativePtr<rdsys::rd_kafka_DeleteGroup_t>;
pub type DeleteRecords = NativePtr<rdsys::rd_kafka_DeleteRecords_t>;

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

/// A queue of one request's result, on a client kept alive for `'a` (so alive while it is used).
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
        // SAFETY: see list_group_offsets; with no callback the result is posted on the queue. The
        // code is read as the C int it is (crate::ffi's rule).
        unsafe { raw::rd_kafka_commit_queue(self.rk, list.ptr(), self.queue.ptr(), None, ptr::null_mut()) }
    }

    /// ListOffsets of `list` (each partition's offset is its spec) with `options`.
    pub fn list_offsets_with(&self, list: &TopicPartitionList, options: &Options) {
        // SAFETY: see list_group_offsets (live options instead of NULL).
        unsafe { rdsys::rd_kafka_ListOffsets(self.rk, list.ptr(), options.ptr(), self.queue.ptr()) }
    }

    /// ListConsumerGroupOffsets of one group, with librdkafka's default options.
    pub fn list_group_offsets(&self, request: &ListGroupOffsets) {
        let mut requests = [request.ptr()];
        // SAFETY: `self.rk` and `self.queue` are live (see `on`); the request is live for the call
        // (borrowed) and librdkafka copies it; the array holds one live element; NULL options mean
        // librdkafka's defaults.
        unsafe {
            rdsys::rd_kafka_ListConsumerGroupOffsets(self.rk, requests.as_mut_ptr(), 1, ptr::null(), self.queue.ptr())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The admin client's handle

/// What an admin client's context offers librdkafka's callbacks (implemented by the admin client's
/// context; a trait, so that this layer does not depend on the admin client).
pub trait AdminEvents: ClientEvents {}

/// An admin client's librdkafka handle, made here as the consumer's is (`native::consumer`): the
/// configuration is the user's, with the throttle callback set on it, and the handle is a producer
/// handle, as librdkafka's admin clients are. Every request is sent, on the caller's thread, to
/// the handle's main queue with options whose opaque names the request ([`Options`] made by
/// [`NativeAdmin::options`]); its result event comes back on that queue, with the same opaque
/// ([`event_opaque`]), among the client's logs and errors. One thread serves the queue
/// (`admin::events`, on its own reference to the main queue: [`super::queue::main_queue`]). Requests sent in order on one thread reach librdkafka
/// in that order, on its one request queue.
pub struct NativeAdmin<C: AdminEvents> {
    // Field order is drop order: our queue reference goes before the handle.
    /// Our reference to the main queue: results, logs (rdkafka's `Client` sends them there) and
    /// errors.
    queue: Queue,
    client: Client<C>,
}

// SAFETY: librdkafka handles and queues are thread-safe; rdkafka's Client is Send + Sync and the
// queue reference is only polled, passed to requests and destroyed.
unsafe impl<C: AdminEvents> Send for NativeAdmin<C> {}
// SAFETY: see Send.
unsafe impl<C: AdminEvents> Sync for NativeAdmin<C> {}

impl<C: AdminEvents> NativeAdmin<C> {
    /// A new admin client handle with `config`; `throttle`: whether to set the throttle callback
    /// (librdkafka queues throttle reports only when there is one).
    pub fn new(config: &ClientConfig, context: C, throttle: bool) -> KafkaResult<Self> {
        let native_config = config.create_native_config()?;
        if throttle {
            // SAFETY: a fresh configuration object that we own until rd_kafka_new takes it; the
            // callback is an `extern "C"` function with librdkafka's signature, which reaches the
            // context through the opaque rdkafka's Client sets (an `Arc<C>` alive as long as the
            // handle): `throttle_cb::<C>`'s contract.
            unsafe {
                rdsys::rd_kafka_conf_set_throttle_cb(native_config.ptr(), Some(throttle_cb::<C>));
            }
        }
        let client = Client::new(config, native_config, RDKafkaType::RD_KAFKA_PRODUCER, context)?;
        let queue = super::queue::main_queue(&client)
            .ok_or_else(|| KafkaError::ClientCreation("librdkafka gave no main queue".into()))?;
        Ok(NativeAdmin { queue, client })
    }

    /// rdkafka's client, which a `LiveHandle` lends (tokens from oauth_cb, metadata).
    pub fn client(&self) -> &Client<C> {
        &self.client
    }

    /// New options for the request `op` (librdkafka's defaults) whose result event carries
    /// `opaque` (see [`event_opaque`]), or None if librdkafka could not allocate them.
    pub fn options(&self, op: rdsys::rd_kafka_admin_op_t, opaque: usize) -> Option<Options> {
        let options = options(&self.client, op)?;
        // SAFETY: live options; the opaque is a number, never dereferenced (by librdkafka or us).
        unsafe { rdsys::rd_kafka_AdminOptions_set_opaque(options.ptr(), opaque as *mut c_void) };
        Some(options)
    }

    fn rk(&self) -> *mut rdsys::rd_kafka_t {
        self.client.native_ptr()
    }

    fn q(&self) -> *mut rdsys::rd_kafka_queue_t {
        self.queue.ptr()
    }

    /// CreateTopics of `topics`.
    pub fn create_topics(&self, topics: &[NewTopic], options: &Options) {
        let mut topics = pointers(topics);
        // SAFETY: (the same for every sender below) our live handle and queue; the request objects,
        // options and C strings are live for the call (borrowed) and librdkafka copies what it
        // keeps; the arrays hold exactly the given number of live elements.
        unsafe { rdsys::rd_kafka_CreateTopics(self.rk(), topics.as_mut_ptr(), topics.len(), options.ptr(), self.q()) }
    }

    /// DeleteTopics of `topics`.
    pub fn delete_topics(&self, topics: &[DeleteTopic], options: &Options) {
        let mut topics = pointers(topics);
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DeleteTopics(self.rk(), topics.as_mut_ptr(), topics.len(), options.ptr(), self.q()) }
    }

    /// CreatePartitions of one topic.
    pub fn create_partitions(&self, request: &NewPartitions, options: &Options) {
        let mut requests = [request.ptr()];
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_CreatePartitions(self.rk(), requests.as_mut_ptr(), 1, options.ptr(), self.q()) }
    }

    /// DeleteGroups of `groups`.
    pub fn delete_groups(&self, groups: &[DeleteGroup], options: &Options) {
        let mut groups = pointers(groups);
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DeleteGroups(self.rk(), groups.as_mut_ptr(), groups.len(), options.ptr(), self.q()) }
    }

    /// DeleteRecords before the offsets of one request.
    pub fn delete_records(&self, request: &DeleteRecords, options: &Options) {
        let mut requests = [request.ptr()];
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DeleteRecords(self.rk(), requests.as_mut_ptr(), 1, options.ptr(), self.q()) }
    }

    /// DescribeConfigs of one resource.
    pub fn describe_configs(&self, resource: &ConfigResource, options: &Options) {
        let mut resources = [resource.ptr()];
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DescribeConfigs(self.rk(), resources.as_mut_ptr(), 1, options.ptr(), self.q()) }
    }

    /// IncrementalAlterConfigs of one resource.
    pub fn incremental_alter_configs(&self, resource: &ConfigResource, options: &Options) {
        let mut resources = [resource.ptr()];
        // SAFETY: see create_topics.
        unsafe {
            rdsys::rd_kafka_IncrementalAlterConfigs(self.rk(), resources.as_mut_ptr(), 1, options.ptr(), self.q())
        }
    }

    /// ListConsumerGroups.
    pub fn list_consumer_groups(&self, options: &Options) {
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_ListConsumerGroups(self.rk(), options.ptr(), self.q()) }
    }

    /// DescribeConsumerGroups of `ids`.
    pub fn describe_consumer_groups(&self, ids: &[CString], options: &Options) {
        let mut names = string_pointers(ids);
        // SAFETY: see create_topics.
        unsafe {
            rdsys::rd_kafka_DescribeConsumerGroups(self.rk(), names.as_mut_ptr(), names.len(), options.ptr(), self.q())
        }
    }

    /// ListConsumerGroupOffsets of one group.
    pub fn list_group_offsets(&self, request: &ListGroupOffsets, options: &Options) {
        let mut requests = [request.ptr()];
        // SAFETY: see create_topics.
        unsafe {
            rdsys::rd_kafka_ListConsumerGroupOffsets(self.rk(), requests.as_mut_ptr(), 1, options.ptr(), self.q())
        }
    }

    /// AlterConsumerGroupOffsets of one group.
    pub fn alter_group_offsets(&self, request: &AlterGroupOffsets, options: &Options) {
        let mut requests = [request.ptr()];
        // SAFETY: see create_topics.
        unsafe {
            rdsys::rd_kafka_AlterConsumerGroupOffsets(self.rk(), requests.as_mut_ptr(), 1, options.ptr(), self.q())
        }
    }

    /// CreateAcls of `acls`.
    pub fn create_acls(&self, acls: &[AclBinding], options: &Options) {
        let mut acls = pointers(acls);
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_CreateAcls(self.rk(), acls.as_mut_ptr(), acls.len(), options.ptr(), self.q()) }
    }

    /// DescribeAcls matching `filter`.
    pub fn describe_acls(&self, filter: &AclBinding, options: &Options) {
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DescribeAcls(self.rk(), filter.ptr(), options.ptr(), self.q()) }
    }

    /// DeleteAcls matching each of `filters`.
    pub fn delete_acls(&self, filters: &[AclBinding], options: &Options) {
        let mut filters = pointers(filters);
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DeleteAcls(self.rk(), filters.as_mut_ptr(), filters.len(), options.ptr(), self.q()) }
    }

    /// DescribeCluster.
    pub fn describe_cluster(&self, options: &Options) {
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DescribeCluster(self.rk(), options.ptr(), self.q()) }
    }

    /// DescribeTopics of `topics`.
    pub fn describe_topics(&self, topics: &TopicCollection, options: &Options) {
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_DescribeTopics(self.rk(), topics.ptr(), options.ptr(), self.q()) }
    }

    /// ElectLeaders.
    pub fn elect_leaders(&self, request: &ElectLeaders, options: &Options) {
        // SAFETY: see create_topics.
        unsafe { rdsys::rd_kafka_ElectLeaders(self.rk(), request.ptr(), options.ptr(), self.q()) }
    }

    /// ListOffsets of `list` (each partition's offset is its spec).
    pub fn list_offsets(&self, list: &TopicPartitionList, options: &Options) {
        // SAFETY: see create_topics; librdkafka only reads the list (its `*mut` is historical).
        unsafe { rdsys::rd_kafka_ListOffsets(self.rk(), list.ptr(), options.ptr(), self.q()) }
    }

    /// DescribeUserScramCredentials of `users` (empty: every user that has some).
    pub fn describe_scram_users(&self, users: &[CString], options: &Options) {
        let mut names = string_pointers(users);
        let array = if names.is_empty() { ptr::null_mut() } else { names.as_mut_ptr() };
        // SAFETY: see create_topics (NULL, 0 is librdkafka's "every user").
        unsafe { rdsys::rd_kafka_DescribeUserScramCredentials(self.rk(), array, names.len(), options.ptr(), self.q()) }
    }

    /// AlterUserScramCredentials with `alterations`.
    pub fn alter_scram_users(&self, alterations: &[ScramAlteration], options: &Options) {
        let mut alterations = pointers(alterations);
        // SAFETY: see create_topics.
        unsafe {
            rdsys::rd_kafka_AlterUserScramCredentials(
                self.rk(),
                alterations.as_mut_ptr(),
                alterations.len(),
                options.ptr(),
                self.q(),
            )
        }
    }
}

/// The opaque of an admin result event: what [`NativeAdmin::options`] was given (0 for an event
/// without one).
pub fn event_opaque(event: &Event) -> usize {
    // SAFETY: a live event we own; rd_kafka_event_opaque only reads it. The pointer is a number we
    // put there, never dereferenced.
    unsafe { rdsys::rd_kafka_event_opaque(event.ptr()) as usize }
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

/// The reason librdkafka wrote into `errstr` (zeroed by the caller, NUL-terminated by librdkafka).
fn reason(errstr: &[c_char]) -> String {
    // SAFETY: a zeroed buffer that librdkafka only writes NUL-terminated strings into; its last
    // byte stays 0 (librdkafka writes at most its size, terminated).
    unsafe { raw::lossy(errstr.as_ptr()) }.unwrap_or_default()
}

/// How long the request may take as a whole (`request_timeout`) and the broker may take for the
/// operation (`operation_timeout`), and whether the broker only checks it (`validate_only`):
/// librdkafka's reason if it refuses one.
pub fn set_timeouts(
    options: &Options,
    request_timeout: Option<std::time::Duration>,
    operation_timeout: Option<std::time::Duration>,
    validate_only: bool,
) -> Result<(), String> {
    let millis = |timeout: std::time::Duration| c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
    let mut errstr = [0 as c_char; 512];
    // SAFETY: live options and an error buffer of the given size; each setter returns its error
    // code as the C int it is (crate::ffi's rule) and writes its reason into the buffer.
    unsafe {
        if let Some(timeout) = request_timeout {
            if raw::rd_kafka_AdminOptions_set_request_timeout(
                options.ptr(),
                millis(timeout),
                errstr.as_mut_ptr(),
                errstr.len(),
            ) != 0
            {
                return Err(reason(&errstr));
            }
        }
        if let Some(timeout) = operation_timeout {
            if raw::rd_kafka_AdminOptions_set_operation_timeout(
                options.ptr(),
                millis(timeout),
                errstr.as_mut_ptr(),
                errstr.len(),
            ) != 0
            {
                return Err(reason(&errstr));
            }
        }
        if validate_only
            && raw::rd_kafka_AdminOptions_set_validate_only(options.ptr(), 1, errstr.as_mut_ptr(), errstr.len()) != 0
        {
            return Err(reason(&errstr));
        }
    }
    Ok(())
}

/// A topic to create: `name` with `partitions` partitions (-1: the broker's default) and either
/// `replication_factor` replicas (-1: the broker's default) or, with `assignment`, the brokers of
/// each partition's replicas; `config` its configuration. librdkafka's reason if it refuses one.
pub fn new_topic(
    name: &CStr,
    partitions: i32,
    replication_factor: i32,
    assignment: Option<&[Vec<i32>]>,
    config: &[(CString, CString)],
) -> Result<NewTopic, String> {
    let mut errstr = [0 as c_char; 512];
    let replication_factor = if assignment.is_some() { -1 } else { replication_factor };
    // SAFETY: a valid C string, which librdkafka copies, and an error buffer of the given size;
    // librdkafka returns a new object that we own (freed by rd_kafka_NewTopic_destroy, `NativePtr`)
    // or NULL with the reason.
    let topic = unsafe {
        NativePtr::from_ptr(rdsys::rd_kafka_NewTopic_new(
            name.as_ptr(),
            partitions,
            replication_factor,
            errstr.as_mut_ptr(),
            errstr.len(),
        ))
    }
    .ok_or_else(|| reason(&errstr))?;
    for (index, brokers) in assignment.unwrap_or_default().iter().enumerate() {
        let mut brokers = brokers.clone();
        // SAFETY: our live object, `brokers.len()` ids (which librdkafka copies; its `*mut` is
        // historical) and an error buffer of the given size; the code is read as the C int it is.
        let code = unsafe {
            raw::rd_kafka_NewTopic_set_replica_assignment(
                topic.ptr(),
                i32::try_from(index).unwrap_or(i32::MAX),
                brokers.as_mut_ptr(),
                brokers.len(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if code != 0 {
            return Err(reason(&errstr));
        }
    }
    for (key, value) in config {
        // SAFETY: our live object and two valid C strings, which librdkafka copies.
        let code = unsafe { raw::rd_kafka_NewTopic_set_config(topic.ptr(), key.as_ptr(), value.as_ptr()) };
        if code != 0 {
            return Err(format!("librdkafka refused config entry {key:?} (error {code})"));
        }
    }
    Ok(topic)
}

/// A topic to delete.
pub fn delete_topic(name: &CStr) -> Option<DeleteTopic> {
    // SAFETY: a valid C string, which librdkafka copies into a new object that we own, freed by
    // rd_kafka_DeleteTopic_destroy (`NativePtr`).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_DeleteTopic_new(name.as_ptr())) }
}

/// Partitions to add to `topic` up to `total` (with, for each new one, the brokers of its
/// replicas); librdkafka's reason if it refuses the request.
pub fn new_partitions(topic: &CStr, total: usize, assignment: Option<&[Vec<i32>]>) -> Result<NewPartitions, String> {
    let mut errstr = [0 as c_char; 512];
    // SAFETY: as in new_topic (rd_kafka_NewPartitions_destroy).
    let partitions = unsafe {
        NativePtr::from_ptr(rdsys::rd_kafka_NewPartitions_new(topic.as_ptr(), total, errstr.as_mut_ptr(), errstr.len()))
    }
    .ok_or_else(|| reason(&errstr))?;
    for (index, brokers) in assignment.unwrap_or_default().iter().enumerate() {
        let mut brokers = brokers.clone();
        // SAFETY: as in new_topic's assignment (the caller checked that there are at most `total`
        // entries: more would trip an assertion in librdkafka).
        let code = unsafe {
            raw::rd_kafka_NewPartitions_set_replica_assignment(
                partitions.ptr(),
                i32::try_from(index).unwrap_or(i32::MAX),
                brokers.as_mut_ptr(),
                brokers.len(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if code != 0 {
            return Err(reason(&errstr));
        }
    }
    Ok(partitions)
}

/// A consumer group to delete.
pub fn delete_group(name: &CStr) -> Option<DeleteGroup> {
    // SAFETY: as in delete_topic (rd_kafka_DeleteGroup_destroy).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_DeleteGroup_new(name.as_ptr())) }
}

/// The records to delete: those before the offset of each partition of `offsets`.
pub fn delete_records(offsets: &TopicPartitionList) -> Option<DeleteRecords> {
    // SAFETY: a live list, which librdkafka copies into a new object that we own, freed by
    // rd_kafka_DeleteRecords_destroy (`NativePtr`).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_DeleteRecords_new(offsets.ptr())) }
}
