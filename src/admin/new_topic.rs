//! `NewTopic`: a topic to create with `AdminClient.create_topics()`.

#![forbid(unsafe_code)]

use crate::args::Int;
use crate::errors::{FerroError, FerroResult};
use crate::topic_partition::check_topic_name;
use pyo3::prelude::*;
use pyo3::types::PyMapping;
use std::collections::BTreeMap;

use super::args::{c_string, mapping_arg};
use super::{MAX_PARTITIONS, MAX_REPLICATION_FACTOR};

/// A topic to create with `AdminClient.create_topics()`. As confluent-kafka's, the partition count and
/// replication factor default to -1: the broker's defaults.
#[pyclass(frozen, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct NewTopic {
    #[pyo3(get)]
    pub(super) name: String,
    /// -1: the broker's default (`num.partitions`).
    #[pyo3(get)]
    pub(super) num_partitions: i32,
    /// -1: the broker's default (`default.replication.factor`).
    #[pyo3(get)]
    pub(super) replication_factor: i32,
    pub(super) config: BTreeMap<String, String>,
    /// The broker ids of each partition's replicas, instead of a replication factor.
    #[pyo3(get)]
    pub(super) replica_assignment: Option<Vec<Vec<i32>>>,
}

#[pymethods]
impl NewTopic {
    #[new]
    #[pyo3(signature = (name, num_partitions=Int(-1), replication_factor=Int(-1), config=None, *, replica_assignment=None), text_signature = "(name, num_partitions=-1, replication_factor=-1, config=None, *, replica_assignment=None)")]
    pub(super) fn py_new(
        name: String,
        num_partitions: Int<i32>,
        replication_factor: Int<i32>,
        config: Option<&Bound<'_, PyMapping>>,
        replica_assignment: Option<Vec<Vec<i32>>>,
    ) -> PyResult<Self> {
        let (Int(num_partitions), Int(replication_factor)) = (num_partitions, replication_factor);
        check_topic_name(&name)?;
        if num_partitions != -1 && !(1..=MAX_PARTITIONS).contains(&i64::from(num_partitions)) {
            return Err(FerroError::Value(format!(
                "num_partitions must be -1 (the broker's default) or 1 to {MAX_PARTITIONS}, not {num_partitions}"
            ))
            .into());
        }
        if replication_factor != -1 && !(1..=MAX_REPLICATION_FACTOR).contains(&replication_factor) {
            return Err(FerroError::Value(format!(
                "replication_factor must be -1 (the broker's default) or 1 to {MAX_REPLICATION_FACTOR}, \
                 not {replication_factor}"
            ))
            .into());
        }
        let config: BTreeMap<String, String> = match config {
            Some(config) => mapping_arg(config)?.into_iter().collect(),
            None => BTreeMap::new(),
        };
        for (key, value) in &config {
            c_string(key, "config key")?;
            c_string(value, "config value")?;
        }
        if let Some(assignment) = &replica_assignment {
            if replication_factor != -1 {
                return Err(FerroError::Value(
                    "replication_factor and replica_assignment are mutually exclusive".into(),
                )
                .into());
            }
            let expected = if num_partitions == -1 { assignment.len() } else { num_partitions as usize };
            check_assignment(assignment, expected, expected, "num_partitions")?;
        }
        Ok(NewTopic { name, num_partitions, replication_factor, config, replica_assignment })
    }

    /// The topic's configuration (a copy).
    #[getter]
    pub(super) fn config(&self) -> BTreeMap<String, String> {
        self.config.clone()
    }

    pub(super) fn __repr__(&self) -> String {
        let assignment = match &self.replica_assignment {
            Some(assignment) => format!(", replica_assignment={assignment:?}"),
            None => String::new(),
        };
        format!(
            "NewTopic(name={:?}, num_partitions={}, replication_factor={}, config={:?}{assignment})",
            self.name, self.num_partitions, self.replication_factor, self.config
        )
    }
}

/// Checks a replica assignment as confluent-kafka does: between `min` and `max` partitions, each
/// with at least one replica (librdkafka checks the rest: duplicate brokers, the count per topic).
pub(super) fn check_assignment(assignment: &[Vec<i32>], min: usize, max: usize, count: &str) -> PyResult<()> {
    if assignment.len() < min || assignment.len() > max || assignment.iter().any(Vec::is_empty) {
        return Err(FerroError::Value(format!(
            "replica_assignment must be a list of int lists with an outer size of {count}"
        ))
        .into());
    }
    Ok(())
}

impl NewTopic {
    /// The topic as librdkafka's request object (its refusals are `ValueError`s, as rdkafka's were).
    pub(super) fn native(&self) -> FerroResult<crate::native::admin::NewTopic> {
        if let Some(assignment) = &self.replica_assignment {
            if i32::try_from(assignment.len()).ok() != Some(self.num_partitions) {
                return Err(FerroError::Value(format!(
                    "replication configuration for topic '{}' assigns {} partition(s), which does not match the \
                     specified number of partitions ({})",
                    self.name,
                    assignment.len(),
                    self.num_partitions
                )));
            }
        }
        let name = c_string(&self.name, "topic name")?;
        let config = self
            .config
            .iter()
            .map(|(key, value)| Ok((c_string(key, "config key")?, c_string(value, "config value")?)))
            .collect::<FerroResult<Vec<_>>>()?;
        crate::native::admin::new_topic(
            &name,
            self.num_partitions,
            self.replication_factor,
            self.replica_assignment.as_deref(),
            &config,
        )
        .map_err(FerroError::Value)
    }
}
