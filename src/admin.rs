//! `AdminClient`: topics, partitions, configs, consumer groups and offsets, with one
//! `concurrent.futures.Future` per call that resolves to plain Python values.
//!
//! # How a call runs
//! Arguments are converted and validated on the caller's thread, so mistakes raise at once. The
//! request then runs on a short-lived thread of its own, without the GIL, which attaches to Python
//! only to resolve the future. A thread per call rather than one worker fed by a channel: admin
//! calls are rare and wait for network round trips (up to their operation timeout), so a single
//! worker would make a quick `describe_configs` wait behind a slow `create_topics`; a thread costs
//! microseconds against that and needs neither an executor nor shutdown logic.
//!
//! Two ways into librdkafka:
//! - rdkafka's `AdminClient` methods where they report every per-item error: create and delete
//!   topics, create partitions, delete groups, delete records. rdkafka's own polling thread
//!   completes their Rust futures; `futures_executor::block_on` waits for them.
//! - librdkafka's C API (`rdkafka::bindings`) for the rest: what rdkafka does not wrap (listing and
//!   describing groups, consumer group offsets, list offsets, incremental alter configs) and
//!   `describe_configs`, whose rdkafka wrapper drops the per-resource error (a missing topic would
//!   read as an empty config) and fails on config sources it does not know. Each such request gets
//!   a queue of its own, polled by the request's thread: no routing of results between calls.
//!
//! # Lifetimes
//! Every running call holds an `Arc<AdminCore>`, so the native client outlives every request in
//! flight: `close()` drops only the Python object's reference, and the client is destroyed, on a
//! background thread, when the last call has finished. librdkafka requires every object made from a
//! client (queues, events) to be destroyed before the client; each call destroys its own before it
//! lets go of its `Arc`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ffi::{c_char, c_int, CString};
use std::mem::ManuallyDrop;
use std::panic::AssertUnwindSafe;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_executor::block_on;
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyNone};
use pyo3::IntoPyObjectExt;
use rdkafka::admin::{
    AdminClient as RdAdminClient, AdminOptions, NewPartitions, NewTopic as RdNewTopic, TopicReplication,
};
use rdkafka::bindings as rdsys;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use crate::args::{Int, Seconds};
use crate::blocking::drop_in_background;
use crate::config::{client_config, config_dict};
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::{self as raw, lossy, NativeDrop, NativePtr};
use crate::producer::future_type;
use crate::topic_partition::check_topic_name;
use crate::topic_partition::{partitions_arg, read_native_list, read_native_partition, to_list, TopicPartition};

/// librdkafka's default admin request timeout is `socket.timeout.ms`, whose default this is.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest request and operation timeout librdkafka accepts.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// How much longer than the broker-side operation timeout the request as a whole may take.
const REQUEST_MARGIN: Duration = Duration::from_secs(5);
/// How long past its request timeout a C-API request's thread waits for the result before giving
/// up. librdkafka always emits a result (a timeout error at worst) by the request timeout; this only
/// guarantees that the future resolves even if that promise were broken.
const RESULT_MARGIN: Duration = Duration::from_secs(10);
/// librdkafka's limits (RD_KAFKAP_PARTITIONS_MAX, RD_KAFKAP_BROKERS_MAX).
const MAX_PARTITIONS: i64 = 100_000;
const MAX_REPLICATION_FACTOR: i32 = 10_000;

// ---------------------------------------------------------------------------------------------
// Errors

fn kafka_error(code: c_int, context: &str, detail: Option<String>) -> FerroError {
    FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, detail))
}

/// A failure on this side of librdkafka (no queue, no thread): `_FAIL` with an explanation.
fn local_error(context: &str, detail: &str) -> FerroError {
    kafka_error(RDKafkaErrorCode::Fail as c_int, context, Some(detail.to_owned()))
}

/// An error of one of rdkafka's wrapped requests: what it refuses to build are bad arguments;
/// a failure of the request as a whole gets `context`.
fn admin_error(err: RdKafkaError, context: &str) -> FerroError {
    match err {
        RdKafkaError::AdminOpCreation(msg) => FerroError::Value(msg),
        RdKafkaError::Nul(_) => {
            FerroError::Value("strings passed to librdkafka must not contain NUL characters".into())
        }
        RdKafkaError::AdminOp(code) => FerroError::Kafka(KafkaErrorInfo::from_code(code, context)),
        other => FerroError::from(other),
    }
}

/// The first failed item of an rdkafka topic or group result, as the error of the whole call.
fn first_error(results: Vec<Result<String, (String, RDKafkaErrorCode)>>, what: &str) -> FerroResult<Done> {
    match results.into_iter().find_map(Result::err) {
        Some((name, code)) => Err(FerroError::Kafka(KafkaErrorInfo::from_code(code, &format!("{what} {name:?}")))),
        None => Ok(Done),
    }
}

