//! Delivery reports for an asyncio event loop (`ferrokafka.aio.AIOProducer`): the delivery
//! thread files finished messages here without the GIL and wakes the loop through an eventfd only
//! when the list was empty, so a million reports a second cost a few wake-ups, not a
//! `call_soon_threadsafe` each. The loop, woken by its reader on that eventfd, resolves the
//! `asyncio.Future`s on its own thread (`LoopDeliveries.resolve`).

#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::delivery::{py_single_outcome, DeliveryCell};

/// Finished messages of one loop's producer, waiting for the loop.
pub struct LoopSink {
    ready: Mutex<Vec<Arc<DeliveryCell>>>,
    /// Our own duplicate of the loop's eventfd: open for as long as a message may still finish
    /// (every pending cell holds the sink), whatever Python does with its descriptor, until the
    /// loop stops listening (`LoopDeliveries.close`).
    wake: Mutex<Option<OwnedFd>>,
}

impl LoopSink {
    /// Any thread, no GIL: files a finished message and wakes the loop if it was not woken yet.
    pub(super) fn push(&self, cell: Arc<DeliveryCell>) {
        let was_empty = {
            let mut ready = self.ready.lock();
            ready.push(cell);
            ready.len() == 1
        };
        if was_empty {
            let wake = self.wake.lock();
            // Closed: nobody listens any more. Open: kept open by the lock we hold.
            let Some(wake) = wake.as_ref() else { return };
            crate::platform::signal_eventfd(wake);
        }
    }
}

/// The loop's end of a [`LoopSink`]; made by `AIOProducer` with its eventfd.
#[pyclass(frozen, module = "ferrokafka._native", name = "_LoopDeliveries")]
pub struct LoopDeliveries {
    pub(super) sink: Arc<LoopSink>,
}

#[pymethods]
impl LoopDeliveries {
    /// `wake_fd`: an eventfd the loop reads (`loop.add_reader`); duplicated, so closing it is safe.
    #[new]
    fn py_new(wake_fd: i32) -> PyResult<Self> {
        let wake = crate::blocking::duplicate_fd(wake_fd, "wake_fd")?;
        // The delivery thread must never block writing to it.
        crate::platform::set_nonblocking(&wake)?;
        Ok(LoopDeliveries { sink: Arc::new(LoopSink { ready: Mutex::new(Vec::new()), wake: Mutex::new(Some(wake)) }) })
    }

    /// The loop no longer listens (its producer is closed): our duplicate of its eventfd is closed
    /// now, not when the last message in flight lets the sink go. Idempotent.
    fn close(&self) {
        drop(self.sink.wake.lock().take());
    }

    /// On the loop's thread: resolves the futures of the messages finished since the last call
    /// (a cancelled one is left as it is). Returns how many, and the `(on_delivery, error,
    /// report)` calls for the caller to make (None when there are none).
    fn resolve<'py>(&self, py: Python<'py>) -> PyResult<(usize, Option<Bound<'py, PyList>>)> {
        let ready = std::mem::take(&mut *self.sink.ready.lock());
        let mut callbacks: Option<Bound<'py, PyList>> = None;
        let mut last_topic: Option<(Arc<str>, Bound<'py, PyString>)> = None;
        for cell in &ready {
            let Some(outcome) = cell.outcome.get() else { continue };
            let topic = match &last_topic {
                Some((name, topic)) if Arc::ptr_eq(name, &cell.topic) => topic.clone(),
                _ => {
                    let topic = PyString::new(py, &cell.topic);
                    last_topic = Some((cell.topic.clone(), topic.clone()));
                    topic
                }
            };
            let (report, error) = py_single_outcome(py, &topic, outcome)?;
            if let Some(future) = cell.watcher.lock().take() {
                let future = future.bind(py);
                if !future.call_method0(intern!(py, "done"))?.is_truthy()? {
                    match &error {
                        Some(error) => future.call_method1(intern!(py, "set_exception"), (error,))?,
                        None => future.call_method1(intern!(py, "set_result"), (&report,))?,
                    };
                }
            }
            if let Some(callback) = cell.on_delivery.lock().take() {
                let call = PyTuple::new(py, [Some(callback), error, report])?;
                match &callbacks {
                    Some(list) => list.append(call)?,
                    None => callbacks = Some(PyList::new(py, [call])?),
                }
            }
        }
        Ok((ready.len(), callbacks))
    }
}
