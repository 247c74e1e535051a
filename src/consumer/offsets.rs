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
//!   offset after the last message it handed out, and what it handed out is *in hand* of its
//!   owner: the calling thread, or for an event loop (`ferrokafka.aio`) the task that asked;
//! - those offsets are stored (for auto-commit and librdkafka's final commit) once the application
//!   is done with them: a synchronous call is done with what every earlier call handed out (at the
//!   next poll/consume/iteration, at `commit()` without arguments, or at `close()` from the thread
//!   that received them); a task is done with what it received when it asks for more, commits
//!   without arguments, closes the consumer or returns. A crash while the application processes a
//!   message therefore never commits that message; `close()` from another thread, or a consumer
//!   collected without `close()`, leaves the last batch for the group to deliver again, and what a
//!   task held when it failed or was cancelled is never stored (it is *abandoned*);
//! - nothing stored or committed without arguments passes a message still in hand: per partition,
//!   the offset is capped at the first message some owner still holds (several tasks share one
//!   consumer; one may finish a later message while another still works on an earlier one).
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

#![forbid(unsafe_code)]

use parking_lot::Mutex;
use rdkafka::{Offset, TopicPartitionList};

use crate::consumer::core::NativeConsumer;
use crate::message::borrowed::NativeMessage;
use crate::message::MessageParts;
use crate::native::clock;
use crate::topic_partition::TopicPartition;

/// Handed out with a batch too (message/batch.rs), so it lives with the messages.
pub use crate::message::Handed;

/// Per partition, the first offset of `messages` and the one after the last (in the order
/// librdkafka handed them out, which keeps each partition's offsets increasing).
/// A run of messages of one partition (same topic handle and partition) finds its entry without
/// reading the topic's name.
pub fn last_per_partition<M: MessageParts>(messages: impl Iterator<Item = M>) -> Vec<Handed> {
    let mut last: Vec<Handed> = Vec::new();
    let mut run: Option<(usize, *const rdkafka::bindings::rd_kafka_topic_t, i32)> = None;
    for message in messages {
        let (handle, partition, offset) = (message.topic_handle(), message.partition(), message.offset());
        if let Some((index, h, p)) = run {
            if !h.is_null() && h == handle && p == partition {
                last[index].next = offset + 1;
                continue;
            }
        }
        let topic = message.topic_bytes();
        let index = match last.iter().position(|h| h.partition == partition && h.topic.as_bytes() == topic) {
            Some(index) => {
                last[index].next = offset + 1;
                index
            }
            None => {
                last.push(Handed {
                    topic: String::from_utf8_lossy(topic).into_owned(),
                    partition,
                    first: offset,
                    next: offset + 1,
                });
                last.len() - 1
            }
        };
        run = Some((index, handle, partition));
    }
    last
}

/// How long offsets the application is done with may wait before they are stored.
pub const STORE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Owners of what a call handed out: threads are their [`current_thread_tag`], tasks of an event
/// loop the number `ferrokafka.aio` gave them with this bit set, so that the two never meet.
///
/// [`current_thread_tag`]: crate::message::borrowed::current_thread_tag
const TASK: u64 = 1 << 63;
/// The owner of what tasks that failed or were cancelled held: nobody finishes it.
const ABANDONED: u64 = u64::MAX;

/// The owner of an event loop's task numbered `number` (below 2^62).
pub fn task_owner(number: u64) -> u64 {
    TASK | (number & (TASK - 1) & !(1 << 62))
}

/// Adds `entry` to `list`: per partition the lowest first offset and the latest next one.
fn merge(list: &mut Vec<Handed>, entry: Handed) {
    match list.iter_mut().find(|h| h.is(&entry)) {
        Some(known) => {
            known.first = known.first.min(entry.first);
            known.next = entry.next;
        }
        None => list.push(entry),
    }
}

#[derive(Default)]
struct Book {
    /// Per partition, the offset after the last message handed out (what `commit()` commits).
    handed: Vec<Handed>,
    /// Per owner, what its calls handed out that it is not done with yet.
    in_hand: Vec<(u64, Vec<Handed>)>,
    /// Finished (the application is done with them), not stored yet: per partition, the highest.
    done: Vec<Handed>,
    /// When done offsets were last stored (a coarse clock reading: see native/clock.rs).
    last_store: Option<u64>,
}

/// The first offset of a partition that some owner still holds.
fn first_in_hand(in_hand: &[(u64, Vec<Handed>)], topic: &str, partition: i32) -> Option<i64> {
    in_hand
        .iter()
        .flat_map(|(_, held)| held.iter())
        .filter(|h| h.partition == partition && h.topic == topic)
        .map(|h| h.first)
        .min()
}

