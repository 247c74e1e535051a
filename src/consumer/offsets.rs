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
//! Stores are batched: what the application is done with waits in memory (`done`) and goes to
//! librdkafka at most every [`STORE_INTERVAL`], and always before it could be read: at `commit()`,
//! `close()` and a revocation (whose final commit reads it). Waiting only ever stores less, never
//! more, so the rule holds; auto-commit lags by that interval at most, at no cost per message.
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

/// How long offsets the application is done with may wait before they are stored.
pub const STORE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Default)]
struct Book {
    /// Per partition, the offset after the last message handed out (what `commit()` commits).
    handed: Vec<Handed>,
    /// What the last call handed out and nobody has stored yet, and the thread that received it.
    pending: Vec<Handed>,
    pending_thread: u64,
    /// Finished (the application is done with them), not stored yet: per partition, the highest.
    done: Vec<Handed>,
    last_store: Option<std::time::Instant>,
}

impl Book {
    /// Takes what is done, for storing.
    fn take_done(&mut self) -> Vec<Handed> {
        self.last_store = Some(std::time::Instant::now());
        std::mem::take(&mut self.done)
    }
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
    /// Batched (see the module docs): stored now only if the last store is [`STORE_INTERVAL`] old.
    pub fn finish(&self, consumer: &NativeConsumer, thread: Option<u64>) {
        let due = {
            let mut book = self.book.lock();
            if book.pending.is_empty() || thread.is_some_and(|t| t != book.pending_thread) {
                return;
            }
            let pending = std::mem::take(&mut book.pending);
            for entry in pending {
                match book.done.iter_mut().find(|h| h.partition == entry.partition && h.topic == entry.topic) {
                    Some(known) => known.next = known.next.max(entry.next),
                    None => book.done.push(entry),
                }
            }
            match book.last_store {
                Some(at) if at.elapsed() < STORE_INTERVAL => return,
                _ => book.take_done(),
            }
        };
        store(due, |list| consumer.store_offsets(list).map(drop).map_err(drop));
    }

    /// Stores what is done now (before a commit, a close or a revocation reads stored offsets),
    /// through `store_offsets`.
    pub fn store_done(&self, store_offsets: impl FnOnce(&TopicPartitionList) -> Result<(), ()>) {
        let done = self.book.lock().take_done();
        store(done, store_offsets);
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
                    .map(|h| TopicPartition::new(h.topic.clone(), h.partition, h.next))
            })
            .collect()
    }

    /// Forgets partitions taken away (revoked, lost, unassigned): whoever reads them next starts
    /// from the group's committed offset, not from what this consumer handed out. Store what is
    /// done first ([`store_done`](Self::store_done)) where a commit follows.
    pub fn forget(&self, partitions: &[TopicPartition]) {
        let mut book = self.book.lock();
        let gone = |h: &Handed| partitions.iter().any(|tp| tp.partition == h.partition && tp.topic == h.topic);
        book.handed.retain(|h| !gone(h));
        book.pending.retain(|h| !gone(h));
        book.done.retain(|h| !gone(h));
    }

    /// Forgets every partition (a new assignment replaced the old one).
    pub fn forget_all(&self) {
        let mut book = self.book.lock();
        book.handed.clear();
        book.pending.clear();
        book.done.clear();
    }
}

/// Hands `offsets` to librdkafka's offset store. Errors mean a partition was revoked meanwhile:
/// then there is nothing left to store for it.
fn store(offsets: Vec<Handed>, store_offsets: impl FnOnce(&TopicPartitionList) -> Result<(), ()>) {
    if offsets.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::with_capacity(offsets.len());
    for Handed { topic, partition, next } in &offsets {
        // Cannot fail for a real offset (only for a logical one without a native value).
        let _ = list.add_partition_offset(topic, *partition, Offset::Offset(*next));
    }
    let _ = store_offsets(&list);
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
            TopicPartition::new("a".into(), 0, -1001),
            TopicPartition::new("a".into(), 1, -1001),
            TopicPartition::new("b".into(), 0, -1001),
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
