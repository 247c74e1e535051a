//! `throttle_cb` for the admin client, whose librdkafka configuration rdkafka builds itself (the
//! consumer and the producer build their own and set the callback directly, native/consumer.rs
//! and native/producer.rs).
//!
//! librdkafka reports throttling only to a `throttle_cb` set on the configuration before the client
//! is made, and rdkafka offers no way to set one. librdkafka does call the `conf_init` function of
//! every plugin named in `plugin.library.paths` with the configuration being built: ferrokafka's
//! own library is that plugin. [`create_with_throttle_cb`] names it (appended to the user's
//! plugins), and [`conf_init`] sets the callback that the creating thread asked for. The callback
//! receives the client's opaque, which rdkafka sets to its context: the context type is known to
//! the caller, so the callback is [`throttle_cb`] for that type.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rdkafka::bindings as rdsys;
use rdkafka::ClientConfig;

use crate::callbacks::{ClientCallbacks, ThrottleEvent};
use crate::errors::{FerroError, FerroResult};

type ThrottleFn = unsafe extern "C" fn(*mut rdsys::rd_kafka_t, *const c_char, i32, c_int, *mut c_void);

thread_local! {
    /// The throttle callback that the client being created on this thread wants (see `conf_init`).
    static PENDING: Cell<Option<ThrottleFn>> = const { Cell::new(None) };
}

/// A client context that hears throttle reports.
pub trait ThrottleTarget {
    fn throttle_callbacks(&self) -> &ClientCallbacks;
}

/// librdkafka's throttle callback for a client whose opaque is a `C` (rdkafka's context pointer).
///
/// # Safety
/// Called by librdkafka only, for a client made by [`create_with_throttle_cb`] with this `C`, whose
/// opaque is therefore a live `C` (rdkafka's `Arc` of the context, alive as long as the client).
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

/// Runs `create` (which must build the client from `config` on this thread) with ferrokafka's
/// library added as a librdkafka plugin whose `conf_init` sets `throttle` as the throttle callback.
///
/// If librdkafka loaded another copy of the library (the file was replaced since this process
/// loaded it, as by an upgrade), that copy's `conf_init` knows nothing of the request: the client
/// is then refused with `ConfigError` rather than made without the callback.
pub fn create_with_throttle_cb<T>(
    config: &ClientConfig,
    throttle: ThrottleFn,
    create: impl FnOnce(&ClientConfig) -> rdkafka::error::KafkaResult<T>,
) -> FerroResult<T> {
    let own = own_library_path()?;
    let mut config = config.clone();
    let paths = match config.get("plugin.library.paths").map(str::trim) {
        Some(paths) if !paths.is_empty() => format!("{paths};{own}"),
        _ => own,
    };
    config.set("plugin.library.paths", paths);
    PENDING.set(Some(throttle));
    let created = create(&config);
    let not_installed = PENDING.take().is_some();
    let created = created.map_err(FerroError::from)?;
    if not_installed {
        drop(created);
        return Err(FerroError::Config(
            "throttle_cb: librdkafka did not load ferrokafka's library as a plugin (was the installed \
             library replaced while this process runs?)"
                .into(),
        ));
    }
    Ok(created)
}

/// The path of the shared library this code is in (ferrokafka's native module).
fn own_library_path() -> FerroResult<String> {
    let path = crate::platform::library_path_of(conf_init as *const c_void)
        .ok_or_else(|| FerroError::Config("throttle_cb: could not find ferrokafka's own library (dladdr)".into()))?;
    if path.contains(';') {
        return Err(FerroError::Config(format!(
            "throttle_cb: ferrokafka's library path {path:?} contains ';', which librdkafka's plugin.library.paths \
             cannot name"
        )));
    }
    Ok(path)
}

/// librdkafka's plugin entry point, called while `plugin.library.paths` is set on a configuration
/// (see the module documentation): sets the throttle callback the creating thread asked for, if any.
///
/// # Safety
/// Called by librdkafka only, with a live configuration object under construction.
#[no_mangle]
pub unsafe extern "C" fn conf_init(
    conf: *mut rdsys::rd_kafka_conf_t,
    _plug_opaquep: *mut *mut c_void,
    _errstr: *mut c_char,
    _errstr_size: usize,
) -> c_int {
    if let Some(throttle) = PENDING.take() {
        // SAFETY: `conf` is the live configuration librdkafka is building (this function's
        // contract); the callback is an `extern "C"` function with librdkafka's signature.
        unsafe { rdsys::rd_kafka_conf_set_throttle_cb(conf, Some(throttle)) };
    }
    0
}
