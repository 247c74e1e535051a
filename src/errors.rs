//! Every exception ferrokafka raises is defined here once and mapped from one Rust enum, [`FerroError`].
//!
//! Python sees `ferrokafka.Error` as the base of `KafkaError`, `ConfigError`, `MessageInvalidatedError`
//! and `WrongThreadError`. Rust code returns `FerroResult<T>` (or `PyResult`) and never panics on
//! anything a caller can do.

#![forbid(unsafe_code)]

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaError as RdKafkaNativeError};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};

use crate::ffi;

// Defined in Python (python/ferrokafka/_errors.py) so every attribute exists on every instance;
// raised from here with their arguments.
pyo3::import_exception!(ferrokafka._errors, Error);
pyo3::import_exception!(ferrokafka._errors, KafkaError);
pyo3::import_exception!(ferrokafka._errors, KafkaException);
pyo3::import_exception!(ferrokafka._errors, QueueFullError);
pyo3::import_exception!(ferrokafka._errors, ConfigError);
pyo3::import_exception!(ferrokafka._errors, MessageInvalidatedError);
pyo3::import_exception!(ferrokafka._errors, WrongThreadError);
pyo3::import_exception!(ferrokafka._errors, PartitionEOF);

/// Why a borrowed message stopped being valid. The string forms are part of the public API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidReason {
    Released,
    Superseded,
    ConsumerClosed,
}

impl InvalidReason {
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Released => "released",
            InvalidReason::Superseded => "superseded",
            InvalidReason::ConsumerClosed => "consumer_closed",
        }
    }
}

/// A code read as the `int` it is, as rdkafka's enum: a code that rdkafka-sys's list lacks (a newer
/// broker's) is `Unknown` rather than an enum value that does not exist.
pub fn known_code(code: std::ffi::c_int) -> RDKafkaErrorCode {
    RDKafkaRespErr::try_from(code).map_or(RDKafkaErrorCode::Unknown, RDKafkaErrorCode::from)
}

/// A failed librdkafka call, with librdkafka's own code (never rdkafka's catch-all `_FAIL`).
pub type NativeResult<T> = Result<T, KafkaErrorInfo>;

/// `Err` for a failed `rd_kafka_resp_err_t`, read as the `int` it is (see ffi.rs).
pub(crate) fn check(code: std::ffi::c_int, what: &str) -> NativeResult<()> {
    match code {
        0 => Ok(()),
        code => Err(KafkaErrorInfo::from_raw(code, what, None)),
    }
}

/// `PartitionEOF` (a `KafkaError` with code `_PARTITION_EOF`) for the end of a partition, raised by
/// a consumer configured with `enable.partition.eof=true`.
pub fn partition_eof_error(py: Python<'_>, topic: &str, partition: i32, offset: i64) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let value = py.get_type::<PartitionEOF>().call1((topic, partition, offset))?;
        Ok(PyErr::from_value(value))
    };
    build().unwrap_or_else(|err| err)
}

/// A librdkafka error, reduced to what Python users see on `KafkaError`.
#[derive(Clone, Debug)]
pub struct KafkaErrorInfo {
    pub code: i32,
    pub message: String,
    pub fatal: bool,
    pub retriable: bool,
    pub txn_requires_abort: bool,
}

impl KafkaErrorInfo {
    pub fn from_code(code: RDKafkaErrorCode, context: &str) -> Self {
        let code_i32 = code as i32;
        KafkaErrorInfo {
            code: code_i32,
            message: format!("{context}: {}", error_description(code_i32)),
            fatal: code == RDKafkaErrorCode::Fatal,
            retriable: is_retriable(code),
            txn_requires_abort: false,
        }
    }

    /// From a raw librdkafka error code (which may be one rdkafka's enum lacks), with librdkafka's
    /// or the broker's own message when there is one.
    pub fn from_raw(code: std::ffi::c_int, context: &str, detail: Option<String>) -> Self {
        let mut info = match RDKafkaRespErr::try_from(code) {
            Ok(known) => Self::from_code(RDKafkaErrorCode::from(known), context),
            Err(_) => KafkaErrorInfo {
                code,
                message: format!("{context}: {}", error_description(code)),
                fatal: false,
                retriable: false,
                txn_requires_abort: false,
            },
        };
        if let Some(detail) = detail.filter(|d| !d.is_empty()) {
            info.message = format!("{context}: {detail}");
        }
        info
    }

