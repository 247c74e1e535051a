//! Blocking on librdkafka without holding the GIL and without deafness to Ctrl-C.
//!
//! Every call that can wait (poll, consume, iteration, flush, close) goes through [`wait_detached`]:
//! it waits in slices of at most [`SLICE`] with the GIL released and, between slices, runs Python's
//! signal handlers so that `KeyboardInterrupt` arrives within a fraction of a second.

#![forbid(unsafe_code)]

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::marker::Ungil;
use pyo3::prelude::*;

use crate::args::Seconds;
use crate::errors::{FerroError, KafkaErrorInfo};

/// The longest time spent in native code before signal handlers get a chance to run.
pub const SLICE: Duration = Duration::from_millis(100);

/// A Python timeout in seconds as a deadline: the one conversion every timeout of the API goes
/// through. `None` and `inf` mean forever, as does a time too far ahead to represent (it
/// saturates); negative numbers and NaN raise `ValueError`.
pub fn deadline(timeout: Option<Seconds>) -> PyResult<Option<Instant>> {
    match timeout.map(|s| s.0) {
        None => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "timeout must be None or a non-negative number of seconds, not {t}"
        ))),
        Some(t) => Ok(Duration::try_from_secs_f64(t).ok().and_then(|d| Instant::now().checked_add(d))),
    }
}

/// Whether [`deadline`] accepts `timeout`: for calls that may return before they need the
/// deadline (a clock read) at all.
pub fn valid_timeout(timeout: Option<&Seconds>) -> bool {
    timeout.is_none_or(|s| !(s.0.is_nan() || s.0 < 0.0))
}

/// What is left until `deadline` in librdkafka's terms: milliseconds as a C `int`, -1 for
/// forever, saturating instead of wrapping (rdkafka's `Timeout` wraps past 24 days).
pub fn remaining_ms(deadline: Option<Instant>) -> c_int {
    match deadline {
        None => -1,
        Some(d) => c_int::try_from(d.saturating_duration_since(Instant::now()).as_millis()).unwrap_or(c_int::MAX),
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

/// Runs `call(cancelled)` on a thread of its own and waits for its result with the GIL released,
/// in slices (Ctrl-C). On Ctrl-C the wait ends and `cancelled` is set: the call finishes unobserved
/// (holding what it captured, e.g. an `Arc` of its client, until then).
fn run_on_worker<T, F>(py: Python<'_>, what: &str, call: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> T + Send + 'static,
{
    let cancelled = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    let flag = cancelled.clone();
    std::thread::Builder::new()
        .name(format!("ferrokafka-{what}"))
        .spawn(move || {
            let _ = sender.send(call(&flag));
        })
        .map_err(|err| pyo3::exceptions::PyOSError::new_err(format!("cannot start a thread for {what}: {err}")))?;
    let waited = wait_detached(py, None, move |slice| match receiver.recv_timeout(slice) {
        Ok(value) => Some(Ok(value)),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Some(Err(())),
    });
    match waited {
        Ok(Some(Ok(value))) => Ok(value),
        Ok(_) => Err(pyo3::exceptions::PyRuntimeError::new_err(format!("{what} ended without a result"))),
        Err(interrupted) => {
            cancelled.store(true, Ordering::Release);
            Err(interrupted)
        }
    }
}

/// Runs a blocking librdkafka call that cannot be sliced (transactions) on its own thread and waits
/// for it with the GIL released. Ctrl-C stops the wait, not the call: it then finishes unobserved.
pub fn run_interruptible<T, F>(py: Python<'_>, what: &str, call: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run_on_worker(py, what, move |_| call())
}

/// The longest single wait of a request run by [`request`]: after Ctrl-C, its worker thread ends
/// within this.
pub const REQUEST_CHUNK_MS: c_int = 5_000;

/// Runs a librdkafka request that waits for a broker (metadata, offsets, watermarks, a seek) until
/// `deadline`, interruptibly: on a worker thread, in chunks of at most [`REQUEST_CHUNK_MS`], asking
/// again while it times out (these requests only read, so asking again is harmless). `call` gets
/// the chunk's timeout in milliseconds.
pub fn request<T, F>(py: Python<'_>, what: &str, deadline: Option<Instant>, call: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnMut(c_int) -> Result<T, KafkaErrorInfo> + Send + 'static,
{
    request_inner(py, what, deadline, call)?.map_err(|info| FerroError::Kafka(info).into())
}

/// [`request`], for a question whose answer may not be known yet (confluent-kafka's `cluster_id()`):
/// None once the deadline passed without one, instead of `_TIMED_OUT`.
pub fn request_or_none<T, F>(py: Python<'_>, what: &str, deadline: Option<Instant>, call: F) -> PyResult<Option<T>>
where
    T: Send + 'static,
    F: FnMut(c_int) -> Result<T, KafkaErrorInfo> + Send + 'static,
{
    match request_inner(py, what, deadline, call)? {
        Ok(value) => Ok(Some(value)),
        Err(info) if info.code == TIMED_OUT => Ok(None),
        Err(info) => Err(FerroError::Kafka(info).into()),
    }
}

const TIMED_OUT: c_int = rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT as c_int;

fn request_inner<T, F>(
    py: Python<'_>,
    what: &str,
    deadline: Option<Instant>,
    mut call: F,
) -> PyResult<Result<T, KafkaErrorInfo>>
where
    T: Send + 'static,
    F: FnMut(c_int) -> Result<T, KafkaErrorInfo> + Send + 'static,
{
    run_on_worker(py, what, move |cancelled| loop {
        let left = remaining_ms(deadline);
        let chunk = if left < 0 { REQUEST_CHUNK_MS } else { left.min(REQUEST_CHUNK_MS) };
        let result = call(chunk);
        let more_time = deadline.is_none_or(|d| Instant::now() < d);
        match result {
            Err(err) if err.code == TIMED_OUT && more_time && !cancelled.load(Ordering::Acquire) => continue,
            result => break result,
        }
    })
}

/// Our own duplicate of a descriptor an event loop watches (close-on-exec), for librdkafka or a
/// delivery thread to write wake-ups to: open for as long as we keep it, whatever the loop does
/// with its own. `what` names the argument in the error.
pub fn duplicate_fd(fd: std::os::fd::RawFd, what: &str) -> crate::errors::FerroResult<std::os::fd::OwnedFd> {
    if fd < 0 {
        return Err(FerroError::Value(format!("{what} must be a file descriptor (>= 0)")));
    }
    crate::platform::duplicate_fd(fd).map_err(|err| FerroError::Value(format!("{what} {fd}: {err}")))
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

    #[test]
    fn timeouts_saturate_and_reject_what_is_not_a_duration() {
        Python::initialize();
        use Seconds as S;
        assert_eq!(deadline(None).unwrap(), None);
        assert_eq!(deadline(Some(S(f64::INFINITY))).unwrap(), None);
        assert_eq!(deadline(Some(S(1e19))).unwrap(), None, "past Instant's range: forever");
        assert!(deadline(Some(S(3e6))).unwrap().is_some());
        assert!(deadline(Some(S(-1.0))).is_err() && deadline(Some(S(f64::NAN))).is_err());
        assert_eq!(remaining_ms(None), -1);
        assert_eq!(remaining_ms(deadline(Some(S(3e6))).unwrap()), std::ffi::c_int::MAX, "saturates, never wraps");
        assert!((0..=1000).contains(&remaining_ms(deadline(Some(S(1.0))).unwrap())));
    }
}
