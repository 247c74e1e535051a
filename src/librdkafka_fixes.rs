//! Guards against crashes in the librdkafka we link (2.12.1) that no release has fixed yet.
//!
//! The linker routes calls between librdkafka's object files to the functions here instead of the
//! originals (`-Wl,--wrap=<name>`, see build.rs): `__wrap_<name>` receives the call and
//! `__real_<name>` is the original. Each guard declares the original's C signature exactly (from
//! the librdkafka sources, ENABLE_DEVEL off as in our build) and only turns a certain crash into
//! doing nothing.

use std::ffi::{c_int, c_void};

/// The librdkafka these guards were written for, 2.12.1 (`RD_KAFKA_VERSION`'s format): the
/// signatures and the struct layout below are that release's, read from its sources. Another
/// release may change them, and a guard would then read a wrong layout: building against another
/// librdkafka fails here until every guard was checked against it (docs/librdkafka-fixes.md).
pub const WRITTEN_FOR: c_int = 0x020c_01ff;

const _: () = assert!(
    rdkafka::bindings::RD_KAFKA_VERSION == WRITTEN_FOR,
    "src/librdkafka_fixes.rs was written for librdkafka 2.12.1: check its guards against this release"
);

/// The error that stops the module from loading when the librdkafka linked at run time (`linked`,
/// named `name`) is not the one the guards were written for, as with a system librdkafka.
pub fn check_linked_version(linked: c_int, name: &str) -> Result<(), String> {
    if linked == WRITTEN_FOR {
        Ok(())
    } else {
        Err(format!(
            "ferrokafka was built for librdkafka 2.12.1 (0x{WRITTEN_FOR:08x}) but runs with librdkafka {name} \
             (0x{linked:08x}): its guards against librdkafka crashes (src/librdkafka_fixes.rs) assume 2.12.1's \
             internal layout"
        ))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_release_the_guards_were_written_for_loads() {
        assert_eq!(check_linked_version(0x020c_01ff, "2.12.1"), Ok(()));
        for other in [0x020c_0000, 0x020c_02ff, 0x020d_00ff, 0x020b_01ff] {
            let err = check_linked_version(other, "other").unwrap_err();
            assert!(err.contains("built for librdkafka 2.12.1"), "{err}");
        }
    }

    #[test]
    fn the_linked_librdkafka_is_the_one_the_guards_were_written_for() {
        let (linked, name) = rdkafka::util::get_rdkafka_version();
        assert_eq!(check_linked_version(linked, &name), Ok(()));
    }
}
