//! Python callbacks that librdkafka triggers: logs, global errors, statistics and commit results.
//!
//! librdkafka raises these on whichever thread serves its queues, often with the GIL released and
//! sometimes on one of its own threads. They are queued here and dispatched with the GIL on the
//! thread that serves the client: the caller of `poll`/`consume`/`close` for a consumer, the
//! delivery thread for a producer. An exception raised by a callback propagates out of that call.
//!
//! Config keys that carry Python objects rather than librdkafka properties:
//! `error_cb(KafkaError)`, `stats_cb(dict)`, `on_commit(KafkaError | None, list[TopicPartition])`
//! (consumer), `on_delivery(DeliveryReport | None, KafkaError | None)` (producer) and `logger` (a
//! `logging.Logger` receiving librdkafka's logs; default `logging.getLogger("ferrokafka")`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError as RdKafkaError;

use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::topic_partition::TopicPartition;

/// At most this many log records wait for a thread that serves the client; older ones are dropped
/// (and counted) so an idle client cannot grow without bound.
const MAX_QUEUED_EVENTS: usize = 10_000;

/// The Python objects given in a client's config dict.
#[derive(Default)]
pub struct PythonSettings {
    pub error_cb: Option<Py<PyAny>>,
    pub stats_cb: Option<Py<PyAny>>,
    pub on_commit: Option<Py<PyAny>>,
    pub on_delivery: Option<Py<PyAny>>,
    pub logger: Option<Py<PyAny>>,
}

impl PythonSettings {
    pub const KEYS: [&'static str; 5] = ["error_cb", "stats_cb", "on_commit", "on_delivery", "logger"];

    pub fn set(&mut self, key: &str, value: Py<PyAny>) {
        match key {
            "error_cb" => self.error_cb = Some(value),
            "stats_cb" => self.stats_cb = Some(value),
            "on_commit" => self.on_commit = Some(value),
            "on_delivery" => self.on_delivery = Some(value),
            _ => self.logger = Some(value),
        }
    }

    /// Refuses callbacks that this kind of client never calls.
    pub fn allow_only(&self, client: &str, allowed: &[&str]) -> FerroResult<()> {
        let given = [
            ("error_cb", self.error_cb.is_some()),
            ("stats_cb", self.stats_cb.is_some()),
            ("on_commit", self.on_commit.is_some()),
            ("on_delivery", self.on_delivery.is_some()),
            ("logger", self.logger.is_some()),
        ];
        match given.iter().find(|(key, set)| *set && !allowed.contains(key)) {
            Some((key, _)) => Err(FerroError::Config(format!("configuration property {key:?} does not apply to a {client}"))),
            None => Ok(()),
        }
    }
}

/// Implements rdkafka's `ClientContext` for a context with a `callbacks: ClientCallbacks` field:
/// logs, global errors and statistics are queued for the Python callbacks.
macro_rules! client_context_via_callbacks {
    ($context:ty) => {
        impl rdkafka::ClientContext for $context {
            fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
                self.callbacks.log(level, fac, log_message);
            }

            fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
                self.callbacks.error(error, reason);
            }

            fn stats_raw(&self, statistics: &[u8]) {
                self.callbacks.stats_raw(statistics);
            }
        }
    };
}
pub(crate) use client_context_via_callbacks;

enum ClientEvent {
    Log { level: i32, facility: String, message: String },
    Error(KafkaErrorInfo, String),
    Stats(Vec<u8>),
    Commit(Option<KafkaErrorInfo>, Vec<TopicPartition>),
}

/// Queued librdkafka events and the Python callbacks they go to.
pub struct ClientCallbacks {
    /// Behind a lock only so that the garbage collector can visit and clear them (reference cycles
    /// through a callback that refers to its client). Cloned out before any call into Python.
    settings: Mutex<PythonSettings>,
    queue: Mutex<VecDeque<ClientEvent>>,
    dropped: AtomicUsize,
    /// False once the client is closed: nobody will dispatch any more, so nothing is queued.
    accepting: std::sync::atomic::AtomicBool,
    /// The newest statistics not yet handed to `stats_cb`.
    latest_stats: Mutex<Option<Vec<u8>>>,
}

