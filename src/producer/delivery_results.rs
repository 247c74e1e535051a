//! `DeliveryResults`: what a `produce_batch()` future resolves to — one entry per message, in
//! order, a `DeliveryReport` or that message's `KafkaError`. A sequence made lazily: a batch of a
//! million messages does not cost a million Python objects unless they are read one by one;
//! `errors` and `delivered` answer the usual questions without that.

#![forbid(unsafe_code)]

use pyo3::exceptions::{PyIndexError, PyOverflowError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::delivery::{py_single_outcome, BatchOutcomes};
use crate::sequence_iter::SequenceIterator;

/// The outcome of every message of one `produce_batch()` call, in order: `len()`, `results[i]` (a
/// `DeliveryReport`, or the message's `KafkaError`), iteration, `errors`, `delivered`.
#[pyclass(frozen, sequence, module = "ferrokafka")]
pub struct DeliveryResults {
    topic: Py<PyString>,
    outcomes: BatchOutcomes,
}

impl DeliveryResults {
    pub(super) fn new(topic: Py<PyString>, outcomes: BatchOutcomes) -> Self {
        DeliveryResults { topic, outcomes }
    }

    fn entry(&self, py: Python<'_>, index: usize) -> PyResult<Py<PyAny>> {
        // Every outcome is set before the batch's future finishes; None is not reachable.
        let Some(outcome) = self.outcomes.get(index) else { return Ok(py.None()) };
        let (report, error) = py_single_outcome(py, self.topic.bind(py), &outcome)?;
        Ok(report.or(error).unwrap_or_else(|| py.None()))
    }
}

#[pymethods]
impl DeliveryResults {
    fn __len__(&self) -> usize {
        self.outcomes.len()
    }

    /// Message `index`'s `DeliveryReport`, or its `KafkaError` (negative counts from the end).
    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let len = self.outcomes.len() as isize;
        let index = match index.extract::<isize>() {
            Ok(index) => index,
            Err(err) if err.is_instance_of::<PyOverflowError>(py) => isize::MAX,
            Err(err) => return Err(err),
        };
        let i = if index < 0 { index + len } else { index };
        if !(0..len).contains(&i) {
            return Err(PyIndexError::new_err("DeliveryResults index out of range"));
        }
        self.entry(py, i as usize)
    }

    /// The entries in order, each made as it is reached.
    fn __iter__(slf: &Bound<'_, Self>) -> SequenceIterator {
        SequenceIterator::new(slf.clone().into_any().unbind(), slf.get().outcomes.len())
    }

    /// `(index, KafkaError)` of every message that failed, in order; empty when all were delivered.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let failed = (0..self.outcomes.len()).filter(|&i| self.outcomes.is_failed(i));
        let pairs = failed.map(|i| Ok((i, self.entry(py, i)?))).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }

    /// How many messages were delivered.
    #[getter]
    fn delivered(&self) -> usize {
        self.outcomes.delivered()
    }

    /// Equal to another `DeliveryResults` or a list with equal entries.
    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if other.len().ok() != Some(slf.get().outcomes.len()) {
            return Ok(false);
        }
        for (mine, theirs) in slf.try_iter()?.zip(other.try_iter()?) {
            if !mine?.eq(theirs?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn __repr__(&self) -> String {
        let delivered = self.delivered();
        format!("<DeliveryResults: {delivered} delivered, {} failed>", self.outcomes.len() - delivered)
    }
}
