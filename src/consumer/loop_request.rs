//! Requests for an event loop (`ferrokafka.aio`), without a thread: each goes to librdkafka with a
//! queue of its own for the result, which writes a wake-up byte to the loop's descriptor when the
//! result arrives; the loop then reads it without waiting (`LoopRequest.result`). The result never
//! sits behind fetched messages in the consumer's queue, and nobody needs to poll for it.
//!
//! - a commit: `rd_kafka_commit_queue`;
//! - the group's committed offsets: the admin API's ListConsumerGroupOffsets, on the consumer's
//!   own handle (which has a group, so librdkafka#5040 cannot strike);
//! - offsets by time or the earliest/latest (watermarks): the admin API's ListOffsets.

use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use super::core::{ConsumerCore, ConsumerHandle};
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::NativePtr;
use crate::native::results::{check_event, event_partitions, group_offsets, listed_offsets, Event, GroupOffsets};
use crate::topic_partition::{first_partition_error, TopicPartition};

/// What a request asks; decides the result event and how it is read.
#[derive(Clone, Copy)]
enum RequestKind {
    Commit,
    Committed,
    ListOffsets,
}

impl RequestKind {
    fn event_type(self) -> rdsys::rd_kafka_event_type_t {
        match self {
            RequestKind::Commit => rdsys::RD_KAFKA_EVENT_OFFSET_COMMIT,
            RequestKind::Committed => rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
            RequestKind::ListOffsets => rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT,
        }
    }

    fn context(self) -> &'static str {
        match self {
            RequestKind::Commit => "commit failed",
            RequestKind::Committed => "could not read the committed offsets",
            RequestKind::ListOffsets => "could not list offsets",
        }
    }
}

/// One request in flight, made by `Consumer._commit_to_loop`, `_committed_to_loop` or
/// `_list_offsets_to_loop`.
#[pyclass(frozen, module = "ferrokafka._native", name = "_LoopRequest")]
pub struct LoopRequest {
    /// Destroyed before `handle` (field order), so before the handle it belongs to; None once the
    /// result was read.
    queue: Mutex<Option<NativePtr<rdsys::rd_kafka_queue_t>>>,
    kind: RequestKind,
    /// Written to by librdkafka while the queue lives.
    _wake: OwnedFd,
    /// Keeps the consumer's handle alive while the request's queue lives, also past close().
    _handle: Arc<ConsumerHandle>,
}