/// A syslog level (librdkafka's log events) as rdkafka's enum: 0 emergency ... 7 debug.
pub fn log_level_of_syslog(level: i32) -> RDKafkaLogLevel {
    match level {
        i32::MIN..=0 => RDKafkaLogLevel::Emerg,
        1 => RDKafkaLogLevel::Alert,
        2 => RDKafkaLogLevel::Critical,
        3 => RDKafkaLogLevel::Error,
        4 => RDKafkaLogLevel::Warning,
        5 => RDKafkaLogLevel::Notice,
        6 => RDKafkaLogLevel::Info,
        _ => RDKafkaLogLevel::Debug,
    }
}

fn python_level(level: RDKafkaLogLevel) -> i32 {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => 50,
        RDKafkaLogLevel::Error => 40,
        RDKafkaLogLevel::Warning => 30,
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => 20,
        RDKafkaLogLevel::Debug => 10,
    }
}

fn default_logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOGGER
        .get_or_try_init(py, || py.import("logging")?.call_method1("getLogger", ("ferrokafka",)).map(Bound::unbind))
        .map(|logger| logger.bind(py))
}

impl ClientCallbacks {
    pub fn new(settings: PythonSettings) -> Self {
        ClientCallbacks {
            settings: Mutex::new(settings),
            queue: Mutex::new(VecDeque::new()),
            dropped: AtomicUsize::new(0),
            accepting: std::sync::atomic::AtomicBool::new(true),
            latest_stats: Mutex::new(None),
        }
    }

    /// A callback or object from the config, cloned so no lock is held while Python runs.
    fn setting(&self, py: Python<'_>, pick: impl Fn(&PythonSettings) -> &Option<Py<PyAny>>) -> Option<Py<PyAny>> {
        pick(&self.settings.lock()).as_ref().map(|obj| obj.clone_ref(py))
    }

    pub fn on_delivery(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.setting(py, |s| &s.on_delivery)
    }

