//! ferrokafka's own threads (delivery, admin requests and events, token refreshers) calling into
//! Python, and the interpreter's exit.
//!
//! Once the interpreter finalizes, a thread that waits for the GIL is ended by CPython with
//! `pthread_exit`, whose forced unwind cannot cross Rust frames: the process aborts. So these
//! threads attach only through [`attach`], and an `atexit` hook ([`shutdown`], run before
//! finalization, while threads still may run) refuses new attachments and waits, GIL released,
//! for those in progress to finish.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// Our threads attached to Python, or about to.
static ATTACHED: AtomicUsize = AtomicUsize::new(0);

/// How long the exit waits for our threads' Python work in progress (a slow callback) to end.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Runs `work` with the GIL on one of our own threads; `None` once the interpreter is exiting.
pub fn attach<R>(work: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    ATTACHED.fetch_add(1, Ordering::SeqCst);
    let outcome = if SHUTTING_DOWN.load(Ordering::SeqCst) { None } else { Python::try_attach(work) };
    ATTACHED.fetch_sub(1, Ordering::SeqCst);
    outcome
}

/// True once the interpreter is exiting: a thread of ours that is attached stops calling Python
/// between two callbacks, so the exit waits for one callback at most, not for a backlog.
pub fn exiting() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}

/// The `atexit` hook (see the module docs).
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + EXIT_WAIT;
    py.detach(|| {
        while ATTACHED.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers [`shutdown`] with `atexit` (at import).
pub fn install(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(shutdown, module)?;
    module.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}

/// `concurrent.futures.Future`, which the admin client's calls return.
pub(crate) fn future_type(py: Python<'_>) -> PyResult<&Bound<'_, pyo3::types::PyType>> {
    static FUTURE: pyo3::sync::PyOnceLock<Py<pyo3::types::PyType>> = pyo3::sync::PyOnceLock::new();
    FUTURE.import(py, "concurrent.futures", "Future")
}
