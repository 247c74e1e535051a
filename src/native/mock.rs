//! librdkafka's mock cluster (`rd_kafka_mock_*`): made on a client that hosts it, and its
//! fault-injection calls, each safe on a live cluster. The Python class is `crate::mock_cluster`.

use std::ffi::{CStr, CString};

use rdkafka::bindings as rdsys;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer as _};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::ClientConfig;

use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};

/// The mock cluster and the client that hosts it; the cluster is destroyed first.
pub struct NativeMockCluster {
    cluster: *mut rdsys::rd_kafka_mock_cluster_t,
    _host: BaseProducer<DefaultProducerContext>,
}

// SAFETY: librdkafka's mock cluster API is thread-safe: every rd_kafka_mock_* call enqueues an
// operation to the cluster's own thread and waits for it. The pointer is owned by this struct alone.
unsafe impl Send for NativeMockCluster {}
// SAFETY: see Send; no method mutates Rust-side state.
unsafe impl Sync for NativeMockCluster {}

fn check(err: RDKafkaRespErr, what: &str) -> FerroResult<()> {
    if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
        Ok(())
    } else {
        Err(FerroError::Kafka(KafkaErrorInfo::from_code(err.into(), what)))
    }
}

impl NativeMockCluster {
    /// A cluster of `num_brokers` brokers (checked by the caller: librdkafka aborts on some values).
    pub fn new(num_brokers: i32) -> FerroResult<Self> {
        let host: BaseProducer<DefaultProducerContext> = ClientConfig::new().create()?;
        // SAFETY: the host handle is live; librdkafka returns a new cluster or null.
        let cluster = unsafe { rdsys::rd_kafka_mock_cluster_new(host.client().native_ptr(), num_brokers) };
        if cluster.is_null() {
            return Err(FerroError::Value(format!("could not create a mock cluster with {num_brokers} brokers")));
        }
        Ok(NativeMockCluster { cluster, _host: host })
    }

    /// The consumer groups' initial rebalance delay (not negative: checked by the caller).
    pub fn set_initial_rebalance_delay(&self, delay_ms: i32) {
        // SAFETY: the cluster is live while `self` is.
        unsafe { rdsys::rd_kafka_mock_group_initial_rebalance_delay_ms(self.cluster, delay_ms) };
    }

    /// The cluster's bootstrap servers.
    pub fn bootstraps(&self) -> String {
        // SAFETY: a live cluster; the string belongs to it and is copied at once.
        let servers = unsafe { CStr::from_ptr(rdsys::rd_kafka_mock_cluster_bootstraps(self.cluster)) };
        servers.to_string_lossy().into_owned()
    }

    /// Creates a topic (arguments range-checked by the caller: librdkafka aborts on some values).
    pub fn create_topic(&self, name: &CString, partitions: i32, replication_factor: i32) -> FerroResult<()> {
        // SAFETY: a live cluster; librdkafka copies the name.
        let err =
            unsafe { rdsys::rd_kafka_mock_topic_create(self.cluster, name.as_ptr(), partitions, replication_factor) };
        check(err, "create_topic failed")
    }

    /// Takes broker `broker_id` (range-checked by the caller) down, or up again.
    pub fn set_broker_up(&self, broker_id: i32, up: bool) -> FerroResult<()> {
        // SAFETY: a live cluster.
        let err = unsafe {
            if up {
                rdsys::rd_kafka_mock_broker_set_up(self.cluster, broker_id)
            } else {
                rdsys::rd_kafka_mock_broker_set_down(self.cluster, broker_id)
            }
        };
        check(err, if up { "broker_up failed" } else { "broker_down failed" })
    }

    /// Makes the next requests with API key `api_key` fail, one per error.
    pub fn push_request_errors(&self, api_key: i16, errors: &[RDKafkaRespErr]) {
        // SAFETY: a live cluster; `errors` holds `len` codes, which librdkafka copies.
        unsafe { rdsys::rd_kafka_mock_push_request_errors_array(self.cluster, api_key, errors.len(), errors.as_ptr()) }
    }

    /// Forgets injected errors for `api_key` that have not fired yet.
    pub fn clear_request_errors(&self, api_key: i16) {
        // SAFETY: a live cluster.
        unsafe { rdsys::rd_kafka_mock_clear_request_errors(self.cluster, api_key) }
    }
}

impl Drop for NativeMockCluster {
    fn drop(&mut self) {
        // SAFETY: the cluster pointer is valid and destroyed exactly once, before its host client.
        unsafe { rdsys::rd_kafka_mock_cluster_destroy(self.cluster) }
    }
}
