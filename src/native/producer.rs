//! A producer handle's calls beyond producing: flushing, purging and transactional offsets.

use std::ffi::c_int;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::TopicPartitionList;

use crate::errors::KafkaErrorInfo;
use crate::ffi::NativePtr;

/// `rd_kafka_flush` for up to `timeout_ms`: sends what is queued at once (ignoring linger.ms)
/// and serves delivery reports on this thread while it waits.
pub fn flush<C: rdkafka::ClientContext>(producer: &Client<C>, timeout_ms: c_int) {
    // SAFETY: a live producer handle (borrowed); rd_kafka_flush is thread-safe and touches no Rust
    // state. Its result (a timeout) is read by the caller from what is still in flight.
    unsafe { rdsys::rd_kafka_flush(producer.native_ptr(), timeout_ms) };
}

/// Fails messages still queued (and, with `in_flight`, those sent but not acknowledged).
pub fn purge<C: rdkafka::ClientContext>(producer: &Client<C>, in_queue: bool, in_flight: bool) {
    let mut flags = 0;
    if in_queue {
        flags |= rdsys::RD_KAFKA_PURGE_F_QUEUE;
    }
    if in_flight {
        flags |= rdsys::RD_KAFKA_PURGE_F_INFLIGHT;
    }
    // SAFETY: a live producer handle (borrowed); rd_kafka_purge is thread-safe and only fails for
    // invalid flags or a non-producer handle, neither possible here.
    unsafe { rdsys::rd_kafka_purge(producer.native_ptr(), flags) };
}

/// `rd_kafka_send_offsets_to_transaction`: the error, if it failed.
pub fn send_offsets_to_transaction<C: rdkafka::ClientContext>(
    producer: &Client<C>,
    offsets: &TopicPartitionList,
    group: &NativePtr<rdsys::rd_kafka_consumer_group_metadata_t>,
    timeout_ms: c_int,
    context: &str,
) -> Option<KafkaErrorInfo> {
    // SAFETY: the producer handle, the list and the group metadata are live (borrowed) for the
    // call, which copies what it keeps; it returns NULL or an error object that we own.
    let error = unsafe {
        NativePtr::from_ptr(rdsys::rd_kafka_send_offsets_to_transaction(
            producer.native_ptr(),
            offsets.ptr(),
            group.ptr(),
            timeout_ms,
        ))
    }?;
    // SAFETY: a live error object, read before `error` destroys it.
    unsafe { super::error_object(error.ptr(), context) }
}