impl Book {
    /// What is done, if the last store is [`STORE_INTERVAL`] old (see the module docs).
    fn due(&mut self) -> Vec<Handed> {
        match self.last_store {
            Some(at) if clock::within(at, STORE_INTERVAL) => Vec::new(),
            _ => self.take_done(),
        }
    }

    /// [`HandedOffsets::lent_one`]'s usual case, without allocating: the only thing in hand is
    /// `owner`'s earlier message(s) of the same partition. They are finished (done, with
    /// `auto_store`) and the message at `offset` is recorded in their place. False (nothing
    /// changed) in any other case.
    fn advance(&mut self, owner: u64, topic: &[u8], partition: i32, offset: i64, auto_store: bool) -> bool {
        let Book { handed, in_hand, done, .. } = self;
        let same = |h: &Handed| h.partition == partition && h.topic.as_bytes() == topic;
        let [(holder, held)] = in_hand.as_mut_slice() else { return false };
        let ([previous], true) = (held.as_mut_slice(), *holder == owner) else { return false };
        if !same(previous) {
            return false;
        }
        let Some(last) = handed.iter_mut().find(|h| same(h)) else { return false };
        if auto_store {
            let Some(known) = done.iter_mut().find(|h| same(h)) else { return false };
            known.next = known.next.max(previous.next);
        }
        last.next = offset + 1;
        previous.first = offset;
        previous.next = offset + 1;
        true
    }

