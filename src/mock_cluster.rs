//! `MockCluster`: librdkafka's in-process mock Kafka cluster, for tests and demos without a broker.
//!
//! Like rdkafka's `mocking::MockCluster`, but keeping the raw handle so that every fault-injection
//! knob librdkafka has (request errors by API key number, group rebalance delay) is reachable.

#![forbid(unsafe_code)]

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::types::RDKafkaRespErr;

use crate::args::Int;
use crate::errors::{FerroError, FerroResult};
use crate::native::mock::NativeMockCluster;
use crate::topic_partition::topic_cstring;

/// The most brokers a mock cluster may have (each is a thread and a listening socket).
const MAX_BROKERS: i32 = 100;

/// librdkafka's `RD_KAFKAP__NUM` (rdkafka_protocol.h, 74 in 2.12; rdkafka-sys does not export it):
/// the mock cluster keeps per-key arrays of this size, so a larger key would write out of bounds.
const KNOWN_API_KEYS: i16 = 74;

/// A Kafka API key the mock cluster knows: 0 to [`KNOWN_API_KEYS`] - 1.
fn api_key_arg(Int(api_key): Int<i16>) -> FerroResult<i16> {
    let known = KNOWN_API_KEYS;
    if (0..known).contains(&api_key) {
        Ok(api_key)
    } else {
        Err(FerroError::Value(format!("api_key must be a Kafka API key, 0 to {}, not {api_key}", known - 1)))
    }
}

fn resp_err(code: i32) -> FerroResult<RDKafkaRespErr> {
    RDKafkaRespErr::try_from(code).map_err(|_| FerroError::Value(format!("unknown Kafka error code {code}")))
}

/// librdkafka's mock Kafka cluster, running in this process.
#[pyclass(frozen, module = "ferrokafka")]
pub struct MockCluster {
    native: Mutex<Option<std::sync::Arc<NativeMockCluster>>>,
    born: crate::fork::Born,
    #[pyo3(get)]
    num_brokers: i32,
}

impl MockCluster {
    fn native(&self) -> FerroResult<std::sync::Arc<NativeMockCluster>> {
        self.born.check("mock cluster")?;
        self.native.lock().clone().ok_or(FerroError::Closed("mock cluster"))
    }

    fn broker(&self, broker_id: i32) -> FerroResult<std::sync::Arc<NativeMockCluster>> {
        if broker_id < 1 || broker_id > self.num_brokers {
            return Err(FerroError::Value(format!("broker ids are 1..={}, not {broker_id}", self.num_brokers)));
        }
        self.native()
    }
}

#[pymethods]
impl MockCluster {
    /// Starts `num_brokers` mock brokers on 127.0.0.1. `group_rebalance_delay_ms` is the consumer
    /// group's initial rebalance delay (librdkafka's default is 3000 ms; 0 keeps tests fast).
    #[new]
    #[pyo3(signature = (num_brokers=Int(1), *, group_rebalance_delay_ms=Int(0)), text_signature = "(num_brokers=1, *, group_rebalance_delay_ms=0)")]
    fn py_new(py: Python<'_>, num_brokers: Int<i32>, group_rebalance_delay_ms: Int<i32>) -> PyResult<Self> {
        let (Int(num_brokers), Int(group_rebalance_delay_ms)) = (num_brokers, group_rebalance_delay_ms);
        if !(1..=MAX_BROKERS).contains(&num_brokers) {
            return Err(FerroError::Value(format!("num_brokers must be 1 to {MAX_BROKERS}, not {num_brokers}")).into());
        }
        if group_rebalance_delay_ms < 0 {
            return Err(FerroError::Value(format!(
                "group_rebalance_delay_ms must not be negative, not {group_rebalance_delay_ms}"
            ))
            .into());
        }
        let native = py.detach(|| NativeMockCluster::new(num_brokers))?;
        native.set_initial_rebalance_delay(group_rebalance_delay_ms);
        Ok(MockCluster {
            native: Mutex::new(Some(std::sync::Arc::new(native))),
            num_brokers,
            born: crate::fork::Born::here(),
        })
    }

