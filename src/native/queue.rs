//! Events from librdkafka's queues: polling a queue we own and telling an event's type.

use std::ffi::c_int;

use rdkafka::bindings as rdsys;

use crate::ffi::NativePtr;
use crate::native::results::Event;

/// A queue reference that we own (`NativePtr` destroys it).
pub type Queue = NativePtr<rdsys::rd_kafka_queue_t>;

/// A new reference to the main queue of `client` (its logs, errors and stats when the client is
/// set up to forward them there), or None.
pub fn main_queue<C: rdkafka::ClientContext>(client: &rdkafka::client::Client<C>) -> Option<Queue> {
    // SAFETY: a live client (borrowed); rd_kafka_queue_get_main returns a new reference to its
    // main queue, which the returned `NativePtr` owns and destroys. The caller drops it before the
    // client is destroyed (a queue reference must not outlive its client).
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_get_main(client.native_ptr())) }
}

/// The next event on `queue`, waiting up to `timeout_ms` (0: not at all); None if none came.
pub fn poll(queue: &Queue, timeout_ms: c_int) -> Option<Event> {
    // SAFETY: `queue` is live while we own it (NativePtr). rd_kafka_queue_poll returns NULL on
    // timeout or an event that the caller owns and frees with rd_kafka_event_destroy, which
    // `NativePtr` does.
    unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_poll(queue.ptr(), timeout_ms)) }
}

/// The type of a live event.
pub fn event_type(event: &Event) -> rdsys::rd_kafka_event_type_t {
    // SAFETY: `event` is a live event we own; rd_kafka_event_type only reads it.
    unsafe { rdsys::rd_kafka_event_type(event.ptr()) }
}

/// What a log event says: (syslog level, facility, message), or None if it is not one.
pub fn log_event(event: &Event) -> Option<(c_int, String, String)> {
    let (mut facility, mut message, mut level) = (std::ptr::null(), std::ptr::null(), 0);
    // SAFETY: `event` is live and ours; the strings librdkafka points at belong to the event and
    // are copied (`lossy`) before it can go.
    unsafe {
        if rdsys::rd_kafka_event_log(event.ptr(), &mut facility, &mut message, &mut level) != 0 {
            return None;
        }
        Some((level, crate::ffi::lossy(facility).unwrap_or_default(), crate::ffi::lossy(message).unwrap_or_default()))
    }
}

/// The error code (as the `int` it is) and reason of an event.
pub fn event_error(event: &Event) -> (c_int, Option<String>) {
    // SAFETY: `event` is live and ours; the reason string belongs to it and is copied.
    unsafe {
        (
            crate::ffi::rd_kafka_event_error(event.ptr()),
            crate::ffi::lossy(rdsys::rd_kafka_event_error_string(event.ptr())),
        )
    }
}
