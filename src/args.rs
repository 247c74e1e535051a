//! Conversions of Python arguments that PyO3's defaults get wrong for ferrokafka's API: every
//! out-of-range number is a `ValueError` (the documented error for a bad value), never PyO3's
//! `OverflowError`; a wrong type stays a `TypeError`.

#![forbid(unsafe_code)]

use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::Borrowed;

/// An integer argument of type `T`: out of `T`'s range raises `ValueError`.
#[derive(Clone, Copy, Debug)]
pub struct Int<T>(pub T);

macro_rules! int_argument {
    ($($t:ty),*) => {$(
        impl<'a, 'py> FromPyObject<'a, 'py> for Int<$t> {
            type Error = PyErr;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                match obj.extract::<$t>() {
                    Ok(value) => Ok(Int(value)),
                    Err(err) if err.is_instance_of::<PyOverflowError>(obj.py()) => Err(PyValueError::new_err(format!(
                        "{} is out of range: expected {} to {}",
                        obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "the number".into()),
                        <$t>::MIN,
                        <$t>::MAX
                    ))),
                    Err(err) => Err(err),
                }
            }
        }
    )*};
}

int_argument!(i16, i32, i64, usize);

/// A timeout in seconds (int or float). An int too large for a float is an infinite timeout (or
/// a negative one, which [`deadline`](crate::blocking::deadline) refuses).
#[derive(Clone, Copy, Debug)]
pub struct Seconds(pub f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<f64>() {
            Ok(seconds) => Ok(Seconds(seconds)),
            Err(err) if err.is_instance_of::<PyOverflowError>(obj.py()) => {
                Ok(Seconds(if obj.gt(0)? { f64::INFINITY } else { f64::NEG_INFINITY }))
            }
            Err(err) => Err(err),
        }
    }
}
