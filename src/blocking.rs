//! Blocking on librdkafka without holding the GIL and without deafness to Ctrl-C.
//!
//! Every call that can wait (poll, consume, iteration, flush, close) goes through [`wait_detached`]:
//! it waits in slices of at most [`SLICE`] with the GIL released and, between slices, runs Python's
//! signal handlers so that `KeyboardInterrupt` arrives within a fraction of a second.

use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::marker::Ungil;

/// The longest time spent in native code before signal handlers get a chance to run.
pub const SLICE: Duration = Duration::from_millis(100);

/// A Python timeout in seconds (`None` = wait forever) as a deadline.
pub fn deadline(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => Err(pyo3::exceptions::PyValueError::new_err(
            "timeout must be None or a non-negative number of seconds",
        )),
        Some(t) => Ok(Some(
            Instant::now() + Duration::try_from_secs_f64(t).unwrap_or(Duration::from_secs(u32::MAX as u64)),
        )),
    }
}

/// How long the next slice may block: at most [`SLICE`], never past the deadline.
pub fn next_slice(deadline: Option<Instant>) -> Duration {
    match deadline {
        None => SLICE,
        Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
    }
}

/// Calls `step(slice)` with the GIL released until it returns `Some`, the deadline passes (then
/// `Ok(None)`), or a Python signal handler raises (then that exception). `step` is always called at
/// least once, so a zero timeout still serves what is ready now.
pub fn wait_detached<T, F>(py: Python<'_>, deadline: Option<Instant>, mut step: F) -> PyResult<Option<T>>
where
    T: Ungil + Send,
    F: FnMut(Duration) -> Option<T> + Ungil + Send,
{
    loop {
        let slice = next_slice(deadline);
        if let Some(done) = py.detach(|| step(slice)) {
            return Ok(Some(done));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        py.check_signals()?;
    }
}

/// Runs a blocking librdkafka call that cannot be sliced (transactions) on its own thread and waits
/// for it with the GIL released. Ctrl-C stops the wait, not the call: it then finishes unobserved.
pub fn run_interruptible<T, F>(py: Python<'_>, what: &str, call: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name(format!("ferrokafka-{what}"))
        .spawn(move || {
            let _ = sender.send(call());
        })
        .map_err(|err| pyo3::exceptions::PyOSError::new_err(format!("cannot start a thread for {what}: {err}")))?;
    let result = wait_detached(py, None, move |slice| match receiver.recv_timeout(slice) {
        Ok(value) => Some(Ok(value)),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Some(Err(())),
    })?;
    match result {
        Some(Ok(value)) => Ok(value),
        _ => Err(pyo3::exceptions::PyRuntimeError::new_err(format!("{what} ended without a result"))),
    }
}

/// Drops `value` on a new thread. Destroying a librdkafka handle can block (it joins its threads and,
/// for a consumer, may wait for the group to be left); this must never happen on a thread that holds
/// the GIL or runs a finaliser.
pub fn drop_in_background<T: Send + 'static>(value: T, what: &str) {
    // ManuallyDrop: if the thread cannot be started, the closure (and the value in it) is dropped
    // here, on the caller's thread; leaking the handle then is better than blocking the caller.
    let value = std::mem::ManuallyDrop::new(value);
    let spawned = std::thread::Builder::new()
        .name(format!("ferrokafka-drop-{what}"))
        .spawn(move || drop(std::mem::ManuallyDrop::into_inner(value)));
    if let Err(err) = spawned {
        eprintln!("ferrokafka: could not start a thread to destroy a {what} ({err}); leaking it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_never_pass_the_deadline() {
        assert_eq!(next_slice(None), SLICE);
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(next_slice(Some(soon)) <= Duration::from_millis(20));
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(next_slice(Some(past)), Duration::ZERO);
    }
}
