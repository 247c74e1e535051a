//! Requests for an event loop (`ferrokafka.aio`), without a thread: each goes to librdkafka with a
//! queue of its own for the result, which writes a wake-up byte to the loop's descriptor when the
//! result arrives; the loop then reads it without waiting (`LoopRequest.result`). The result never
//! sits behind fetched messages in the consumer's queue, and nobody needs to poll for it.
//!
//! - a commit: `rd_kafka_commit_queue`;
//! - the group's committed offsets: the admin API's ListConsumerGroupOffsets, on the consumer's
//!   own handle (which has a group, so librdkafka#5040 cannot strike);
//! - offsets by time or the earliest/latest (watermarks): the admin API's ListOffsets.

#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use super::core::{ConsumerCore, ConsumerHandle};
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::LiveHandle;
use crate::native::admin::{self, DetachedQueue, RequestQueue};
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
    /// None once the result was read. The queue holds the wake-up descriptor that librdkafka
    /// writes to while the queue lives, and keeps the consumer's handle alive for as long (also
    /// past close()).
    queue: Mutex<Option<DetachedQueue>>,
    kind: RequestKind,
}

impl LoopRequest {
    /// Creates the request's queue (waking `wake`, a duplicate the request keeps) and sends the
    /// request through `send`, given that queue on the consumer's handle.
    fn send(
        core: &Arc<ConsumerCore>,
        kind: RequestKind,
        wake: OwnedFd,
        send: impl FnOnce(&RequestQueue<'_>) -> FerroResult<()>,
    ) -> PyResult<Self> {
        let handle = LiveHandle::kept(core.open()?, |handle: &ConsumerHandle| handle.client());
        let queue = RequestQueue::waking(handle, wake)
            .ok_or_else(|| FerroError::Kafka(KafkaErrorInfo::from_code(RDKafkaErrorCode::Fail, "no queue")))?;
        send(&queue)?;
        Ok(LoopRequest { queue: Mutex::new(Some(queue.detach())), kind })
    }

    /// `rd_kafka_commit_queue` of `list`.
    pub(super) fn commit(core: &Arc<ConsumerCore>, list: &TopicPartitionList, wake: OwnedFd) -> PyResult<Self> {
        Self::send(core, RequestKind::Commit, wake, |queue| match queue.commit(list) {
            0 => Ok(()),
            code => Err(FerroError::Kafka(KafkaErrorInfo::from_raw(code, "commit failed", None))),
        })
    }

    /// ListConsumerGroupOffsets of `group` for `list`.
    pub(super) fn committed(
        core: &Arc<ConsumerCore>,
        group: &std::ffi::CStr,
        list: &TopicPartitionList,
        wake: OwnedFd,
    ) -> PyResult<Self> {
        Self::send(core, RequestKind::Committed, wake, |queue| {
            let request = admin::list_group_offsets(group, Some(list))
                .ok_or_else(|| FerroError::Value("could not build the request".into()))?;
            queue.list_group_offsets(&request);
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
        Self::send(core, RequestKind::ListOffsets, wake, |queue| {
            let options = queue
                .options(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS)
                .ok_or_else(|| FerroError::Value("could not build the request options".into()))?;
            if let Some(err) = admin::isolation_level(&options, read_committed, RequestKind::ListOffsets.context()) {
                return Err(FerroError::Kafka(err));
            }
            queue.list_offsets_with(list, &options);
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
            let Some(event) = live.poll_now() else {
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
