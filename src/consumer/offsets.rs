//! Which offsets a commit may carry: the consumer's own record of what it handed out.
//!
//! The rule (README, "Lifetime rules"): **no committed offset ever passes the last message handed
//! to the application + 1**, however the consumer leaves the group.
//!
//! librdkafka's own `enable.auto.offset.store` breaks it: its batch call stores a message's offset
//! the moment it hands the message out, and `close()` must drain the messages still queued (to
//! reach the revocation behind them) through that same call, so the final commit of the unassign
//! carried offsets of messages nobody saw (one poll then close committed ~20,000 of them). So
//! ferrokafka always turns librdkafka's auto-store off and stores itself, and only what the
//! application is done with:
//!
//! - each call that hands out messages (poll, consume, iteration) records, per partition, the
//!   offset after the last message it handed out;
//! - those offsets are stored (for auto-commit and librdkafka's final commit) once the application
//!   is done with them: at its next poll/consume/iteration, at `commit()` without arguments, or at
//!   `close()` from the thread that received them. A crash while the application processes a
//!   message therefore never commits that message; `close()` from another thread, or a consumer
//!   collected without `close()`, leaves the last batch for the group to deliver again.
//!
//! Messages drained while closing are never recorded, so they are never stored. Stored offsets are
//! read only by auto-commit (`commit()` without arguments commits what was handed out): with the
//! user's `enable.auto.offset.store=false` (then `store_offsets()` is theirs) or
//! `enable.auto.commit=false`, nothing is stored automatically.

use parking_lot::Mutex;
use rdkafka::{Offset, TopicPartitionList};

use crate::consumer::native::NativeConsumer;
use crate::message::borrowed::NativeMessage;
use crate::message::MessageParts;
use crate::topic_partition::TopicPartition;

/// The offset after the last message of a partition handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handed {
    pub topic: String,
    pub partition: i32,
    pub next: i64,
}

/// Per partition, the offset after the last of `messages` (in the order librdkafka handed them
/// out, which keeps each partition's offsets increasing).
pub fn last_per_partition(messages: &[NativeMessage]) -> Vec<Handed> {
    let mut last: Vec<Handed> = Vec::new();
    for message in messages {
        let (topic, partition, next) = (message.topic_bytes(), message.partition(), message.offset() + 1);
        match last.iter_mut().find(|h| h.partition == partition && h.topic.as_bytes() == topic) {
            Some(entry) => entry.next = next,
            None => last.push(Handed { topic: String::from_utf8_lossy(topic).into_owned(), partition, next }),
        }
    }
    last
}

#[derive(Default)]
struct Book {
    /// Per partition, the offset after the last message handed out (what `commit()` commits).
    handed: Vec<Handed>,
    /// What the last call handed out and nobody has stored yet, and the thread that received it.
    pending: Vec<Handed>,
    pending_thread: u64,
}

pub struct HandedOffsets {
    /// Whether finished offsets are stored: the user's `enable.auto.offset.store` and
    /// `enable.auto.commit` (librdkafka's own auto-store is always off).
    auto_store: bool,
    book: Mutex<Book>,
}

impl HandedOffsets {
    pub fn new(auto_store: bool) -> Self {
        HandedOffsets { auto_store, book: Mutex::new(Book::default()) }
    }

    /// Records what one call handed out to `thread` (see the module docs). Call
    /// [`finish`](Self::finish) first: it stores the previous call's offsets.
    pub fn record(&self, thread: u64, handed: Vec<Handed>) {
        if handed.is_empty() {
            return;
        }
        let mut book = self.book.lock();
        for entry in &handed {
            match book.handed.iter_mut().find(|h| h.partition == entry.partition && h.topic == entry.topic) {
                Some(known) => known.next = entry.next,
                None => book.handed.push(entry.clone()),
            }
        }
        if self.auto_store {
            book.pending = handed;
            book.pending_thread = thread;
        }
    }

    /// Stores the offsets the application is now done with: the last call's, if `thread` is `None`
    /// (any thread) or the thread that received them. Partitions no longer assigned are skipped by
    /// librdkafka.
    pub fn finish(&self, consumer: &NativeConsumer, thread: Option<u64>) {
        let pending = {
            let mut book = self.book.lock();
            if book.pending.is_empty() || thread.is_some_and(|t| t != book.pending_thread) {
                return;
            }
            std::mem::take(&mut book.pending)
        };
        let mut list = TopicPartitionList::with_capacity(pending.len());
        for Handed { topic, partition, next } in &pending {
            // Cannot fail for a real offset (only for a logical one without a native value).
            let _ = list.add_partition_offset(topic, *partition, Offset::Offset(*next));
        }
        // Errors mean the partition was revoked meanwhile: then there is nothing left to store.
        let _ = consumer.store_offsets(&list);
    }

    /// The offset after the last message handed out, for each of `assigned` that handed any.
    pub fn handed_in(&self, assigned: &[TopicPartition]) -> Vec<TopicPartition> {
        let book = self.book.lock();
        assigned
            .iter()
            .filter_map(|tp| {
                book.handed
                    .iter()
                    .find(|h| h.partition == tp.partition && h.topic == tp.topic)
                    .map(|h| TopicPartition { topic: h.topic.clone(), partition: h.partition, offset: h.next })
            })
            .collect()
    }

    /// Forgets partitions taken away (revoked, lost, unassigned): whoever reads them next starts
    /// from the group's committed offset, not from what this consumer handed out.
    pub fn forget(&self, partitions: &[TopicPartition]) {
        let mut book = self.book.lock();
        let gone = |h: &Handed| partitions.iter().any(|tp| tp.partition == h.partition && tp.topic == h.topic);
        book.handed.retain(|h| !gone(h));
        book.pending.retain(|h| !gone(h));
    }

    /// Forgets every partition (a new assignment replaced the old one).
    pub fn forget_all(&self) {
        let mut book = self.book.lock();
        book.handed.clear();
        book.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handed(topic: &str, partition: i32, next: i64) -> Handed {
        Handed { topic: topic.into(), partition, next }
    }

    #[test]
    fn commits_only_what_was_handed_out_and_forgets_revoked_partitions() {
        let offsets = HandedOffsets::new(true);
        offsets.record(1, vec![handed("a", 0, 5), handed("a", 1, 3)]);
        offsets.record(1, vec![handed("a", 0, 9)]);
        let assigned = [
            TopicPartition { topic: "a".into(), partition: 0, offset: -1001 },
            TopicPartition { topic: "a".into(), partition: 1, offset: -1001 },
            TopicPartition { topic: "b".into(), partition: 0, offset: -1001 },
        ];
        let commit = offsets.handed_in(&assigned);
        assert_eq!(commit.iter().map(|tp| (tp.partition, tp.offset)).collect::<Vec<_>>(), [(0, 9), (1, 3)]);
        offsets.forget(&assigned[..1]);
        assert_eq!(offsets.handed_in(&assigned).len(), 1);
        assert!(offsets.book.lock().pending.is_empty(), "the revoked partition's pending store is dropped");
        offsets.forget_all();
        assert!(offsets.handed_in(&assigned).is_empty());
    }

    #[test]
    fn without_auto_store_nothing_is_pending() {
        let offsets = HandedOffsets::new(false);
        offsets.record(1, vec![handed("a", 0, 5)]);
        assert!(offsets.book.lock().pending.is_empty());
        assert_eq!(offsets.book.lock().handed, [handed("a", 0, 5)]);
    }
}
