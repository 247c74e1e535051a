//! Messages fetched in one batch and lent one at a time, by `poll()` and the lending iterator.
//!
//! Asking librdkafka for one message per call costs a queue lock, clock reads and a wake-up of its
//! fetcher per message: as much as the message itself. `poll()` and the iterator take up to
//! [`LEND_BATCH`] at once; those not lent yet wait here, in order.
//!
//! They have left librdkafka (its position is past them) but not reached the application: they are
//! not recorded as handed out, so never stored or committed. Where that difference matters:
//! - a partition revoked or lost (noted by the rebalance callback, applied by the next call):
//!   dropped; whoever reads it next starts at the committed offset, which is never past them;
//! - `assign()` (positions restart at the given or committed offsets), `incremental_unassign()`,
//!   `seek()` (the new position replaces them), `close()`: dropped;
//! - a paused partition: kept, and not lent until it is resumed (librdkafka fetches after them);
//! - `position()` reports the first waiting message's offset, as if it were still in librdkafka;
//! - `consume(n)` takes from here first, so no message overtakes an earlier one of its partition;
//! - librdkafka learns that the application polls (`max.poll.interval.ms`) and serves rebalances
//!   only inside its own calls: while messages are lent from here, it is called without waiting at
//!   least every [`SERVE_INTERVAL`], taking no more than the room left here;
//! - `live_message_count` counts only messages lent out.
//!
//! Each message holds its consumer (a `NativeMessage` has an `Arc` of the core): `close()` and the
//! finaliser empty this for good, which ends that cycle.

#![forbid(unsafe_code)]

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::message::borrowed::NativeMessage;
use crate::topic_partition::TopicPartition;

/// How many messages `poll()` and the iterator take from librdkafka at once, and wait here at most.
pub const LEND_BATCH: usize = 256;

/// How often librdkafka is called while messages are lent from here (see the module docs).
pub const SERVE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

#[derive(Default)]
struct Waiting {
    messages: VecDeque<NativeMessage>,
    /// Paused partitions: their messages wait until resumed.
    paused: Vec<TopicPartition>,
    /// Set by `close()`: nothing waits any more.
    closed: bool,
}

#[derive(Default)]
pub struct LentAhead(Mutex<Waiting>);

fn is_of(message: &NativeMessage, partitions: &[TopicPartition]) -> bool {
    partitions.iter().any(|tp| tp.partition == message.partition() && tp.topic.as_bytes() == message.topic_bytes())
}

impl LentAhead {
    /// Up to `max` waiting messages, oldest first, none of a paused partition.
    pub fn take(&self, max: usize) -> Vec<NativeMessage> {
        let mut waiting = self.0.lock();
        if waiting.paused.is_empty() {
            let n = max.min(waiting.messages.len());
            return waiting.messages.drain(..n).collect();
        }
        let Waiting { messages, paused, .. } = &mut *waiting;
        let mut taken = Vec::new();
        let mut index = 0;
        while taken.len() < max && index < messages.len() {
            if is_of(&messages[index], paused) {
                index += 1;
            } else if let Some(message) = messages.remove(index) {
                taken.push(message);
            }
        }
        taken
    }

    /// The oldest waiting message not of a paused partition (`take(1)` without a Vec).
    pub fn take_one(&self) -> Option<NativeMessage> {
        let mut waiting = self.0.lock();
        if waiting.paused.is_empty() {
            return waiting.messages.pop_front();
        }
        let Waiting { messages, paused, .. } = &mut *waiting;
        let index = messages.iter().position(|m| !is_of(m, paused))?;
        messages.remove(index)
    }

    /// Keeps messages fetched but not lent (after any already waiting). Once closed, they are
    /// returned, to be dropped by the caller.
    #[must_use]
    pub fn keep(&self, messages: Vec<NativeMessage>) -> Vec<NativeMessage> {
        let mut waiting = self.0.lock();
        if waiting.closed {
            return messages;
        }
        waiting.messages.extend(messages);
        Vec::new()
    }

    /// Removes the waiting messages of `partitions` (to be dropped by the caller, outside the lock).
    #[must_use]
    pub fn remove(&self, partitions: &[TopicPartition]) -> Vec<NativeMessage> {
        let mut waiting = self.0.lock();
        waiting
            .paused
            .retain(|tp| !partitions.iter().any(|gone| gone.partition == tp.partition && gone.topic == tp.topic));
        let (gone, kept): (Vec<_>, Vec<_>) = waiting.messages.drain(..).partition(|m| is_of(m, partitions));
        waiting.messages = kept.into();
        gone
    }

    /// Removes every waiting message; with `close`, for good.
    #[must_use]
    pub fn clear(&self, close: bool) -> Vec<NativeMessage> {
        let mut waiting = self.0.lock();
        waiting.closed |= close;
        waiting.paused.clear();
        waiting.messages.drain(..).collect()
    }

    pub fn pause(&self, partitions: &[TopicPartition]) {
        let mut waiting = self.0.lock();
        for tp in partitions {
            if !waiting.paused.iter().any(|p| p.partition == tp.partition && p.topic == tp.topic) {
                waiting.paused.push(tp.clone());
            }
        }
    }

    pub fn resume(&self, partitions: &[TopicPartition]) {
        self.0
            .lock()
            .paused
            .retain(|p| !partitions.iter().any(|tp| tp.partition == p.partition && tp.topic == p.topic));
    }

    /// How many wait (lendable or paused).
    pub fn len(&self) -> usize {
        self.0.lock().messages.len()
    }

    /// For `position()`: the offset of the first waiting message of `tp`, if any waits.
    pub fn first_offset(&self, tp: &TopicPartition) -> Option<i64> {
        let waiting = self.0.lock();
        waiting.messages.iter().find(|m| is_of(m, std::slice::from_ref(tp))).map(|m| m.offset())
    }
}
