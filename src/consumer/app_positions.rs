//! A guard for librdkafka 2.12.1's application position after a partition end or a consumer error.
//!
//! librdkafka keeps, per partition, the *application position*: the offset after the last message
//! handed to the application. `rd_kafka_position()` reports it, and pausing a partition restarts
//! its fetching there (so that messages fetched but not handed out are fetched again on resume).
//! Its batch call, `rd_kafka_consume_batch_queue`, moves it to `offset + 1` of everything it hands
//! out, *also of a partition end or a consumer error*, whose offset is the next one to fetch, not a
//! message's (fixed in librdkafka 2.13.2; docs/librdkafka-fixes.md). With `enable.partition.eof`,
//! reading a partition to its end at offset 3 left the position at 4: `position()` said 4,
//! `AIOConsumer.commit()` (which commits the position) committed 4, and `pause()` restarted
//! fetching at 4, so the message produced at 3 while paused was never read.
//!
//! The guard, until ferrokafka links a fixed librdkafka, keeps per partition what a fixed
//! librdkafka keeps:
//! - the offset after the last message taken from librdkafka since the partition was assigned or
//!   sought (`pos`), and a *mark* for an end or consumer error (with a partition and an offset)
//!   taken after that message;
//! - `position()`: while a mark stands and librdkafka reports its offset + 1, the fixed position is
//!   reported instead: `pos` (OFFSET_INVALID if no message came since), or for an end, the end's
//!   offset (every offset before it was handed out);
//! - `pause()`: a partition paused under a standing mark is then sought (`rd_kafka_seek`) to that
//!   fixed position (or, without one, to the mark's offset, where librdkafka fetches anyway), so
//!   fetching restarts there on resume. A seek resets librdkafka's position to OFFSET_INVALID, so
//!   the mark stays, noted as *sought*, and `position()` corrects OFFSET_INVALID too;
//! - a seek, an assignment, an unassignment or a revocation of the partition forgets it;
//! - librdkafka moves OFFSET_INVALID (-1001) to OFFSET_STORED (-1000) for an error without an
//!   offset taken before any message: `position()` reports OFFSET_INVALID for it.
//!
//! The leader epoch of a corrected position is left out (None). Transaction markers move
//! librdkafka's position without reaching ferrokafka: after one, the corrected position of an
//! error (not of an end) may be the marker's offset, which is then read again (it holds no message).

#![forbid(unsafe_code)]

use parking_lot::Mutex;

use crate::message::MessageParts;
use crate::topic_partition::TopicPartition;

const OFFSET_INVALID: i64 = -1001;
const OFFSET_STORED: i64 = -1000;

/// An end or consumer error taken from librdkafka, and where it came among the messages taken
/// in the same call (`index`: how many messages came before it).
pub struct ErrorTaken {
    pub index: usize,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub end: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    /// The offset of the end or error: librdkafka's position moved to `at + 1`.
    at: i64,
    end: bool,
    /// Sought to the fixed position after a pause: librdkafka then reports OFFSET_INVALID.
    sought: bool,
}

#[derive(Debug)]
struct Track {
    topic: String,
    partition: i32,
    /// The offset after the last message taken since assignment or seek; OFFSET_INVALID if none.
    pos: i64,
    mark: Option<Mark>,
}

impl Track {
    fn is(&self, topic: &[u8], partition: i32) -> bool {
        self.partition == partition && self.topic.as_bytes() == topic
    }

    /// The position a fixed librdkafka reports while `mark` stands.
    fn fixed(&self, mark: Mark) -> i64 {
        match (self.pos, mark.end) {
            (pos, _) if pos < 0 => OFFSET_INVALID,
            (_, true) => mark.at,
            (pos, false) => pos,
        }
    }
}

#[derive(Default)]
pub struct AppPositions(Mutex<Vec<Track>>);

fn track<'a>(tracks: &'a mut Vec<Track>, topic: &[u8], partition: i32) -> (usize, &'a mut Track) {
    let index = match tracks.iter().position(|t| t.is(topic, partition)) {
        Some(index) => index,
        None => {
            let topic = String::from_utf8_lossy(topic).into_owned();
            tracks.push(Track { topic, partition, pos: OFFSET_INVALID, mark: None });
            tracks.len() - 1
        }
    };
    (index, &mut tracks[index])
}

