//! Running a request: the native client (`AdminCore`), a call sent on the caller's thread and
//! answered through the event thread ([`Call`], [`Requests`]), and the errors calls end with.
//!
//! A request is sent to librdkafka on the thread that called the method, before the method
//! returns: two calls made one after the other reach librdkafka in that order, on its one request
//! queue (as confluent-kafka's do; `delete_records` then `list_offsets` without waiting must see the
//! records deleted). Its result event comes back on the client's main queue with the request's id
//! as its opaque; the event thread (events.rs) hands it to the call's reader, and what the reader
//! made of it resolves the call's future on a short-lived thread ([`resolve_elsewhere`]: a future's
//! done-callback may wait for another admin call, whose result the event thread must be free to
//! read).

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::ffi::c_int;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use crate::callbacks::ClientCallbacks;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::native::admin::{NativeAdmin, Options};
use crate::native::results::{check_event, check_event_code, Event};

use super::events::EventServer;
use super::results::resolve;
use super::{MAX_TIMEOUT, REQUEST_MARGIN, RESULT_MARGIN};

// ---------------------------------------------------------------------------------------------
// Errors

pub(super) fn kafka_error(code: c_int, context: &str, detail: Option<String>) -> FerroError {
    FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, detail))
}

/// A failure on this side of librdkafka (no options, no thread): `_FAIL` with an explanation.
pub(super) fn local_error(context: &str, detail: &str) -> FerroError {
    kafka_error(RDKafkaErrorCode::Fail as c_int, context, Some(detail.to_owned()))
}

/// The first failed item (name, error code) of a topic or group result, as the error of the whole
/// call.
pub(super) fn first_error(failed: Vec<(String, c_int)>, what: &str) -> FerroResult<super::results::Done> {
    match failed.into_iter().next() {
        Some((name, code)) => Err(kafka_error(code, &format!("{what} {name:?}"), None)),
        None => Ok(super::results::Done),
    }
}

