//! `Consumer`: librdkafka's high-level consumer lending out zero-copy `BorrowedMessage`s.

pub mod core;
pub mod registry;

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use pyo3::exceptions::PyResourceWarning;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::TopicPartitionList;

use crate::blocking::{deadline, wait_detached};
use crate::config::client_config;
use crate::errors::{FerroError, InvalidReason, KafkaErrorInfo};
use crate::message::borrowed::{BorrowedMessage, MessageSlot};
use crate::message::owned::OwnedMessage;
use crate::message::MessageParts;
use crate::topic_partition::{from_list, to_list, TopicPartition};
use rdkafka::Message;

use self::core::{ConsumerCore, Polled};

/// What one wait for a message ended with.
enum Received {
    Message(Py<BorrowedMessage>),
    Closed,
    TimedOut,
}

#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct Consumer {
    core: Arc<ConsumerCore>,
    /// The message the lending iterator handed out last; superseded by the next one.
    iterated: Mutex<Option<Arc<MessageSlot>>>,
}

impl Consumer {
    /// Waits for one message until `deadline`, with the GIL released and Ctrl-C honoured.
    /// Fatal consumer errors are raised; others (an unknown topic, a partition EOF, a broker
    /// transport error) do not interrupt consumption and are logged to the `ferrokafka` logger.
    fn receive(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Received> {
        self.core.open()?;
        let core = &self.core;
        loop {
            let outcome = wait_detached(py, deadline, |slice| {
                if core.registry.is_closed() {
                    return Some(Err(None));
                }
                match core.poll_native(slice) {
                    Polled::Message(native) => Some(core.registry.admit(native).ok_or(None)),
                    Polled::Error(err) => Some(Err(Some(err))),
                    Polled::Nothing => None,
                }
            })?;
            return match outcome {
                None => Ok(Received::TimedOut),
                Some(Err(None)) => Ok(Received::Closed),
                Some(Err(Some(err))) => {
                    let info = KafkaErrorInfo::from_rdkafka(&err);
                    if info.fatal {
                        return Err(info.into_pyerr(py));
                    }
                    log_warning(py, &format!("consumer error: {} [{}]", info.message, info.name()));
                    continue;
                }
                Some(Ok((key, slot))) => {
                    let message = BorrowedMessage::new(self.core.registry.clone(), key, slot);
                    Ok(Received::Message(Py::new(py, message)?))
                }
            };
        }
    }

    /// Commits `offsets`, mapping rdkafka's error.
    fn commit_list(&self, py: Python<'_>, offsets: &TopicPartitionList, asynchronous: bool) -> PyResult<()> {
        let consumer = self.core.open()?;
        let mode = if asynchronous { CommitMode::Async } else { CommitMode::Sync };
        py.detach(|| consumer.commit(offsets, mode)).map_err(|e| FerroError::from(e).into())
    }
}

/// Logs to Python's `logging.getLogger("ferrokafka")`; a failure to log is not worth an exception.
fn log_warning(py: Python<'_>, message: &str) {
    let logged = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("ferrokafka",)))
        .and_then(|logger| logger.call_method1("warning", (message,)));
    if let Err(err) = logged {
        err.write_unraisable(py, None);
    }
}

fn message_position(message: &Bound<'_, PyAny>) -> PyResult<(String, i32, i64)> {
    if let Ok(borrowed) = message.cast::<BorrowedMessage>() {
        return Ok(borrowed.get().position()?);
    }
    if let Ok(owned) = message.cast::<OwnedMessage>() {
        let m = owned.get().message();
        return Ok((String::from_utf8_lossy(m.topic_bytes()).into_owned(), m.partition(), m.offset()));
    }
    Err(FerroError::Type("expected a BorrowedMessage or an OwnedMessage".into()).into())
}

#[pymethods]
impl Consumer {
    #[new]
    fn py_new(config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let config = client_config(config)?;
        Ok(Consumer { core: ConsumerCore::new(&config)?, iterated: Mutex::new(None) })
    }

    /// Subscribes to topics (a name or a list of names; `^` starts a regex), replacing any previous
    /// subscription. Partitions are assigned by the group.
    fn subscribe(&self, topics: &Bound<'_, PyAny>) -> PyResult<()> {
        let topics: Vec<String> = if let Ok(one) = topics.cast::<PyString>() {
            vec![one.to_str()?.to_owned()]
        } else {
            topics.extract()?
        };
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.core.open()?.subscribe(&names).map_err(|e| FerroError::from(e).into())
    }

    fn unsubscribe(&self) -> PyResult<()> {
        self.core.open()?.unsubscribe();
        Ok(())
    }

