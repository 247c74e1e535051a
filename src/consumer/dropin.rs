//! The confluent-kafka drop-in's (`ferrokafka.confluent`) `Message` and its `poll()` fast path.
//!
//! `Message` is confluent-kafka's: accessor methods (`value()`, `topic()`, ...), `set_*()`,
//! `len()`, equality, pickling, constructible and subclassable; `Message.__new__(Message)` skips
//! `__init__` (zeroed fields), as confluent-kafka's C type does. A message made from a borrowed
//! one (`_message.from_borrowed`) may hold read-only `memoryview`s of librdkafka's buffer (the
//! `_lazy` bits), copied into `bytes` at the first `key()`/`value()` or `_materialize()`.
//!
//! `DropInPoll` is the drop-in consumer's `poll()` in the common case: one native call that
//! receives a small message, builds its `Message` with key and value copied into `bytes`, and
//! records it as handed out (what an argument-less `commit()` commits). Whatever needs the Python
//! side — queued callbacks or error events, held or aging messages, synchronous commits awaiting
//! their result, a timeout that is no int or float (or NaN), a big message, an error — goes to the
//! drop-in consumer's Python methods (`_consumer.py`). Whether something is queued is one flag
//! (`DropInPoll::slow`): the Python side sets it wherever it adds to one of those containers
//! (`_queued()`), and only its slow path clears it, when all are empty again (`_settle()`).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyMemoryView, PyString, PyTuple, PyWeakrefReference};
use pyo3::{PyTraverseError, PyVisit};

use super::Consumer;
use crate::args::Seconds;
use crate::message::borrowed::NativeMessage;
use crate::message::{headers, py_topic, MessageParts, TimestampType};

/// `_lazy`: the key / the value is a view, to copy at first read.
const KEY: u8 = 1;
const VALUE: u8 = 2;
/// Unknown partition / offset / leader epoch / latency, as confluent-kafka's `Message` keeps them.
const NO_PARTITION: i64 = -1;
const NO_OFFSET: i64 = -1001;
const NO_EPOCH: i64 = -1;
const NO_LATENCY: f64 = -1.0;

/// confluent-kafka's `Message` (see the module documentation).
#[pyclass(name = "Message", module = "ferrokafka.confluent", subclass)]
pub struct DropInMessage {
    #[pyo3(get, set, name = "_topic")]
    topic_field: Option<Py<PyAny>>,
    #[pyo3(get, set, name = "_partition")]
    partition: i64,
    #[pyo3(get, set, name = "_offset")]
    offset: i64,
    #[pyo3(get, set, name = "_key")]
    key_field: Option<Py<PyAny>>,
    #[pyo3(get, set, name = "_value")]
    value_field: Option<Py<PyAny>>,
    #[pyo3(get, set, name = "_headers")]
    headers_field: Option<Py<PyAny>>,
    #[pyo3(get, set, name = "_error")]
    error_field: Option<Py<PyAny>>,
    /// `(timestamp type, milliseconds)`.
    timestamp: (i64, i64),
    #[pyo3(get, set, name = "_latency")]
    latency: f64,
    #[pyo3(get, set, name = "_leader_epoch")]
    leader_epoch: i64,
    #[pyo3(get, set, name = "_delivery_count")]
    delivery_count: i64,
    #[pyo3(get, set, name = "_lazy")]
    lazy: u8,
}

fn clone_of(py: Python<'_>, field: &Option<Py<PyAny>>) -> Py<PyAny> {
    field.as_ref().map_or_else(|| py.None(), |value| value.clone_ref(py))
}

fn index(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    value.extract::<i64>()
}

/// The `key`/`value` field, copied into `bytes` first if it is still a view.
fn read_part(slf: &Bound<'_, DropInMessage>, part: u8) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    {
        let this = slf.borrow();
        let field = if part == KEY { &this.key_field } else { &this.value_field };
        if this.lazy & part == 0 {
            return Ok(clone_of(py, field));
        }
    }
    let mut this = slf.borrow_mut();
    this.lazy &= !part;
    let field = if part == KEY { &mut this.key_field } else { &mut this.value_field };
    if let Some(value) = field.as_ref() {
        let value = value.bind(py);
        if value.is_exact_instance_of::<PyMemoryView>() {
            let bytes = value.call_method0("tobytes")?.unbind();
            *field = Some(bytes);
        }
    }
    Ok(clone_of(py, field))
}