/// The first partition with an error code, as the error of the whole call.
fn first_partition_error(partitions: &[(TopicPartition, c_int)], what: &str) -> FerroResult<()> {
    match partitions.iter().find(|(_, err)| *err != 0) {
        Some((tp, err)) => Err(kafka_error(*err, &format!("{what} {:?} [{}]", tp.topic, tp.partition), None)),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments

fn c_string(value: &str, what: &str) -> FerroResult<CString> {
    CString::new(value).map_err(|_| FerroError::Value(format!("{what} {value:?} contains a NUL character")))
}

fn non_empty<T, L: AsRef<[T]>>(items: L, what: &str) -> FerroResult<L> {
    if items.as_ref().is_empty() {
        Err(FerroError::Value(format!("{what} must not be empty")))
    } else {
        Ok(items)
    }
}

/// Non-empty names without NUL characters, as C strings.
fn c_names(names: Vec<String>, what: &str) -> FerroResult<Vec<CString>> {
    non_empty(names, &format!("the list of {what}s"))?
        .iter()
        .map(|name| {
            if name.is_empty() {
                Err(FerroError::Value(format!("a {what} must not be empty")))
            } else {
                c_string(name, what)
            }
        })
        .collect()
}

/// A non-empty list of checked topic names (see [`check_topic_name`]).
fn topic_names(names: &[String]) -> FerroResult<()> {
    non_empty(names, "the list of topic names")?.iter().try_for_each(|name| check_topic_name(name))
}

/// A timeout in seconds for librdkafka's admin requests: `None` (librdkafka's default), or 0 up
/// to librdkafka's limit of 3600 s, to which longer ones (also `inf`) saturate; negative and NaN
/// raise `ValueError`.
fn timeout_arg(seconds: Option<Seconds>, what: &str) -> FerroResult<Option<Duration>> {
    match seconds.map(|s| s.0) {
        None => Ok(None),
        Some(s) if s >= 0.0 => Ok(Some(Duration::try_from_secs_f64(s).unwrap_or(MAX_TIMEOUT).min(MAX_TIMEOUT))),
        Some(s) => Err(FerroError::Value(format!("{what} must be None or a non-negative number of seconds, not {s}"))),
    }
}

/// A `Mapping` of str keys to `V` (str, or str | None), as pairs.
fn mapping_arg<V>(mapping: &Bound<'_, PyMapping>) -> PyResult<Vec<(String, V)>>
where
    V: for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>,
{
    mapping.items()?.iter().map(|item| item.extract::<(String, V)>()).collect()
}

/// A config resource named by Python: `("topic", name)` or `("broker", id)`.
fn resource_arg(resource_type: &str, name: &str) -> FerroResult<(rdsys::rd_kafka_ResourceType_t, CString)> {
    use rdsys::rd_kafka_ResourceType_t as R;
    let restype = match resource_type {
        "topic" => {
            check_topic_name(name)?;
            R::RD_KAFKA_RESOURCE_TOPIC
        }
        "broker" => {
            if name.parse::<i32>().is_err() {
                return Err(FerroError::Value(format!("a broker is named by its numeric id, not {name:?}")));
            }
            R::RD_KAFKA_RESOURCE_BROKER
        }
        other => {
            return Err(FerroError::Value(format!("resource_type must be \"topic\" or \"broker\", not {other:?}")))
        }
    };
    Ok((restype, c_string(name, resource_type)?))
}

// ---------------------------------------------------------------------------------------------
// librdkafka objects

/// An array of `count` pointers returned by librdkafka, as a slice (empty for NULL).
///
/// # Safety
/// `array` is NULL or points to `count` initialised pointers that stay valid for `'a` (they belong
/// to a result event that the caller keeps alive that long).
unsafe fn native_array<'a, T>(array: *const *const T, count: usize) -> &'a [*const T] {
    if array.is_null() || count == 0 {
        &[]
    } else {
        // SAFETY: non-NULL, `count` initialised elements, valid for 'a: the caller's guarantee.
        unsafe { std::slice::from_raw_parts(array, count) }
    }
}

/// An `rd_kafka_error_t` as a `FerroError`, or `None` for NULL / no error.
///
/// # Safety
/// `error` is NULL or a valid error object, alive for the duration of the call.
unsafe fn native_error(error: *const rdsys::rd_kafka_error_t, context: &str) -> Option<FerroError> {
    // SAFETY: the caller's guarantee, passed on.
    unsafe { KafkaErrorInfo::from_error_object(error, context) }.map(FerroError::Kafka)
}

// ---------------------------------------------------------------------------------------------
// The client

struct AdminCore {
    /// Destroyed in `Drop`, on a background thread.
    client: ManuallyDrop<RdAdminClient<DefaultClientContext>>,
    /// librdkafka's default timeout for a whole admin request (`socket.timeout.ms`).
    request_timeout: Duration,
    born: crate::fork::Born,
}

impl AdminCore {
    fn native_ptr(&self) -> *mut rdsys::rd_kafka_t {
        self.client.inner().native_ptr()
    }

    /// Options for rdkafka's wrapped requests.
    fn options(&self, operation_timeout: Option<Duration>) -> AdminOptions {
        let options = AdminOptions::new();
        match operation_timeout {
            None => options,
            // The request as a whole must outlast the broker-side operation, or it fails locally
            // with a timeout while the broker may still complete it.
            Some(operation) => options
                .operation_timeout(Some(operation))
                .request_timeout(Some(self.request_timeout.max(operation + REQUEST_MARGIN).min(MAX_TIMEOUT))),
        }
    }

    /// Sends one request through `send` (given the client and the queue to emit the result on)
    /// with default options, on a queue of its own, and waits for its result event of type
    /// `expected`. The queue is destroyed before this returns; the event is independent of it.
    fn run_request(
        &self,
        expected: rdsys::rd_kafka_event_type_t,
        context: &str,
        send: impl FnOnce(*mut rdsys::rd_kafka_t, *mut rdsys::rd_kafka_queue_t),
    ) -> FerroResult<NativePtr<rdsys::rd_kafka_event_t>> {
        let rk = self.native_ptr();
        // SAFETY: `rk` is the live client, kept alive by `self` for this whole call.
        // rd_kafka_queue_new returns a new queue that the caller owns (or NULL), freed by
        // rd_kafka_queue_destroy: `NativePtr` does that when `queue` goes out of scope at the end of
        // this function, so before the client can be destroyed. Destroying it early (on the give-up
        // path below) is safe: the request holds its own reference to the queue and librdkafka
        // discards a result enqueued on a destroyed application queue.
        let queue = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_new(rk)) }
            .ok_or_else(|| local_error(context, "librdkafka could not create a queue"))?;
        send(rk, queue.ptr());
        let deadline = Instant::now() + self.request_timeout + RESULT_MARGIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(kafka_error(
                    RDKafkaErrorCode::OperationTimedOut as c_int,
                    context,
                    Some("no result from librdkafka within the request timeout".into()),
                ));
            }
            let timeout_ms = c_int::try_from(left.as_millis()).unwrap_or(c_int::MAX);
            // SAFETY: `queue` is live (owned above). rd_kafka_queue_poll returns NULL on timeout or
            // an event that the caller owns and frees with rd_kafka_event_destroy, which `NativePtr`
            // does.
            let event = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_poll(queue.ptr(), timeout_ms)) };
            if let Some(event) = event {
                // SAFETY: `event` is live; rd_kafka_event_type only reads it.
                if unsafe { rdsys::rd_kafka_event_type(event.ptr()) } == expected {
                    return Ok(event);
                }
                // Only this request's result is ever sent to this queue; anything else is dropped.
            }
        }
    }
}

