//! librdkafka's `throttle_cb` for the admin client, set on the configuration it builds itself
//! (native/admin.rs). The consumer and the producer have their own, typed by their event traits
//! (native/consumer.rs, native/producer.rs).

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rdkafka::bindings as rdsys;

use crate::callbacks::{ClientCallbacks, ThrottleEvent};

/// A client context that hears throttle reports.
pub trait ThrottleTarget {
    fn throttle_callbacks(&self) -> &ClientCallbacks;
}

/// librdkafka's throttle callback for a client whose opaque is a `C`.
///
/// # Safety
/// Called by librdkafka only, for a client made with this `C` by `native::admin::NativeAdmin::new`
/// (which sets it on the configuration), whose opaque is therefore a live `C` (the context, alive as
/// long as the client).
pub unsafe extern "C" fn throttle_cb<C: ThrottleTarget>(
    _rk: *mut rdsys::rd_kafka_t,
    broker_name: *const c_char,
    broker_id: i32,
    throttle_time_ms: c_int,
    opaque: *mut c_void,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if opaque.is_null() {
            return;
        }
        // SAFETY: librdkafka's broker name, valid for this call.
        let broker_name = unsafe { crate::ffi::lossy(broker_name) }.unwrap_or_default();
        let event = ThrottleEvent { broker_name, broker_id, throttle_time: f64::from(throttle_time_ms) / 1000.0 };
        // SAFETY: the opaque is the client's context, a live `C` (this function's contract).
        unsafe { &*opaque.cast::<C>() }.throttle_callbacks().throttle(event);
    }));
}
