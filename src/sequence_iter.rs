//! `SequenceIterator`: iterates any native sequence class (`MessageBatch`, `DeliveryResults`)
//! through its `__getitem__`, so each element is made only when the iteration reaches it.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;

#[pyclass(frozen, module = "ferrokafka")]
pub struct SequenceIterator {
    sequence: Py<PyAny>,
    len: usize,
    next: AtomicUsize,
}

impl SequenceIterator {
    /// Iterates `sequence[0]` .. `sequence[len - 1]`.
    pub fn new(sequence: Py<PyAny>, len: usize) -> Self {
        SequenceIterator { sequence, len, next: AtomicUsize::new(0) }
    }
}

#[pymethods]
impl SequenceIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.len {
            return Ok(None);
        }
        self.sequence.bind(py).get_item(i).map(Some)
    }
}
