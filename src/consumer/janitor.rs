//! Drains the queues of closed consumers that are still referenced.
//!
//! A closed consumer's librdkafka handle lives on while something still holds it: a memoryview of
//! one of its messages, or a call that was running on another thread. Until then librdkafka goes on putting statistics
//! (~50 KB of JSON per `statistics.interval.ms`) and error events on its queue, and nobody polls a
//! closed consumer: memory grew without bound. One process-wide thread serves those queues about
//! once a second, throwing the events away (the Python callbacks are off after close), and forgets
//! each consumer when its last reference goes. It runs only while there is such a consumer.

#![forbid(unsafe_code)]

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::consumer::core::ConsumerHandle;
use crate::fork::Born;

/// How often the queues of closed consumers are drained.
const EVERY: Duration = Duration::from_secs(1);

struct Janitor {
    closed: Vec<Weak<ConsumerHandle>>,
    /// The process the thread runs in, if one runs (a forked child has none).
    running_in: Option<Born>,
}

static JANITOR: Mutex<Janitor> = Mutex::new(Janitor { closed: Vec::new(), running_in: None });

/// Drains `handle`'s queues from now on, until its last reference goes.
pub fn watch(handle: &Arc<ConsumerHandle>) {
    let mut janitor = JANITOR.lock();
    janitor.closed.push(Arc::downgrade(handle));
    if janitor.running_in.is_some_and(|born| !born.inherited()) {
        return;
    }
    let spawned = std::thread::Builder::new().name("ferrokafka-janitor".into()).spawn(run);
    // Without a thread the events stay queued until the consumer is dropped, as before.
    janitor.running_in = spawned.ok().map(|_| Born::here());
}

fn run() {
    loop {
        std::thread::sleep(EVERY);
        let alive: Vec<Arc<ConsumerHandle>> = {
            let mut janitor = JANITOR.lock();
            janitor.closed.retain(|handle| handle.strong_count() > 0);
            if janitor.closed.is_empty() {
                janitor.running_in = None;
                return;
            }
            janitor.closed.iter().filter_map(Weak::upgrade).collect()
        };
        for handle in &alive {
            handle.drain_closed();
        }
        // The last reference may be ours: the handle is then destroyed on a background thread.
        drop(alive);
    }
}