    /// From librdkafka's rich error object, which knows fatal/retriable/abort itself.
    pub fn from_native(err: &RdKafkaNativeError, context: &str) -> Self {
        let code = err.code();
        KafkaErrorInfo {
            code: code as i32,
            message: format!("{context}: {}", err.string()),
            fatal: err.is_fatal(),
            retriable: err.is_retriable() || is_retriable(code),
            txn_requires_abort: err.txn_requires_abort(),
        }
    }

    pub fn from_rdkafka(err: &RdKafkaError) -> Self {
        match err {
            RdKafkaError::Transaction(native) => Self::from_native(native, "transaction failed"),
            // rdkafka's rdkafka_error_code() returns None for admin errors: take the code from here.
            RdKafkaError::AdminOp(code) => Self::from_code(*code, "admin operation failed"),
            RdKafkaError::MessageConsumptionFatal(code) => {
                let mut info = Self::from_code(*code, "fatal consumer error");
                info.fatal = true;
                info
            }
            other => {
                let code = other.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                let mut info = Self::from_code(code, operation_name(other));
                if let RdKafkaError::PartitionEOF(partition) = other {
                    info.message = format!("reached the end of partition {partition}");
                }
                info
            }
        }
    }

    /// librdkafka's symbolic name of the code, e.g. `UNKNOWN_TOPIC_OR_PART` or `_MSG_TIMED_OUT`.
    pub fn name(&self) -> String {
        error_name(self.code)
    }

    /// The `KafkaError` (for `_QUEUE_FULL`: the `QueueFullError`, also a `BufferError`), built as
    /// Python code builds one: `KafkaError(code, reason, fatal, retriable, txn_requires_abort)`.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let build = || -> PyResult<PyErr> {
            let class = if self.code == RDKafkaErrorCode::QueueFull as i32 {
                py.get_type::<QueueFullError>()
            } else {
                py.get_type::<KafkaError>()
            };
            let value = class.call1((self.code, self.message, self.fatal, self.retriable, self.txn_requires_abort))?;
            Ok(PyErr::from_value(value))
        };
        // Only fails if the interpreter cannot allocate: then that error is the one to raise.
        build().unwrap_or_else(|err| err)
    }
}

fn operation_name(err: &RdKafkaError) -> &'static str {
    match err {
        RdKafkaError::ConsumerCommit(_) => "commit failed",
        RdKafkaError::MessageConsumption(_) | RdKafkaError::PartitionEOF(_) => "consume failed",
        RdKafkaError::MessageProduction(_) => "produce failed",
        RdKafkaError::MetadataFetch(_) => "metadata request failed",
        RdKafkaError::OffsetFetch(_) => "offset request failed",
        RdKafkaError::Subscription(_) => "subscribe failed",
        RdKafkaError::Flush(_) => "flush failed",
        RdKafkaError::MockCluster(_) => "mock cluster operation failed",
        RdKafkaError::StoreOffset(_) => "store offset failed",
        RdKafkaError::Seek(_) => "seek failed",
        RdKafkaError::PauseResume(_) => "pause/resume failed",
        RdKafkaError::Global(_) => "client error",
        _ => "operation failed",
    }
}

/// Codes a caller may retry as they are, following the retriable exceptions of the Java client.
fn is_retriable(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::MessageTimedOut
            | C::QueueFull
            | C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::OperationTimedOut
            | C::TimedOutQueue
            | C::UnknownTopicOrPartition
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::RequestTimedOut
            | C::NetworkException
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::KafkaStorageError
            | C::FetchSessionIdNotFound
            | C::InvalidFetchSessionEpoch
            | C::ListenerNotFound
            | C::FencedLeaderEpoch
            | C::UnknownLeaderEpoch
            | C::OffsetNotAvailable
            | C::PreferredLeaderNotAvailable
            | C::ConcurrentTransactions
    )
}

fn with_resp_err<T>(code: i32, f: impl FnOnce(RDKafkaRespErr) -> T) -> Option<T> {
    RDKafkaRespErr::try_from(code).ok().map(f)
}

/// librdkafka's symbolic name of an error code.
pub fn error_name(code: i32) -> String {
    with_resp_err(code, ffi::err2name).unwrap_or_else(|| format!("ERR_{code}"))
}

/// librdkafka's human-readable description of an error code.
pub fn error_description(code: i32) -> String {
    with_resp_err(code, ffi::err2str).unwrap_or_else(|| format!("unknown error code {code}"))
}

