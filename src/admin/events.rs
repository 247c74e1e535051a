//! The admin client's event thread, the one thread that serves its main queue: the results of its
//! requests (each handed to the call that sent it, found by the request's id: request.rs), and
//! librdkafka's logs and client errors (a refused TLS handshake, a failed authentication), which
//! go to the logger and `error_cb` (and the last one explains a request that timed out). Throttle
//! reports reach `throttle_cb` while the queue is polled (librdkafka calls the callback set on the
//! configuration: it has no event for them). The Python callbacks queued meanwhile run on this
//! thread too. A request that gets no result by its deadline is failed here.

#![forbid(unsafe_code)]

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rdkafka::bindings as rdsys;

use crate::blocking::SLICE;
use crate::callbacks::ClientCallbacks;
use crate::errors::KafkaErrorInfo;
use crate::ffi::NativePtr;
use crate::native::queue;

use super::request::Requests;

/// The thread serving an admin client's main queue. Dropping it stops the thread and waits for it
/// (at most one slice, plus a callback that is running): drop it before the client, and never with
/// the GIL held (the thread may be waiting for it).
pub(super) struct EventServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EventServer {
    /// Starts serving the main queue of `client`. The thread owns its reference to the queue and
    /// ends (dropping it) before `Drop` returns, which the owner runs before destroying the client.
    pub(super) fn start<C: rdkafka::ClientContext>(
        client: &rdkafka::client::Client<C>,
        callbacks: Arc<ClientCallbacks>,
        requests: Arc<Requests>,
    ) -> std::io::Result<Self> {
        let queue = crate::native::queue::main_queue(client)
            .ok_or_else(|| std::io::Error::other("librdkafka gave no main queue"))?;
        // What librdkafka queued while it was being created (its INIT log line, say) is queued
        // for the callbacks here, on the creating thread: the first dispatch hands it on.
        while let Some(event) = crate::native::queue::poll(&queue, 0) {
            read_event(event, &callbacks, &requests);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ferrokafka-admin-events".into())
            .spawn(move || serve(&queue, &callbacks, &requests, &stopped))?;
        Ok(EventServer { stop, thread: Some(thread) })
    }
}

impl Drop for EventServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    queue: &NativePtr<rdsys::rd_kafka_queue_t>,
    callbacks: &ClientCallbacks,
    requests: &Requests,
    stop: &AtomicBool,
) {
    let timeout_ms = c_int::try_from(SLICE.as_millis()).unwrap_or(100);
    while !stop.load(Ordering::Acquire) {
        if let Some(event) = crate::native::queue::poll(queue, timeout_ms) {
            read_event(event, callbacks, requests);
        }
        for overdue in requests.overdue(std::time::Instant::now()) {
            overdue.give_up();
        }
        if callbacks.has_pending() {
            // None during interpreter shutdown: nothing to tell any more.
            crate::interpreter::attach(|py| {
                if let Err(err) = callbacks.dispatch(py, Some(SLICE)) {
                    err.write_unraisable(py, None);
                }
            });
        }
    }
}

fn read_event(event: NativePtr<rdsys::rd_kafka_event_t>, callbacks: &ClientCallbacks, requests: &Requests) {
    match queue::event_type(&event) {
        rdsys::RD_KAFKA_EVENT_LOG => {
            if let Some((level, facility, message)) = queue::log_event(&event) {
                callbacks.log_syslog(level, facility.trim(), message.trim());
            }
        }
        rdsys::RD_KAFKA_EVENT_ERROR => {
            let (code, reason) = queue::event_error(&event);
            callbacks.global_error(KafkaErrorInfo::from_raw(code, "admin client error", reason));
        }
        // A request's result, for the call that sent it (none if it was given up on). Anything
        // else (a token refresh request: ferrokafka's refresher keeps its own schedule) is dropped.
        _ => {
            if let Some(waiting) = requests.take(crate::native::admin::event_opaque(&event)) {
                waiting.finish(event);
            }
        }
    }
}
