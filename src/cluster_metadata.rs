//! Cluster metadata, which every client can ask for: `list_topics()` and `cluster_id()` on the
//! consumer, the producer and the admin client, through their handles ([`ClientHandle`]).

use std::ffi::{c_int, CStr};
use std::ptr;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rdkafka::bindings as rdsys;

use crate::args::Seconds;
use crate::blocking::{deadline, request, request_or_none};
use crate::errors::{check, KafkaErrorInfo, NativeResult};
use crate::ffi::{self as raw, ClientHandle, NativePtr};
use crate::topic_partition::topic_cstring;

/// Calls `call` with the client's live handle; the error of a closed client (`_DESTROY`) once it
/// is closed.
fn with_handle<T>(
    client: &impl ClientHandle,
    call: impl FnOnce(*mut rdsys::rd_kafka_t) -> NativeResult<T>,
) -> NativeResult<T> {
    match client.open_handle() {
        Some(handle) => call(handle.ptr()),
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
        // SAFETY: an open client's handle, live while `client` (held by this closure) is.
        with_handle(&*client, |rk| unsafe { fetch_metadata(rk, topic.as_deref(), chunk) })
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
        // SAFETY: an open client's handle, live while `client` (held by this closure) is.
        with_handle(&*client, |rk| unsafe { native_cluster_id(rk, chunk) })
    })
}

/// The cluster's id, as the brokers' metadata gives it, waiting up to `timeout_ms` for the first
/// metadata; `_TIMED_OUT` if none came (or the cluster has no id).
///
/// # Safety
/// `rk` is a live client handle (consumer, producer or admin) for the duration of the call.
unsafe fn native_cluster_id(rk: *mut rdsys::rd_kafka_t, timeout_ms: c_int) -> NativeResult<String> {
    // SAFETY: the live handle (caller's guarantee); the string librdkafka returns is ours, read
    // and freed once with rd_kafka_mem_free as its documentation says.
    unsafe {
        let id = rdsys::rd_kafka_clusterid(rk, timeout_ms);
        if id.is_null() {
            let code = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT as c_int;
            return Err(KafkaErrorInfo::from_raw(code, "cluster_id", None));
        }
        let text = raw::lossy(id).unwrap_or_default();
        rdsys::rd_kafka_mem_free(rk, id.cast());
        Ok(text)
    }
}

/// Metadata of every topic, or of `topic` (a name already checked: no NUL, not too long).
///
/// # Safety
/// `rk` is a live client handle (consumer, producer or admin) for the duration of the call.
unsafe fn fetch_metadata(
    rk: *mut rdsys::rd_kafka_t,
    topic: Option<&CStr>,
    timeout_ms: c_int,
) -> NativeResult<MetadataInfo> {
    let handle = match topic {
        Some(name) => {
            // SAFETY: the live handle (caller's guarantee) and a NUL-terminated name; a new topic reference (or NULL
            // for a name librdkafka refuses), which `handle` owns.
            let handle = unsafe { NativePtr::from_ptr(rdsys::rd_kafka_topic_new(rk, name.as_ptr(), ptr::null_mut())) };
            let Some(handle) = handle else {
                let code = rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__INVALID_ARG as c_int;
                let detail = Some(format!("invalid topic name {name:?}"));
                return Err(KafkaErrorInfo::from_raw(code, "list_topics failed", detail));
            };
            Some(handle)
        }
        None => None,
    };
    let mut metadata = ptr::null();
    // SAFETY: the live handle (caller's guarantee), the topic reference (or NULL for all topics); on success
    // librdkafka gives us a metadata object that we read and destroy once.
    unsafe {
        let code = raw::rd_kafka_metadata(
            rk,
            c_int::from(topic.is_none()),
            handle.as_ref().map_or(ptr::null_mut(), NativePtr::ptr),
            &mut metadata,
            timeout_ms,
        );
        let result = check(code, "list_topics failed").and_then(|()| match metadata.is_null() {
            false => Ok(read_metadata(metadata)),
            true => Err(KafkaErrorInfo::from_raw(
                rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FAIL as c_int,
                "list_topics failed",
                None,
            )),
        });
        if !metadata.is_null() {
            rdsys::rd_kafka_metadata_destroy(metadata);
        }
        result
    }
}

/// Cluster metadata as plain data, decoded without trusting names to be UTF-8.
struct MetadataInfo {
    /// (id, host, port)
    brokers: Vec<(i32, String, i32)>,
    topics: Vec<TopicMetadata>,
}

struct TopicMetadata {
    name: String,
    partitions: Vec<PartitionMetadata>,
}

struct PartitionMetadata {
    id: i32,
    leader: i32,
    replicas: Vec<i32>,
    isrs: Vec<i32>,
}

/// Pointers to `count` elements at `base` (NULL or a non-positive count: none). Raw pointers, not
/// references: librdkafka's structs have enum-typed error fields that may hold codes the Rust enum
/// lacks, so no reference to a whole struct is ever formed.
fn element_ptrs<T>(base: *const T, count: c_int) -> impl Iterator<Item = *const T> {
    let n = if base.is_null() { 0 } else { usize::try_from(count).unwrap_or(0) };
    // `wrapping_add`: computing the address is safe; reading it is up to the caller.
    (0..n).map(move |i| base.wrapping_add(i))
}

/// Copies librdkafka's metadata into Rust data.
///
/// # Safety
/// `metadata` points to a live result of rd_kafka_metadata, not yet destroyed.
unsafe fn read_metadata(metadata: *const rdsys::rd_kafka_metadata) -> MetadataInfo {
    // SAFETY: librdkafka's arrays (with their counts) and strings, valid while the metadata is
    // (caller's guarantee); every field is read through raw pointers, and none is an enum.
    unsafe {
        let ints = |base: *const i32, count: c_int| element_ptrs(base, count).map(|p| *p).collect::<Vec<i32>>();
        let brokers = element_ptrs((*metadata).brokers, (*metadata).broker_cnt)
            .map(|b| ((*b).id, raw::lossy((*b).host).unwrap_or_default(), (*b).port))
            .collect();
        let topics = element_ptrs((*metadata).topics, (*metadata).topic_cnt)
            .map(|t| TopicMetadata {
                name: raw::lossy((*t).topic).unwrap_or_default(),
                partitions: element_ptrs((*t).partitions, (*t).partition_cnt)
                    .map(|p| PartitionMetadata {
                        id: (*p).id,
                        leader: (*p).leader,
                        replicas: ints((*p).replicas, (*p).replica_cnt),
                        isrs: ints((*p).isrs, (*p).isr_cnt),
                    })
                    .collect(),
            })
            .collect();
        MetadataInfo { brokers, topics }
    }
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