impl DropInMessage {
    fn empty() -> Self {
        DropInMessage {
            topic_field: None,
            partition: 0,
            offset: 0,
            key_field: None,
            value_field: None,
            headers_field: None,
            error_field: None,
            timestamp: (0, 0),
            latency: 0.0,
            leader_epoch: 0,
            delivery_count: 0,
            lazy: 0,
        }
    }

    /// A received message whose key and value fit the copy limit, copied (see `DropInPoll`).
    pub(crate) fn copied(py: Python<'_>, native: &NativeMessage, topic: Py<PyAny>) -> PyResult<Py<PyAny>> {
        let timestamp = match TimestampType::of(MessageParts::timestamp(native)) {
            (Some(ms), kind) => (kind as i64, ms),
            (None, _) => (0, -1),
        };
        let headers = match native.raw_headers() {
            None => None,
            Some(raw) => {
                let list = headers::to_python(py, Some(raw))?;
                (!list.is_empty()).then(|| list.into_any().unbind())
            }
        };
        let message = DropInMessage {
            topic_field: Some(topic),
            partition: i64::from(MessageParts::partition(native)),
            offset: MessageParts::offset(native),
            key_field: MessageParts::key(native).map(|key| PyBytes::new(py, key).into_any().unbind()),
            value_field: MessageParts::payload(native).map(|value| PyBytes::new(py, value).into_any().unbind()),
            headers_field: headers,
            error_field: None,
            timestamp,
            latency: NO_LATENCY,
            leader_epoch: native.leader_epoch().map_or(NO_EPOCH, i64::from),
            delivery_count: -1,
            lazy: 0,
        };
        Ok(Py::new(py, message)?.into_any())
    }

    fn equal(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if slf.is(other) {
            return Ok(true);
        }
        let Ok(other) = other.cast::<DropInMessage>() else {
            return Ok(false);
        };
        let py = slf.py();
        let (mine, theirs) = (slf.borrow(), other.borrow());
        let objects = [
            (&mine.topic_field, &theirs.topic_field),
            (&mine.value_field, &theirs.value_field),
            (&mine.key_field, &theirs.key_field),
            (&mine.headers_field, &theirs.headers_field),
            (&mine.error_field, &theirs.error_field),
        ];
        let pairs: Vec<(Py<PyAny>, Py<PyAny>)> =
            objects.iter().map(|(a, b)| (clone_of(py, a), clone_of(py, b))).collect();
        let numbers_equal = mine.partition == theirs.partition
            && mine.offset == theirs.offset
            && mine.leader_epoch == theirs.leader_epoch
            && mine.timestamp.1 == theirs.timestamp.1;
        drop((mine, theirs));
        for (a, b) in pairs {
            if !a.bind(py).eq(b.bind(py))? {
                return Ok(false);
            }
        }
        Ok(numbers_equal)
    }

    /// confluent-kafka's `_fields()` order: what equality compares and pickling passes.
    fn fields<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let key = read_part(slf, KEY)?;
        let value = read_part(slf, VALUE)?;
        let this = slf.borrow();
        (
            clone_of(py, &this.topic_field),
            this.partition,
            this.offset,
            key,
            value,
            clone_of(py, &this.headers_field),
            clone_of(py, &this.error_field),
            this.timestamp,
            this.latency,
            this.leader_epoch,
            this.delivery_count,
        )
            .into_pyobject(py)
    }
}

