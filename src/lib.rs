//! ferrokafka's native module, `ferrokafka._native`. Each Python-visible concept lives in its own
//! module; this file only declares the modules and lists what Python sees.

mod admin;
mod args;
mod blocking;
mod callbacks;
mod cluster_metadata;
mod config;
mod config_properties;
mod consumer;
mod errors;
mod ffi;
mod flagged;
mod fork;
mod handle_slot;
mod interpreter;
mod librdkafka_fixes;
mod message;
mod mock_cluster;
mod native;
mod oauth;
mod platform;
mod producer;
mod sequence_iter;
mod topic_partition;

use pyo3::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Native messages alive in this process, over all consumers. A test hook for leak checks.
#[pyfunction]
fn _live_native_messages() -> usize {
    consumer::registry::LIVE_NATIVE_MESSAGES.load(std::sync::atomic::Ordering::Relaxed)
}

/// librdkafka's description of an error code ("Err-<code>?" for a code it does not know), for
/// `ferrokafka.confluent.KafkaError.str()`.
#[pyfunction]
fn _error_description(code: i32) -> String {
    ffi::error_description(code)
}

/// `ferrokafka._native`: every class it exports, by the module that defines it, then the
/// constants and the exceptions (defined in Python, `ferrokafka/_errors.py`).
#[pymodule]
mod _native {
    #[pymodule_export]
    use super::_error_description;
    #[pymodule_export]
    use super::_live_native_messages;
    #[pymodule_export]
    use crate::admin::{
        AclBinding, AclBindingFilter, AdminClient, ConfigEntry, ConsumerGroupListing, DescribeClusterResult,
        ListConsumerGroupsResult, ListOffsetsResultInfo, NewTopic, Node, OffsetSpec, ScramCredentialInfo,
        TopicDescription, TopicPartitionInfo, UserScramCredentialDeletion, UserScramCredentialUpsertion,
        UserScramCredentialsDescription,
    };
    #[pymodule_export]
    use crate::callbacks::ThrottleEvent;
    #[pymodule_export]
    use crate::consumer::dropin::{DropInMessage, DropInPoll};
    #[pymodule_export]
    use crate::consumer::{Consumer, ConsumerGroupMetadata, LoopRequest};
    #[pymodule_export]
    use crate::message::{BorrowedMessage, MessageBatch, OwnedMessage, TimestampType};
    #[pymodule_export]
    use crate::mock_cluster::MockCluster;
    #[pymodule_export]
    use crate::producer::{DeliveryReport, DeliveryResults, DeliveryState, DropInProduce, LoopDeliveries, Producer};
    #[pymodule_export]
    use crate::topic_partition::TopicPartition;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let (linked, name) = rdkafka::util::get_rdkafka_version();
        crate::librdkafka_fixes::check_linked_version(linked, &name)
            .map_err(pyo3::exceptions::PyImportError::new_err)?;
        crate::fork::install();
        crate::interpreter::install(m)?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("librdkafka_version", rdkafka::util::get_rdkafka_version().1)?;
        crate::topic_partition::add_constants(m)?;
        crate::errors::add_exceptions(m)
    }
}