impl AdminCore {
    /// Runs one consumer-group offsets request (List or Alter: librdkafka's two APIs have the same
    /// shape) and reads the partitions of its one group result.
    fn group_offsets_request<R: NativeDrop, Res>(
        &self,
        request: NativePtr<R>,
        send: unsafe extern "C" fn(
            *mut rdsys::rd_kafka_t,
            *mut *mut R,
            usize,
            *const rdsys::rd_kafka_AdminOptions_t,
            *mut rdsys::rd_kafka_queue_t,
        ),
        expected: rdsys::rd_kafka_event_type_t,
        result_of: unsafe extern "C" fn(*mut rdsys::rd_kafka_event_t) -> *const Res,
        groups_of: unsafe extern "C" fn(*const Res, *mut usize) -> *mut *const rdsys::rd_kafka_group_result_t,
        context: &str,
    ) -> FerroResult<Vec<TopicPartition>> {
        let event = self.run_request(expected, context, |rk, queue| {
            let mut requests = [request.ptr()];
            // SAFETY: live client and queue (run_request); an array of exactly one live request
            // (librdkafka's requirement), which librdkafka copies; no options (NULL is allowed).
            unsafe { send(rk, requests.as_mut_ptr(), 1, ptr::null(), queue) }
        })?;
        drop(request);
        check_event(&event, context)?;
        // SAFETY: `event` is a live result event of type `expected` that we own, and `result_of` /
        // `groups_of` are the accessors of that type; the group results they return belong to the
        // event and are read by `group_offsets` while it is alive.
        unsafe {
            let result = result_of(event.ptr());
            if result.is_null() {
                return Err(wrong_result(context));
            }
            let mut count = 0;
            let groups = groups_of(result, &mut count);
            group_offsets(groups, count, context)
        }
    }
}

/// The request-level error of a result event, if any.
fn check_event(event: &NativePtr<rdsys::rd_kafka_event_t>, context: &str) -> FerroResult<()> {
    // SAFETY: `event` is a live event we own; rd_kafka_event_error_string returns NULL or a string
    // owned by the event, copied by `lossy` before the event can go.
    let (code, detail) = unsafe {
        let code = raw::rd_kafka_event_error(event.ptr());
        (code, if code != 0 { lossy(rdsys::rd_kafka_event_error_string(event.ptr())) } else { None })
    };
    if code == 0 {
        Ok(())
    } else {
        Err(kafka_error(code, context, detail))
    }
}

fn wrong_result(context: &str) -> FerroError {
    local_error(context, "librdkafka returned a result of another type")
}

/// The group results of a ListConsumerGroupOffsets or AlterConsumerGroupOffsets result: the
/// partitions of the (only) group, or its first error (group-level, then partition-level).
///
/// # Safety
/// `groups` and `count` come from the `..._result_groups` accessor of a result event that stays
/// alive for the duration of the call.
unsafe fn group_offsets(
    groups: *const *const rdsys::rd_kafka_group_result_t,
    count: usize,
    context: &str,
) -> FerroResult<Vec<TopicPartition>> {
    let mut partitions = Vec::new();
    // SAFETY: `groups` holds `count` group results owned by the live event (caller's guarantee).
    for &group in unsafe { native_array(groups, count) } {
        // SAFETY: `group` is a valid group result owned by the live event. Its error (NULL if none)
        // and its partition list (NULL if none) belong to it too, and are only read here.
        unsafe {
            if let Some(err) = native_error(rdsys::rd_kafka_group_result_error(group), context) {
                return Err(err);
            }
            partitions.extend(read_native_list(rdsys::rd_kafka_group_result_partitions(group)));
        }
    }
    first_partition_error(&partitions, &format!("{context}: partition"))?;
    let mut partitions: Vec<TopicPartition> = partitions.into_iter().map(|(tp, _)| tp).collect();
    partitions.sort();
    Ok(partitions)
}

/// A consumer group as `describe_groups` shows it.
struct GroupDescription {
    state: String,
    group_type: String,
    protocol: String,
    members: Vec<GroupMember>,
}

struct GroupMember {
    member_id: String,
    client_id: String,
    host: String,
    group_instance_id: Option<String>,
}

impl<'py> IntoPyObject<'py> for GroupMember {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("member_id", self.member_id)?;
        dict.set_item("client_id", self.client_id)?;
        dict.set_item("host", self.host)?;
        dict.set_item("group_instance_id", self.group_instance_id)?;
        Ok(dict)
    }
}

impl<'py> IntoPyObject<'py> for GroupDescription {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("state", self.state)?;
        dict.set_item("type", self.group_type)?;
        dict.set_item("protocol", self.protocol)?;
        dict.set_item("members", self.members)?;
        Ok(dict)
    }
}