    /// Consumes exactly these partitions (no group management), from their given offsets.
    fn assign(&self, partitions: Vec<PyRef<'_, TopicPartition>>) -> PyResult<()> {
        let partitions: Vec<TopicPartition> = partitions.iter().map(|p| (**p).clone()).collect();
        let list = to_list(&partitions)?;
        self.core.open()?.assign(&list).map_err(|e| FerroError::from(e).into())
    }

    fn assignment(&self) -> PyResult<Vec<TopicPartition>> {
        let list = self.core.open()?.assignment().map_err(FerroError::from)?;
        Ok(from_list(&list))
    }

    /// The next message, or None if none arrived within `timeout` seconds (None: wait forever).
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<BorrowedMessage>>> {
        match self.receive(py, deadline(timeout)?)? {
            Received::Message(message) => Ok(Some(message)),
            Received::TimedOut => Ok(None),
            Received::Closed => Err(FerroError::Closed("consumer").into()),
        }
    }

    /// Waits up to `timeout` seconds for a first message, then adds those already fetched, up to
    /// `max_messages`. Returns an empty list on timeout.
    #[pyo3(signature = (max_messages=1000, timeout=None))]
    fn consume(&self, py: Python<'_>, max_messages: usize, timeout: Option<f64>) -> PyResult<Vec<Py<BorrowedMessage>>> {
        let mut batch = Vec::with_capacity(max_messages.min(4096));
        let mut wait_until = deadline(timeout)?;
        while batch.len() < max_messages {
            match self.receive(py, wait_until)? {
                Received::Message(message) => batch.push(message),
                Received::TimedOut => break,
                Received::Closed if batch.is_empty() => return Err(FerroError::Closed("consumer").into()),
                Received::Closed => break,
            }
            // After the first message, take only what is ready now.
            wait_until = Some(Instant::now());
        }
        Ok(batch)
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The lending iterator: the previous message is invalidated ("superseded") before the next is
    /// fetched. Ends when the consumer is closed, also from another thread.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<BorrowedMessage>>> {
        if let Some(previous) = self.iterated.lock().take() {
            drop(previous.invalidate(InvalidReason::Superseded));
        }
        if self.core.registry.is_closed() {
            return Ok(None);
        }
        match self.receive(py, None)? {
            Received::Message(message) => {
                *self.iterated.lock() = Some(message.get().slot().clone());
                Ok(Some(message))
            }
            Received::Closed | Received::TimedOut => Ok(None),
        }
    }

    /// Commits offsets to the group. Without a message: the position (last returned offset + 1) of
    /// every assigned partition that returned a message; nothing to commit is not an error. With a
    /// BorrowedMessage or OwnedMessage: that message's offset + 1.
    #[pyo3(signature = (message=None, *, asynchronous=false))]
    fn commit(&self, py: Python<'_>, message: Option<&Bound<'_, PyAny>>, asynchronous: bool) -> PyResult<()> {
        let offsets = match message {
            Some(message) if !message.is_none() => {
                let (topic, partition, offset) = message_position(message)?;
                to_list(&[TopicPartition { topic, partition, offset: offset + 1 }])?
            }
            _ => {
                let positions = self.core.open()?.position().map_err(FerroError::from)?;
                let consumed: Vec<TopicPartition> =
                    from_list(&positions).into_iter().filter(|tp| tp.offset >= 0).collect();
                if consumed.is_empty() {
                    return Ok(());
                }
                to_list(&consumed)?
            }
        };
        self.commit_list(py, &offsets, asynchronous)
    }

    /// Invalidates every borrowed message, leaves the group and closes the consumer. Idempotent.
    /// Waits at most `timeout` seconds (None: until librdkafka is done); Ctrl-C interrupts the wait.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.iterated.lock().take();
        self.core.close(py, deadline(timeout)?)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.registry.is_closed()
    }

    /// Native messages of this consumer still in memory: valid borrowed messages plus invalidated
    /// ones whose memoryviews are still alive. Each pins its whole fetch buffer.
    #[getter]
    fn live_message_count(&self) -> usize {
        self.core.registry.live_native()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py, None)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("<Consumer {}>", if self.closed() { "closed" } else { "open" })
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if self.core.registry.is_closed() {
            return;
        }
        // Warn like an unclosed file, unless the interpreter is shutting down.
        Python::try_attach(|py| {
            let category = py.get_type::<PyResourceWarning>();
            if let Err(err) = PyErr::warn(py, &category, c"ferrokafka.Consumer was not closed; call close() or use `with`", 1) {
                // Warnings turned into errors cannot be raised from a finaliser: report as unraisable.
                err.write_unraisable(py, None);
            }
        });
        // Invalidate without blocking; the group is left when the last reference to the core drops,
        // on a background thread (see ConsumerCore's Drop).
        self.core.registry.close();
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Consumer>()
}
