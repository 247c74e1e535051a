//! The safe side of the FFI layer: readers of librdkafka's result events that return plain Rust
//! values and errors, so that the modules above read results without `unsafe`.
//!
//! `crate::ffi` (below `errors`) holds the raw declarations and owning pointers; this module sits
//! above `errors` and `topic_partition`, whose types its readers return. Everything here is FFI:
//! every `unsafe` block states what keeps the pointers it reads valid.

pub mod headers;
pub mod metadata;
pub mod results;
