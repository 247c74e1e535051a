//! librdkafka's callbacks that every client shares (statistics, throttle reports, logs): set on the
//! configuration each client builds (native/consumer.rs, native/producer.rs, native/admin.rs), and
//! reaching the client's context through librdkafka's opaque, which rdkafka's `Client` sets to it.

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rdkafka::bindings as rdsys;
use rdkafka::ClientContext;

use crate::callbacks::{ClientCallbacks, ThrottleEvent};
use crate::ffi as raw;

/// What every client's context does with these callbacks (a trait, so that this layer does not
/// depend on the clients). Statistics go to rdkafka's `ClientContext::stats_raw`.
pub trait ClientEvents: ClientContext {
    /// The client's queued Python callbacks: throttle reports and logs go there.
    fn callbacks(&self) -> &ClientCallbacks;
    /// A log line, at its syslog level (0 emergency to 7 debug), facility and message trimmed.
    fn log_syslog(&self, level: c_int, facility: &str, message: &str) {
        self.callbacks().log_syslog(level, facility, message);
    }
}

/// The context behind librdkafka's opaque pointer.
///
/// # Safety
/// `opaque` is the opaque of one of our handles made with context type `C` (each callback is
/// registered as `*_cb::<C>` by that handle's `new`), which is alive (librdkafka only calls back
/// while it is).
pub(super) unsafe fn context<'a, C>(opaque: *mut c_void) -> &'a C {
    // SAFETY: the caller's guarantee: the pointer is rdkafka's Arc<C>, alive.
    unsafe { &*(opaque as *const C) }
}

/// Runs `f`, swallowing a panic (it must not cross into C; there is nobody to report it to).
pub(super) fn guarded(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// # Safety
/// Registered by our handles only, for a handle made with context type `C` (see [`context`]).
pub(super) unsafe extern "C" fn stats_cb<C: ClientEvents>(
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
            unsafe { context::<C>(opaque) }.stats_raw(bytes);
        }
    });
    0
}

/// # Safety
/// As for [`stats_cb`].
pub(super) unsafe extern "C" fn throttle_cb<C: ClientEvents>(
    _rk: *mut rdsys::rd_kafka_t,
    broker_name: *const c_char,
    broker_id: i32,
    throttle_time_ms: c_int,
    opaque: *mut c_void,
) {
    guarded(|| {
        if opaque.is_null() {
            return;
        }
        // SAFETY: librdkafka's broker name, valid for this call.
        let broker_name = unsafe { raw::lossy(broker_name) }.unwrap_or_default();
        let event = ThrottleEvent { broker_name, broker_id, throttle_time: f64::from(throttle_time_ms) / 1000.0 };
        // SAFETY: librdkafka passes the opaque of our live handle.
        unsafe { context::<C>(opaque) }.callbacks().throttle(event);
    });
}

/// # Safety
/// As for [`stats_cb`].
pub(super) unsafe extern "C" fn log_cb<C: ClientEvents>(
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
            unsafe { context::<C>(opaque) }.log_syslog(
                level,
                facility.unwrap_or_default().trim(),
                message.unwrap_or_default().trim(),
            );
        }
    });
}