/// The one error type of the Rust core. Every variant becomes exactly one Python exception class.
#[derive(Debug)]
pub enum FerroError {
    Kafka(KafkaErrorInfo),
    Config(String),
    Invalidated(InvalidReason),
    WrongThread,
    /// The client (consumer, producer, admin client, mock cluster) was closed; the string names it.
    Closed(&'static str),
    /// A call that would wait for itself (a blocking call from the client's own callback).
    Reentrant(&'static str),
    /// A client inherited across fork() (see fork.rs).
    Forked(&'static str),
    Type(String),
    Value(String),
}

pub type FerroResult<T> = Result<T, FerroError>;

impl From<KafkaErrorInfo> for FerroError {
    fn from(info: KafkaErrorInfo) -> Self {
        FerroError::Kafka(info)
    }
}

impl From<RdKafkaError> for FerroError {
    fn from(err: RdKafkaError) -> Self {
        match err {
            RdKafkaError::ClientConfig(_, desc, key, value) => {
                let hint = match desc.starts_with("No such configuration property") {
                    true => did_you_mean(&key).map(|name| format!(" (did you mean {name:?}?)")).unwrap_or_default(),
                    false => String::new(),
                };
                FerroError::Config(format!("invalid configuration property {key:?} = {value:?}: {desc}{hint}"))
            }
            RdKafkaError::ClientCreation(msg) => FerroError::Config(with_creation_hint(msg)),
            other => FerroError::Kafka(KafkaErrorInfo::from_rdkafka(&other)),
        }
    }
}

/// The known property name closest to an unknown `key` (at most a third of its length in edits,
/// and at least one), if any: a typo's likely meaning.
fn did_you_mean(key: &str) -> Option<&'static str> {
    let most = (key.chars().count() / 3).max(1);
    crate::config_properties::PROPERTY_NAMES
        .iter()
        .map(|name| (edit_distance(key, name), *name))
        .filter(|(distance, _)| *distance <= most)
        .min()
        .map(|(_, name)| name)
}

/// Levenshtein distance (insertions, deletions, substitutions), by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// librdkafka's refusals that name a symptom rather than the setting to change, with that setting.
fn with_creation_hint(msg: String) -> String {
    // GSSAPI's default kinit command names the keytab; without one librdkafka says only this.
    if msg.contains("Property not available: \"sasl.kerberos.keytab\"") {
        return format!(
            "{msg} (GSSAPI: set sasl.kerberos.keytab and sasl.kerberos.principal, or use a ticket cache \
             made by kinit with sasl.kerberos.min.time.before.relogin=0)"
        );
    }
    // OpenSSL's reasons for a key it cannot read name its internals, not the likely mistake.
    if msg.contains("ssl.key.location failed") && msg.contains("PEM lib") {
        return format!("{msg} (a wrong ssl.key.password, or not a PEM private key?)");
    }
    if msg.contains("ssl.keystore.location") && msg.contains("mac verify failure") {
        return format!("{msg} (a wrong ssl.keystore.password?)");
    }
    msg
}

impl From<FerroError> for PyErr {
    fn from(err: FerroError) -> PyErr {
        match err {
            FerroError::Kafka(info) => Python::attach(|py| info.into_pyerr(py)),
            FerroError::Config(msg) => ConfigError::new_err(msg),
            FerroError::Invalidated(reason) => MessageInvalidatedError::new_err((
                format!(
                    "the borrowed message is no longer valid ({}); call detach() while it is valid \
                     to keep its data",
                    reason.as_str()
                ),
                reason.as_str(),
            )),
            FerroError::WrongThread => WrongThreadError::new_err(
                "a BorrowedMessage can only be used from the thread that received it; \
                 detach() it to hand it to another thread",
            ),
            FerroError::Closed(what) => Error::new_err(format!("the {what} is closed")),
            FerroError::Reentrant(msg) => Error::new_err(msg),
            FerroError::Forked(what) => Error::new_err(format!(
                "this {what} was created before os.fork(): it cannot be used in the child process (its threads do not exist there); create a new {what} in the child"
            )),
            FerroError::Type(msg) => PyTypeError::new_err(msg),
            FerroError::Value(msg) => PyValueError::new_err(msg),
        }
    }
}

/// Warns that a client was collected without `close()`, like an unclosed file, from its finaliser.
/// An exception being propagated at that moment (the client was a temporary in a call that
/// raised) is set aside and restored: warning with it set would turn it into a SystemError. A
/// warning turned into an error cannot be raised from a finaliser: it is reported as unraisable.
/// Does nothing while the interpreter shuts down.
pub fn warn_unclosed(message: &std::ffi::CStr) {
    Python::try_attach(|py| {
        let propagating = PyErr::take(py);
        let category = py.get_type::<pyo3::exceptions::PyResourceWarning>();
        if let Err(err) = PyErr::warn(py, &category, message, 1) {
            err.write_unraisable(py, None);
        }
        if let Some(err) = propagating {
            err.restore(py);
        }
    });
}

/// librdkafka's table of error codes: (code, symbolic name, description) for every code it knows.
pub fn error_codes() -> Vec<(i32, String, String)> {
    ffi::error_descs()
}

/// The exception classes (defined in Python) and librdkafka's error codes as `KafkaError` constants,
/// with their names and descriptions for `KafkaError.name()` and `KafkaError.str()`.
pub fn add_exceptions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // The codes as named constants, like confluent-kafka's: KafkaError.UNKNOWN_TOPIC_OR_PART,
    // KafkaError._MSG_TIMED_OUT.
    let kafka_error = py.get_type::<KafkaError>();
    let errors_module = py.import("ferrokafka._errors")?;
    let names = errors_module.getattr("_ERROR_NAMES")?;
    let descriptions = errors_module.getattr("_ERROR_DESCRIPTIONS")?;
    for (code, name, description) in error_codes() {
        kafka_error.setattr(name.as_str(), code)?;
        names.set_item(code, name)?;
        descriptions.set_item(code, description)?;
    }
    m.add("Error", py.get_type::<Error>())?;
    m.add("KafkaException", py.get_type::<KafkaException>())?;
    m.add("KafkaError", py.get_type::<KafkaError>())?;
    m.add("QueueFullError", py.get_type::<QueueFullError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("MessageInvalidatedError", py.get_type::<MessageInvalidatedError>())?;
    m.add("WrongThreadError", py.get_type::<WrongThreadError>())?;
    m.add("PartitionEOF", py.get_type::<PartitionEOF>())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_error_codes_do_not_need_a_rust_enum_variant() {
        // 125 lies in a gap of rdkafka-sys's enum (118 -> 129): it must still become an error.
        let info = KafkaErrorInfo::from_raw(125, "could not list offsets", None);
        assert_eq!(info.code, 125);
        assert!(info.message.starts_with("could not list offsets: "), "{}", info.message);
        let info =
            KafkaErrorInfo::from_raw(RDKafkaErrorCode::TopicAlreadyExists as i32, "could not create topic \"t\"", None);
        assert_eq!(info.code, 36);
        let info = KafkaErrorInfo::from_raw(36, "ctx", Some("Topic 't' already exists.".into()));
        assert_eq!(info.message, "ctx: Topic 't' already exists.");
    }

    #[test]
    fn names_and_descriptions_come_from_librdkafka() {
        assert_eq!(error_name(RDKafkaErrorCode::UnknownTopicOrPartition as i32), "UNKNOWN_TOPIC_OR_PART");
        assert_eq!(error_name(RDKafkaErrorCode::MessageTimedOut as i32), "_MSG_TIMED_OUT");
        assert_eq!(error_name(123_456), "ERR_123456");
        assert!(!error_description(RDKafkaErrorCode::QueueFull as i32).is_empty());
    }

    #[test]
    fn error_code_table_is_complete() {
        let codes = error_codes();
        assert!(codes.len() > 100, "{}", codes.len());
        assert!(codes.iter().any(|(code, name, desc)| *code == RDKafkaErrorCode::QueueFull as i32
            && name == "_QUEUE_FULL"
            && desc == "Local: Queue full"));
        assert!(codes.iter().any(|(code, name, _)| *code == 0 && name == "NO_ERROR"));
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = FerroError::from(RdKafkaError::ClientConfig(
            rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN,
            "No such configuration property".into(),
            "no.such.key".into(),
            "1".into(),
        ));
        match err {
            FerroError::Config(msg) => assert!(msg.contains("no.such.key"), "{msg}"),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn retriable_and_fatal_flags() {
        let info = KafkaErrorInfo::from_code(RDKafkaErrorCode::QueueFull, "produce failed");
        assert!(info.retriable && !info.fatal);
        let info = KafkaErrorInfo::from_rdkafka(&RdKafkaError::MessageConsumptionFatal(RDKafkaErrorCode::Fatal));
        assert!(info.fatal);
        let info = KafkaErrorInfo::from_rdkafka(&RdKafkaError::AdminOp(RDKafkaErrorCode::RequestTimedOut));
        assert_eq!(info.code, RDKafkaErrorCode::RequestTimedOut as i32);
        assert!(info.retriable);
    }
}
