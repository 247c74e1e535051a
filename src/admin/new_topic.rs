//! `NewTopic`: a topic to create with `AdminClient.create_topics()`.

#![forbid(unsafe_code)]

use crate::args::Int;
use crate::errors::FerroError;
use crate::topic_partition::check_topic_name;
use pyo3::prelude::*;
use pyo3::types::PyMapping;
use rdkafka::admin::{NewTopic as RdNewTopic, TopicReplication};
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
}

#[pymethods]
impl NewTopic {
    #[new]
    #[pyo3(signature = (name, num_partitions=Int(-1), replication_factor=Int(-1), config=None), text_signature = "(name, num_partitions=-1, replication_factor=-1, config=None)")]
    pub(super) fn py_new(
        name: String,
        num_partitions: Int<i32>,
        replication_factor: Int<i32>,
        config: Option<&Bound<'_, PyMapping>>,
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
        Ok(NewTopic { name, num_partitions, replication_factor, config })
    }

    /// The topic's configuration (a copy).
    #[getter]
    pub(super) fn config(&self) -> BTreeMap<String, String> {
        self.config.clone()
    }

    pub(super) fn __repr__(&self) -> String {
        format!(
            "NewTopic(name={:?}, num_partitions={}, replication_factor={}, config={:?})",
            self.name, self.num_partitions, self.replication_factor, self.config
        )
    }
}

impl NewTopic {
    pub(super) fn to_rdkafka(&self) -> RdNewTopic<'_> {
        let mut topic =
            RdNewTopic::new(&self.name, self.num_partitions, TopicReplication::Fixed(self.replication_factor));
        for (key, value) in &self.config {
            topic = topic.set(key, value);
        }
        topic
    }
}
