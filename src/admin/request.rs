//! Running a request: the native client (`AdminCore`), the two ways into librdkafka (rdkafka's
//! wrapped calls and C-API requests on a queue of their own), and the errors they end with.

#![forbid(unsafe_code)]

use crate::callbacks::ClientCallbacks;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::topic_partition::TopicPartition;
use rdkafka::admin::{AdminClient as RdAdminClient, AdminOptions};
use rdkafka::bindings as rdsys;
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::ffi::c_int;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::events::EventServer;
use super::results::Done;
use super::{MAX_TIMEOUT, REQUEST_MARGIN, RESULT_MARGIN};
use crate::native::admin::{Options, RequestQueue};
use crate::native::results::{check_event, group_offsets, Event, GroupOffsets};

// ---------------------------------------------------------------------------------------------
// Errors

pub(super) fn kafka_error(code: c_int, context: &str, detail: Option<String>) -> FerroError {
    FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, detail))
}

/// A failure on this side of librdkafka (no queue, no thread): `_FAIL` with an explanation.
pub(super) fn local_error(context: &str, detail: &str) -> FerroError {
    kafka_error(RDKafkaErrorCode::Fail as c_int, context, Some(detail.to_owned()))
}

/// An error of one of rdkafka's wrapped requests: what it refuses to build are bad arguments;
/// a failure of the request as a whole gets `context`.
pub(super) fn admin_error(err: RdKafkaError, context: &str) -> FerroError {
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
pub(super) fn first_error(results: Vec<Result<String, (String, RDKafkaErrorCode)>>, what: &str) -> FerroResult<Done> {
    match results.into_iter().find_map(Result::err) {
        Some((name, code)) => Err(FerroError::Kafka(KafkaErrorInfo::from_code(code, &format!("{what} {name:?}")))),
        None => Ok(Done),
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// rdkafka's context of the admin client: librdkafka's logs and errors are served from the main
/// queue (events.rs), so it only carries the callbacks for throttle reports (throttle.rs).
pub(super) struct AdminContext {
    pub(super) callbacks: Arc<ClientCallbacks>,
}

impl rdkafka::ClientContext for AdminContext {}

impl crate::native::throttle::ThrottleTarget for AdminContext {
    fn throttle_callbacks(&self) -> &ClientCallbacks {
        &self.callbacks
    }
}

pub(super) struct AdminCore {
    /// Destroyed in `Drop`, on a background thread.
    pub(super) client: crate::handle_slot::HandOff<RdAdminClient<AdminContext>>,
    /// librdkafka's default timeout for a whole admin request (`socket.timeout.ms`).
    pub(super) request_timeout: Duration,
    pub(super) born: crate::fork::Born,
    /// `oauth_cb`, `error_cb` and `logger`, served by `events`.
    pub(super) callbacks: Arc<ClientCallbacks>,
    /// Serves the client's logs and errors; stopped (in `Drop`) before the client is destroyed.
    pub(super) events: Option<EventServer>,
    /// The client's destruction, which close() waits for.
    pub(super) teardown: crate::handle_slot::Teardown,
}

impl AdminCore {
    /// Options for rdkafka's wrapped requests.
    pub(super) fn options(&self, operation_timeout: Option<Duration>) -> AdminOptions {
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

    /// Sends one request through `send` (given a queue of its own, on which the result arrives)
    /// and waits for its result event of type `expected`. The queue is destroyed before this
    /// returns; the event is independent of it.
    pub(super) fn run_request(
        &self,
        expected: rdsys::rd_kafka_event_type_t,
        context: &str,
        send: impl FnOnce(&RequestQueue<'_>),
    ) -> FerroResult<Event> {
        let queue = RequestQueue::new(self.client.inner())
            .ok_or_else(|| local_error(context, "librdkafka could not create a queue"))?;
        send(&queue);
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
            if let Some(event) = queue.poll(timeout_ms) {
                if crate::native::queue::event_type(&event) == expected {
                    return Ok(event);
                }
                // Only this request's result is ever sent to this queue; anything else is dropped.
            }
        }
    }

    /// New admin options for the request `op` (librdkafka's defaults), set up by `set` (whose
    /// error becomes the call's).
    pub(super) fn options_for(
        &self,
        op: rdsys::rd_kafka_admin_op_t,
        context: &str,
        set: impl FnOnce(&Options) -> Option<KafkaErrorInfo>,
    ) -> FerroResult<Options> {
        let options = crate::native::admin::options(self.client.inner(), op)
            .ok_or_else(|| local_error(context, "librdkafka could not allocate the options"))?;
        match set(&options) {
            Some(err) => Err(FerroError::Kafka(err)),
            None => Ok(options),
        }
    }
}

impl AdminCore {
    /// Runs one consumer-group offsets request (List or Alter: librdkafka's two APIs have the same
    /// shape) and reads the partitions of its one group result.
    pub(super) fn group_offsets_request(
        &self,
        send: impl FnOnce(&RequestQueue<'_>),
        expected: rdsys::rd_kafka_event_type_t,
        kind: GroupOffsets,
        context: &str,
    ) -> FerroResult<Vec<TopicPartition>> {
        let event = self.run_request(expected, context, send)?;
        check_event(&event, context)?;
        group_offsets(&event, kind, context)
    }
}

impl Drop for AdminCore {
    fn drop(&mut self) {
        let client = self.client.take();
        // The event server first (a tuple drops in order): its queue must go before the client.
        // Both join threads (and rdkafka's AdminClient destroys the handle): never on a thread
        // that holds the GIL.
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
        Some(crate::ffi::LiveHandle::borrowed(self.client.inner()))
    }
}