impl AppPositions {
    /// What one batch call handed out, in order: `messages`, with `errors` among them. One lock
    /// per call; consecutive messages of a partition find their entry without a search.
    /// The previous message's entry is found again from its topic handle and partition, without
    /// reading the topic's name.
    pub fn taken<M: MessageParts>(&self, messages: impl ExactSizeIterator<Item = M>, errors: &[ErrorTaken]) {
        if messages.len() == 0 && errors.is_empty() {
            return;
        }
        let mut tracks = self.0.lock();
        let mut errors = errors.iter().peekable();
        let mut last: Option<(usize, *const rdkafka::bindings::rd_kafka_topic_t)> = None;
        for (i, message) in messages.enumerate() {
            while let Some(error) = errors.next_if(|e| e.index <= i) {
                mark(&mut tracks, error);
                last = None;
            }
            let (handle, partition) = (message.topic_handle(), message.partition());
            let index = match last {
                Some((index, h)) if !h.is_null() && h == handle && tracks[index].partition == partition => index,
                Some((index, _)) if tracks[index].is(message.topic_bytes(), partition) => index,
                _ => track(&mut tracks, message.topic_bytes(), partition).0,
            };
            let entry = &mut tracks[index];
            entry.pos = message.offset() + 1;
            entry.mark = None;
            last = Some((index, handle));
        }
        for error in errors {
            mark(&mut tracks, error);
        }
    }

    /// Forgets `partitions` (sought by the application, unassigned, revoked).
    pub fn forget(&self, partitions: &[TopicPartition]) {
        self.0.lock().retain(|t| !partitions.iter().any(|tp| t.is(tp.topic.as_bytes(), tp.partition)));
    }

    /// Forgets every partition (a new assignment replaced the old one).
    pub fn forget_all(&self) {
        self.0.lock().clear();
    }

    /// Corrects positions read from librdkafka (see the module docs).
    pub fn correct(&self, positions: &mut [TopicPartition]) {
        let tracks = self.0.lock();
        for tp in positions {
            let standing =
                tracks.iter().find(|t| t.is(tp.topic.as_bytes(), tp.partition)).and_then(|t| Some((t, t.mark?)));
            if let Some((entry, mark)) = standing {
                // Sought: OFFSET_INVALID once librdkafka applied the seek, which it queued behind
                // the pause on the partition's own queue; `at + 1` until then.
                if tp.offset == mark.at + 1 || (mark.sought && tp.offset == OFFSET_INVALID) {
                    tp.offset = entry.fixed(mark);
                    tp.leader_epoch = None;
                    continue;
                }
            }
            if tp.offset == OFFSET_STORED {
                tp.offset = OFFSET_INVALID;
            }
        }
    }

    /// Of `partitions`, those under a standing mark not sought yet: the ones a pause may have to
    /// seek back (see [`to_seek_after_pause`](Self::to_seek_after_pause)).
    pub fn marked(&self, partitions: &[TopicPartition]) -> Vec<TopicPartition> {
        let tracks = self.0.lock();
        partitions
            .iter()
            .filter(|tp| {
                tracks.iter().any(|t| t.is(tp.topic.as_bytes(), tp.partition) && t.mark.is_some_and(|m| !m.sought))
            })
            .cloned()
            .collect()
    }

    /// Of the partitions just paused (`positions`: librdkafka's positions, read before the pause),
    /// those whose fetching would restart past a standing mark, each with the offset to seek it to;
    /// once sought, note them with [`sought`](Self::sought).
    pub fn to_seek_after_pause(&self, positions: &[TopicPartition]) -> Vec<TopicPartition> {
        let tracks = self.0.lock();
        positions
            .iter()
            .filter_map(|tp| {
                let entry = tracks.iter().find(|t| t.is(tp.topic.as_bytes(), tp.partition))?;
                let mark = entry.mark.filter(|m| !m.sought && tp.offset == m.at + 1)?;
                let to = match entry.fixed(mark) {
                    OFFSET_INVALID => mark.at,
                    fixed => fixed,
                };
                Some(TopicPartition::new(tp.topic.clone(), tp.partition, to))
            })
            .collect()
    }

    /// `partitions` were sought after a pause (the seek may be applied a moment later).
    pub fn sought(&self, partitions: &[TopicPartition]) {
        let mut tracks = self.0.lock();
        for entry in tracks.iter_mut() {
            if partitions.iter().any(|tp| entry.is(tp.topic.as_bytes(), tp.partition)) {
                if let Some(mark) = &mut entry.mark {
                    mark.sought = true;
                }
            }
        }
    }
}