#[pymethods]
impl DropInMessage {
    /// Zeroed fields, as confluent-kafka's `Message.__new__` leaves them (`__init__` sets the
    /// defaults).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __new__(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Self::empty()
    }

    #[pyo3(signature = (topic=None, partition=None, offset=None, key=None, value=None, headers=None, error=None, timestamp=None, latency=None, leader_epoch=None, delivery_count=None))]
    #[allow(clippy::too_many_arguments)]
    fn __init__(
        &mut self,
        topic: Option<Py<PyAny>>,
        partition: Option<&Bound<'_, PyAny>>,
        offset: Option<&Bound<'_, PyAny>>,
        key: Option<Py<PyAny>>,
        value: Option<Py<PyAny>>,
        headers: Option<Py<PyAny>>,
        error: Option<Py<PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        latency: Option<f64>,
        leader_epoch: Option<&Bound<'_, PyAny>>,
        delivery_count: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let part = partition.map(index).transpose()?.unwrap_or(NO_PARTITION);
        let off = offset.map(index).transpose()?.unwrap_or(NO_OFFSET);
        let epoch = leader_epoch.map(index).transpose()?.unwrap_or(NO_EPOCH);
        let lat = latency.unwrap_or(NO_LATENCY);
        let timestamp = match timestamp {
            None => (0, 0),
            Some(value) => timestamp_of(value)?,
        };
        let count = match delivery_count {
            None => -1,
            Some(value) => {
                let count = index(value)?;
                if !(-32768..=32767).contains(&count) {
                    return Err(PyOverflowError::new_err("delivery_count must fit in a signed 16-bit integer"));
                }
                if count > 0 {
                    count
                } else {
                    -1
                }
            }
        };
        self.topic_field = topic;
        self.partition = if part >= 0 { part } else { NO_PARTITION };
        self.offset = if off >= 0 { off } else { NO_OFFSET };
        self.key_field = key;
        self.value_field = value;
        self.headers_field = headers;
        self.error_field = error;
        self.timestamp = timestamp;
        self.latency = if lat >= 0.0 { lat } else { NO_LATENCY };
        self.leader_epoch = if epoch >= 0 { epoch } else { NO_EPOCH };
        self.delivery_count = count;
        self.lazy = 0;
        Ok(())
    }

    // --- accessors ---------------------------------------------------------------------------

    /// The topic name (``None`` for some error events).
    fn topic(&self, py: Python<'_>) -> Py<PyAny> {
        clone_of(py, &self.topic_field)
    }

    /// The partition, or ``None`` when unknown.
    fn partition(&self) -> Option<i64> {
        (self.partition != NO_PARTITION).then_some(self.partition)
    }

    /// The offset, or ``None`` when unknown.
    fn offset(&self) -> Option<i64> {
        (self.offset != NO_OFFSET).then_some(self.offset)
    }

    /// The key as ``bytes`` (copied on first call), or ``None``.
    fn key(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        read_part(slf, KEY)
    }

    /// The value as ``bytes`` (copied on first call), or ``None`` (a tombstone).
    fn value(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        read_part(slf, VALUE)
    }

    /// The key (deserialized by a ``DeserializingConsumer``).
    fn deserialized_key(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        read_part(slf, KEY)
    }

    /// The value (deserialized by a ``DeserializingConsumer``).
    fn deserialized_value(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        read_part(slf, VALUE)
    }

    /// A list of ``(name, value)`` tuples, or ``None`` without headers.
    fn headers(&self, py: Python<'_>) -> Py<PyAny> {
        clone_of(py, &self.headers_field)
    }

    /// The :class:`KafkaError` of an error event, or ``None`` for a message.
    fn error(&self, py: Python<'_>) -> Py<PyAny> {
        clone_of(py, &self.error_field)
    }

    /// ``(timestamp_type, milliseconds)``: ``TIMESTAMP_NOT_AVAILABLE`` (then ``-1``),
    /// ``TIMESTAMP_CREATE_TIME`` or ``TIMESTAMP_LOG_APPEND_TIME``.
    fn timestamp(&self) -> (i64, i64) {
        self.timestamp
    }

    /// For a delivery report: seconds from ``produce()`` to the report; else ``None``.
    fn latency(&self) -> Option<f64> {
        (self.latency != NO_LATENCY).then_some(self.latency)
    }

    /// The partition leader's epoch when the message was fetched, or ``None``.
    fn leader_epoch(&self) -> Option<i64> {
        (self.leader_epoch != NO_EPOCH).then_some(self.leader_epoch)
    }

    /// How often a share group delivered the message (share consumers only), or ``None``.
    fn delivery_count(&self) -> Option<i64> {
        (self.delivery_count > 0).then_some(self.delivery_count)
    }

    #[getter(_timestamp)]
    fn get_timestamp(&self) -> (i64, i64) {
        self.timestamp
    }

    #[setter(_timestamp)]
    fn set_timestamp_field(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.timestamp = timestamp_of(value)?;
        Ok(())
    }

    // --- setters -----------------------------------------------------------------------------

    fn set_topic(&mut self, topic: Option<Py<PyAny>>) {
        self.topic_field = topic;
    }

    fn set_key(&mut self, key: Option<Py<PyAny>>) {
        self.lazy &= !KEY;
        self.key_field = key;
    }

    fn set_value(&mut self, value: Option<Py<PyAny>>) {
        self.lazy &= !VALUE;
        self.value_field = value;
    }

    fn set_headers(&mut self, headers: Option<Py<PyAny>>) {
        self.headers_field = headers;
    }

    fn set_error(&mut self, error: Option<Py<PyAny>>) {
        self.error_field = error;
    }

    // --- protocol ----------------------------------------------------------------------------

    /// The value's length (0 without a value).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        match &self.value_field {
            None => Ok(0),
            Some(value) => value.bind(py).len(),
        }
    }

    fn _fields<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        Self::fields(slf)
    }

    /// confluent-kafka's equality: topic, value, key, headers, error, partition, offset, leader
    /// epoch and timestamp (its milliseconds) equal; not the latency or the delivery count. Any
    /// other object is unequal.
    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let equal = match op {
            CompareOp::Eq | CompareOp::Ne => Self::equal(slf, other)?,
            _ => return Ok(py.NotImplemented()),
        };
        let answer = if matches!(op, CompareOp::Eq) { equal } else { !equal };
        Ok(answer.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    /// `(Message, fields)`: a subclass's message pickles as a `Message`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        Ok((py.get_type::<DropInMessage>().into_any(), Self::fields(slf)?))
    }

    /// Copies the views still held into ``bytes`` and lets them go (their fetch buffer with them).
    fn _materialize(slf: &Bound<'_, Self>) -> PyResult<()> {
        if slf.borrow().lazy != 0 {
            read_part(slf, KEY)?;
            read_part(slf, VALUE)?;
            slf.borrow_mut().lazy = 0;
        }
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let fields = [&self.topic_field, &self.key_field, &self.value_field, &self.headers_field, &self.error_field];
        for value in fields.into_iter().flatten() {
            visit.call(value)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.topic_field = None;
        self.key_field = None;
        self.value_field = None;
        self.headers_field = None;
        self.error_field = None;
    }
}

