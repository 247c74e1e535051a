//! The confluent-kafka drop-in's (`ferrokafka.confluent`) `produce()` fast path.
//!
//! `DropInProduce.produce` is the drop-in producer's `produce()` when it has no default delivery
//! callback (`_producer.py` makes it the instance's `produce`): the common call — a `str` topic,
//! `bytes` (or None) value and key, an `int` partition and timestamp, no headers, no callback —
//! queues the message natively with nothing travelling with it (`Delivery::Quiet`, as
//! `Producer._produce_quiet`), without a Python frame. Every other call, and every call the native
//! path refuses (a full queue, a message librdkafka rejects, a closed producer: nothing was
//! queued), goes to the drop-in's Python `Producer.produce`, which checks, converts and raises
//! exactly as confluent-kafka does.

#![forbid(unsafe_code)]

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString, PyWeakrefReference};
use pyo3::Borrowed;

use super::delivery::Delivery;
use super::{OneMessage, Producer};
use crate::args::Int;

/// An argument as given (`None` included), or not given (its Python default applies).
pub struct Given<'py>(Option<Bound<'py, PyAny>>);

impl<'a, 'py> FromPyObject<'a, 'py> for Given<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Given(Some(obj.to_owned())))
    }
}

impl<'py> Given<'py> {
    const ABSENT: Given<'static> = Given(None);

    /// `None` or `bytes` exactly (what the native path takes as a value or key).
    fn plain_data(&self) -> Option<Option<&Bound<'py, PyAny>>> {
        match &self.0 {
            None => Some(None),
            Some(obj) if obj.is_none() => Some(None),
            Some(obj) if obj.is_exact_instance_of::<PyBytes>() => Some(Some(obj)),
            Some(_) => None,
        }
    }

    /// Not given or `None`.
    fn is_none(&self) -> bool {
        self.0.as_ref().is_none_or(|obj| obj.is_none())
    }

    /// Not given (`default`) or an `int` exactly (not a bool, not None) that fits an i64.
    fn plain_int(&self, default: i64) -> Option<i64> {
        match &self.0 {
            None => Some(default),
            Some(obj) if obj.is_exact_instance_of::<PyInt>() => obj.extract::<i64>().ok(),
            Some(_) => None,
        }
    }

    /// What to hand the Python `produce()`: the object given, or its default.
    fn or_default(&self, py: Python<'py>, default: i64) -> PyResult<Bound<'py, PyAny>> {
        match &self.0 {
            Some(obj) => Ok(obj.clone()),
            None => Ok(default.into_pyobject(py)?.into_any()),
        }
    }

    fn or_none(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.0.clone().unwrap_or_else(|| py.None().into_bound(py))
    }
}

/// The drop-in producer's `produce()` (see the module documentation).
#[pyclass(frozen, module = "ferrokafka.confluent")]
pub struct DropInProduce {
    producer: Py<Producer>,
    /// The drop-in `Producer` (weakly: its `produce` attribute holds this).
    owner: Py<PyWeakrefReference>,
    /// The drop-in's Python `Producer.produce` (the class's function), for everything else.
    slow: Py<PyAny>,
}

#[pymethods]
impl DropInProduce {
    #[new]
    fn new(producer: Py<Producer>, owner: Py<PyWeakrefReference>, slow: Py<PyAny>) -> Self {
        DropInProduce { producer, owner, slow }
    }

    /// confluent-kafka's `produce(topic, value=None, key=None, partition=-1, callback=None,
    /// on_delivery=None, timestamp=0, headers=None)`.
    #[pyo3(signature = (topic, value=Given::ABSENT, key=Given::ABSENT, partition=Given::ABSENT, callback=Given::ABSENT, on_delivery=Given::ABSENT, timestamp=Given::ABSENT, headers=Given::ABSENT))]
    #[allow(clippy::too_many_arguments)]
    fn produce<'py>(
        &self,
        py: Python<'py>,
        topic: &Bound<'py, PyAny>,
        value: Given<'py>,
        key: Given<'py>,
        partition: Given<'py>,
        callback: Given<'py>,
        on_delivery: Given<'py>,
        timestamp: Given<'py>,
        headers: Given<'py>,
    ) -> PyResult<Py<PyAny>> {
        let plain = (
            topic.cast::<PyString>().ok().filter(|t| t.is_exact_instance_of::<PyString>()),
            value.plain_data(),
            key.plain_data(),
            partition.plain_int(-1),
            timestamp.plain_int(0),
        );
        if let (Some(topic), Some(value), Some(key), Some(partition), Some(timestamp)) = plain {
            if callback.is_none() && on_delivery.is_none() && headers.is_none() {
                let message = OneMessage {
                    topic,
                    value,
                    key,
                    // As the Python path: a negative partition is the partitioner's, 0 is now.
                    partition: (partition >= 0).then_some(Int(partition)),
                    timestamp: (timestamp != 0).then_some(Int(timestamp)),
                    headers: None,
                };
                // Refused (nothing queued): the Python path below tries again and raises as
                // confluent-kafka does (BufferError, KafkaException, the closed RuntimeError).
                if self.producer.get().queue_one_or(py, message, |_| Ok(Delivery::Quiet), true).is_ok() {
                    return Ok(py.None());
                }
            }
        }
        let owner = self.owner.bind(py).upgrade().ok_or_else(|| PyRuntimeError::new_err("Producer has been closed"))?;
        let args = (
            owner,
            topic,
            value.or_none(py),
            key.or_none(py),
            partition.or_default(py, -1)?,
            callback.or_none(py),
            on_delivery.or_none(py),
            timestamp.or_default(py, 0)?,
            headers.or_none(py),
        );
        Ok(self.slow.bind(py).call1(args)?.unbind())
    }
}