fn mark(tracks: &mut Vec<Track>, error: &ErrorTaken) {
    if error.offset < 0 || error.partition < 0 {
        return; // librdkafka moved no position to a real offset (see OFFSET_STORED)
    }
    let (_, entry) = track(tracks, error.topic.as_bytes(), error.partition);
    entry.mark = Some(Mark { at: error.offset, end: error.end, sought: false });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(partition: i32, offset: i64) -> Vec<TopicPartition> {
        vec![TopicPartition::new("t".into(), partition, offset)]
    }

    fn error(partition: i32, offset: i64, end: bool) -> ErrorTaken {
        ErrorTaken { index: 0, topic: "t".into(), partition, offset, end }
    }

    fn corrected(fix: &AppPositions, partition: i32, offset: i64) -> i64 {
        let mut positions = at(partition, offset);
        fix.correct(&mut positions);
        positions[0].offset
    }

    fn set_pos(fix: &AppPositions, partition: i32, pos: i64) {
        track(&mut fix.0.lock(), b"t", partition).1.pos = pos;
    }

    #[test]
    fn an_end_is_corrected_to_itself_after_messages_and_to_invalid_without() {
        let fix = AppPositions::default();
        fix.taken(std::iter::empty::<&crate::message::borrowed::NativeMessage>(), &[error(0, 3, true)]);
        assert_eq!(corrected(&fix, 0, 4), OFFSET_INVALID, "no message since the assignment");
        set_pos(&fix, 0, 3);
        assert_eq!(corrected(&fix, 0, 4), 3);
        assert_eq!(corrected(&fix, 1, 4), 4, "another partition is left alone");
        assert_eq!(corrected(&fix, 0, 7), 7, "not librdkafka's move: a later position stands");
    }

    #[test]
    fn an_error_is_corrected_to_the_last_message() {
        let fix = AppPositions::default();
        set_pos(&fix, 0, 5);
        fix.taken(std::iter::empty::<&crate::message::borrowed::NativeMessage>(), &[error(0, 9, false)]);
        assert_eq!(corrected(&fix, 0, 10), 5);
        assert_eq!(fix.to_seek_after_pause(&at(0, 10)).iter().map(|tp| tp.offset).collect::<Vec<_>>(), [5]);
    }

    #[test]
    fn a_pause_seeks_once_and_invalid_then_reads_as_the_fixed_position() {
        let fix = AppPositions::default();
        fix.taken(std::iter::empty::<&crate::message::borrowed::NativeMessage>(), &[error(0, 3, true)]);
        let seek = fix.to_seek_after_pause(&at(0, 4));
        assert_eq!(seek.iter().map(|tp| tp.offset).collect::<Vec<_>>(), [3], "no position: to the end itself");
        fix.sought(&seek);
        assert!(fix.to_seek_after_pause(&at(0, 4)).is_empty(), "sought already");
        set_pos(&fix, 0, 3);
        assert_eq!(corrected(&fix, 0, 4), 3, "the seek not applied yet");
        assert_eq!(corrected(&fix, 0, OFFSET_INVALID), 3);
        fix.forget(&at(0, 0));
        assert_eq!(corrected(&fix, 0, OFFSET_INVALID), OFFSET_INVALID, "a seek of the application forgets");
    }

    #[test]
    fn only_partitions_under_a_mark_not_sought_are_marked() {
        let fix = AppPositions::default();
        set_pos(&fix, 1, 2); // messages, no mark
        fix.taken(std::iter::empty::<&crate::message::borrowed::NativeMessage>(), &[error(0, 3, true)]);
        let asked = [at(0, 0), at(1, 0), at(2, 0)].concat();
        assert_eq!(fix.marked(&asked).iter().map(|tp| tp.partition).collect::<Vec<_>>(), [0]);
        fix.sought(&at(0, 3));
        assert!(fix.marked(&asked).is_empty(), "sought already");
    }

    #[test]
    fn stored_reads_as_invalid_and_errors_without_an_offset_mark_nothing() {
        let fix = AppPositions::default();
        assert_eq!(corrected(&fix, 0, OFFSET_STORED), OFFSET_INVALID);
        fix.taken(std::iter::empty::<&crate::message::borrowed::NativeMessage>(), &[error(0, OFFSET_INVALID, false)]);
        assert!(fix.0.lock().is_empty());
        fix.taken(std::iter::empty::<&crate::message::borrowed::NativeMessage>(), &[error(0, 1, false)]);
        fix.forget_all();
        assert!(fix.0.lock().is_empty());
    }
}