    /// For `__traverse__`: visits every Python object held, without blocking (a busy lock is
    /// skipped: the collector will come back).
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(settings) = self.settings.try_lock() {
            for obj in [&settings.error_cb, &settings.stats_cb, &settings.on_commit, &settings.on_delivery, &settings.logger] {
                visit.call(obj)?;
            }
        }
        Ok(())
    }

    /// For `__clear__`: drops every Python object held.
    pub fn clear(&self) {
        let taken = std::mem::take(&mut *self.settings.lock());
        drop(taken);
    }

    pub fn has_pending(&self) -> bool {
        !self.queue.lock().is_empty() || self.latest_stats.lock().is_some()
    }

    /// Stops queueing (the client is closed: a closed but still referenced client must not
    /// collect librdkafka's logs and statistics forever) and drops what is queued.
    pub fn stop(&self) {
        self.accepting.store(false, Ordering::Release);
        let dropped = std::mem::take(&mut *self.queue.lock());
        let stats = self.latest_stats.lock().take();
        drop((dropped, stats));
    }

    fn push(&self, event: ClientEvent) {
        if !self.accepting.load(Ordering::Acquire) {
            return;
        }
        let mut queue = self.queue.lock();
        if queue.len() >= MAX_QUEUED_EVENTS {
            queue.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(event);
    }

    // The three ClientContext hooks every ferrokafka client delegates to.

    pub fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.push(ClientEvent::Log { level: python_level(level), facility: facility.to_owned(), message: message.to_owned() });
    }

    pub fn error(&self, error: RdKafkaError, reason: &str) {
        self.push(ClientEvent::Error(KafkaErrorInfo::from_rdkafka(&error), reason.to_owned()));
    }

    /// Statistics are snapshots: only the newest waits for `stats_cb` (a slow callback skips
    /// older ones instead of building up a backlog).
    pub fn stats_raw(&self, statistics: &[u8]) {
        if self.settings.lock().stats_cb.is_some() && self.accepting.load(Ordering::Acquire) {
            *self.latest_stats.lock() = Some(statistics.to_vec());
        }
    }

    pub fn commit_result(&self, error: Option<KafkaErrorInfo>, offsets: Vec<TopicPartition>) {
        if self.settings.lock().on_commit.is_some() {
            self.push(ClientEvent::Commit(error, offsets));
        }
    }

    /// Reports a non-fatal consumer error: to `error_cb` if given, else as a warning log record.
    pub fn consumer_error(&self, info: KafkaErrorInfo) {
        self.push(ClientEvent::Error(info, String::new()));
    }

    fn log_record(&self, py: Python<'_>, level: i32, message: String) -> PyResult<()> {
        let logger = match self.setting(py, |s| &s.logger) {
            Some(logger) => logger.into_bound(py),
            None => default_logger(py)?.clone(),
        };
        if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
            logger.call_method1("log", (level, "%s", message))?;
        }
        Ok(())
    }

    /// Runs the queued callbacks, with the GIL, oldest first: all of them, or with a `budget`
    /// those that fit in it (at least one), so that a slow callback cannot keep the caller (the
    /// producer's delivery thread) from its other work for long. The first exception a callback
    /// raised is returned (later ones are reported as unraisable).
    pub fn dispatch(&self, py: Python<'_>, budget: Option<std::time::Duration>) -> PyResult<()> {
        let started = std::time::Instant::now();
        let mut first_error: Option<PyErr> = None;
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = self.log_record(py, 30, format!("{dropped} librdkafka log records were dropped: nobody served the client"));
        }
        loop {
            if budget.is_some_and(|budget| started.elapsed() >= budget) {
                break;
            }
            // One at a time, no lock held while Python runs (a callback may call back in).
            let Some(event) = self.next_event() else { break };
            let outcome = match event {
                ClientEvent::Log { level, facility, message } => self.log_record(py, level, format!("librdkafka {facility}: {message}")),
                ClientEvent::Error(info, reason) => match self.setting(py, |s| &s.error_cb) {
                    Some(cb) => cb.bind(py).call1((info.into_pyerr(py).into_value(py),)).map(drop),
                    None => {
                        let level = if info.fatal { 40 } else { 30 };
                        let suffix = if reason.is_empty() || info.message.contains(&reason) { String::new() } else { format!(": {reason}") };
                        self.log_record(py, level, format!("{} [{}]{}", info.message, info.name(), suffix))
                    }
                },
                ClientEvent::Stats(json) => self.setting(py, |s| &s.stats_cb).map_or(Ok(()), |cb| {
                    let stats = py.import("json")?.call_method1("loads", (PyBytes::new(py, &json),))?;
                    cb.bind(py).call1((stats,)).map(drop)
                }),
                ClientEvent::Commit(error, offsets) => self.setting(py, |s| &s.on_commit).map_or(Ok(()), |cb| {
                    let error = error.map(|info| info.into_pyerr(py).into_value(py));
                    cb.bind(py).call1((error, offsets)).map(drop)
                }),
            };
            if let Err(err) = outcome {
                match first_error {
                    None => first_error = Some(err),
                    Some(_) => err.write_unraisable(py, None),
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The oldest queued event; statistics (snapshots) come after the rest, newest only.
    fn next_event(&self) -> Option<ClientEvent> {
        if let Some(event) = self.queue.lock().pop_front() {
            return Some(event);
        }
        self.latest_stats.lock().take().map(ClientEvent::Stats)
    }
}

/// `TypeError` for a callback argument that is given (not None) but cannot be called: refused at
/// once rather than failing later on another thread.
pub fn check_callable(py: Python<'_>, name: &str, callback: Option<&Py<PyAny>>) -> PyResult<()> {
    match callback {
        Some(callback) if !callback.is_none(py) && !callback.bind(py).is_callable() => {
            let type_name = callback.bind(py).get_type().name().map(|n| n.to_string()).unwrap_or_default();
            Err(pyo3::exceptions::PyTypeError::new_err(format!("{name} must be callable, not {type_name}")))
        }
        _ => Ok(()),
    }
}

/// Splits a Python config dict into librdkafka properties and Python objects.
pub fn split_config<'py>(config: &Bound<'py, PyDict>) -> FerroResult<(Bound<'py, PyDict>, PythonSettings)> {
    let py = config.py();
    let properties = PyDict::new(py);
    let mut settings = PythonSettings::default();
    for (key, value) in config.iter() {
        let name = key.cast::<PyString>().ok().and_then(|k| k.to_str().ok().map(str::to_owned));
        match name {
            Some(name) if PythonSettings::KEYS.contains(&name.as_str()) => {
                if name != "logger" && !value.is_callable() {
                    return Err(FerroError::Config(format!("configuration property {name:?} must be callable")));
                }
                if name == "logger" && !value.hasattr("log").unwrap_or(false) {
                    return Err(FerroError::Config("configuration property \"logger\" must be a logging.Logger (an object with log())".into()));
                }
                settings.set(&name, value.unbind());
            }
            _ => properties.set_item(key, value).map_err(|e| FerroError::Config(e.to_string()))?,
        }
    }
    Ok((properties, settings))
}
