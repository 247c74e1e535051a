//! A client's native handle that `close()` destroys while the Python object lives on.
//!
//! `close()` means closed: librdkafka's threads, sockets and pipes go before it returns, whether or
//! not the application keeps the client object (an attribute of a long-lived object, a pool). The
//! handle therefore does not live in the client's core for the core's whole life: it sits in a
//! [`HandleSlot`], from which every call takes a reference for as long as it runs, and which
//! `close()` empties. The handle is destroyed when the last reference goes — at once if only the
//! slot held it — on a thread of its own (destroying joins librdkafka's threads, never with the GIL),
//! whose end `close()` waits for through the slot's [`Teardown`].
//!
//! What else may hold a handle past `close()`: a consumed message still exported as a `memoryview`
//! (librdkafka requires every message to be destroyed before its handle), and a call still running
//! on a worker thread after Ctrl-C interrupted its caller; the handle then goes when they do, and
//! `close()` does not wait for them.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;

use crate::blocking::wait_detached;
use crate::fork::Born;

/// The longest `close()` waits for a handle's destruction when the caller set no deadline. After
/// the group was left and every message settled, destroying takes milliseconds; this only bounds
/// the unforeseen.
pub const TEARDOWN_BOUND: Duration = Duration::from_secs(10);

/// The native handle of an open client; empty once closed.
pub struct HandleSlot<T> {
    handle: RwLock<Option<Arc<T>>>,
}

impl<T> HandleSlot<T> {
    pub fn new(handle: Arc<T>) -> Self {
        HandleSlot { handle: RwLock::new(Some(handle)) }
    }

    /// A reference to the handle while the client is open, kept by the caller for as long as it
    /// uses the handle. `read_recursive`: a caller may already hold one while a closer waits.
    pub fn get(&self) -> Option<Arc<T>> {
        self.handle.read_recursive().clone()
    }

    /// Empties the slot: from now on [`get`](Self::get) gives `None`. The caller drops (or keeps
    /// for a last step) the reference returned.
    pub fn take(&self) -> Option<Arc<T>> {
        self.handle.write().take()
    }

    pub fn is_empty(&self) -> bool {
        self.handle.read_recursive().is_none()
    }
}

/// A client that its owner's `Drop` hands on by value ([`Teardown::destroy`] destroys it on a
/// thread of its own): until then it dereferences to the client. The safe form of a
/// `ManuallyDrop` taken in `Drop`.
pub struct HandOff<T>(Option<T>);

impl<T> HandOff<T> {
    pub fn new(value: T) -> Self {
        HandOff(Some(value))
    }

    /// Takes the value out. Only the owner's `Drop` calls it, after which nothing can reach the
    /// owner, so every dereference happens before: `None` only if called twice.
    pub fn take(&mut self) -> Option<T> {
        self.0.take()
    }
}

impl<T> std::ops::Deref for HandOff<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            // Unreachable: taken only in the owner's Drop (see `take`).
            None => unreachable!("a HandOff used after its owner's Drop took it"),
        }
    }
}

/// The destruction of one handle: started by the handle's `Drop` ([`Teardown::destroy`]), awaited by
/// `close()` ([`Teardown::wait`]).
#[derive(Clone, Default)]
pub struct Teardown {
    thread: Arc<Mutex<TeardownState>>,
}

#[derive(Default)]
enum TeardownState {
    #[default]
    NotStarted,
    Running(JoinHandle<()>),
    /// Destroyed (or, in a forked child, left alone: see fork.rs).
    Done,
}

impl Teardown {
    /// Destroys `value` (a native handle and what must go with it) on a thread of its own:
    /// destroying joins librdkafka's threads, which must never happen on a thread that holds the
    /// GIL or runs a finaliser. In a forked child it is leaked (see fork.rs).
    pub fn destroy<V: Send + 'static>(&self, value: V, what: &str, born: Born) {
        let mut state = self.thread.lock();
        if born.inherited() {
            std::mem::forget(value);
            *state = TeardownState::Done;
            return;
        }
        // ManuallyDrop: if the thread cannot be started, the closure (and the value in it) is
        // dropped here, on the caller's thread; leaking the handle then is better than blocking.
        let value = std::mem::ManuallyDrop::new(value);
        let spawned = std::thread::Builder::new()
            .name(format!("ferrokafka-drop-{what}"))
            .spawn(move || drop(std::mem::ManuallyDrop::into_inner(value)));
        *state = match spawned {
            Ok(thread) => TeardownState::Running(thread),
            Err(err) => {
                eprintln!("ferrokafka: could not start a thread to destroy a {what} ({err}); leaking it");
                TeardownState::Done
            }
        };
    }

    /// Whether the destruction has started (the handle's last reference went).
    pub fn started(&self) -> bool {
        !matches!(*self.thread.lock(), TeardownState::NotStarted)
    }

    /// Waits, with the GIL released and Ctrl-C honoured, until the handle is destroyed and its
    /// destroying thread has ended, or `deadline` (at most [`TEARDOWN_BOUND`] from now) passes.
    /// Returns whether it is destroyed. A destruction not started yet is not waited for: someone
    /// else still holds the handle (a message's exported buffer, a call in flight on a worker
    /// thread, bounded by its own timeout), and it goes when they let it go.
    pub fn wait(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<bool> {
        if !self.started() {
            return Ok(false);
        }
        let bound = Instant::now() + TEARDOWN_BOUND;
        let deadline = Some(deadline.map_or(bound, |d| d.min(bound)));
        let state = self.thread.clone();
        let done = wait_detached(py, deadline, move |slice| {
            let mut state = state.lock();
            match std::mem::take(&mut *state) {
                TeardownState::Done => {
                    *state = TeardownState::Done;
                    Some(())
                }
                TeardownState::Running(thread) if thread.is_finished() => {
                    drop(thread.join());
                    *state = TeardownState::Done;
                    Some(())
                }
                other => {
                    *state = other;
                    drop(state);
                    std::thread::sleep(slice.min(Duration::from_millis(2)));
                    None
                }
            }
        })?;
        Ok(done.is_some())
    }
}