    /// The `bootstrap.servers` value for clients of this cluster.
    #[getter]
    fn bootstrap_servers(&self) -> PyResult<String> {
        Ok(self.native()?.bootstraps())
    }

    /// Creates a topic of `partitions` (1 to 10,000) partitions with `replication_factor` replicas
    /// (1 to the number of brokers); out-of-range values raise `ValueError` (librdkafka would abort).
    #[pyo3(signature = (name, partitions=1, replication_factor=1))]
    fn create_topic(&self, py: Python<'_>, name: &str, partitions: i64, replication_factor: i64) -> PyResult<()> {
        const MAX_PARTITIONS: i64 = 10_000;
        if !(1..=MAX_PARTITIONS).contains(&partitions) {
            return Err(FerroError::Value(format!("partitions must be 1 to {MAX_PARTITIONS}, not {partitions}")).into());
        }
        if !(1..=i64::from(self.num_brokers)).contains(&replication_factor) {
            return Err(FerroError::Value(format!(
                "replication_factor must be 1 to {} (the brokers), not {replication_factor}",
                self.num_brokers
            ))
            .into());
        }
        let (partitions, replication_factor) = (partitions as i32, replication_factor as i32);
        let native = self.native()?;
        let name = topic_cstring(name)?;
        Ok(py.detach(|| native.create_topic(&name, partitions, replication_factor))?)
    }

    /// Takes a broker down: its connections are closed and new ones refused.
    fn broker_down(&self, py: Python<'_>, broker_id: Int<i32>) -> PyResult<()> {
        let Int(broker_id) = broker_id;
        let native = self.broker(broker_id)?;
        Ok(py.detach(|| native.set_broker_up(broker_id, false))?)
    }

    fn broker_up(&self, py: Python<'_>, broker_id: Int<i32>) -> PyResult<()> {
        let Int(broker_id) = broker_id;
        let native = self.broker(broker_id)?;
        Ok(py.detach(|| native.set_broker_up(broker_id, true))?)
    }

    /// Makes the next requests with Kafka API key `api_key` (e.g. 0 = Produce, 1 = Fetch) fail, one
    /// per entry of `errors` (Kafka error codes, e.g. `KafkaError.NOT_LEADER_FOR_PARTITION`).
    fn inject_request_errors(&self, py: Python<'_>, api_key: Int<i16>, errors: Vec<Int<i32>>) -> PyResult<()> {
        let api_key = api_key_arg(api_key)?;
        let native = self.native()?;
        let errors = errors.into_iter().map(|Int(code)| resp_err(code)).collect::<FerroResult<Vec<_>>>()?;
        py.detach(|| native.push_request_errors(api_key, &errors));
        Ok(())
    }

    /// Forgets errors injected for `api_key` that have not fired yet.
    fn clear_request_errors(&self, py: Python<'_>, api_key: Int<i16>) -> PyResult<()> {
        let api_key = api_key_arg(api_key)?;
        let native = self.native()?;
        py.detach(|| native.clear_request_errors(api_key));
        Ok(())
    }

    /// Stops the brokers. Idempotent; clients still connected see their connections refused.
    fn close(&self, py: Python<'_>) {
        let native = self.native.lock().take();
        if let Some(native) = native {
            if self.born.inherited() {
                std::mem::forget(native); // see fork.rs
                return;
            }
            py.detach(|| drop(native));
        }
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        match self.native() {
            Ok(_) => format!("<MockCluster {} brokers>", self.num_brokers),
            Err(_) => "<MockCluster closed>".to_owned(),
        }
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        if let Some(native) = self.native.get_mut().take() {
            crate::handle_slot::Teardown::default().destroy(native, "mock-cluster", self.born);
        }
    }
}