fn timestamp_of(value: &Bound<'_, PyAny>) -> PyResult<(i64, i64)> {
    if value.is_none() {
        return Ok((0, 0));
    }
    let wrong = || PyTypeError::new_err("timestamp must be a tuple of (int, int)");
    let tuple = value.cast::<PyTuple>().map_err(|_| wrong())?;
    if tuple.len() != 2 {
        return Err(wrong());
    }
    let part = |at: usize| -> PyResult<i64> {
        let item = tuple.get_item(at)?;
        match item.extract::<i64>() {
            Ok(number) => Ok(number),
            Err(err) if err.is_instance_of::<PyTypeError>(value.py()) => Err(wrong()),
            Err(err) => Err(err),
        }
    };
    Ok((part(0)?, part(1)?))
}

/// The drop-in consumer's `poll()` fast path, and its record of what was handed out.
#[pyclass(frozen, module = "ferrokafka.confluent")]
pub struct DropInPoll {
    consumer: Py<Consumer>,
    /// The drop-in `Consumer` (weakly: it holds this).
    owner: Py<PyWeakrefReference>,
    /// Containers of the drop-in consumer that, when not empty, send a poll the Python way
    /// (looked at by `_settle` only).
    watched: Vec<Py<PyAny>>,
    /// Something may be queued in `watched`: set by the Python side as it adds to one (`_queued`),
    /// also during a poll (an error event's `error_cb`: the result then goes to the Python side);
    /// cleared by `_settle` when all are empty. Only read and written with the GIL held, which
    /// orders every access: Relaxed is enough.
    slow: AtomicBool,
    /// Key and value copied up to this many bytes together; bigger messages go to Python as
    /// borrowed messages (see `_consumer.py`).
    max_copy: usize,
    /// Per partition: the offset after the last message handed out (what `commit()` commits).
    handed: Mutex<Vec<(Py<PyAny>, i64, i64)>>,
    /// The topic name of the last message copied, reused while the topic stays the same (one
    /// string object per topic instead of one per message; `note` then compares pointers).
    last_topic: Mutex<Option<Py<PyString>>>,
}