/// What the calls that resolve to None return (`()` would become an empty tuple).
struct Done;

impl<'py> IntoPyObject<'py> for Done {
    type Target = PyNone;
    type Output = Bound<'py, PyNone>;
    type Error = Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Bound<'py, PyNone>, Infallible> {
        Ok(PyNone::get(py).to_owned())
    }
}

/// Resolves `future` with the outcome of its request. With the GIL.
fn resolve<T>(py: Python<'_>, future: &Bound<'_, PyAny>, outcome: FerroResult<T>)
where
    T: for<'py> IntoPyObject<'py>,
{
    let value = outcome.map_err(PyErr::from).and_then(|value| value.into_bound_py_any(py));
    let set = match value {
        Ok(value) => future.call_method1("set_result", (value,)),
        Err(err) => future.call_method1("set_exception", (err.into_value(py),)),
    };
    if let Err(err) = set {
        // Only a future someone else resolved could refuse; report it rather than lose it.
        err.write_unraisable(py, Some(future));
    }
}

/// A topic to create with `AdminClient.create_topics()`.
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct NewTopic {
    #[pyo3(get)]
    name: String,
    /// -1: the broker's default (`num.partitions`).
    #[pyo3(get)]
    num_partitions: i32,
    /// -1: the broker's default (`default.replication.factor`).
    #[pyo3(get)]
    replication_factor: i32,
    config: BTreeMap<String, String>,
}

#[pymethods]
impl NewTopic {
    #[new]
    #[pyo3(signature = (name, num_partitions=Int(1), replication_factor=Int(1), config=None), text_signature = "(name, num_partitions=1, replication_factor=1, config=None)")]
    fn py_new(
        name: String,
        num_partitions: Int<i32>,
        replication_factor: Int<i32>,
        config: Option<&Bound<'_, PyMapping>>,
    ) -> PyResult<Self> {
        let (Int(num_partitions), Int(replication_factor)) = (num_partitions, replication_factor);
        check_topic_name(&name)?;
        if num_partitions != -1 && !(1..=MAX_PARTITIONS).contains(&i64::from(num_partitions)) {
            return Err(FerroError::Value(format!(
                "num_partitions must be -1 (the broker's default) or 1 to {MAX_PARTITIONS}, not {num_partitions}"
            ))
            .into());
        }
        if replication_factor != -1 && !(1..=MAX_REPLICATION_FACTOR).contains(&replication_factor) {
            return Err(FerroError::Value(format!(
                "replication_factor must be -1 (the broker's default) or 1 to {MAX_REPLICATION_FACTOR}, \
                 not {replication_factor}"
            ))
            .into());
        }
        let config: BTreeMap<String, String> = match config {
            Some(config) => mapping_arg(config)?.into_iter().collect(),
            None => BTreeMap::new(),
        };
        for (key, value) in &config {
            c_string(key, "config key")?;
            c_string(value, "config value")?;
        }
        Ok(NewTopic { name, num_partitions, replication_factor, config })
    }

    /// The topic's configuration (a copy).
    #[getter]
    fn config(&self) -> BTreeMap<String, String> {
        self.config.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "NewTopic(name={:?}, num_partitions={}, replication_factor={}, config={:?})",
            self.name, self.num_partitions, self.replication_factor, self.config
        )
    }
}

impl NewTopic {
    fn to_rdkafka(&self) -> RdNewTopic<'_> {
        let mut topic =
            RdNewTopic::new(&self.name, self.num_partitions, TopicReplication::Fixed(self.replication_factor));
        for (key, value) in &self.config {
            topic = topic.set(key, value);
        }
        topic
    }
}

/// librdkafka's admin client. Every method returns a `concurrent.futures.Future`.
#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct AdminClient {
    /// `None` once closed. Running calls hold their own clones.
    core: Mutex<Option<Arc<AdminCore>>>,
}

impl AdminClient {
    fn open_core(&self) -> FerroResult<Arc<AdminCore>> {
        let core = self.core.lock().clone().ok_or(FerroError::Closed("admin client"))?;
        core.born.check("admin client")?;
        Ok(core)
    }

    /// Runs `work` on a thread of its own and returns the future that its outcome resolves.
    fn submit<'py, T, W>(&self, py: Python<'py>, name: &str, work: W) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        W: FnOnce(&AdminCore) -> FerroResult<T> + Send + 'static,
    {
        let core = self.open_core()?;
        let future = future_type(py)?.call0()?;
        // A request cannot be taken back once sent: its future is running and cannot be cancelled.
        future.call_method0("set_running_or_notify_cancel")?;
        let pending = future.clone().unbind();
        let spawned = std::thread::Builder::new().name(format!("ferrokafka-admin-{name}")).spawn(move || {
            // Nothing in `work` is meant to panic; if something did, the future still resolves.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(&core)))
                .unwrap_or_else(|_| Err(local_error("admin request failed", "internal error (a panic)")));
            // Every native object of the request is gone by now. This may be the last reference
            // to the client (after close()): its Drop hands the client to yet another thread.
            drop(core);
            // During interpreter shutdown nobody can wait for the future any more: leave it.
            Python::try_attach(|py| resolve(py, pending.bind(py), outcome));
        });
        match spawned {
            Ok(_) => Ok(future),
            Err(err) => Err(local_error(&format!("could not start {name}"), &format!("no thread: {err}")).into()),
        }
    }
}

impl Drop for AdminCore {
    fn drop(&mut self) {
        // SAFETY: taken exactly once, here, as `self` is being dropped; nothing else refers to it.
        let client = unsafe { ManuallyDrop::take(&mut self.client) };
        // rdkafka's AdminClient joins its polling thread and destroys the handle: never on a
        // thread that holds the GIL.
        drop_in_background(client, "admin-client", self.born);
    }
}