impl LoopRequest {
    /// Creates the request's queue (waking `wake`, a duplicate the request keeps) and sends the
    /// request through `send`, given the consumer's handle and that queue.
    fn send(
        core: &Arc<ConsumerCore>,
        kind: RequestKind,
        wake: OwnedFd,
        send: impl FnOnce(*mut rdsys::rd_kafka_t, *mut rdsys::rd_kafka_queue_t) -> FerroResult<()>,
    ) -> PyResult<Self> {
        let handle = core.open()?;
        let rk = handle.native_ptr();
        const WAKE: [u8; 1] = [1];
        // SAFETY: `rk` is the live handle, kept alive by `handle` (held by the request) for as long
        // as the queue, which is destroyed first; rd_kafka_queue_new returns a new queue we own (or
        // NULL).
        let queue = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_queue_new(rk)) }
            .ok_or_else(|| FerroError::Kafka(KafkaErrorInfo::from_code(RDKafkaErrorCode::Fail, "no queue")))?;
        // SAFETY: our live queue; librdkafka copies the one-byte payload; `wake` stays open for as
        // long as the queue lives (both are owned by the request).
        unsafe {
            rdsys::rd_kafka_queue_io_event_enable(queue.ptr(), wake.as_raw_fd(), WAKE.as_ptr().cast(), WAKE.len())
        };
        send(rk, queue.ptr())?;
        Ok(LoopRequest { queue: Mutex::new(Some(queue)), kind, _wake: wake, _handle: handle })
    }

    /// `rd_kafka_commit_queue` of `list`.
    pub(super) fn commit(core: &Arc<ConsumerCore>, list: &TopicPartitionList, wake: OwnedFd) -> PyResult<Self> {
        Self::send(core, RequestKind::Commit, wake, |rk, queue| {
            // SAFETY: live handle, list and queue; librdkafka copies the list; with no callback the
            // result is posted on the queue as an RD_KAFKA_EVENT_OFFSET_COMMIT event.
            let code = unsafe { rdsys::rd_kafka_commit_queue(rk, list.ptr(), queue, None, ptr::null_mut()) };
            match code {
                rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => Ok(()),
                code => Err(FerroError::Kafka(KafkaErrorInfo::from_code(code.into(), "commit failed"))),
            }
        })
    }

    /// ListConsumerGroupOffsets of `group` for `list`.
    pub(super) fn committed(
        core: &Arc<ConsumerCore>,
        group: &std::ffi::CStr,
        list: &TopicPartitionList,
        wake: OwnedFd,
    ) -> PyResult<Self> {
        Self::send(core, RequestKind::Committed, wake, |rk, queue| {
            // SAFETY: `group` and `list` are live; librdkafka copies both into the new request,
            // which we own (NULL on failure).
            let request = unsafe {
                NativePtr::from_ptr(rdsys::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), list.ptr()))
            }
            .ok_or_else(|| FerroError::Value("could not build the request".into()))?;
            let mut requests = [request.ptr()];
            // SAFETY: live handle and queue; an array of exactly one live request (librdkafka's
            // requirement), which librdkafka copies; no options (NULL is allowed).
            unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets(rk, requests.as_mut_ptr(), 1, ptr::null(), queue) };
            Ok(())
        })
    }

    /// ListOffsets of `list`, whose offsets are the specs (earliest -2, latest -1, or a timestamp).
    pub(super) fn list_offsets(
        core: &Arc<ConsumerCore>,
        list: &TopicPartitionList,
        read_committed: bool,
        wake: OwnedFd,
    ) -> PyResult<Self> {
        Self::send(core, RequestKind::ListOffsets, wake, |rk, queue| {
            // SAFETY: live handle; the options are new and ours (NULL on failure), destroyed by
            // NativePtr after librdkafka copied them in rd_kafka_ListOffsets.
            let options = unsafe {
                NativePtr::from_ptr(rdsys::rd_kafka_AdminOptions_new(
                    rk,
                    rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
                ))
            }
            .ok_or_else(|| FerroError::Value("could not build the request options".into()))?;
            let level = if read_committed {
                rdsys::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_COMMITTED
            } else {
                rdsys::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED
            };
            // SAFETY: live options; the error object (NULL: none) is ours and destroyed by NativePtr.
            drop(unsafe {
                NativePtr::from_ptr(rdsys::rd_kafka_AdminOptions_set_isolation_level(options.ptr(), level))
            });
            // SAFETY: live handle, list, options and queue; librdkafka copies the list and options.
            unsafe { rdsys::rd_kafka_ListOffsets(rk, list.ptr(), options.ptr(), queue) };
            Ok(())
        })
    }

    /// Reads the result event (of this request's kind): the partitions it answers for, or its error.
    fn read(&self, event: &Event) -> FerroResult<Vec<TopicPartition>> {
        let context = self.kind.context();
        check_event(event, context)?;
        let partitions = match self.kind {
            RequestKind::Commit => event_partitions(event),
            RequestKind::Committed => return group_offsets(event, GroupOffsets::List, context),
            RequestKind::ListOffsets => listed_offsets(event, context)?.into_iter().map(|(tp, _)| tp).collect(),
        };
        first_partition_error(&partitions, &format!("{context} of partition")).map_err(FerroError::Kafka)?;
        Ok(partitions)
    }
}

#[pymethods]
impl LoopRequest {
    /// Without waiting: None while the broker has not answered; then the partitions of the answer
    /// (for a commit: those committed), or raises its KafkaError (or the first failed partition's).
    fn result(&self) -> PyResult<Option<Vec<TopicPartition>>> {
        let mut queue = self.queue.lock();
        let Some(live) = queue.as_ref() else {
            return Err(FerroError::Value("the result was read already".into()).into());
        };
        loop {
            // A zero timeout does not wait.
            let Some(event) = crate::native::queue::poll(live, 0) else {
                return Ok(None);
            };
            if crate::native::queue::event_type(&event) != self.kind.event_type() {
                continue; // nothing else is posted on this queue
            }
            let result = self.read(&event);
            drop(event);
            *queue = None; // no more wake-ups from this queue
            return Ok(Some(result?));
        }
    }
}
