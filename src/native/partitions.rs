//! librdkafka's partition lists (`rd_kafka_topic_partition_list_t`, behind rdkafka's
//! `TopicPartitionList`) to and from ferrokafka's `TopicPartition`s, reading error codes as the
//! `int` they are and topic names without trusting them to be UTF-8.

use std::ffi::CStr;

use rdkafka::bindings as rdsys;
use rdkafka::{Offset, TopicPartitionList};

use crate::errors::{FerroError, FerroResult};
use crate::ffi::bytes_at;
use crate::topic_partition::{check_topic_name, TopicPartition};

/// Builds rdkafka's list from Python partitions.
pub fn to_list(partitions: &[TopicPartition]) -> FerroResult<TopicPartitionList> {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        // rdkafka's add_partition panics on a NUL, librdkafka crashes on very long names.
        check_topic_name(&tp.topic)?;
        let mut elem = list.add_partition(&tp.topic, tp.partition);
        elem.set_offset(Offset::from_raw(tp.offset)).map_err(FerroError::from)?;
        if let Some(metadata) = &tp.metadata {
            elem.set_metadata(metadata); // a fresh element: no earlier metadata to leak
        }
        if let Some(epoch) = tp.leader_epoch {
            // rdkafka's element has no setter for it: the element just added is the list's last.
            let last = list.count() - 1;
            // SAFETY: `list` owns a live rd_kafka_topic_partition_list_t whose `elems` holds `cnt`
            // initialised elements; add_partition appended one (so cnt >= 1) and `last` = cnt - 1
            // points to it. No Rust reference to it is used after `elem` above, and librdkafka's
            // setter writes only that element's own leader-epoch field.
            unsafe { rdsys::rd_kafka_topic_partition_set_leader_epoch((*list.ptr()).elems.add(last), epoch) };
        }
    }
    Ok(list)
}

/// Writes `offsets` into the first elements of `list`, in order, as they are: rdkafka's setter
/// refuses negative offsets it has no name for (ListOffsets' max_timestamp spec is -3).
pub fn write_raw_offsets(list: &mut TopicPartitionList, offsets: &[i64]) {
    // SAFETY: `list` owns a live partition list, borrowed mutably (no other reference to its
    // elements); its `elems` holds `cnt` initialised elements and only the first min(cnt,
    // offsets.len()) are written, each only in its `offset` field (a plain i64).
    unsafe {
        let native = list.ptr();
        let count = usize::try_from((*native).cnt).unwrap_or(0).min(offsets.len());
        for (i, &offset) in offsets.iter().enumerate().take(count) {
            (*(*native).elems.add(i)).offset = offset;
        }
    }
}

/// Reads rdkafka's list without trusting topic names to be UTF-8 (rdkafka's accessor would panic).
pub fn from_list(list: &TopicPartitionList) -> Vec<TopicPartition> {
    // SAFETY: `list.ptr()` is the live rd_kafka_topic_partition_list_t owned by `list`, which is
    // borrowed (so neither freed nor modified) for the duration of the call.
    unsafe { read_native_list(list.ptr()) }
}

/// Reads one element of a librdkafka partition list, with its commit metadata, leader epoch and
/// error code (`error_code`, 0 = none).
///
/// The error code is read as the plain `int` it is in C: brokers may send codes that librdkafka
/// passes through but rdkafka-sys's Rust enum has no variant for, and such a value must never be
/// materialised as that enum. The topic name is decoded lossily, so nothing here can panic.
///
/// # Safety
/// `elem` points to an initialised `rd_kafka_topic_partition_t` whose `topic` is NULL or a
/// NUL-terminated string, both valid (not freed or modified) for the duration of the call.
pub unsafe fn read_native_partition(elem: *const rdsys::rd_kafka_topic_partition_t) -> TopicPartition {
    // SAFETY: the caller guarantees `elem` and its `topic` string are valid for this call. Fields are
    // read through the raw pointer one by one, so no reference to the whole struct (with its
    // enum-typed `err` field) is formed; `err` is read as the i32 that its #[repr(i32)] enum type
    // occupies, which every bit pattern is valid for.
    unsafe {
        let topic = (*elem).topic;
        let topic = if topic.is_null() { String::new() } else { CStr::from_ptr(topic).to_string_lossy().into_owned() };
        let err = std::ptr::addr_of!((*elem).err).cast::<i32>().read();
        let metadata =
            bytes_at((*elem).metadata, (*elem).metadata_size).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
        let epoch = rdsys::rd_kafka_topic_partition_get_leader_epoch(elem);
        TopicPartition {
            metadata,
            leader_epoch: (epoch >= 0).then_some(epoch),
            error_code: err,
            ..TopicPartition::new(topic, (*elem).partition, (*elem).offset)
        }
    }
}

/// Reads every element of a librdkafka partition list (see [`read_native_partition`]).
///
/// # Safety
/// `list` is NULL (read as empty) or points to a valid `rd_kafka_topic_partition_list_t` whose
/// `elems` holds `cnt` initialised entries, not freed or modified for the duration of the call.
pub unsafe fn read_native_list(list: *const rdsys::rd_kafka_topic_partition_list_t) -> Vec<TopicPartition> {
    // SAFETY: the caller guarantees `list` is NULL or valid with `cnt` initialised `elems` for this
    // call, so every `elems.add(i)` with i < cnt points to an initialised element.
    unsafe {
        if list.is_null() || (*list).elems.is_null() {
            return Vec::new();
        }
        let count = usize::try_from((*list).cnt).unwrap_or(0);
        (0..count).map(|i| read_native_partition((*list).elems.add(i))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_partition::OFFSET_BEGINNING;

    #[test]
    fn round_trips_through_rdkafka_lists() {
        let parts = vec![TopicPartition::new("a".into(), 0, 5), TopicPartition::new("b".into(), 2, OFFSET_BEGINNING)];
        assert_eq!(from_list(&to_list(&parts).unwrap()), parts);
    }

    #[test]
    fn nul_in_a_topic_name_is_an_error_not_a_panic() {
        let parts = vec![TopicPartition::new("a\0b".into(), 0, 0)];
        assert!(matches!(to_list(&parts), Err(FerroError::Value(_))));
    }
}
