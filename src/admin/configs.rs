//! `describe_configs(..., detailed=True)`: every entry of a resource's configuration with where
//! its value comes from, as confluent-kafka's `ConfigEntry` (the same attribute names).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use pyo3::prelude::*;

use super::args::enum_name;
use crate::native::results::ConfigEntryData;

/// rd_kafka_ConfigSource_t (librdkafka's and confluent-kafka's `ConfigSource` names), with the
/// sources newer brokers report.
const SOURCES: [(&str, i32); 9] = [
    ("UNKNOWN_CONFIG", 0),
    ("DYNAMIC_TOPIC_CONFIG", 1),
    ("DYNAMIC_BROKER_CONFIG", 2),
    ("DYNAMIC_DEFAULT_BROKER_CONFIG", 3),
    ("STATIC_BROKER_CONFIG", 4),
    ("DEFAULT_CONFIG", 5),
    ("DYNAMIC_BROKER_LOGGER_CONFIG", 6),
    ("CLIENT_METRICS_CONFIG", 7),
    ("GROUP_CONFIG", 8),
];

/// One configuration entry: confluent-kafka's `ConfigEntry`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct ConfigEntry {
    pub name: String,
    /// None when not set, or sensitive (`is_sensitive`: the broker never sends those values).
    pub value: Option<String>,
    /// Where the value comes from: "DYNAMIC_TOPIC_CONFIG", "DYNAMIC_BROKER_CONFIG",
    /// "DYNAMIC_DEFAULT_BROKER_CONFIG", "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG", ... (confluent-kafka's
    /// `ConfigSource` names).
    pub source: &'static str,
    pub is_read_only: bool,
    pub is_default: bool,
    pub is_sensitive: bool,
    pub is_synonym: bool,
    /// The entries this one's value may come from, by name, most specific first (the entry
    /// itself among them), as confluent-kafka gives them.
    pub synonyms: BTreeMap<String, ConfigEntry>,
}

#[pymethods]
impl ConfigEntry {
    fn __repr__(&self) -> String {
        let value = self.value.as_ref().map_or("None".into(), |value| format!("{value:?}"));
        format!("ConfigEntry({}={value}, source={:?})", self.name, self.source)
    }

    fn __str__(&self) -> String {
        format!("{}={:?}", self.name, self.value.as_deref().unwrap_or("None"))
    }
}

impl ConfigEntry {
    fn from_data(data: ConfigEntryData) -> Self {
        let mut synonyms = BTreeMap::new();
        for synonym in data.synonyms {
            let synonym = ConfigEntry::from_data(synonym);
            synonyms.entry(synonym.name.clone()).or_insert(synonym);
        }
        ConfigEntry {
            name: data.name.unwrap_or_default(),
            value: data.value,
            source: enum_name(data.source, &SOURCES, "UNKNOWN_CONFIG"),
            is_read_only: data.is_read_only,
            is_default: data.is_default,
            is_sensitive: data.is_sensitive,
            is_synonym: data.is_synonym,
            synonyms,
        }
    }
}

/// Every entry described, by name (`detailed=True`).
pub(super) fn detailed_entries(described: Vec<ConfigEntryData>) -> BTreeMap<String, ConfigEntry> {
    let mut entries = BTreeMap::new();
    for entry in described {
        let entry = ConfigEntry::from_data(entry);
        entries.insert(entry.name.clone(), entry);
    }
    entries
}

/// The entries with a value, by name (those without one, sensitive ones among them, are left out).
pub(super) fn config_entries(described: Vec<ConfigEntryData>) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    for entry in described {
        if let (Some(name), Some(value)) = (entry.name, entry.value) {
            entries.insert(name, value);
        }
    }
    entries
}
