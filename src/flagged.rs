//! A lock around state that is almost always empty (queued callbacks, a deferred error, revoked
//! partitions), whose emptiness can be read without taking it: the consumer's express lane
//! (consumer/mod.rs, `lend_ready`) checks half a dozen of them once per message.
//!
//! The flag is written while the lock is held, as the guard goes: after every unlock it says
//! whether the state was empty then. Reading it (Acquire) sees every unlock that happened before
//! the read, like taking the lock would; a change made at the same moment on another thread may be
//! missed, which taking the lock could not prevent either (it could come right after).

#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

/// State that can be empty.
pub trait Emptiness {
    fn holds_nothing(&self) -> bool;
}

impl<T> Emptiness for Option<T> {
    fn holds_nothing(&self) -> bool {
        self.is_none()
    }
}

impl<T> Emptiness for Vec<T> {
    fn holds_nothing(&self) -> bool {
        self.is_empty()
    }
}

impl<T> Emptiness for VecDeque<T> {
    fn holds_nothing(&self) -> bool {
        self.is_empty()
    }
}

/// A `Mutex<T>` whose emptiness is readable without the lock ([`occupied`](Self::occupied)).
pub struct Flagged<T: Emptiness> {
    value: Mutex<T>,
    occupied: AtomicBool,
}

impl<T: Emptiness + Default> Default for Flagged<T> {
    fn default() -> Self {
        Flagged::new(T::default())
    }
}

impl<T: Emptiness> Flagged<T> {
    pub fn new(value: T) -> Self {
        let occupied = AtomicBool::new(!value.holds_nothing());
        Flagged { value: Mutex::new(value), occupied }
    }

    pub fn lock(&self) -> FlaggedGuard<'_, T> {
        FlaggedGuard { guard: self.value.lock(), occupied: &self.occupied }
    }

    pub fn try_lock(&self) -> Option<FlaggedGuard<'_, T>> {
        Some(FlaggedGuard { guard: self.value.try_lock()?, occupied: &self.occupied })
    }

    /// Whether the state held something at the last unlock (see the module docs).
    pub fn occupied(&self) -> bool {
        self.occupied.load(Ordering::Acquire)
    }
}

pub struct FlaggedGuard<'a, T: Emptiness> {
    guard: MutexGuard<'a, T>,
    occupied: &'a AtomicBool,
}

impl<T: Emptiness> Deref for FlaggedGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: Emptiness> DerefMut for FlaggedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: Emptiness> Drop for FlaggedGuard<'_, T> {
    fn drop(&mut self) {
        // Still under the lock (the guard field is dropped after this).
        self.occupied.store(!self.guard.holds_nothing(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_follows_the_state_at_each_unlock() {
        let flagged: Flagged<Vec<u8>> = Flagged::default();
        assert!(!flagged.occupied());
        flagged.lock().push(1);
        assert!(flagged.occupied());
        {
            let mut guard = flagged.lock();
            guard.clear();
            guard.push(2);
        }
        assert!(flagged.occupied());
        drop(std::mem::take(&mut *flagged.lock()));
        assert!(!flagged.occupied());
        assert!(Flagged::new(Some(1)).occupied());
        if let Some(mut guard) = flagged.try_lock() {
            guard.push(3);
        }
        assert!(flagged.occupied());
    }
}
