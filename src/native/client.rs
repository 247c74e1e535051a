//! Calls on a client's live handle that every client offers: SASL credentials (config.rs) and
//! OAUTHBEARER tokens (oauth.rs). The handle is a [`LiveHandle`], which keeps it alive for the call.

use std::ffi::{c_char, CStr, CString};

use rdkafka::bindings as rdsys;

use crate::errors::KafkaErrorInfo;
use crate::ffi::{self as raw, LiveHandle, NativePtr};

/// `rd_kafka_sasl_set_credentials`: the error is librdkafka's reason for refusing them.
pub fn set_sasl_credentials(handle: &LiveHandle, username: &CStr, password: &CStr) -> Result<(), KafkaErrorInfo> {
    // SAFETY: a live handle (`handle` keeps it alive); both strings are valid C strings that
    // librdkafka copies. It returns NULL or an error object that we own, read and destroy
    // (`NativePtr`).
    let error = unsafe {
        NativePtr::from_ptr(rdsys::rd_kafka_sasl_set_credentials(handle.ptr(), username.as_ptr(), password.as_ptr()))
    };
    let Some(error) = error else { return Ok(()) };
    // SAFETY: a live error object, read before it is destroyed.
    match unsafe { crate::native::error_object(error.ptr(), "set_sasl_credentials failed") } {
        Some(info) => Err(info),
        None => Ok(()),
    }
}

/// Hands a token to librdkafka (`rd_kafka_oauthbearer_set_token`); `extensions` are key, value
/// pairs. The error is librdkafka's reason for refusing it, with `context`.
pub fn set_oauthbearer_token(
    handle: &LiveHandle,
    value: &CStr,
    expiry_ms: i64,
    principal: &CStr,
    extensions: &[CString],
    context: &str,
) -> Result<(), KafkaErrorInfo> {
    let mut extensions: Vec<*const c_char> = extensions.iter().map(|e| e.as_ptr()).collect();
    let mut errstr = [0 as c_char; 512];
    // SAFETY: a live handle (`handle` keeps it alive); every string is NUL-terminated and outlives
    // the call (librdkafka copies them); `extensions` holds `len()` valid pointers; `errstr` is
    // writable for its length, and librdkafka NUL-terminates it.
    let code = unsafe {
        raw::rd_kafka_oauthbearer_set_token(
            handle.ptr(),
            value.as_ptr(),
            expiry_ms,
            principal.as_ptr(),
            extensions.as_mut_ptr(),
            extensions.len(),
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if code == 0 {
        return Ok(());
    }
    // SAFETY: librdkafka wrote a NUL-terminated message into `errstr` (zero-filled before).
    let detail = unsafe { raw::lossy(errstr.as_ptr()) };
    Err(KafkaErrorInfo::from_raw(code, context, detail))
}

/// Tells librdkafka that no token could be had, and why (`rd_kafka_oauthbearer_set_token_failure`).
pub fn set_oauthbearer_token_failure(handle: &LiveHandle, reason: &CStr) {
    // SAFETY: a live handle (`handle` keeps it alive); `reason` is NUL-terminated and copied by
    // librdkafka.
    unsafe { raw::rd_kafka_oauthbearer_set_token_failure(handle.ptr(), reason.as_ptr()) };
}