/// A request that timed out says why the client could not reach the cluster, if librdkafka said:
/// "timed out" alone does not tell a wrong CA from a wrong port.
fn explain_timeout(err: FerroError, core: &AdminCore) -> FerroError {
    const TIMEOUTS: [RDKafkaErrorCode; 3] =
        [RDKafkaErrorCode::OperationTimedOut, RDKafkaErrorCode::RequestTimedOut, RDKafkaErrorCode::MessageTimedOut];
    match (err, core.callbacks.last_error()) {
        (FerroError::Kafka(mut info), Some(last)) if TIMEOUTS.iter().any(|code| *code as i32 == info.code) => {
            info.message = format!("{} (last client error: {last})", info.message);
            FerroError::Kafka(info)
        }
        (err, _) => err,
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// The admin client's context, behind librdkafka's opaque pointer: the callbacks for throttle
/// reports (set on the configuration); logs and errors are read from the main queue (events.rs).
pub(super) struct AdminContext {
    pub(super) callbacks: Arc<ClientCallbacks>,
}

impl rdkafka::ClientContext for AdminContext {}

impl crate::native::client_events::ClientEvents for AdminContext {
    fn callbacks(&self) -> &ClientCallbacks {
        &self.callbacks
    }
}

impl crate::native::admin::AdminEvents for AdminContext {}

pub(super) type AdminHandle = NativeAdmin<AdminContext>;

pub(super) struct AdminCore {
    /// Destroyed in `Drop`, on a background thread.
    pub(super) client: crate::handle_slot::HandOff<AdminHandle>,
    /// librdkafka's default timeout for a whole admin request (`socket.timeout.ms`).
    pub(super) request_timeout: Duration,
    pub(super) born: crate::fork::Born,
    /// `oauth_cb`, `error_cb`, `logger` and `throttle_cb`, served by `events`.
    pub(super) callbacks: Arc<ClientCallbacks>,
    /// The requests sent and not answered yet, which the event thread answers.
    pub(super) requests: Arc<Requests>,
    /// Serves the client's main queue (results, logs, errors); stopped (in `Drop`) before the
    /// client is destroyed.
    pub(super) events: Option<EventServer>,
    /// The client's destruction, which close() waits for.
    pub(super) teardown: crate::handle_slot::Teardown,
}

/// What the event thread does with a request's result event (or the error that stands for it).
type Finish = Box<dyn FnOnce(FerroResult<Event>) + Send>;

/// A request waiting for its result.
pub(super) struct Waiting {
    /// When librdkafka has broken its promise of a result (a timeout error at worst) by the
    /// request timeout: the call then fails without it.
    deadline: Instant,
    /// What the call's errors start with.
    context: String,
    finish: Finish,
}

impl Waiting {
    /// Hands the call its result (read here, then the future resolved elsewhere).
    pub(super) fn finish(self, event: Event) {
        (self.finish)(Ok(event));
    }

    /// Fails the call: no result came by its deadline.
    pub(super) fn give_up(self) {
        let err = kafka_error(
            RDKafkaErrorCode::OperationTimedOut as c_int,
            &self.context,
            Some("no result from librdkafka within the request timeout".into()),
        );
        (self.finish)(Err(err));
    }
}

/// The requests of one client that wait for their results, by id (the opaque of their options).
#[derive(Default)]
pub(super) struct Requests {
    last_id: AtomicUsize,
    waiting: Mutex<HashMap<usize, Waiting>>,
}

impl Requests {
    /// The request with this id, taken out (None: not ours, or given up on).
    pub(super) fn take(&self, id: usize) -> Option<Waiting> {
        self.waiting.lock().remove(&id)
    }

    /// The requests whose deadline passed, taken out.
    pub(super) fn overdue(&self, now: Instant) -> Vec<Waiting> {
        let mut waiting = self.waiting.lock();
        if waiting.values().all(|w| w.deadline > now) {
            return Vec::new();
        }
        let ids: Vec<usize> = waiting.iter().filter(|(_, w)| w.deadline <= now).map(|(id, _)| *id).collect();
        ids.into_iter().filter_map(|id| waiting.remove(&id)).collect()
    }
}

/// Sets up a request's options; its error becomes the call's.
type SetOptions<'a> = Box<dyn FnOnce(&Options) -> Option<KafkaErrorInfo> + 'a>;

/// One request of a call: the options librdkafka gets with it.
pub(super) struct Request<'a> {
    op: rdsys::rd_kafka_admin_op_t,
    context: &'a str,
    operation_timeout: Option<Duration>,
    validate_only: bool,
    /// The request-level error without librdkafka's text (as rdkafka reported the requests it used
    /// to send).
    code_only: bool,
    set: Option<SetOptions<'a>>,
}

impl<'a> Request<'a> {
    /// A request of type `op` with librdkafka's default options; `context` starts its errors.
    pub(super) fn new(op: rdsys::rd_kafka_admin_op_t, context: &'a str) -> Self {
        Request { op, context, operation_timeout: None, validate_only: false, code_only: false, set: None }
    }

    /// How long the broker waits for the operation to complete (None: librdkafka's default), and
    /// whether it only checks the request. The request as a whole then gets longer than that.
    pub(super) fn operation(mut self, operation_timeout: Option<Duration>, validate_only: bool) -> Self {
        self.operation_timeout = operation_timeout;
        self.validate_only = validate_only;
        self
    }

    /// The request-level error of the result by its code alone (its message without librdkafka's
    /// text): for the requests rdkafka used to send, whose errors read so.
    pub(super) fn code_only(mut self) -> Self {
        self.code_only = true;
        self
    }

    /// Sets up the options with `set` (whose error becomes the call's).
    pub(super) fn options(mut self, set: impl FnOnce(&Options) -> Option<KafkaErrorInfo> + 'a) -> Self {
        self.set = Some(Box::new(set));
        self
    }
}

/// A call being made: its future, resolved once by the request it sends ([`Call::send`]) or by the
/// error that kept it from being sent (`AdminClient::submit`).
pub(super) struct Call<'c> {
    pub(super) core: &'c Arc<AdminCore>,
    pub(super) future: Py<PyAny>,
}

