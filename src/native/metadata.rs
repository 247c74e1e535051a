//! Cluster metadata read from librdkafka (`rd_kafka_metadata`, `rd_kafka_clusterid`) through a
//! client's live handle, into plain Rust data (cluster_metadata.rs makes the Python values).

use std::ffi::{c_int, CStr};
use std::ptr;

use rdkafka::bindings as rdsys;

use crate::errors::{check, KafkaErrorInfo, NativeResult};
use crate::ffi::{self as raw, LiveHandle, NativePtr};

/// The cluster's id, as the brokers' metadata gives it, waiting up to `timeout_ms` for the first
/// metadata; `_TIMED_OUT` if none came (or the cluster has no id).
pub fn cluster_id(handle: &LiveHandle, timeout_ms: c_int) -> NativeResult<String> {
    let rk = handle.ptr();
    // SAFETY: a live handle (`handle` keeps it alive); the string librdkafka returns is ours, read
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
pub fn fetch(handle: &LiveHandle, topic: Option<&CStr>, timeout_ms: c_int) -> NativeResult<MetadataInfo> {
    let rk = handle.ptr();
    let handle = match topic {
        Some(name) => {
            // SAFETY: the live handle (`handle` keeps it alive) and a NUL-terminated name; a new topic reference (or NULL
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
    // SAFETY: the live handle (`handle` keeps it alive), the topic reference (or NULL for all topics); on success
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
pub struct MetadataInfo {
    /// (id, host, port)
    pub brokers: Vec<(i32, String, i32)>,
    pub topics: Vec<TopicMetadata>,
}

pub struct TopicMetadata {
    pub name: String,
    pub partitions: Vec<PartitionMetadata>,
}

pub struct PartitionMetadata {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isrs: Vec<i32>,
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