#[pymethods]
impl AdminClient {
    #[new]
    fn py_new(config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (config, settings) = client_config(&config_dict(config)?)?;
        // The admin client's librdkafka context is rdkafka's default one: no Python callbacks.
        settings.allow_only("admin client", &[])?;
        let request_timeout = config
            .get("socket.timeout.ms")
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_millis);
        let client: RdAdminClient<DefaultClientContext> = config.create().map_err(FerroError::from)?;
        let core = AdminCore { client: ManuallyDrop::new(client), request_timeout, born: crate::fork::Born::here() };
        Ok(AdminClient { core: Mutex::new(Some(Arc::new(core))) })
    }

    /// Creates topics. Resolves to None, or raises the KafkaError of the first topic that failed
    /// (the others may have been created). `operation_timeout`: how long the broker waits for the
    /// creation to complete before answering (None: librdkafka's default, `socket.timeout.ms`).
    #[pyo3(signature = (topics, *, operation_timeout=None))]
    fn create_topics<'py>(
        &self,
        py: Python<'py>,
        topics: Vec<PyRef<'py, NewTopic>>,
        operation_timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let topics: Vec<NewTopic> = non_empty(topics, "the list of topics")?.iter().map(|t| (**t).clone()).collect();
        let operation_timeout = timeout_arg(operation_timeout, "operation_timeout")?;
        self.submit(py, "create-topics", move |core| {
            let specs: Vec<RdNewTopic<'_>> = topics.iter().map(NewTopic::to_rdkafka).collect();
            let results = block_on(core.client.create_topics(specs.iter(), &core.options(operation_timeout)))
                .map_err(|err| admin_error(err, "could not create topics"))?;
            first_error(results, "could not create topic")
        })
    }

    /// Deletes topics. Resolves to None, or raises the KafkaError of the first that failed.
    #[pyo3(signature = (names, *, operation_timeout=None))]
    fn delete_topics<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        operation_timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, PyAny>> {
        topic_names(&names)?;
        let operation_timeout = timeout_arg(operation_timeout, "operation_timeout")?;
        self.submit(py, "delete-topics", move |core| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let results = block_on(core.client.delete_topics(&names, &core.options(operation_timeout)))
                .map_err(|err| admin_error(err, "could not delete topics"))?;
            first_error(results, "could not delete topic")
        })
    }

    /// Grows `topic` to `new_total_count` partitions. Resolves to None.
    #[pyo3(signature = (topic, new_total_count, *, operation_timeout=None))]
    fn create_partitions<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        new_total_count: i64,
        operation_timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_topic_name(&topic)?;
        if !(1..=MAX_PARTITIONS).contains(&new_total_count) {
            return Err(FerroError::Value(format!(
                "new_total_count must be 1 to {MAX_PARTITIONS}, not {new_total_count}"
            ))
            .into());
        }
        let count = new_total_count as usize; // 1..=100_000: fits.
        let operation_timeout = timeout_arg(operation_timeout, "operation_timeout")?;
        self.submit(py, "create-partitions", move |core| {
            let spec = NewPartitions::new(&topic, count);
            let results = block_on(core.client.create_partitions([&spec], &core.options(operation_timeout)))
                .map_err(|err| admin_error(err, &format!("could not create partitions for topic {topic:?}")))?;
            first_error(results, "could not create partitions for topic")
        })
    }

    /// The current configuration of a topic (`resource_type="topic"`, `name` its name) or broker
    /// (`"broker"`, `name` its numeric id), as {name: value}. Entries without a value (sensitive
    /// ones, among others) are left out.
    fn describe_configs<'py>(&self, py: Python<'py>, resource_type: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let context = format!("could not describe the configuration of {resource_type} {name:?}");
        let (restype, name) = resource_arg(resource_type, name)?;
        self.submit(py, "describe-configs", move |core| {
            // SAFETY: `name` is a valid C string; rd_kafka_ConfigResource_new copies it and returns a
            // new resource that we own, freed by rd_kafka_ConfigResource_destroy (`NativePtr`).
            let resource = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_ConfigResource_new(restype, name.as_ptr())) }
                .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            let event = core.run_request(rdsys::RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, &context, |rk, queue| {
                let mut resources = [resource.ptr()];
                // SAFETY: `rk` and `queue` are live (run_request); `resources` is an array of one
                // live resource, which librdkafka copies (it stays ours and is freed by `NativePtr`).
                // NULL options: librdkafka's defaults.
                unsafe { rdsys::rd_kafka_DescribeConfigs(rk, resources.as_mut_ptr(), 1, ptr::null(), queue) }
            })?;
            drop(resource);
            check_event(&event, &context)?;
            let mut entries = BTreeMap::new();
            // SAFETY: `event` is a live DescribeConfigs result event that we own until the end of
            // this closure. Every pointer below (result, resources, config entries, their strings)
            // belongs to it and is only read, and copied by `lossy`, while it is alive.
            unsafe {
                let result = rdsys::rd_kafka_event_DescribeConfigs_result(event.ptr());
                if result.is_null() {
                    return Err(wrong_result(&context));
                }
                let mut count = 0;
                let resources = rdsys::rd_kafka_DescribeConfigs_result_resources(result, &mut count);
                for &resource in native_array(resources, count) {
                    let code = raw::rd_kafka_ConfigResource_error(resource);
                    if code != 0 {
                        return Err(kafka_error(
                            code,
                            &context,
                            lossy(rdsys::rd_kafka_ConfigResource_error_string(resource)),
                        ));
                    }
                    let mut count = 0;
                    let configs = rdsys::rd_kafka_ConfigResource_configs(resource, &mut count);
                    for &entry in native_array(configs, count) {
                        let name = lossy(rdsys::rd_kafka_ConfigEntry_name(entry));
                        let value = lossy(rdsys::rd_kafka_ConfigEntry_value(entry));
                        if let (Some(name), Some(value)) = (name, value) {
                            entries.insert(name, value);
                        }
                    }
                }
            }
            Ok(entries)
        })
    }

    /// Sets configuration entries of a topic or broker (see describe_configs) with
    /// IncrementalAlterConfigs: entries not named keep their values; a value of None reverts that
    /// entry to its default. Resolves to None.
    fn alter_configs<'py>(
        &self,
        py: Python<'py>,
        resource_type: &str,
        name: &str,
        config: &Bound<'py, PyMapping>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = format!("could not alter the configuration of {resource_type} {name:?}");
        let (restype, name) = resource_arg(resource_type, name)?;
        let config: BTreeMap<String, Option<String>> = mapping_arg(config)?.into_iter().collect();
        if config.is_empty() {
            return Err(FerroError::Value("config must not be empty".into()).into());
        }
        let config = config
            .into_iter()
            .map(|(key, value)| {
                Ok((c_string(&key, "config key")?, value.map(|v| c_string(&v, "config value")).transpose()?))
            })
            .collect::<FerroResult<Vec<(CString, Option<CString>)>>>()?;
        self.submit(py, "alter-configs", move |core| {
            // SAFETY: as in describe_configs: a new resource that we own, freed by `NativePtr`.
            let resource = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_ConfigResource_new(restype, name.as_ptr())) }
                .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            for (key, value) in &config {
                let op = match value {
                    Some(_) => rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                    None => rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
                };
                let value = value.as_ref().map_or(ptr::null(), |v| v.as_ptr());
                // SAFETY: `resource` is live; `key` and `value` (or NULL, allowed with DELETE) are
                // valid C strings that librdkafka copies. It returns NULL or an error object that
                // the caller owns, freed by rd_kafka_error_destroy (`NativePtr`) after it was read.
                unsafe {
                    let error = NativePtr::from_ptr(rdsys::rd_kafka_ConfigResource_add_incremental_config(
                        resource.ptr(),
                        key.as_ptr(),
                        op,
                        value,
                    ));
                    if let Some(err) = error.and_then(|error| native_error(error.ptr(), &context)) {
                        return Err(err);
                    }
                }
            }
            let event =
                core.run_request(rdsys::RD_KAFKA_EVENT_INCREMENTALALTERCONFIGS_RESULT, &context, |rk, queue| {
                    let mut resources = [resource.ptr()];
                    // SAFETY: as in describe_configs: live client, queue and resource; librdkafka
                    // copies the resource.
                    unsafe {
                        rdsys::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), 1, ptr::null(), queue)
                    }
                })?;
            drop(resource);
            check_event(&event, &context)?;
            // SAFETY: `event` is a live IncrementalAlterConfigs result event that we own; the
            // resources and strings read below belong to it and are copied while it is alive.
            unsafe {
                let result = rdsys::rd_kafka_event_IncrementalAlterConfigs_result(event.ptr());
                if result.is_null() {
                    return Err(wrong_result(&context));
                }
                let mut count = 0;
                let resources = rdsys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count);
                for &resource in native_array(resources, count) {
                    let code = raw::rd_kafka_ConfigResource_error(resource);
                    if code != 0 {
                        return Err(kafka_error(
                            code,
                            &context,
                            lossy(rdsys::rd_kafka_ConfigResource_error_string(resource)),
                        ));
                    }
                }
            }
            Ok(Done)
        })
    }

    /// The ids of the consumer groups in the cluster, sorted. Raises the first error if some
    /// broker could not be asked (a partial list would look complete).
    fn list_groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let context = "could not list consumer groups";
        self.submit(py, "list-groups", move |core| {
            let event = core.run_request(rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, context, |rk, queue| {
                // SAFETY: `rk` and `queue` are live (run_request); NULL options: the defaults.
                unsafe { rdsys::rd_kafka_ListConsumerGroups(rk, ptr::null(), queue) }
            })?;
            check_event(&event, context)?;
            let mut groups = Vec::new();
            // SAFETY: `event` is a live ListConsumerGroups result event that we own; the arrays,
            // errors, listings and strings read below belong to it and are copied while it is alive.
            unsafe {
                let result = rdsys::rd_kafka_event_ListConsumerGroups_result(event.ptr());
                if result.is_null() {
                    return Err(wrong_result(context));
                }
                let mut count = 0;
                let errors = rdsys::rd_kafka_ListConsumerGroups_result_errors(result, &mut count);
                for &error in native_array(errors, count) {
                    if let Some(err) = native_error(error, context) {
                        return Err(err);
                    }
                }
                let mut count = 0;
                let valid = rdsys::rd_kafka_ListConsumerGroups_result_valid(result, &mut count);
                for &listing in native_array(valid, count) {
                    groups.extend(lossy(rdsys::rd_kafka_ConsumerGroupListing_group_id(listing)));
                }
            }
            groups.sort();
            Ok(groups)
        })
    }

    /// Describes consumer groups: {group_id: {"state", "type", "protocol" (the partition
    /// assignor), "members": [{"member_id", "client_id", "host", "group_instance_id"}]}}. Raises
    /// the error of the first group that could not be described.
    fn describe_groups<'py>(&self, py: Python<'py>, group_ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let ids = c_names(group_ids, "group id")?;
        let context = "could not describe consumer group";
        self.submit(py, "describe-groups", move |core| {
            let event =
                core.run_request(rdsys::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, context, |rk, queue| {
                    let mut names: Vec<*const c_char> = ids.iter().map(|id| id.as_ptr()).collect();
                    // SAFETY: `rk` and `queue` are live (run_request); `names` holds `names.len()`
                    // valid C strings (owned by `ids`, alive past this call), which librdkafka copies.
                    unsafe {
                        rdsys::rd_kafka_DescribeConsumerGroups(rk, names.as_mut_ptr(), names.len(), ptr::null(), queue)
                    }
                })?;
            check_event(&event, context)?;
            let mut groups = BTreeMap::new();
            // SAFETY: `event` is a live DescribeConsumerGroups result event that we own; every
            // description, member, error and string read below belongs to it and is copied while it
            // is alive. State and type values come from librdkafka's own mapping (always a variant
            // of its enum); their names are static strings.
            unsafe {
                let result = rdsys::rd_kafka_event_DescribeConsumerGroups_result(event.ptr());
                if result.is_null() {
                    return Err(wrong_result(context));
                }
                let mut count = 0;
                let descriptions = rdsys::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut count);
                for &group in native_array(descriptions, count) {
                    let group_id = lossy(rdsys::rd_kafka_ConsumerGroupDescription_group_id(group)).unwrap_or_default();
                    if let Some(err) = native_error(
                        rdsys::rd_kafka_ConsumerGroupDescription_error(group),
                        &format!("{context} {group_id:?}"),
                    ) {
                        return Err(err);
                    }
                    let state = rdsys::rd_kafka_ConsumerGroupDescription_state(group);
                    let group_type = rdsys::rd_kafka_ConsumerGroupDescription_type(group);
                    let members = (0..rdsys::rd_kafka_ConsumerGroupDescription_member_count(group))
                        .map(|i| rdsys::rd_kafka_ConsumerGroupDescription_member(group, i))
                        .filter(|member| !member.is_null())
                        .map(|member| GroupMember {
                            member_id: lossy(rdsys::rd_kafka_MemberDescription_consumer_id(member)).unwrap_or_default(),
                            client_id: lossy(rdsys::rd_kafka_MemberDescription_client_id(member)).unwrap_or_default(),
                            host: lossy(rdsys::rd_kafka_MemberDescription_host(member)).unwrap_or_default(),
                            group_instance_id: lossy(rdsys::rd_kafka_MemberDescription_group_instance_id(member)),
                        })
                        .collect();
                    let description = GroupDescription {
                        state: lossy(rdsys::rd_kafka_consumer_group_state_name(state)).unwrap_or_default(),
                        group_type: lossy(rdsys::rd_kafka_consumer_group_type_name(group_type)).unwrap_or_default(),
                        protocol: lossy(rdsys::rd_kafka_ConsumerGroupDescription_partition_assignor(group))
                            .unwrap_or_default(),
                        members,
                    };
                    groups.insert(group_id, description);
                }
            }
            Ok(groups)
        })
    }

    /// Deletes consumer groups (they must have no active members). Resolves to None, or raises the
    /// KafkaError of the first group that failed.
    fn delete_groups<'py>(&self, py: Python<'py>, group_ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        c_names(group_ids.clone(), "group id")?;
        self.submit(py, "delete-groups", move |core| {
            let names: Vec<&str> = group_ids.iter().map(String::as_str).collect();
            let results = block_on(core.client.delete_groups(&names, &core.options(None)))
                .map_err(|err| admin_error(err, "could not delete consumer groups"))?;
            first_error(results, "could not delete consumer group")
        })
    }

    /// The committed offsets of a consumer group: of `partitions` (their offsets are ignored), or
    /// of every partition it committed to if None. Resolves to a list of TopicPartition sorted by
    /// topic and partition; a partition without a committed offset has offset OFFSET_INVALID.
    #[pyo3(signature = (group_id, partitions=None))]
    fn list_consumer_group_offsets<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        partitions: Option<Vec<PyRef<'py, TopicPartition>>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let group = c_names(vec![group_id.clone()], "group id")?.remove(0);
        let list: Option<TopicPartitionList> = match partitions {
            None => None,
            Some(partitions) => Some(to_list(&non_empty(partitions_arg(partitions), "partitions")?)?),
        };
        let context = format!("could not list the offsets of consumer group {group_id:?}");
        self.submit(py, "list-group-offsets", move |core| {
            let partitions = list.as_ref().map_or(ptr::null(), |list| list.ptr().cast_const());
            // SAFETY: `group` is a valid C string and `partitions` NULL or a live list (owned by
            // `list`); librdkafka copies both into a new request object that we own, freed by
            // rd_kafka_ListConsumerGroupOffsets_destroy (`NativePtr`).
            let request = unsafe {
                NativePtr::from_ptr(rdsys::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), partitions))
            }
            .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            core.group_offsets_request(
                request,
                rdsys::rd_kafka_ListConsumerGroupOffsets,
                rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
                rdsys::rd_kafka_event_ListConsumerGroupOffsets_result,
                rdsys::rd_kafka_ListConsumerGroupOffsets_result_groups,
                &context,
            )
        })
    }

    /// Sets the committed offsets of a consumer group (which must have no active members) to the
    /// offsets of `offsets`. Resolves to None, or raises the first error.
    fn alter_consumer_group_offsets<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        offsets: Vec<PyRef<'py, TopicPartition>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let group = c_names(vec![group_id.clone()], "group id")?.remove(0);
        let list = to_list(&non_empty(partitions_arg(offsets), "offsets")?)?;
        let context = format!("could not alter the offsets of consumer group {group_id:?}");
        self.submit(py, "alter-group-offsets", move |core| {
            // SAFETY: `group` is a valid C string and `list` a live list; librdkafka copies both
            // into a new request object that we own, freed by
            // rd_kafka_AlterConsumerGroupOffsets_destroy (`NativePtr`).
            let request = unsafe {
                NativePtr::from_ptr(rdsys::rd_kafka_AlterConsumerGroupOffsets_new(group.as_ptr(), list.ptr()))
            }
            .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            core.group_offsets_request(
                request,
                rdsys::rd_kafka_AlterConsumerGroupOffsets,
                rdsys::RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT,
                rdsys::rd_kafka_event_AlterConsumerGroupOffsets_result,
                rdsys::rd_kafka_AlterConsumerGroupOffsets_result_groups,
                &context,
            )
            .map(|_| Done)
        })
    }

    /// The earliest (`spec="earliest"`) or latest (`"latest"`, the next offset to be written)
    /// offsets of `partitions` (their offsets are ignored). Resolves to a list of TopicPartition
    /// sorted by topic and partition.
    #[pyo3(signature = (partitions, spec="latest"))]
    fn list_offsets<'py>(
        &self,
        py: Python<'py>,
        partitions: Vec<PyRef<'py, TopicPartition>>,
        spec: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = match spec {
            "earliest" => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST as i64,
            "latest" => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
            other => {
                return Err(FerroError::Value(format!("spec must be \"earliest\" or \"latest\", not {other:?}")).into())
            }
        };
        let requested: Vec<TopicPartition> = non_empty(partitions_arg(partitions), "partitions")?
            .into_iter()
            .map(|tp| TopicPartition { offset: spec, ..tp })
            .collect();
        let list = to_list(&requested)?;
        let context = "could not list offsets";
        self.submit(py, "list-offsets", move |core| {
            let event = core.run_request(rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT, context, |rk, queue| {
                // SAFETY: live client and queue (run_request); `list` is a live partition list,
                // which librdkafka copies (it only takes a *mut for historical reasons).
                unsafe { rdsys::rd_kafka_ListOffsets(rk, list.ptr(), ptr::null(), queue) }
            })?;
            check_event(&event, context)?;
            let mut offsets = Vec::new();
            // SAFETY: `event` is a live ListOffsets result event that we own; the infos and their
            // partitions belong to it and are read (copied) while it is alive.
            unsafe {
                let result = rdsys::rd_kafka_event_ListOffsets_result(event.ptr());
                if result.is_null() {
                    return Err(wrong_result(context));
                }
                let mut count = 0;
                let infos = rdsys::rd_kafka_ListOffsets_result_infos(result, &mut count);
                for &info in native_array(infos, count) {
                    let partition = rdsys::rd_kafka_ListOffsetsResultInfo_topic_partition(info);
                    if !partition.is_null() {
                        offsets.push(read_native_partition(partition));
                    }
                }
            }
            first_partition_error(&offsets, &format!("{context} of partition"))?;
            let mut offsets: Vec<TopicPartition> = offsets.into_iter().map(|(tp, _)| tp).collect();
            offsets.sort();
            Ok(offsets)
        })
    }

    /// Deletes the records before the offset of each of `offsets` (OFFSET_END: all of them) in
    /// its partition. Resolves to None, or raises the first partition's error.
    fn delete_records<'py>(
        &self,
        py: Python<'py>,
        offsets: Vec<PyRef<'py, TopicPartition>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let list = to_list(&non_empty(partitions_arg(offsets), "offsets")?)?;
        self.submit(py, "delete-records", move |core| {
            let result = block_on(core.client.delete_records(&list, &core.options(None)))
                .map_err(|err| admin_error(err, "could not delete records"))?;
            // SAFETY: `result.ptr()` is the live list owned by `result`, borrowed for the call.
            let partitions = unsafe { read_native_list(result.ptr()) };
            first_partition_error(&partitions, "could not delete records of partition").map(|()| Done)
        })
    }

    /// Closes the client (idempotent). Calls already made complete and resolve their futures; the
    /// native client is destroyed on a background thread once the last of them is done.
    fn close(&self, py: Python<'_>) {
        let core = self.core.lock().take();
        // Dropping the core never blocks (see AdminCore's Drop), but release the GIL regardless.
        py.detach(move || drop(core));
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.lock().is_none()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("<AdminClient {}>", if self.closed() { "closed" } else { "open" })
    }
}

