//! Python callbacks that librdkafka triggers: logs, global errors, statistics and commit results.
//!
//! librdkafka raises these on whichever thread serves its queues, often with the GIL released and
//! sometimes on one of its own threads. They are queued here and dispatched with the GIL on the
//! thread that serves the client: the caller of `poll`/`consume`/`close` for a consumer, the
//! delivery thread for a producer. An exception raised by a callback propagates out of that call.
//!
//! Config keys that carry Python objects rather than librdkafka properties:
//! `error_cb(KafkaError)`, `stats_cb(str)` (librdkafka's JSON, as confluent-kafka gives it),
//! `on_commit(KafkaError | None, list[TopicPartition])` (consumer), `on_delivery(KafkaError | None,
//! DeliveryReport | None)` (producer; error first, as confluent-kafka's) and `logger` (a
//! `logging.Logger` receiving librdkafka's logs; default `logging.getLogger("ferrokafka")`) and
//! `throttle_cb(ThrottleEvent)` (see throttle.rs for the producer and the admin client).

#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError as RdKafkaError;

use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::flagged::Flagged;
use crate::topic_partition::TopicPartition;

/// At most this many log records wait for a thread that serves the client; older ones are dropped
/// (and counted) so an idle client cannot grow without bound.
const MAX_QUEUED_EVENTS: usize = 10_000;

thread_local! {
    /// The error `ClientCallbacks::error` just reported on this thread, whose repeat is dropped.
    static REPORTED_ERROR: std::cell::RefCell<Option<(i32, String)>> = const { std::cell::RefCell::new(None) };
}

/// ferrokafka's own config keys: Python objects, not librdkafka properties. The one table of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    ErrorCb,
    StatsCb,
    OnCommit,
    OnDelivery,
    Logger,
    OAuthCb,
    ThrottleCb,
}

impl Setting {
    pub const ALL: [Setting; 7] = [
        Setting::ErrorCb,
        Setting::StatsCb,
        Setting::OnCommit,
        Setting::OnDelivery,
        Setting::Logger,
        Setting::OAuthCb,
        Setting::ThrottleCb,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Setting::ErrorCb => "error_cb",
            Setting::StatsCb => "stats_cb",
            Setting::OnCommit => "on_commit",
            Setting::OnDelivery => "on_delivery",
            Setting::Logger => "logger",
            Setting::OAuthCb => "oauth_cb",
            Setting::ThrottleCb => "throttle_cb",
        }
    }

    pub fn of_key(key: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|setting| setting.key() == key)
    }

    /// Checks a value given for this key: callbacks must be callable, the logger must log.
    fn check(self, value: &Bound<'_, PyAny>) -> FerroResult<()> {
        let key = self.key();
        match self {
            Setting::Logger if !value.hasattr("log").unwrap_or(false) => Err(FerroError::Config(format!(
                "configuration property {key:?} must be a logging.Logger (an object with log())"
            ))),
            Setting::Logger => Ok(()),
            _ if !value.is_callable() => {
                Err(FerroError::Config(format!("configuration property {key:?} must be callable")))
            }
            _ => Ok(()),
        }
    }
}

/// The Python objects given in a client's config, by [`Setting`].
#[derive(Default)]
pub struct PythonSettings([Option<Py<PyAny>>; Setting::ALL.len()]);

impl PythonSettings {
    pub fn get(&self, setting: Setting) -> Option<&Py<PyAny>> {
        self.0[setting as usize].as_ref()
    }

    /// Sets `setting` after checking the value.
    pub fn set(&mut self, setting: Setting, value: &Bound<'_, PyAny>) -> FerroResult<()> {
        setting.check(value)?;
        self.0[setting as usize] = Some(value.clone().unbind());
        Ok(())
    }

