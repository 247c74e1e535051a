//! The safe side of the FFI layer: readers of librdkafka's result events that return plain Rust
//! values and errors, so that the modules above read results without `unsafe`.
//!
//! `crate::ffi` (below `errors`) holds the raw declarations and owning pointers; this module sits
//! above `errors` and `topic_partition`, whose types its readers return. Everything here is FFI:
//! every `unsafe` block states what keeps the pointers it reads valid.

pub mod admin;
pub mod arrow_capsules;
pub mod batch_opaque;
pub mod buffer;
pub mod bytes_like;
pub mod client;
pub mod client_events;
pub mod clock;
pub mod consumer;
pub mod headers;
pub mod message;
pub mod metadata;
pub mod mock;
pub mod partitions;
pub mod producer;
pub mod python;
pub mod queue;
pub mod results;

/// An `rd_kafka_error_t` (not destroyed here) as a `KafkaErrorInfo` with `context`, or `None` for
/// NULL or no error.
///
/// # Safety
/// `error` is NULL or a valid error object, alive for the duration of the call.
pub unsafe fn error_object(
    error: *const rdkafka::bindings::rd_kafka_error_t,
    context: &str,
) -> Option<crate::errors::KafkaErrorInfo> {
    // SAFETY: the caller's guarantee, passed on.
    let object = unsafe { crate::ffi::read_error_object(error) }?;
    (object.code != 0).then(|| {
        let mut info = crate::errors::KafkaErrorInfo::from_raw(object.code, context, object.detail);
        info.fatal |= object.fatal;
        info.retriable |= object.retriable;
        info.txn_requires_abort |= object.txn_requires_abort;
        info
    })
}