impl Drop for AdminClient {
    fn drop(&mut self) {
        let Some(core) = self.core.get_mut().take() else {
            return;
        };
        crate::errors::warn_unclosed(c"ferrokafka.AdminClient was not closed; call close() or use `with`");
        // Never blocks: the client is destroyed on a background thread (AdminCore's Drop).
        drop(core);
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AdminClient>()?;
    m.add_class::<NewTopic>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_anything_is_sent() {
        assert!(matches!(timeout_arg(Some(Seconds(-1.0)), "t"), Err(FerroError::Value(_))));
        assert!(matches!(timeout_arg(Some(Seconds(f64::NAN)), "t"), Err(FerroError::Value(_))));
        assert_eq!(timeout_arg(Some(Seconds(3601.0)), "t").unwrap(), Some(MAX_TIMEOUT), "saturates");
        assert_eq!(timeout_arg(Some(Seconds(f64::INFINITY)), "t").unwrap(), Some(MAX_TIMEOUT));
        assert_eq!(timeout_arg(Some(Seconds(1.5)), "t").unwrap(), Some(Duration::from_millis(1500)));
        assert!(matches!(resource_arg("group", "g"), Err(FerroError::Value(_))));
        assert!(matches!(resource_arg("broker", "one"), Err(FerroError::Value(_))));
        assert!(matches!(resource_arg("topic", "a\0b"), Err(FerroError::Value(_))));
        assert!(resource_arg("broker", "1").is_ok());
        assert!(matches!(c_names(vec![], "topic name"), Err(FerroError::Value(_))));
        assert!(matches!(c_names(vec![String::new()], "topic name"), Err(FerroError::Value(_))));
    }
}
