//! `list_consumer_groups(states=, types=)`: the groups of the cluster with their state and type,
//! as confluent-kafka's `ListConsumerGroupsResult` of `ConsumerGroupListing`s.

#![forbid(unsafe_code)]

use std::ffi::c_int;

use pyo3::prelude::*;
use rdkafka::bindings as rdsys;

use super::args::{enum_arg, enum_name};
use super::request::{Call, Request};
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::native::results as native;

/// rd_kafka_consumer_group_state_t, by confluent-kafka's `ConsumerGroupState` names (first), and
/// librdkafka's spelling of the two rebalancing states.
const STATES: [(&str, i32); 8] = [
    ("UNKNOWN", 0),
    ("PREPARING_REBALANCING", 1),
    ("COMPLETING_REBALANCING", 2),
    ("STABLE", 3),
    ("DEAD", 4),
    ("EMPTY", 5),
    ("PREPARING_REBALANCE", 1),
    ("COMPLETING_REBALANCE", 2),
];
/// rd_kafka_consumer_group_type_t, by confluent-kafka's `ConsumerGroupType` names.
const TYPES: [(&str, i32); 3] = [("UNKNOWN", 0), ("CONSUMER", 1), ("CLASSIC", 2)];

/// A group of `list_consumer_groups()`: confluent-kafka's `ConsumerGroupListing`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct ConsumerGroupListing {
    pub group_id: String,
    /// A group without members that only stores offsets (assign() and commit()).
    pub is_simple_consumer_group: bool,
    /// confluent-kafka's `ConsumerGroupState` name: "STABLE", "EMPTY", "DEAD",
    /// "PREPARING_REBALANCING", "COMPLETING_REBALANCING" or "UNKNOWN".
    pub state: &'static str,
    /// "CLASSIC", "CONSUMER" (KIP-848) or "UNKNOWN".
    pub r#type: &'static str,
}

#[pymethods]
impl ConsumerGroupListing {
    fn __repr__(&self) -> String {
        format!(
            "ConsumerGroupListing(group_id={:?}, is_simple_consumer_group={}, state={:?}, type={:?})",
            self.group_id,
            if self.is_simple_consumer_group { "True" } else { "False" },
            self.state,
            self.r#type
        )
    }
}

/// confluent-kafka's `ListConsumerGroupsResult`: the groups listed, and the errors of the brokers
/// that could not be asked (then `valid` may be incomplete).
#[pyclass(frozen, module = "ferrokafka")]
pub struct ListConsumerGroupsResult {
    valid: Vec<ConsumerGroupListing>,
    errors: Vec<KafkaErrorInfo>,
}

#[pymethods]
impl ListConsumerGroupsResult {
    /// The groups, sorted by id.
    #[getter]
    fn valid(&self) -> Vec<ConsumerGroupListing> {
        self.valid.clone()
    }

    /// A `KafkaError` per broker that could not be asked.
    #[getter]
    fn errors(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.errors.iter().map(|info| info.clone().into_pyerr(py).into_value(py).into_any()).collect()
    }

    fn __repr__(&self) -> String {
        format!("ListConsumerGroupsResult(valid={} groups, errors={})", self.valid.len(), self.errors.len())
    }
}

/// A filter argument: None (everything), or a non-empty iterable of names (or enum members).
fn filter_arg(values: Option<&Bound<'_, PyAny>>, what: &str, table: &[(&str, i32)]) -> PyResult<Option<Vec<c_int>>> {
    let Some(values) = values.filter(|v| !v.is_none()) else { return Ok(None) };
    if values.is_instance_of::<pyo3::types::PyString>() {
        return Err(FerroError::Type(format!("{what} must be a collection of names, not a str")).into());
    }
    let mut codes: Vec<c_int> = Vec::new();
    for value in values.try_iter()? {
        let code = enum_arg(&value?, what, table)?;
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if codes.is_empty() {
        return Err(FerroError::Value(format!("{what} must not be empty (None: all)")).into());
    }
    Ok(Some(codes))
}

pub(super) fn states_arg(states: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<c_int>>> {
    filter_arg(states, "states", &STATES)
}

pub(super) fn types_arg(types: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<c_int>>> {
    filter_arg(types, "types", &TYPES)
}

/// Lists the groups in `states` and of `types` (None: any).
pub(super) fn list_consumer_groups(
    call: Call<'_>,
    states: Option<Vec<c_int>>,
    types: Option<Vec<c_int>>,
) -> FerroResult<()> {
    let context = "could not list consumer groups";
    let set = move |options: &crate::native::admin::Options| {
        let states = states.and_then(|states| crate::native::admin::match_group_states(options, &states, context));
        states.or_else(|| types.and_then(|types| crate::native::admin::match_group_types(options, &types, context)))
    };
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, context).options(set),
        |admin, options| admin.list_consumer_groups(options),
        move |event| listed(event, context),
    )
}

fn listed(event: &native::Event, context: &str) -> FerroResult<ListConsumerGroupsResult> {
    let valid = native::listed_groups(event, context)?
        .into_iter()
        .map(|listing| ConsumerGroupListing {
            group_id: listing.group_id.unwrap_or_default(),
            is_simple_consumer_group: listing.is_simple_consumer_group,
            state: enum_name(listing.state, &STATES, "UNKNOWN"),
            r#type: enum_name(listing.group_type, &TYPES, "UNKNOWN"),
        })
        .collect();
    let errors = native::listed_group_errors(event, context)?;
    Ok(ListConsumerGroupsResult { valid: sorted_once(valid), errors })
}

/// Sorted by id, each id once. librdkafka 2.12.1 lists a group once per broker that reports it
/// (fixed in 2.14.2, docs/librdkafka-fixes.md): the first listing of an id is kept.
fn sorted_once(mut valid: Vec<ConsumerGroupListing>) -> Vec<ConsumerGroupListing> {
    valid.sort_by(|a, b| a.group_id.cmp(&b.group_id)); // stable: the first listing of an id stays first
    valid.dedup_by(|later, first| later.group_id == first.group_id);
    valid
}

/// Group ids, sorted, each once (as [`sorted_once`]).
pub fn sorted_ids_once(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(group_id: &str, state: &'static str) -> ConsumerGroupListing {
        ConsumerGroupListing { group_id: group_id.into(), is_simple_consumer_group: false, state, r#type: "CLASSIC" }
    }

    #[test]
    fn a_group_reported_by_several_brokers_is_listed_once() {
        let merged = vec![listing("b", "STABLE"), listing("a", "EMPTY"), listing("b", "UNKNOWN"), listing("a", "DEAD")];
        let once: Vec<_> = sorted_once(merged).into_iter().map(|g| (g.group_id, g.state)).collect();
        assert_eq!(once, [("a".to_string(), "EMPTY"), ("b".to_string(), "STABLE")], "sorted, the first listing kept");
        let ids = sorted_ids_once(["b", "a", "b", "c", "a"].map(String::from).to_vec());
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
