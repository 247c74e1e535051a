//! A commit for an event loop (`ferrokafka.aio`): librdkafka posts its result on a queue of the
//! request's own (`rd_kafka_commit_queue`), which writes a wake-up byte to the loop's descriptor;
//! the loop then reads the result without waiting. No thread, and independent of the consumer's
//! own queue, where the result would sit behind fetched messages until someone polls.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use super::core::ConsumerCore;
use crate::errors::{FerroError, KafkaErrorInfo};
use crate::ffi::{self as raw, NativePtr};
use crate::topic_partition::{first_partition_error, read_native_list};

/// One commit in flight, made by `Consumer._commit_to_loop`.
#[pyclass(frozen, module = "ferrokafka._native", name = "_CommitRequest")]
pub struct CommitRequest {
    /// Destroyed before `core` (field order), so before the handle it belongs to; None once the
    /// result was read.
    queue: Mutex<Option<NativePtr<rdsys::rd_kafka_queue_t>>>,
    /// Written to by librdkafka while the queue lives.
    _wake: OwnedFd,
    _core: Arc<ConsumerCore>,
}

impl CommitRequest {
    /// Sends the commit of `list` for `core`'s group, its result to go to a new queue that wakes
    /// `wake` (a duplicate the request keeps).
    pub(super) fn send(core: &Arc<ConsumerCore>, list: &rdkafka::TopicPartitionList, wake: OwnedFd) -> PyResult<Self> {
        let rk = core.open()?.native_ptr();
        const WAKE: [u8; 1] = [1];
        // SAFETY: `rk` is the live handle, kept alive by `core` (held by the request) for as long
        // as the queue, which NativePtr destroys first; rd_kafka_queue_new returns a new queue we
        // own (or NULL).
        let queue = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_new(rk)) }
            .ok_or_else(|| FerroError::Kafka(KafkaErrorInfo::from_code(RDKafkaErrorCode::Fail, "commit: no queue")))?;
        // SAFETY: our live queue; librdkafka copies the one-byte payload; `wake` stays open for as
        // long as the queue lives (both are owned by the request).
        unsafe {
            rdsys::rd_kafka_queue_io_event_enable(queue.ptr(), wake.as_raw_fd(), WAKE.as_ptr().cast(), WAKE.len())
        };
        // SAFETY: live handle, list and queue; librdkafka copies the list; with no callback the
        // result is posted on the queue as an RD_KAFKA_EVENT_OFFSET_COMMIT event.
        let code = unsafe { rdsys::rd_kafka_commit_queue(rk, list.ptr(), queue.ptr(), None, std::ptr::null_mut()) };
        if code != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(FerroError::Kafka(KafkaErrorInfo::from_code(code.into(), "commit failed")).into());
        }
        Ok(CommitRequest { queue: Mutex::new(Some(queue)), _wake: wake, _core: core.clone() })
    }
}

#[pymethods]
impl CommitRequest {
    /// Without waiting: False while the broker has not answered; True once the commit succeeded;
    /// raises its KafkaError (or the first failed partition's) once it failed.
    fn done(&self) -> PyResult<bool> {
        let mut queue = self.queue.lock();
        let result = {
            let Some(live) = queue.as_ref() else { return Ok(true) };
            loop {
                // SAFETY: our live queue; a zero timeout does not wait; the event (or NULL) is ours.
                let Some(event) = (unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_poll(live.ptr(), 0)) }) else {
                    return Ok(false);
                };
                // SAFETY: a live event we own; only read.
                if unsafe { rdsys::rd_kafka_event_type(event.ptr()) } == rdsys::RD_KAFKA_EVENT_OFFSET_COMMIT {
                    // SAFETY: a live OFFSET_COMMIT event; its error string and partition list
                    // belong to it and are copied here, before it is destroyed.
                    break unsafe {
                        let code = raw::rd_kafka_event_error(event.ptr());
                        let detail =
                            if code != 0 { raw::lossy(rdsys::rd_kafka_event_error_string(event.ptr())) } else { None };
                        (code, detail, read_native_list(rdsys::rd_kafka_event_topic_partition_list(event.ptr())))
                    };
                }
                // Nothing else is posted on this queue.
            }
        };
        *queue = None; // the result is in: no more wake-ups from this queue
        let (code, detail, partitions) = result;
        if code != 0 {
            return Err(FerroError::Kafka(KafkaErrorInfo::from_raw(code, "commit failed", detail)).into());
        }
        first_partition_error(&partitions, "commit failed for").map_err(FerroError::Kafka)?;
        Ok(true)
    }
}