    /// Takes what is done, for storing, each capped below what is still in hand: what is capped
    /// stays, to be stored in full once nothing before it is held any more.
    fn take_done(&mut self) -> Vec<Handed> {
        self.last_store = Some(clock::coarse_nanos());
        let Book { done, in_hand, .. } = self;
        let mut due = Vec::with_capacity(done.len());
        done.retain(|entry| match first_in_hand(in_hand, &entry.topic, entry.partition) {
            Some(first) if first < entry.next => {
                due.push(Handed { next: first, ..entry.clone() });
                true
            }
            _ => {
                due.push(entry.clone());
                false
            }
        });
        due
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

    /// Records what one call handed out to `owner` (see the module docs). A synchronous call
    /// [`finish`](Self::finish)es first: that stores the previous call's offsets.
    pub fn record(&self, owner: u64, handed: Vec<Handed>) {
        if handed.is_empty() {
            return;
        }
        record_in(&mut self.book.lock(), owner, handed);
    }

    /// One message lent by `poll()` or the iterator: with `finish_first` (a synchronous call),
    /// [`finish`](Self::finish) for every owner, then [`record`](Self::record) the message for
    /// `owner`; under one lock, and without allocating in the usual case (the caller held the
    /// previous message of the same partition).
    pub fn lent_one(&self, consumer: &NativeConsumer, owner: u64, finish_first: bool, message: &NativeMessage) {
        let (topic, partition, offset) = (message.topic_bytes(), message.partition(), message.offset());
        let due = {
            let mut book = self.book.lock();
            if finish_first && book.advance(owner, topic, partition, offset, self.auto_store) {
                if self.auto_store {
                    book.due()
                } else {
                    Vec::new()
                }
            } else {
                let due = if finish_first { self.finish_in(&mut book, None) } else { Vec::new() };
                let topic = String::from_utf8_lossy(topic).into_owned();
                record_in(&mut book, owner, vec![Handed { topic, partition, first: offset, next: offset + 1 }]);
                due
            }
        };
        store(due, |list| consumer.store_offsets(list).map(drop).map_err(drop));
    }

    /// The application is done with what `owner` holds (`None`: every owner): stored, as far as
    /// nothing before it is still in hand. Partitions no longer assigned are skipped by librdkafka.
    /// Batched (see the module docs): stored now only if the last store is [`STORE_INTERVAL`] old.
    pub fn finish(&self, consumer: &NativeConsumer, owner: Option<u64>) {
        let due = self.finish_in(&mut self.book.lock(), owner);
        store(due, |list| consumer.store_offsets(list).map(drop).map_err(drop));
    }

    /// [`finish`](Self::finish) in a locked book; returns what is due for storing.
    fn finish_in(&self, book: &mut Book, owner: Option<u64>) -> Vec<Handed> {
        let mut finished = Vec::new();
        book.in_hand.retain_mut(|(o, held)| {
            if owner.is_some_and(|owner| owner != *o) {
                return true;
            }
            finished.append(held);
            false
        });
        if finished.is_empty() || !self.auto_store {
            return Vec::new();
        }
        for entry in finished {
            match book.done.iter_mut().find(|h| h.is(&entry)) {
                Some(known) => known.next = known.next.max(entry.next),
                None => book.done.push(entry),
            }
        }
        book.due()
    }

    /// What `owner` holds will never be finished (its task failed or was cancelled): it stays in
    /// hand, so nothing past it is stored or committed, until its partitions are taken away.
    pub fn abandon(&self, owner: u64) {
        let mut book = self.book.lock();
        let Some(index) = book.in_hand.iter().position(|(o, _)| *o == owner) else { return };
        let (_, held) = book.in_hand.swap_remove(index);
        match book.in_hand.iter_mut().find(|(o, _)| *o == ABANDONED) {
            Some((_, abandoned)) => held.into_iter().for_each(|entry| merge(abandoned, entry)),
            None => book.in_hand.push((ABANDONED, held)),
        }
    }

    /// Stores what is done now (before a commit, a close or a revocation reads stored offsets),
    /// through `store_offsets`, as far as nothing before it is still in hand.
    pub fn store_done(&self, store_offsets: impl FnOnce(&TopicPartitionList) -> Result<(), ()>) {
        let done = self.book.lock().take_done();
        store(done, store_offsets);
    }

    /// The offset after the last message handed out, for each of `assigned` that handed any,
    /// capped at the first message still in hand.
    pub fn handed_in(&self, assigned: &[TopicPartition]) -> Vec<TopicPartition> {
        let book = self.book.lock();
        assigned
            .iter()
            .filter_map(|tp| {
                let h = book.handed.iter().find(|h| h.partition == tp.partition && h.topic == tp.topic)?;
                let next = first_in_hand(&book.in_hand, &h.topic, h.partition).map_or(h.next, |f| f.min(h.next));
                Some(TopicPartition::new(h.topic.clone(), h.partition, next))
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
        book.in_hand.retain_mut(|(_, held)| {
            held.retain(|h| !gone(h));
            !held.is_empty()
        });
        book.done.retain(|h| !gone(h));
    }

    /// Forgets every partition (a new assignment replaced the old one).
    pub fn forget_all(&self) {
        let mut book = self.book.lock();
        book.handed.clear();
        book.in_hand.clear();
        book.done.clear();
    }
}

/// [`HandedOffsets::record`] in a locked book.
fn record_in(book: &mut Book, owner: u64, handed: Vec<Handed>) {
    for entry in &handed {
        match book.handed.iter_mut().find(|h| h.is(entry)) {
            Some(known) => known.next = entry.next,
            None => book.handed.push(entry.clone()),
        }
    }
    match book.in_hand.iter_mut().find(|(o, _)| *o == owner) {
        Some((_, held)) => handed.into_iter().for_each(|entry| merge(held, entry)),
        None => book.in_hand.push((owner, handed)),
    }
}

/// Hands `offsets` to librdkafka's offset store. Errors mean a partition was revoked meanwhile:
/// then there is nothing left to store for it.
fn store(offsets: Vec<Handed>, store_offsets: impl FnOnce(&TopicPartitionList) -> Result<(), ()>) {
    if offsets.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::with_capacity(offsets.len());
    for Handed { topic, partition, next, .. } in &offsets {
        // Cannot fail for a real offset (only for a logical one without a native value).
        let _ = list.add_partition_offset(topic, *partition, Offset::Offset(*next));
    }
    let _ = store_offsets(&list);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handed(topic: &str, partition: i32, next: i64) -> Handed {
        Handed { topic: topic.into(), partition, first: next - 1, next }
    }

    fn held(topic: &str, partition: i32, first: i64, next: i64) -> Handed {
        Handed { topic: topic.into(), partition, first, next }
    }

    #[test]
    fn commits_only_what_was_handed_out_and_forgets_revoked_partitions() {
        let offsets = HandedOffsets::new(true);
        offsets.record(1, vec![handed("a", 0, 5), handed("a", 1, 3)]);
        offsets.book.lock().in_hand.clear(); // the next synchronous call finishes it
        offsets.record(1, vec![handed("a", 0, 9)]);
        offsets.book.lock().in_hand.clear();
        let assigned = [
            TopicPartition::new("a".into(), 0, -1001),
            TopicPartition::new("a".into(), 1, -1001),
            TopicPartition::new("b".into(), 0, -1001),
        ];
        let commit = offsets.handed_in(&assigned);
        assert_eq!(commit.iter().map(|tp| (tp.partition, tp.offset)).collect::<Vec<_>>(), [(0, 9), (1, 3)]);
        offsets.record(1, vec![handed("a", 0, 10)]);
        offsets.forget(&assigned[..1]);
        assert_eq!(offsets.handed_in(&assigned).len(), 1);
        assert!(offsets.book.lock().in_hand.is_empty(), "the revoked partition's pending store is dropped");
        offsets.forget_all();
        assert!(offsets.handed_in(&assigned).is_empty());
    }

    #[test]
    fn without_auto_store_nothing_is_done() {
        let offsets = HandedOffsets::new(false);
        offsets.record(1, vec![handed("a", 0, 5)]);
        assert_eq!(offsets.book.lock().handed, [handed("a", 0, 5)]);
        offsets.book.lock().in_hand.clear();
        assert!(offsets.book.lock().take_done().is_empty());
    }

    #[test]
    fn nothing_passes_a_message_another_owner_still_holds() {
        let offsets = HandedOffsets::new(true);
        let (a, b) = (task_owner(1), task_owner(2));
        offsets.record(a, vec![held("t", 0, 0, 1)]);
        offsets.record(b, vec![held("t", 0, 1, 2)]);
        offsets.record(a, vec![held("t", 0, 2, 3)]); // a asked again before moving on (two calls at once)
        let assigned = [TopicPartition::new("t".into(), 0, -1001)];
        assert_eq!(offsets.handed_in(&assigned)[0].offset, 0, "a still holds offset 0");
        // b is done with offset 1, a still holds 0 and 2: nothing may be stored past 0.
        let mut book = offsets.book.lock();
        let (_, b_held) = book.in_hand.iter().find(|(o, _)| *o == b).cloned().unwrap();
        book.in_hand.retain(|(o, _)| *o != b);
        book.done.extend(b_held);
        assert_eq!(book.take_done(), [held("t", 0, 1, 0)], "capped at a's first message");
        assert_eq!(book.done.len(), 1, "kept until a is done");
        book.in_hand.clear();
        assert_eq!(book.take_done(), [held("t", 0, 1, 2)]);
        drop(book);
        // An abandoned owner's messages stay in hand until their partition goes.
        offsets.record(a, vec![held("t", 0, 7, 8)]);
        offsets.abandon(a);
        offsets.record(b, vec![held("t", 0, 8, 9)]);
        offsets.abandon(b);
        assert_eq!(offsets.book.lock().in_hand, [(ABANDONED, vec![held("t", 0, 7, 9)])]);
        assert_eq!(offsets.handed_in(&assigned)[0].offset, 7);
        offsets.forget(&assigned);
        assert!(offsets.book.lock().in_hand.is_empty());
    }

    #[test]
    fn advancing_in_place_is_finishing_then_recording() {
        for auto_store in [true, false] {
            let (general, fast) = (HandedOffsets::new(auto_store), HandedOffsets::new(auto_store));
            for offsets in [&general, &fast] {
                let mut book = offsets.book.lock();
                book.last_store = Some(clock::coarse_nanos()); // nothing due: stores stay in `done`
                record_in(&mut book, 1, vec![held("t", 0, 0, 1)]);
                assert!(offsets.finish_in(&mut book, None).is_empty());
                record_in(&mut book, 1, vec![held("t", 0, 1, 2)]);
            }
            let mut expected = general.book.lock();
            assert!(general.finish_in(&mut expected, None).is_empty());
            record_in(&mut expected, 1, vec![held("t", 0, 5, 6)]);
            let mut book = fast.book.lock();
            assert!(book.advance(1, b"t", 0, 5, auto_store));
            assert_eq!(
                (&book.handed, &book.in_hand, &book.done),
                (&expected.handed, &expected.in_hand, &expected.done)
            );
            // Any other case is left to the general path, untouched.
            let before = (book.handed.clone(), book.in_hand.clone(), book.done.clone());
            assert!(!book.advance(2, b"t", 0, 6, auto_store), "another owner");
            assert!(!book.advance(1, b"t", 1, 6, auto_store), "another partition");
            assert!(!book.advance(1, b"u", 0, 6, auto_store), "another topic");
            book.in_hand.push((3, vec![held("t", 0, 2, 3)]));
            assert!(!book.advance(1, b"t", 0, 6, auto_store), "someone else holds a message");
            book.in_hand.pop();
            assert_eq!((book.handed.clone(), book.in_hand.clone(), book.done.clone()), before);
        }
    }

    #[test]
    fn task_owners_never_meet_thread_tags() {
        assert_ne!(task_owner(1), 1);
        assert_ne!(task_owner(u64::MAX), ABANDONED);
        assert_eq!(task_owner(5) & TASK, TASK);
    }
}
