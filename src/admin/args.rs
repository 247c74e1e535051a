//! Checking and converting the arguments of admin calls, on the caller's thread (mistakes raise at
//! once, before any request is made).

#![forbid(unsafe_code)]

use crate::args::Seconds;
use crate::errors::{FerroError, FerroResult};
use crate::topic_partition::check_topic_name;
use pyo3::prelude::*;
use pyo3::types::PyMapping;
use rdkafka::bindings as rdsys;
use std::ffi::CString;
use std::time::Duration;

use super::MAX_TIMEOUT;

// ---------------------------------------------------------------------------------------------
// Arguments

pub(super) fn c_string(value: &str, what: &str) -> FerroResult<CString> {
    CString::new(value).map_err(|_| FerroError::Value(format!("{what} {value:?} contains a NUL character")))
}

pub(super) fn non_empty<T, L: AsRef<[T]>>(items: L, what: &str) -> FerroResult<L> {
    if items.as_ref().is_empty() {
        Err(FerroError::Value(format!("{what} must not be empty")))
    } else {
        Ok(items)
    }
}

/// Non-empty names without NUL characters, as C strings.
pub(super) fn c_names(names: Vec<String>, what: &str) -> FerroResult<Vec<CString>> {
    non_empty(names, &format!("the list of {what}s"))?
        .iter()
        .map(|name| {
            if name.is_empty() {
                Err(FerroError::Value(format!("a {what} must not be empty")))
            } else {
                c_string(name, what)
            }
        })
        .collect()
}

/// A non-empty list of checked topic names (see [`check_topic_name`]).
pub(super) fn topic_names(names: &[String]) -> FerroResult<()> {
    non_empty(names, "the list of topic names")?.iter().try_for_each(|name| check_topic_name(name))
}

/// A timeout in seconds for librdkafka's admin requests: `None` (librdkafka's default), or 0 up
/// to librdkafka's limit of 3600 s, to which longer ones (also `inf`) saturate; negative and NaN
/// raise `ValueError`.
pub(super) fn timeout_arg(seconds: Option<Seconds>, what: &str) -> FerroResult<Option<Duration>> {
    match seconds.map(|s| s.0) {
        None => Ok(None),
        Some(s) if s >= 0.0 => Ok(Some(Duration::try_from_secs_f64(s).unwrap_or(MAX_TIMEOUT).min(MAX_TIMEOUT))),
        Some(s) => Err(FerroError::Value(format!("{what} must be None or a non-negative number of seconds, not {s}"))),
    }
}

/// A `Mapping` of str keys to `V` (str, or str | None), as pairs.
pub(super) fn mapping_arg<V>(mapping: &Bound<'_, PyMapping>) -> PyResult<Vec<(String, V)>>
where
    V: for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>,
{
    mapping.items()?.iter().map(|item| item.extract::<(String, V)>()).collect()
}

/// A config resource named by Python: `("topic", name)` or `("broker", id)`.
pub(super) fn resource_arg(resource_type: &str, name: &str) -> FerroResult<(rdsys::rd_kafka_ResourceType_t, CString)> {
    use rdsys::rd_kafka_ResourceType_t as R;
    let restype = match resource_type {
        "topic" => {
            check_topic_name(name)?;
            R::RD_KAFKA_RESOURCE_TOPIC
        }
        "broker" => {
            if name.parse::<i32>().is_err() {
                return Err(FerroError::Value(format!("a broker is named by its numeric id, not {name:?}")));
            }
            R::RD_KAFKA_RESOURCE_BROKER
        }
        other => {
            return Err(FerroError::Value(format!("resource_type must be \"topic\" or \"broker\", not {other:?}")))
        }
    };
    Ok((restype, c_string(name, resource_type)?))
}

/// An enum argument given as its name (a `str`, any case) or as an enum member whose `.name` is
/// that name (confluent-kafka's enums work as they are): its value in `table`. `TypeError` for
/// anything else, `ValueError` naming the allowed names for an unknown one.
pub(super) fn enum_arg(value: &Bound<'_, PyAny>, what: &str, table: &[(&str, i32)]) -> PyResult<i32> {
    let name = match value.cast::<pyo3::types::PyString>() {
        Ok(text) => text.to_str()?.to_owned(),
        Err(_) => match value.getattr("name").ok().and_then(|name| name.extract::<String>().ok()) {
            Some(name) if !value.is_instance_of::<pyo3::types::PyInt>() => name,
            _ => {
                let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                return Err(
                    FerroError::Type(format!("{what} must be a str (or an enum member), not {type_name}")).into()
                );
            }
        },
    };
    let wanted = name.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    match table.iter().find(|(known, _)| *known == wanted) {
        Some((_, code)) => Ok(*code),
        None => {
            let names: Vec<&str> = table.iter().map(|(known, _)| *known).collect();
            Err(FerroError::Value(format!("{what} must be one of {}, not {name:?}", names.join(", "))).into())
        }
    }
}

/// The name of `code` in `table`, or `fallback` for a value the table lacks.
pub(super) fn enum_name(code: i32, table: &[(&'static str, i32)], fallback: &'static str) -> &'static str {
    table.iter().find(|(_, known)| *known == code).map_or(fallback, |(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn arguments_are_checked_before_anything_is_sent() {
        assert!(matches!(timeout_arg(Some(Seconds(-1.0)), "t"), Err(FerroError::Value(_))));
        assert!(matches!(timeout_arg(Some(Seconds(f64::NAN)), "t"), Err(FerroError::Value(_))));
        assert_eq!(timeout_arg(Some(Seconds(3601.0)), "t").unwrap(), Some(MAX_TIMEOUT), "saturates");
        assert_eq!(timeout_arg(Some(Seconds(f64::INFINITY)), "t").unwrap(), Some(MAX_TIMEOUT));
        assert_eq!(timeout_arg(Some(Seconds(1.5)), "t").unwrap(), Some(Duration::from_millis(1500)));
        assert!(matches!(resource_arg("group", "g"), Err(FerroError::Value(_))));
        assert!(matches!(resource_arg("broker", "one"), Err(FerroError::Value(_))));
        assert!(matches!(resource_arg("topic", "a\0b"), Err(FerroError::Value(_))));
        assert!(resource_arg("broker", "1").is_ok());
        assert!(matches!(c_names(vec![], "topic name"), Err(FerroError::Value(_))));
        assert!(matches!(c_names(vec![String::new()], "topic name"), Err(FerroError::Value(_))));
    }
}
