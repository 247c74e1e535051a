//! Clients inherited across `fork()`.
//!
//! A forked child has a copy of the parent's memory but only the thread that called `fork()`:
//! librdkafka's threads, our delivery threads and every lock they held are gone or frozen. An
//! inherited client can therefore neither work nor be destroyed (destroying joins threads that do
//! not exist, or waits on a lock nobody will release). The rule (README, "Lifetime rules"): every
//! call on an inherited client raises `ferrokafka.Error` at once; `close()` and the garbage
//! collector only mark it closed and leave its native memory to the child's exit (a leak is the only
//! safe choice); clients created in the child work normally.

#![forbid(unsafe_code)]

use crate::errors::{FerroError, FerroResult};
use crate::platform::fork_generation;

/// Registers the fork handler (it counts forks: [`fork_generation`]); called when the module is
/// imported.
pub fn install() {
    crate::platform::count_forks();
}

/// The process a client was created in.
#[derive(Clone, Copy, Debug)]
pub struct Born(u64);

impl Born {
    pub fn here() -> Self {
        Born(fork_generation())
    }

    /// True in a forked child for a client created before the fork.
    pub fn inherited(self) -> bool {
        fork_generation() != self.0
    }

    /// `Err` for a client inherited across fork().
    pub fn check(self, what: &'static str) -> FerroResult<()> {
        if self.inherited() {
            Err(FerroError::Forked(what))
        } else {
            Ok(())
        }
    }
}