impl DropInPoll {
    fn owner<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.owner.bind(py).upgrade().ok_or_else(|| PyRuntimeError::new_err("Consumer closed"))
    }

    /// Whether nothing is queued for the Python side (one load; see `slow`).
    fn quiet(&self) -> bool {
        !self.slow.load(Ordering::Relaxed)
    }

    /// Records `(topic, partition)` as handed out up to `next`. Topics compare as strings (no
    /// Python code runs under the lock).
    fn note(&self, topic: &Bound<'_, PyAny>, partition: i64, next: i64) -> PyResult<()> {
        {
            // The usual case: the same topic object as the entry of this partition (the fast path
            // reuses one string per topic), compared by identity, without reading the name.
            let mut handed = self.handed.lock();
            if let Some(entry) = handed.iter_mut().find(|entry| entry.1 == partition && entry.0.is(topic)) {
                entry.2 = next;
                return Ok(());
            }
        }
        let name = match topic.cast::<PyString>() {
            Ok(name) => Some(name.to_str()?),
            Err(_) => None,
        };
        let py = topic.py();
        let same = |known: &Py<PyAny>| -> bool {
            let known = known.bind(py);
            known.is(topic)
                || match (name, known.cast::<PyString>()) {
                    (Some(name), Ok(known)) => known.to_str().is_ok_and(|known| known == name),
                    _ => false,
                }
        };
        let mut handed = self.handed.lock();
        if let Some(entry) = handed.iter_mut().find(|entry| entry.1 == partition && same(&entry.0)) {
            entry.2 = next;
        } else {
            handed.push((topic.clone().unbind(), partition, next));
        }
        Ok(())
    }
}

#[pymethods]
impl DropInPoll {
    #[new]
    fn new(consumer: Py<Consumer>, owner: Py<PyWeakrefReference>, watched: Vec<Py<PyAny>>, max_copy: usize) -> Self {
        DropInPoll {
            consumer,
            owner,
            watched,
            // Nothing queued yet: the drop-in consumer settles it once this is made (see `_settle`).
            slow: AtomicBool::new(false),
            max_copy,
            handed: Mutex::new(Vec::new()),
            last_topic: Mutex::new(None),
        }
    }

    /// `poll(timeout)`: the common case natively, the rest by the drop-in consumer's
    /// `_poll_slow(timeout)`, `_poll_after(result)` and `_poll_failed(error)`.
    #[pyo3(signature = (timeout=None))]
    fn __call__(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        // A float or int timeout (negative or None: forever) natively; anything else (NaN, other
        // types) the Python way, which converts or refuses it as confluent-kafka does.
        let wait = match timeout {
            None => Some(None),
            Some(timeout) if timeout.is_exact_instance_of::<PyFloat>() || timeout.is_exact_instance_of::<PyInt>() => {
                match timeout.extract::<f64>() {
                    Ok(seconds) if seconds >= 0.0 => Some(Some(seconds)),
                    Ok(seconds) if seconds < 0.0 => Some(None),
                    _ => None,
                }
            }
            Some(_) => None,
        };
        // A consumer closed before this call: the Python way, which raises confluent-kafka's
        // RuntimeError (an error of the native poll below means close() interrupted the call).
        let open = !self.consumer.get().core.registry.is_closed();
        let (Some(wait), true) = (wait, open && self.quiet()) else {
            let timeout = match timeout {
                Some(timeout) => timeout.clone().unbind(),
                None => py.None(),
            };
            return Ok(self.owner(py)?.call_method1("_poll_slow", (timeout,))?.unbind());
        };
        let received = self.receive(py, wait);
        self.finish(py, received)
    }

