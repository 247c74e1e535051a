//! Guards against crashes in the librdkafka we link (2.12.1) that no release has fixed yet.
//!
//! The linker routes calls between librdkafka's object files to the functions here instead of the
//! originals (`-Wl,--wrap=<name>`, see build.rs): `__wrap_<name>` receives the call and
//! `__real_<name>` is the original. Each guard declares the original's C signature exactly (from
//! the librdkafka sources, ENABLE_DEVEL off as in our build) and only turns a certain crash into
//! doing nothing.

use std::ffi::{c_int, c_void};

/// `rd_kafka_replyq_t` (rdkafka_op.h), passed by value.
#[repr(C)]
pub struct ReplyQueue {
    q: *mut c_void,
    version: i32,
}

extern "C" {
    fn __real_rd_kafka_cgrp_op(rkcg: *mut c_void, rktp: *mut c_void, replyq: ReplyQueue, op_type: c_int, err: c_int);
}

/// librdkafka#5040: when a ListConsumerGroupOffsets answer says the coordinator moved or is
/// loading, `rd_kafka_handle_OffsetFetch` asks the client's consumer group (`rk_cgrp`) to look for
/// the coordinator again, but an admin client has no group: `rd_kafka_cgrp_op(NULL, ...)`
/// dereferences NULL and the process dies. With no group there is nothing to tell: the request
/// then fails with the broker's (retriable) error instead.
///
/// # Safety
/// Called by librdkafka only, with the arguments of `rd_kafka_cgrp_op`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rd_kafka_cgrp_op(
    rkcg: *mut c_void,
    rktp: *mut c_void,
    replyq: ReplyQueue,
    op_type: c_int,
    err: c_int,
) {
    if rkcg.is_null() {
        // The caller that passes no group (rdkafka_request.c, OffsetFetch) passes no reply queue
        // either (RD_KAFKA_NO_REPLYQ): there is no queue reference to release.
        return;
    }
    // SAFETY: the arguments are librdkafka's own, passed on unchanged to the original function
    // with the same signature; `rkcg` is a live group (not NULL).
    unsafe { __real_rd_kafka_cgrp_op(rkcg, rktp, replyq, op_type, err) }
}
