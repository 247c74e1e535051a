//! The consumer's book of live borrowed messages.
//!
//! `Consumer.close()` must invalidate every borrowed message still alive (reason `consumer_closed`)
//! so that their native memory is freed as soon as no exported buffer holds it. The registry is how
//! close reaches them: it keeps a weak reference to the slot of every message it admitted.
//! Admission takes one lock per batch, and a message going away costs the registry nothing: dead
//! entries are swept out when the book has doubled since the last sweep. Admission and closing take
//! the same lock, so no message slips in after close.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::message::borrowed::InvalidReason;
use crate::message::borrowed::{MessageSlot, NativeMessage};

/// Native messages alive in this process, over all consumers (a test hook for leak checks).
pub static LIVE_NATIVE_MESSAGES: AtomicUsize = AtomicUsize::new(0);

/// The book is swept when it holds this many entries or twice as many as after the last sweep.
const MIN_SWEEP_AT: usize = 4096;

struct Book {
    slots: Vec<Weak<MessageSlot>>,
    sweep_at: usize,
    closed: bool,
}

pub struct MessageRegistry {
    book: Mutex<Book>,
    /// `book.closed`, readable without the lock (set under it): checked once per message.
    closed: AtomicBool,
    /// Native messages of this consumer whose memory is still held, by a valid BorrowedMessage or by
    /// an exported buffer (memoryview) of an invalidated one.
    live_native: AtomicUsize,
}

impl Default for MessageRegistry {
    fn default() -> Self {
        MessageRegistry {
            book: Mutex::new(Book { slots: Vec::new(), sweep_at: MIN_SWEEP_AT, closed: false }),
            closed: AtomicBool::new(false),
            live_native: AtomicUsize::new(0),
        }
    }
}

impl MessageRegistry {
    /// Records a new native message; called once per message, before it is admitted.
    pub fn native_created(&self) {
        self.live_native.fetch_add(1, Ordering::Relaxed);
        LIVE_NATIVE_MESSAGES.fetch_add(1, Ordering::Relaxed);
    }

    pub fn natives_created(&self, n: usize) {
        self.live_native.fetch_add(n, Ordering::Relaxed);
        LIVE_NATIVE_MESSAGES.fetch_add(n, Ordering::Relaxed);
    }

    pub fn natives_dropped(&self, n: usize) {
        self.live_native.fetch_sub(n, Ordering::Relaxed);
        LIVE_NATIVE_MESSAGES.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn native_dropped(&self) {
        self.live_native.fetch_sub(1, Ordering::Relaxed);
        LIVE_NATIVE_MESSAGES.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn live_native(&self) -> usize {
        self.live_native.load(Ordering::Relaxed)
    }

    /// Gives each message a slot, or returns `None` if the consumer is already closed (the messages
    /// are then dropped here, and their memory freed).
    pub fn admit(&self, natives: Vec<NativeMessage>) -> Option<Vec<Arc<MessageSlot>>> {
        let slots: Vec<Arc<MessageSlot>> =
            natives.into_iter().map(|native| Arc::new(MessageSlot::new(native))).collect();
        let mut book = self.book.lock();
        if book.closed {
            drop(book);
            drop(slots);
            return None;
        }
        if book.slots.len() + slots.len() >= book.sweep_at {
            book.slots.retain(|slot| slot.strong_count() > 0);
            book.sweep_at = MIN_SWEEP_AT.max(2 * (book.slots.len() + slots.len()));
        }
        book.slots.extend(slots.iter().map(Arc::downgrade));
        Some(slots)
    }

    /// [`admit`](Self::admit) for one message.
    pub fn admit_one(&self, native: Arc<NativeMessage>) -> Option<Arc<MessageSlot>> {
        let slot = Arc::new(MessageSlot::shared(native));
        let mut book = self.book.lock();
        if book.closed {
            drop(book);
            drop(slot);
            return None;
        }
        if book.slots.len() + 1 >= book.sweep_at {
            book.slots.retain(|slot| slot.strong_count() > 0);
            book.sweep_at = MIN_SWEEP_AT.max(2 * (book.slots.len() + 1));
        }
        book.slots.push(Arc::downgrade(&slot));
        Some(slot)
    }

    /// Whether closed: true from the moment [`close`](Self::close) took the book (admission checks
    /// under the lock, so nothing is admitted after).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the consumer closed and invalidates every live message. Returns false if it was already
    /// closed. Native memory is released outside the lock, on the calling thread (cheap: no I/O).
    pub fn close(&self) -> bool {
        let slots: Vec<Weak<MessageSlot>> = {
            let mut book = self.book.lock();
            if book.closed {
                return false;
            }
            book.closed = true;
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut book.slots)
        };
        for slot in slots.iter().filter_map(Weak::upgrade) {
            drop(slot.invalidate(InvalidReason::ConsumerClosed));
        }
        true
    }
}