    /// Refuses callbacks that this kind of client never calls.
    pub fn allow_only(&self, client: &str, allowed: &[Setting]) -> FerroResult<()> {
        match Setting::ALL.into_iter().find(|setting| self.get(*setting).is_some() && !allowed.contains(setting)) {
            Some(setting) => Err(FerroError::Config(format!(
                "configuration property {:?} does not apply to a {client}",
                setting.key()
            ))),
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
    Error(KafkaErrorInfo),
    Stats(Vec<u8>),
    Commit(Option<KafkaErrorInfo>, Vec<TopicPartition>),
    Throttle(ThrottleEvent),
}

/// A broker throttled this client (a quota): confluent-kafka's `ThrottleEvent`, given to
/// `throttle_cb`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct ThrottleEvent {
    /// The broker's name, e.g. `"localhost:9092/1"`.
    pub broker_name: String,
    pub broker_id: i32,
    /// How long the broker delayed its answer, in seconds (0.0: throttling ended).
    pub throttle_time: f64,
}

#[pymethods]
impl ThrottleEvent {
    fn __repr__(&self) -> String {
        format!(
            "ThrottleEvent(broker_name={:?}, broker_id={}, throttle_time={})",
            self.broker_name, self.broker_id, self.throttle_time
        )
    }
}

/// Queued librdkafka events and the Python callbacks they go to.
pub struct ClientCallbacks {
    /// Behind a lock only so that the garbage collector can visit and clear them (reference cycles
    /// through a callback that refers to its client). Cloned out before any call into Python.
    settings: Mutex<PythonSettings>,
    queue: Flagged<VecDeque<ClientEvent>>,
    dropped: AtomicUsize,
    /// False once the client is closed: nobody will dispatch any more, so nothing is queued.
    accepting: std::sync::atomic::AtomicBool,
    /// The newest statistics not yet handed to `stats_cb`.
    latest_stats: Flagged<Option<Vec<u8>>>,
    /// The last global error (see [`last_error`](Self::last_error)).
    last_error: Mutex<Option<String>>,
    /// The client's `security.protocol`, lowercase: what a broker hanging up on it may mean.
    security_protocol: String,
}

/// What a broker that hangs up on a new connection says about the client's `security.protocol`
/// (lowercase), from librdkafka's "Disconnected ... (after N ms in state S)" log. librdkafka means
/// to add these hints itself but, on this path, tests its format string ("%s") instead of the
/// message. A listener that hangs up on the first request (ApiVersion) of a client without TLS
/// expects TLS; one that hangs up within 2 s of the connection being usable, on a client without
/// SASL, may require SASL (librdkafka's own rule; a broker going away just then looks the same).
/// Kafka's listeners close such a connection; a reset (RST) is something else (a proxy, a crashed
/// or restarting server, a firewall) and gets no hint.
fn protocol_hint(security_protocol: &str, message: &str) -> Option<&'static str> {
    let symptoms = ["Disconnected", "Send failed", "Receive failed"];
    if !symptoms.iter().any(|what| message.contains(what))
        || message.contains("(the listener")
        || message.to_ascii_lowercase().contains("reset by peer")
    {
        return None;
    }
    let tls = security_protocol.ends_with("ssl");
    let sasl = security_protocol.starts_with("sasl");
    if !tls && message.contains("in state APIVERSION_QUERY") {
        return Some("the listener probably expects TLS: check security.protocol (SSL or SASL_SSL)");
    }
    let after_ms = message
        .split("(after ")
        .nth(1)
        .and_then(|rest| rest.split_once("ms in state UP"))
        .and_then(|(ms, _)| ms.parse::<u64>().ok());
    match after_ms {
        Some(ms) if !sasl && ms < 2000 => {
            Some("the listener may require SASL: check security.protocol (SASL_SSL or SASL_PLAINTEXT)")
        }
        _ => None,
    }
}

/// A syslog level (librdkafka's own, 0 emergency ... 7 debug) as a Python logging level.
fn python_level_of_syslog(level: i32) -> i32 {
    match level {
        i32::MIN..=2 => 50,
        3 => 40,
        4 => 30,
        5 | 6 => 20,
        _ => 10,
    }
}

