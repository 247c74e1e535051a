//! Cluster metadata, which every client can ask for: `list_topics()` and `cluster_id()` on the
//! consumer, the producer and the admin client, through their handles ([`ClientHandle`]); read
//! from librdkafka by `native::metadata`.

#![forbid(unsafe_code)]

use std::ffi::c_int;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rdkafka::bindings as rdsys;

use crate::args::Seconds;
use crate::blocking::{deadline, request, request_or_none};
use crate::errors::{KafkaErrorInfo, NativeResult};
use crate::ffi::{ClientHandle, LiveHandle};
use crate::native::metadata::{self, MetadataInfo};
use crate::topic_partition::topic_cstring;

/// Calls `call` with the client's live handle; the error of a closed client (`_DESTROY`) once it
/// is closed.
fn with_handle<T>(client: &impl ClientHandle, call: impl FnOnce(&LiveHandle) -> NativeResult<T>) -> NativeResult<T> {
    match client.open_handle() {
        Some(handle) => call(&handle),
        None => {
            let code = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__DESTROY as c_int;
            Err(KafkaErrorInfo::from_raw(code, "the client is closed", None))
        }
    }
}

/// `list_topics(topic, timeout)` of every client: cluster metadata, for one topic or all, as
/// `{"brokers": {id: "host:port"}, "topics": {name: {partition: {"leader", "replicas", "isrs"}}}}`.
pub fn list_topics<'py>(
    py: Python<'py>,
    client: Arc<impl ClientHandle + 'static>,
    topic: Option<String>,
    timeout: Option<Seconds>,
) -> PyResult<Bound<'py, PyDict>> {
    let deadline = deadline(timeout)?;
    let topic = topic.as_deref().map(topic_cstring).transpose()?;
    let metadata = request(py, "list_topics", deadline, move |chunk| {
        with_handle(&*client, |handle| metadata::fetch(handle, topic.as_deref(), chunk))
    })?;
    metadata_to_python(py, &metadata)
}

/// `cluster_id(timeout)` of every client: None if the first metadata did not come in time.
pub fn cluster_id(
    py: Python<'_>,
    client: Arc<impl ClientHandle + 'static>,
    timeout: Option<Seconds>,
) -> PyResult<Option<String>> {
    let deadline = deadline(timeout)?;
    request_or_none(py, "cluster_id", deadline, move |chunk| {
        with_handle(&*client, |handle| metadata::cluster_id(handle, chunk))
    })
}

/// The dict `list_topics()` returns.
fn metadata_to_python<'py>(py: Python<'py>, metadata: &MetadataInfo) -> PyResult<Bound<'py, PyDict>> {
    let brokers = PyDict::new(py);
    for (id, host, port) in &metadata.brokers {
        brokers.set_item(id, format!("{host}:{port}"))?;
    }
    let topics = PyDict::new(py);
    for topic in &metadata.topics {
        let partitions = PyDict::new(py);
        for partition in &topic.partitions {
            let info = PyDict::new(py);
            info.set_item("leader", partition.leader)?;
            info.set_item("replicas", &partition.replicas)?;
            info.set_item("isrs", &partition.isrs)?;
            partitions.set_item(partition.id, info)?;
        }
        topics.set_item(&topic.name, partitions)?;
    }
    let result = PyDict::new(py);
    result.set_item("brokers", brokers)?;
    result.set_item("topics", topics)?;
    Ok(result)
}
