//! `describe_configs(..., detailed=True)`: every entry of a resource's configuration with where
//! its value comes from, as confluent-kafka's `ConfigEntry` (the same attribute names).

use std::collections::BTreeMap;

use pyo3::prelude::*;
use rdkafka::bindings as rdsys;

use super::args::enum_name;
use super::request::kafka_error;
use crate::errors::FerroResult;
use crate::ffi::native_array;
use crate::ffi::{self as raw, lossy};

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

/// # Safety
/// `entry` belongs to a DescribeConfigs result event that stays alive during the call.
unsafe fn read_entry(entry: *const rdsys::rd_kafka_ConfigEntry_t, depth: usize) -> ConfigEntry {
    // SAFETY: a live entry; strings copied while it is alive, the source read as the int it is.
    unsafe {
        let mut synonyms = BTreeMap::new();
        if depth == 0 {
            let mut count = 0;
            let list = rdsys::rd_kafka_ConfigEntry_synonyms(entry, &mut count);
            for &synonym in native_array(list, count) {
                let synonym = read_entry(synonym, depth + 1);
                synonyms.entry(synonym.name.clone()).or_insert(synonym);
            }
        }
        ConfigEntry {
            name: lossy(rdsys::rd_kafka_ConfigEntry_name(entry)).unwrap_or_default(),
            value: lossy(rdsys::rd_kafka_ConfigEntry_value(entry)),
            source: enum_name(raw::rd_kafka_ConfigEntry_source(entry), &SOURCES, "UNKNOWN_CONFIG"),
            is_read_only: rdsys::rd_kafka_ConfigEntry_is_read_only(entry) != 0,
            is_default: rdsys::rd_kafka_ConfigEntry_is_default(entry) != 0,
            is_sensitive: rdsys::rd_kafka_ConfigEntry_is_sensitive(entry) != 0,
            is_synonym: rdsys::rd_kafka_ConfigEntry_is_synonym(entry) != 0,
            synonyms,
        }
    }
}

/// Every entry of one resource of a DescribeConfigs result, into `entries`, or the resource's error.
///
/// # Safety
/// `resource` belongs to a DescribeConfigs result event that stays alive during the call.
pub(super) unsafe fn detailed_entries(
    resource: *const rdsys::rd_kafka_ConfigResource_t,
    context: &str,
    entries: &mut BTreeMap<String, ConfigEntry>,
) -> FerroResult<()> {
    // SAFETY: a live resource (caller's guarantee); its error code, string and entries belong to it.
    unsafe {
        let code = raw::rd_kafka_ConfigResource_error(resource);
        if code != 0 {
            return Err(kafka_error(code, context, lossy(rdsys::rd_kafka_ConfigResource_error_string(resource))));
        }
        let mut count = 0;
        let configs = rdsys::rd_kafka_ConfigResource_configs(resource, &mut count);
        for &entry in native_array(configs, count) {
            let entry = read_entry(entry, 0);
            entries.insert(entry.name.clone(), entry);
        }
    }
    Ok(())
}
