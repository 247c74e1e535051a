//! The consumer's book of live borrowed messages.
//!
//! `Consumer.close()` must invalidate every borrowed message still alive (reason `consumer_closed`)
//! so that their native memory is freed as soon as no exported buffer holds it. The registry is how
//! close reaches them: every admitted message has a slot here until its Python object goes away.
//! Admission and closing take the same lock, so no message slips in after close.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use slab::Slab;

use crate::errors::InvalidReason;
use crate::message::borrowed::{MessageSlot, NativeMessage};

/// Native messages alive in this process, over all consumers (a test hook for leak checks).
pub static LIVE_NATIVE_MESSAGES: AtomicUsize = AtomicUsize::new(0);

#[derive(Default)]
struct Book {
    slots: Slab<Arc<MessageSlot>>,
    closed: bool,
}

#[derive(Default)]
pub struct MessageRegistry {
    book: Mutex<Book>,
    /// Native messages of this consumer whose memory is still held, by a valid BorrowedMessage or by
    /// an exported buffer (memoryview) of an invalidated one.
    live_native: AtomicUsize,
}

impl MessageRegistry {
    /// Records a new native message; called once per message, before it is admitted.
    pub fn native_created(&self) {
        self.live_native.fetch_add(1, Ordering::Relaxed);
        LIVE_NATIVE_MESSAGES.fetch_add(1, Ordering::Relaxed);
    }

    pub fn native_dropped(&self) {
        self.live_native.fetch_sub(1, Ordering::Relaxed);
        LIVE_NATIVE_MESSAGES.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn live_native(&self) -> usize {
        self.live_native.load(Ordering::Relaxed)
    }

    /// Gives the message a slot, or `None` if the consumer is already closed (the message is then
    /// dropped here, and its memory freed).
    pub fn admit(&self, native: NativeMessage) -> Option<(usize, Arc<MessageSlot>)> {
        let mut book = self.book.lock();
        if book.closed {
            drop(book);
            drop(native);
            return None;
        }
        let slot = Arc::new(MessageSlot::new(native));
        let key = book.slots.insert(slot.clone());
        Some((key, slot))
    }

    /// Removes a slot when its Python object goes away (from any thread).
    pub fn forget(&self, key: usize, slot: &Arc<MessageSlot>) {
        let mut book = self.book.lock();
        // After close the book is empty and keys may not be ours any more: only remove our own slot.
        if book.slots.get(key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            book.slots.remove(key);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.book.lock().closed
    }

    /// Marks the consumer closed and invalidates every live message. Returns false if it was already
    /// closed. Native memory is released outside the lock, on the calling thread (cheap: no I/O).
    pub fn close(&self) -> bool {
        let slots: Vec<Arc<MessageSlot>> = {
            let mut book = self.book.lock();
            if book.closed {
                return false;
            }
            book.closed = true;
            book.slots.drain().collect()
        };
        for slot in slots {
            drop(slot.invalidate(InvalidReason::ConsumerClosed));
        }
        true
    }
}