/// rdkafka's level (producer and admin logs come through rdkafka's `ClientContext`) as a Python
/// logging level.
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
    pub fn new(settings: PythonSettings, config: &rdkafka::ClientConfig) -> Self {
        ClientCallbacks {
            security_protocol: config.get("security.protocol").unwrap_or("plaintext").trim().to_ascii_lowercase(),
            settings: Mutex::new(settings),
            queue: Flagged::new(VecDeque::new()),
            dropped: AtomicUsize::new(0),
            accepting: std::sync::atomic::AtomicBool::new(true),
            latest_stats: Flagged::new(None),
            last_error: Mutex::new(None),
        }
    }

    /// A callback or object from the config, cloned so no lock is held while Python runs.
    fn setting(&self, py: Python<'_>, setting: Setting) -> Option<Py<PyAny>> {
        self.settings.lock().get(setting).map(|obj| obj.clone_ref(py))
    }

    pub fn on_delivery(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.setting(py, Setting::OnDelivery)
    }

    pub fn oauth_cb(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.setting(py, Setting::OAuthCb)
    }

    /// For `__traverse__`: visits every Python object held, without blocking (a busy lock is
    /// skipped: the collector will come back).
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(settings) = self.settings.try_lock() {
            for obj in &settings.0 {
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
        self.queue.occupied() || self.latest_stats.occupied()
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
        self.log_at(python_level(level), facility, message);
    }

    /// A log line straight from librdkafka's log callback (the consumer's), at its syslog level.
    pub fn log_syslog(&self, level: i32, facility: &str, message: &str) {
        self.log_at(python_level_of_syslog(level), facility, message);
    }

    fn log_at(&self, python_level: i32, facility: &str, message: &str) {
        // A broker hanging up on a new connection is only logged, at INFO, when it is not an error
        // (at ERR): make it the client error it is, with the likely cause.
        if facility == "FAIL" && python_level < 40 {
            if let Some(hint) = protocol_hint(&self.security_protocol, message) {
                let message = format!("{message} ({hint})");
                // librdkafka's "[thrd:name]: " prefix of log lines says nothing to error_cb.
                let reason = match message.split_once("]: ") {
                    Some((_, rest)) if message.starts_with("[thrd:") => rest,
                    _ => &message,
                };
                let code = rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure as i32;
                let mut info = KafkaErrorInfo::from_raw(code, "client error", None);
                info.message = reason.to_owned(); // as librdkafka's own errors (see `error`)
                self.global_error(info);
                self.push(ClientEvent::Log { level: 30, facility: facility.to_owned(), message });
                return;
            }
        }
        self.push(ClientEvent::Log { level: python_level, facility: facility.to_owned(), message: message.to_owned() });
    }

    /// A global error from rdkafka's event loop. rdkafka 0.39 hands each error event to the
    /// context twice in a row (`Client::poll_event` handles it and returns it, then
    /// `BaseProducer::poll` handles it again): the second of each pair is dropped here, on the
    /// polling thread, so that `error_cb` hears of every error once. (The producer no longer comes
    /// here: its handle's error callback reports each error once, `global_error`.)
    pub fn error(&self, error: RdKafkaError, reason: &str) {
        let mut info = KafkaErrorInfo::from_rdkafka(&error);
        let repeat = REPORTED_ERROR.with(|last| {
            let this = (info.code, reason.to_owned());
            match last.take() {
                Some(previous) if previous == this => true,
                _ => {
                    last.replace(Some(this));
                    false
                }
            }
        });
        if repeat {
            return;
        }
        // librdkafka's reason (which broker, what failed) is the message, as confluent-kafka's
        // `err.str()` gives it; without one, the code's description.
        if !reason.is_empty() {
            info.message = reason.to_owned();
        }
        self.global_error(info);
    }

    /// A global (client-level) error, reported once: kept as [`last_error`](Self::last_error) and
    /// queued for `error_cb`.
    pub fn global_error(&self, mut info: KafkaErrorInfo) {
        if let Some(hint) = protocol_hint(&self.security_protocol, &info.message) {
            info.message = format!("{} ({hint})", info.message);
        }
        // "All brokers are down" says less than the transport, TLS or SASL error before it.
        let generic = info.code == rdkafka::types::RDKafkaErrorCode::AllBrokersDown as i32;
        let mut last = self.last_error.lock();
        if !generic || last.is_none() {
            *last = Some(format!("{} [{}]", info.message, info.name()));
        }
        drop(last);
        self.push(ClientEvent::Error(info));
    }

    /// A throttle report from librdkafka's throttle callback, queued for `throttle_cb`.
    pub fn throttle(&self, event: ThrottleEvent) {
        if self.settings.lock().get(Setting::ThrottleCb).is_some() {
            self.push(ClientEvent::Throttle(event));
        }
    }

    /// Whether `throttle_cb` was given (librdkafka's callback is only set then).
    pub fn wants_throttle(&self) -> bool {
        self.settings.lock().get(Setting::ThrottleCb).is_some()
    }

    /// The last global error reported (with its reason), for failures it may explain.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }

    /// Statistics are snapshots: only the newest waits for `stats_cb` (a slow callback skips
    /// older ones instead of building up a backlog).
    pub fn stats_raw(&self, statistics: &[u8]) {
        if self.settings.lock().get(Setting::StatsCb).is_some() && self.accepting.load(Ordering::Acquire) {
            *self.latest_stats.lock() = Some(statistics.to_vec());
        }
    }

    pub fn commit_result(&self, error: Option<KafkaErrorInfo>, offsets: Vec<TopicPartition>) {
        if self.settings.lock().get(Setting::OnCommit).is_some() {
            self.push(ClientEvent::Commit(error, offsets));
        }
    }

    /// Reports a non-fatal client error: to `error_cb` if given, else as a log record, when the
    /// thread that serves the client dispatches.
    pub fn report_error(&self, info: KafkaErrorInfo) {
        self.push(ClientEvent::Error(info));
    }

    fn log_record(&self, py: Python<'_>, level: i32, message: String) -> PyResult<()> {
        let logger = match self.setting(py, Setting::Logger) {
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
            let _ = self.log_record(
                py,
                30,
                format!("{dropped} librdkafka log records were dropped: nobody served the client"),
            );
        }
        loop {
            if budget.is_some_and(|budget| started.elapsed() >= budget) || crate::interpreter::exiting() {
                break;
            }
            // One at a time, no lock held while Python runs (a callback may call back in).
            let Some(event) = self.next_event() else { break };
            let outcome = match event {
                ClientEvent::Log { level, facility, message } => {
                    self.log_record(py, level, format!("librdkafka {facility}: {message}"))
                }
                ClientEvent::Error(info) => match self.setting(py, Setting::ErrorCb) {
                    Some(cb) => cb.bind(py).call1((info.into_pyerr(py).into_value(py),)).map(drop),
                    None => {
                        let level = if info.fatal { 40 } else { 30 };
                        self.log_record(py, level, format!("{} [{}]", info.message, info.name()))
                    }
                },
                ClientEvent::Stats(json) => self.setting(py, Setting::StatsCb).map_or(Ok(()), |cb| {
                    // The JSON text, as confluent-kafka passes it (`json.loads` it for a dict).
                    let stats = PyString::new(py, &String::from_utf8_lossy(&json));
                    cb.bind(py).call1((stats,)).map(drop)
                }),
                ClientEvent::Commit(error, offsets) => self.setting(py, Setting::OnCommit).map_or(Ok(()), |cb| {
                    let error = error.map(|info| info.into_pyerr(py).into_value(py));
                    cb.bind(py).call1((error, offsets)).map(drop)
                }),
                ClientEvent::Throttle(event) => {
                    self.setting(py, Setting::ThrottleCb).map_or(Ok(()), |cb| cb.bind(py).call1((event,)).map(drop))
                }
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

#[cfg(test)]
mod tests {
    use super::protocol_hint;

    #[test]
    fn a_broker_hanging_up_hints_at_the_security_protocol() {
        let at_first_request = "localhost:1/bootstrap: Disconnected: connection closed by peer: receive 0 after \
                                POLLIN (after 31ms in state APIVERSION_QUERY)";
        let soon_after_up = "localhost:1/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN \
                             (after 2ms in state UP, 1 identical error(s) suppressed)";
        let idle = "localhost:1/1: Disconnected (after 600001ms in state UP)";
        assert!(protocol_hint("plaintext", at_first_request).is_some_and(|h| h.contains("TLS")));
        assert!(protocol_hint("sasl_plaintext", at_first_request).is_some_and(|h| h.contains("TLS")));
        assert_eq!(protocol_hint("ssl", at_first_request), None);
        assert!(protocol_hint("plaintext", soon_after_up).is_some_and(|h| h.contains("SASL")));
        assert!(protocol_hint("ssl", soon_after_up).is_some_and(|h| h.contains("SASL")));
        assert_eq!(protocol_hint("sasl_ssl", soon_after_up), None);
        assert_eq!(protocol_hint("plaintext", idle), None);
        assert_eq!(protocol_hint("plaintext", "Connect to ipv4#127.0.0.1:1 failed: Connection refused"), None);
        let broken_pipe = "localhost:1/bootstrap: Send failed: Broken pipe (after 1ms in state UP)";
        assert!(protocol_hint("plaintext", broken_pipe).is_some_and(|h| h.contains("SASL")));
        let reset =
            "127.0.0.1:1/bootstrap: Disconnected: connection reset by peer (after 1ms in state APIVERSION_QUERY)";
        assert_eq!(protocol_hint("plaintext", reset), None, "a reset is not a TLS listener");
        let reset_when_up = "localhost:1/1: Receive failed: Connection reset by peer (after 3ms in state UP)";
        assert_eq!(protocol_hint("plaintext", reset_when_up), None);
        let hinted = format!("{soon_after_up} (the listener may require SASL: ...)");
        assert_eq!(protocol_hint("plaintext", &hinted), None, "hinted twice");
    }
}