impl Call<'_> {
    /// Sends one request through `send` (given the client and the request's options) on this
    /// thread. On the event thread, the result event's request-level error fails the call, and
    /// otherwise `read` makes the call's value of the event; the outcome resolves the call's future.
    /// An error before the request is sent is returned (and the future left alone).
    pub(super) fn send<T>(
        self,
        request: Request<'_>,
        send: impl FnOnce(&AdminHandle, &Options),
        read: impl FnOnce(&Event) -> FerroResult<T> + Send + 'static,
    ) -> FerroResult<()>
    where
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        let core = self.core;
        let context = request.context;
        let requests = core.requests.clone();
        let id = requests.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        let options = core
            .client
            .options(request.op, id)
            .ok_or_else(|| local_error(context, "librdkafka could not allocate the options"))?;
        // The request as a whole must outlast the broker-side operation, or it fails locally with a
        // timeout while the broker may still complete it.
        let request_timeout = request
            .operation_timeout
            .map(|operation| core.request_timeout.max(operation + REQUEST_MARGIN).min(MAX_TIMEOUT));
        if request.operation_timeout.is_some() || request.validate_only {
            crate::native::admin::set_timeouts(
                &options,
                request_timeout,
                request.operation_timeout,
                request.validate_only,
            )
            .map_err(FerroError::Value)?;
        }
        if let Some(set) = request.set {
            if let Some(err) = set(&options) {
                return Err(FerroError::Kafka(err));
            }
        }
        let deadline = Instant::now() + request_timeout.unwrap_or(core.request_timeout) + RESULT_MARGIN;
        let owner = core.clone();
        let future = self.future;
        let (check_context, code_only) = (context.to_owned(), request.code_only);
        let checked_read = move |event: &Event| {
            if code_only {
                check_event_code(event, &check_context)?;
            } else {
                check_event(event, &check_context)?;
            }
            read(event)
        };
        let finish: Finish = Box::new(move |event: FerroResult<Event>| {
            // Nothing in `read` is meant to panic; if something did, the future still resolves.
            // The event is destroyed when `read` is done with it, before the client can be.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| event.and_then(|event| checked_read(&event))))
                .unwrap_or_else(|_| Err(local_error("admin request failed", "internal error (a panic)")))
                .map_err(|err| explain_timeout(err, &owner));
            // This may be the last reference to the client (after close()): its Drop hands the
            // client to yet another thread.
            drop(owner);
            resolve_elsewhere(future, outcome);
        });
        // Registered before it is sent: the result may come before `send` returns.
        requests.waiting.lock().insert(id, Waiting { deadline, context: context.to_owned(), finish });
        send(&core.client, &options);
        Ok(())
    }
}

/// Resolves `future` with `outcome` on a short-lived thread of its own, not on the event thread:
/// resolving runs the future's done-callbacks, and one that waits for another admin call (its
/// result read by the event thread) would wait forever on the event thread itself. Only if no
/// thread can be started does the event thread resolve it.
fn resolve_elsewhere<T>(future: Py<PyAny>, outcome: FerroResult<T>)
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    let work = std::sync::Arc::new(Mutex::new(Some((future, outcome))));
    let handed = work.clone();
    let resolve_taken = move |work: &Mutex<Option<(Py<PyAny>, FerroResult<T>)>>| {
        if let Some((future, outcome)) = work.lock().take() {
            // During interpreter shutdown nobody can wait for the future any more: leave it.
            crate::interpreter::attach(move |py| resolve(py, future.bind(py), outcome));
        }
    };
    let spawned =
        std::thread::Builder::new().name("ferrokafka-admin-resolve".into()).spawn(move || resolve_taken(&handed));
    if spawned.is_err() {
        resolve_taken(&work);
    }
}

impl Drop for AdminCore {
    fn drop(&mut self) {
        let client = self.client.take();
        // The event server first (a tuple drops in order): its queue must go before the client.
        // Both join threads (destroying the client joins librdkafka's): never on a thread that holds
        // the GIL.
        self.teardown.destroy((self.events.take(), client), "admin-client", self.born);
    }
}

impl crate::oauth::TokenClient for AdminCore {
    fn callbacks(&self) -> &crate::callbacks::ClientCallbacks {
        &self.callbacks
    }
}

impl crate::ffi::ClientHandle for AdminCore {
    /// Until the last request in flight after close() has finished.
    /// The handle borrowed with the core, whose Drop destroys it: every user of a ClientHandle
    /// holds the core (an Arc, or a Weak upgraded for the call: cluster_metadata, oauth) while it
    /// uses the handle.
    fn open_handle(&self) -> Option<crate::ffi::LiveHandle<'_>> {
        Some(crate::ffi::LiveHandle::borrowed(self.client.client()))
    }
}