    /// `poll(timeout)` as a method: `__call__`, called without an argument tuple (vectorcall).
    /// The drop-in consumer's `poll` attribute is this, bound.
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        self.__call__(py, timeout)
    }

    /// The next message as the native path receives it (a `Message`, a `BorrowedMessage` for a
    /// big one, or None), without the fast path's checks or record.
    fn _receive(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        self.consumer
            .get()
            .poll_for_dropin(py, timeout.map(Seconds), self.max_copy, &|py, native| self.copy(py, native))
    }

    /// Something was added to a watched container: the next poll goes the Python way.
    fn _queued(&self) {
        self.slow.store(true, Ordering::Relaxed);
    }

    /// After the Python way: clears the flag, then sets it again if a watched container is not
    /// empty (in that order, and with the GIL held throughout — `len()` of a list or deque runs
    /// no Python code — so no addition is missed). Returns whether the flag is set.
    fn _settle(&self, py: Python<'_>) -> PyResult<bool> {
        self.slow.store(false, Ordering::Relaxed);
        for container in &self.watched {
            if container.bind(py).len()? != 0 {
                self.slow.store(true, Ordering::Relaxed);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Records `(topic, partition)` as handed out up to `next` (exclusive).
    fn record(&self, topic: &Bound<'_, PyAny>, partition: i64, next: i64) -> PyResult<()> {
        self.note(topic, partition, next)
    }

    /// `{(topic, partition): next offset}` of what was handed out.
    fn handed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let handed: Vec<(Py<PyAny>, i64, i64)> = self
            .handed
            .lock()
            .iter()
            .map(|(topic, partition, next)| (topic.clone_ref(py), *partition, *next))
            .collect();
        let dict = PyDict::new(py);
        for (topic, partition, next) in handed {
            dict.set_item((topic, partition), next)?;
        }
        Ok(dict)
    }
}

impl DropInPoll {
    fn receive(&self, py: Python<'_>, wait: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        self.consumer.get().poll_for_dropin(py, wait.map(Seconds), self.max_copy, &|py, native| self.copy(py, native))
    }

    /// The `Message` of a small message, its topic name reused from the last one when equal.
    fn copy(&self, py: Python<'_>, native: &NativeMessage) -> PyResult<Py<PyAny>> {
        let topic = {
            let mut last = self.last_topic.lock();
            let reusable = last
                .as_ref()
                .is_some_and(|name| name.bind(py).to_str().is_ok_and(|name| name.as_bytes() == native.topic_bytes()));
            if !reusable {
                *last = Some(py_topic(py, native).unbind());
            }
            last.as_ref().map_or_else(|| py.None(), |name| name.clone_ref(py).into_any())
        };
        DropInMessage::copied(py, native, topic)
    }

    fn finish(&self, py: Python<'_>, received: PyResult<Option<Py<PyAny>>>) -> PyResult<Py<PyAny>> {
        let received = match received {
            Ok(received) => received,
            Err(error) => {
                let error = error.into_value(py);
                return Ok(self.owner(py)?.call_method1("_poll_failed", (error,))?.unbind());
            }
        };
        // Set during the receive: an error event came (or a callback queued something).
        let queued = !self.quiet();
        match received {
            None if !queued => Ok(py.None()),
            Some(message) if !queued => {
                let bound = message.bind(py);
                if let Ok(copied) = bound.cast::<DropInMessage>() {
                    let this = copied.borrow();
                    if let Some(topic) = &this.topic_field {
                        self.note(topic.bind(py), this.partition, this.offset + 1)?;
                    }
                    drop(this);
                    return Ok(message);
                }
                Ok(self.owner(py)?.call_method1("_poll_after", (message,))?.unbind())
            }
            other => {
                let result = self.owner(py)?.call_method1("_poll_after", (other,)).map(Bound::unbind);
                // What was queued is usually handed out now (the error event): the next poll
                // natively unless something is still queued.
                self._settle(py)?;
                result
            }
        }
    }
}
