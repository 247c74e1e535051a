//! `AdminClient`: topics, partitions, configs, consumer groups and offsets, with one
//! `concurrent.futures.Future` per call that resolves to plain Python values.
//!
//! # How a call runs
//! Arguments are converted and validated on the caller's thread, so mistakes raise at once. The
//! request is then sent to librdkafka on the caller's thread too, before the method returns: calls
//! made one after the other reach librdkafka, and the broker, in that order (confluent-kafka's
//! `delete_records` then `list_offsets`, not waited for in between, must list the offsets after the
//! deletion). The client's one event thread (events.rs) receives each result and reads it into
//! plain values without the GIL; a short-lived thread attaches to Python to resolve the call's
//! future with them (its done-callbacks run there, and may wait for other admin calls: request.rs).
//!
//! Every request goes through librdkafka's C API (`native::admin`), on the client's own handle
//! (`native::admin::NativeAdmin`, made as the consumer's is: the user's configuration with the
//! throttle callback set on it). The calls that mirror confluent-kafka's (and their result classes,
//! named as its) live in a module per concept: cluster.rs (describe_cluster, describe_topics),
//! groups.rs (list_consumer_groups), configs.rs (ConfigEntry), offsets.rs (OffsetSpec), acls.rs,
//! scram.rs and elect.rs; the methods below only check arguments and send them.
//!
//! # Lifetimes
//! Every request waiting for its result holds an `Arc<AdminCore>`, so the native client outlives
//! every request in flight: `close()` drops only the Python object's reference, and the client is
//! destroyed, on a background thread, when the last result has been read. librdkafka requires every
//! object made from a client (queues, events) to be destroyed before the client; each result event
//! is destroyed before its call lets go of its `Arc`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyMapping;
use rdkafka::bindings as rdsys;
use rdkafka::TopicPartitionList;

use crate::args::Seconds;
use crate::callbacks::{ClientCallbacks, Setting};
use crate::config::{client_config, config_dict};
use crate::errors::{FerroError, FerroResult};
use crate::interpreter::future_type;
use crate::native::partitions::to_list;
use crate::topic_partition::{check_topic_name, first_partition_error, partitions_arg, TopicPartition};

mod acls;
mod args;
mod cluster;
mod configs;
mod elect;
mod events;
mod groups;
mod new_topic;
mod offsets;
mod request;
mod results;
mod scram;

pub use self::acls::{AclBinding, AclBindingFilter};
use self::args::{c_names, c_string, mapping_arg, non_empty, resource_arg, timeout_arg, topic_names};
pub use self::cluster::{DescribeClusterResult, Node, TopicDescription, TopicPartitionInfo};
pub use self::configs::ConfigEntry;
use self::events::EventServer;
pub use self::groups::{ConsumerGroupListing, ListConsumerGroupsResult};
use self::new_topic::check_assignment;
pub use self::new_topic::NewTopic;
pub use self::offsets::{ListOffsetsResultInfo, OffsetSpec};
use self::request::{first_error, local_error, AdminContext, AdminCore, Call, Request};
use self::results::{resolve, Done};
pub use self::scram::{
    ScramCredentialInfo, UserScramCredentialDeletion, UserScramCredentialUpsertion, UserScramCredentialsDescription,
};
use crate::native::results::{self as native, TopicResults};

/// librdkafka's default admin request timeout is `socket.timeout.ms`, whose default this is.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest request and operation timeout librdkafka accepts.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// How much longer than the broker-side operation timeout the request as a whole may take.
const REQUEST_MARGIN: Duration = Duration::from_secs(5);
/// How long past its request timeout the event thread waits for a request's result before giving
/// up. librdkafka always emits a result (a timeout error at worst) by the request timeout; this only
/// guarantees that the future resolves even if that promise were broken.
const RESULT_MARGIN: Duration = Duration::from_secs(10);
/// librdkafka's limits (RD_KAFKAP_PARTITIONS_MAX, RD_KAFKAP_BROKERS_MAX).
const MAX_PARTITIONS: i64 = 100_000;
const MAX_REPLICATION_FACTOR: i32 = 10_000;

/// librdkafka's admin client. Every method returns a `concurrent.futures.Future`.
#[pyclass(frozen, weakref, module = "ferrokafka")]
pub struct AdminClient {
    /// `None` once closed. Running calls hold their own clones.
    core: Mutex<Option<Arc<AdminCore>>>,
}

impl AdminClient {
    fn open_core(&self) -> FerroResult<Arc<AdminCore>> {
        let core = self.core.lock().clone().ok_or(FerroError::Closed("admin client"))?;
        core.born.check("admin client")?;
        Ok(core)
    }

    /// Makes a call: `work` sends its request (on this thread) with the [`Call`] it is given, whose
    /// future this returns; an error before the request was sent resolves the future at once.
    fn submit<'py>(
        &self,
        py: Python<'py>,
        work: impl FnOnce(Call<'_>) -> FerroResult<()>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.open_core()?;
        let future = future_type(py)?.call0()?;
        // A request cannot be taken back once sent: its future is running and cannot be cancelled.
        future.call_method0("set_running_or_notify_cancel")?;
        let call = Call { core: &core, future: future.clone().unbind() };
        if let Err(err) = work(call) {
            resolve(py, &future, Err::<Done, _>(err));
        }
        Ok(future)
    }
}

/// Sends DescribeConfigs for one resource; `read` gets the entries of the result.
fn describe_config_resource<T>(
    call: Call<'_>,
    restype: rdsys::rd_kafka_ResourceType_t,
    name: &CString,
    context: String,
    read: impl FnOnce(Vec<native::ConfigEntryData>) -> T + Send + 'static,
) -> FerroResult<()>
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    let resource = crate::native::admin::config_resource(restype, name)
        .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, &context.clone()),
        |admin, options| admin.describe_configs(&resource, options),
        move |event| Ok(read(native::described_configs(event, &context)?)),
    )
}

#[pymethods]
impl AdminClient {
    #[new]
    fn py_new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (config, settings) = client_config(&config_dict(config)?)?;
        settings
            .allow_only("admin client", &[Setting::OAuthCb, Setting::ErrorCb, Setting::Logger, Setting::ThrottleCb])?;
        let first_token = crate::oauth::first_token(py, &config, &settings)?;
        let request_timeout = config
            .get("socket.timeout.ms")
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_millis);
        // Client errors reach the main queue as events only when enabled (rdkafka enables them for
        // its producer and consumer, not its admin client); else librdkafka only logs them.
        let mut config = config;
        let events: i32 = config.get("enabled_events").and_then(|e| e.trim().parse().ok()).unwrap_or(0);
        config.set("enabled_events", (events | rdsys::RD_KAFKA_EVENT_ERROR).to_string());
        let callbacks = Arc::new(ClientCallbacks::new(settings, &config));
        let context = AdminContext { callbacks: callbacks.clone() };
        let client = crate::native::admin::NativeAdmin::new(&config, context, callbacks.wants_throttle())
            .map_err(FerroError::from)?;
        let requests = Arc::new(request::Requests::default());
        let events = EventServer::start(client.client(), callbacks.clone(), requests.clone())
            .map_err(|err| local_error("could not start the admin client", &err.to_string()))?;
        let core = Arc::new(AdminCore {
            client: crate::handle_slot::HandOff::new(client),
            request_timeout,
            born: crate::fork::Born::here(),
            callbacks,
            requests,
            events: Some(events),
            teardown: crate::handle_slot::Teardown::default(),
        });
        if let Some(token) = first_token {
            crate::oauth::start(&core, token)?;
        }
        Ok(AdminClient { core: Mutex::new(Some(core)) })
    }

    /// Creates topics. Resolves to None, or raises the KafkaError of the first topic that failed
    /// (the others may have been created). `operation_timeout`: how long the broker waits for the
    /// creation to complete before answering (None: librdkafka's default, `socket.timeout.ms`).
    /// `validate_only=True`: the broker only checks the request (nothing is created).
    #[pyo3(signature = (topics, *, operation_timeout=None, validate_only=false))]
    fn create_topics<'py>(
        &self,
        py: Python<'py>,
        topics: Vec<PyRef<'py, NewTopic>>,
        operation_timeout: Option<Seconds>,
        validate_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let topics: Vec<NewTopic> = non_empty(topics, "the list of topics")?.iter().map(|t| (**t).clone()).collect();
        let operation_timeout = timeout_arg(operation_timeout, "operation_timeout")?;
        self.submit(py, move |call| {
            let context = "could not create topics";
            let natives = topics.iter().map(NewTopic::native).collect::<FerroResult<Vec<_>>>()?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATETOPICS, context)
                    .operation(operation_timeout, validate_only)
                    .code_only(),
                |admin, options| admin.create_topics(&natives, options),
                move |event| {
                    first_error(native::topic_errors(event, TopicResults::Created, context)?, "could not create topic")
                },
            )
        })
    }

    /// Deletes topics. Resolves to None, or raises the KafkaError of the first that failed.
    #[pyo3(signature = (names, *, operation_timeout=None))]
    fn delete_topics<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        operation_timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, PyAny>> {
        topic_names(&names)?;
        let operation_timeout = timeout_arg(operation_timeout, "operation_timeout")?;
        self.submit(py, move |call| {
            let context = "could not delete topics";
            let natives = names
                .iter()
                .map(|name| {
                    crate::native::admin::delete_topic(&c_string(name, "topic name")?)
                        .ok_or_else(|| local_error(context, "librdkafka could not allocate the request"))
                })
                .collect::<FerroResult<Vec<_>>>()?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETETOPICS, context)
                    .operation(operation_timeout, false)
                    .code_only(),
                |admin, options| admin.delete_topics(&natives, options),
                move |event| {
                    first_error(native::topic_errors(event, TopicResults::Deleted, context)?, "could not delete topic")
                },
            )
        })
    }

    /// Grows `topic` to `new_total_count` partitions. Resolves to None. `validate_only=True`: the
    /// broker only checks the request. `replica_assignment`: the broker ids of each new
    /// partition's replicas.
    #[pyo3(signature = (topic, new_total_count, *, operation_timeout=None, validate_only=false, replica_assignment=None))]
    fn create_partitions<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        new_total_count: i64,
        operation_timeout: Option<Seconds>,
        validate_only: bool,
        replica_assignment: Option<Vec<Vec<i32>>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_topic_name(&topic)?;
        if !(1..=MAX_PARTITIONS).contains(&new_total_count) {
            return Err(FerroError::Value(format!(
                "new_total_count must be 1 to {MAX_PARTITIONS}, not {new_total_count}"
            ))
            .into());
        }
        let count = new_total_count as usize; // 1..=100_000: fits.
        if let Some(assignment) = &replica_assignment {
            check_assignment(assignment, 1, count, "new_total_count - existing partition count")?;
        }
        let operation_timeout = timeout_arg(operation_timeout, "operation_timeout")?;
        self.submit(py, move |call| {
            let context = format!("could not create partitions for topic {topic:?}");
            let request = crate::native::admin::new_partitions(
                &c_string(&topic, "topic name")?,
                count,
                replica_assignment.as_deref(),
            )
            .map_err(FerroError::Value)?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, &context.clone())
                    .operation(operation_timeout, validate_only)
                    .code_only(),
                |admin, options| admin.create_partitions(&request, options),
                move |event| {
                    first_error(
                        native::topic_errors(event, TopicResults::Partitions, &context)?,
                        "could not create partitions for topic",
                    )
                },
            )
        })
    }

    /// The current configuration of a topic (`resource_type="topic"`, `name` its name) or broker
    /// (`"broker"`, `name` its numeric id), as {name: value}. Entries without a value (sensitive
    /// ones, among others) are left out. With `detailed=True`: {name: ConfigEntry} of every entry,
    /// with its source, flags and synonyms (confluent-kafka's ConfigEntry).
    #[pyo3(signature = (resource_type, name, *, detailed=false))]
    fn describe_configs<'py>(
        &self,
        py: Python<'py>,
        resource_type: &str,
        name: &str,
        detailed: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = format!("could not describe the configuration of {resource_type} {name:?}");
        let (restype, name) = resource_arg(resource_type, name)?;
        if detailed {
            return self.submit(py, move |call| {
                describe_config_resource(call, restype, &name, context, configs::detailed_entries)
            });
        }
        self.submit(py, move |call| describe_config_resource(call, restype, &name, context, configs::config_entries))
    }

    /// Sets configuration entries of a topic or broker (see describe_configs) with
    /// IncrementalAlterConfigs: entries not named keep their values; a value of None reverts that
    /// entry to its default. Resolves to None.
    fn alter_configs<'py>(
        &self,
        py: Python<'py>,
        resource_type: &str,
        name: &str,
        config: &Bound<'py, PyMapping>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = format!("could not alter the configuration of {resource_type} {name:?}");
        let (restype, name) = resource_arg(resource_type, name)?;
        let config: BTreeMap<String, Option<String>> = mapping_arg(config)?.into_iter().collect();
        if config.is_empty() {
            return Err(FerroError::Value("config must not be empty".into()).into());
        }
        let config = config
            .into_iter()
            .map(|(key, value)| {
                Ok((c_string(&key, "config key")?, value.map(|v| c_string(&v, "config value")).transpose()?))
            })
            .collect::<FerroResult<Vec<(CString, Option<CString>)>>>()?;
        self.submit(py, move |call| {
            let resource = crate::native::admin::config_resource(restype, &name)
                .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            for (key, value) in &config {
                if let Some(err) =
                    crate::native::admin::add_incremental_config(&resource, key, value.as_deref(), &context)
                {
                    return Err(FerroError::Kafka(err));
                }
            }
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS, &context.clone()),
                |admin, options| admin.incremental_alter_configs(&resource, options),
                move |event| {
                    native::altered_configs(event, &context)?;
                    Ok(Done)
                },
            )
        })
    }

    /// The ids of the consumer groups in the cluster, sorted, each once. Raises the first error if some
    /// broker could not be asked (a partial list would look complete).
    fn list_groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let context = "could not list consumer groups";
        self.submit(py, move |call| {
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, context),
                |admin, options| admin.list_consumer_groups(options),
                move |event| {
                    if let Some(err) = native::listed_group_errors(event, context)?.into_iter().next() {
                        return Err(FerroError::Kafka(err));
                    }
                    let groups = native::listed_groups(event, context)?
                        .into_iter()
                        .filter_map(|listing| listing.group_id)
                        .collect();
                    Ok(crate::admin::groups::sorted_ids_once(groups))
                },
            )
        })
    }

    /// Describes consumer groups: {group_id: {"state", "type", "protocol" (the partition
    /// assignor), "members": [{"member_id", "client_id", "host", "group_instance_id"}]}}. Raises
    /// the error of the first group that could not be described.
    fn describe_groups<'py>(&self, py: Python<'py>, group_ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let ids = c_names(group_ids, "group id")?;
        let context = "could not describe consumer group";
        self.submit(py, move |call| {
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, context),
                |admin, options| admin.describe_consumer_groups(&ids, options),
                move |event| native::described_groups(event, context),
            )
        })
    }

    /// Deletes consumer groups (they must have no active members). Resolves to None, or raises the
    /// KafkaError of the first group that failed.
    fn delete_groups<'py>(&self, py: Python<'py>, group_ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let names = c_names(group_ids, "group id")?;
        self.submit(py, move |call| {
            let context = "could not delete consumer groups";
            let natives = names
                .iter()
                .map(|name| {
                    crate::native::admin::delete_group(name)
                        .ok_or_else(|| local_error(context, "librdkafka could not allocate the request"))
                })
                .collect::<FerroResult<Vec<_>>>()?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEGROUPS, context).code_only(),
                |admin, options| admin.delete_groups(&natives, options),
                move |event| first_error(native::group_errors(event, context)?, "could not delete consumer group"),
            )
        })
    }

    /// The committed offsets of a consumer group: of `partitions` (their offsets are ignored), or
    /// of every partition it committed to if None. Resolves to a list of TopicPartition sorted by
    /// topic and partition; a partition without a committed offset has offset OFFSET_INVALID.
    #[pyo3(signature = (group_id, partitions=None))]
    fn list_consumer_group_offsets<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        partitions: Option<Vec<PyRef<'py, TopicPartition>>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let group = c_names(vec![group_id.clone()], "group id")?.remove(0);
        let list: Option<TopicPartitionList> = match partitions {
            None => None,
            Some(partitions) => Some(to_list(&non_empty(partitions_arg(partitions), "partitions")?)?),
        };
        let context = format!("could not list the offsets of consumer group {group_id:?}");
        self.submit(py, move |call| {
            let request = crate::native::admin::list_group_offsets(&group, list.as_ref())
                .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, &context.clone()),
                |admin, options| admin.list_group_offsets(&request, options),
                move |event| native::group_offsets(event, native::GroupOffsets::List, &context),
            )
        })
    }

    /// Sets the committed offsets of a consumer group (which must have no active members) to the
    /// offsets of `offsets`. Resolves to None, or raises the first error.
    fn alter_consumer_group_offsets<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        offsets: Vec<PyRef<'py, TopicPartition>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let group = c_names(vec![group_id.clone()], "group id")?.remove(0);
        let list = to_list(&non_empty(partitions_arg(offsets), "offsets")?)?;
        let context = format!("could not alter the offsets of consumer group {group_id:?}");
        self.submit(py, move |call| {
            let request = crate::native::admin::alter_group_offsets(&group, &list)
                .ok_or_else(|| local_error(&context, "librdkafka could not allocate the request"))?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, &context.clone()),
                |admin, options| admin.alter_group_offsets(&request, options),
                move |event| native::group_offsets(event, native::GroupOffsets::Alter, &context).map(|_| Done),
            )
        })
    }

    /// Offsets by spec: `"earliest"`, `"latest"` (the next offset to be written),
    /// `"max_timestamp"` or an `OffsetSpec` (`OffsetSpec.for_timestamp(ms)`, ...). With a list of
    /// partitions (their offsets are ignored) and one `spec`: resolves to a list of
    /// TopicPartition with those offsets, sorted. With a dict {TopicPartition: OffsetSpec}
    /// (confluent-kafka's form): resolves to {TopicPartition: ListOffsetsResultInfo} (offset,
    /// timestamp, leader_epoch), keyed by the partitions given.
    #[pyo3(signature = (partitions, spec=None))]
    fn list_offsets<'py>(
        &self,
        py: Python<'py>,
        partitions: &Bound<'py, PyAny>,
        spec: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = "could not list offsets";
        if let Ok(mapping) = partitions.cast::<pyo3::types::PyDict>() {
            if spec.is_some_and(|spec| !spec.is_none()) {
                return Err(FerroError::Type("spec goes in the dict's values when partitions is a dict".into()).into());
            }
            let mut requested: Vec<TopicPartition> = Vec::new();
            let mut keys: Vec<TopicPartition> = Vec::new();
            for (key, value) in mapping.iter() {
                let tp = key
                    .cast::<TopicPartition>()
                    .map_err(|_| FerroError::Type("the keys of the partitions dict must be TopicPartition".into()))?;
                let spec = value
                    .cast::<offsets::OffsetSpec>()
                    .map_err(|_| FerroError::Type("the values of the partitions dict must be OffsetSpec".into()))?;
                let tp = tp.borrow();
                keys.push(tp.clone());
                requested.push(tp.at(spec.get().0));
            }
            let requested = non_empty(requested, "partitions")?;
            let list = offsets::spec_list(&requested)?;
            return self.submit(py, move |call| {
                offsets::list_offsets(call, &list, context, move |answers| {
                    let by_partition: BTreeMap<(String, i32), offsets::ListOffsetsResultInfo> =
                        answers.into_iter().map(|(tp, info)| ((tp.topic, tp.partition), info)).collect();
                    Ok(OffsetAnswers(
                        keys.into_iter()
                            .filter_map(|tp| {
                                let info = by_partition.get(&(tp.topic.clone(), tp.partition))?.clone();
                                Some((tp, info))
                            })
                            .collect(),
                    ))
                })
            });
        }
        let spec = match spec {
            Some(spec) if !spec.is_none() => offsets::spec_arg(spec)?,
            _ => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
        };
        let partitions: Vec<PyRef<'py, TopicPartition>> = partitions.extract()?;
        let requested: Vec<TopicPartition> =
            non_empty(partitions_arg(partitions), "partitions")?.into_iter().map(|tp| tp.at(spec)).collect();
        let list = offsets::spec_list(&requested)?;
        self.submit(py, move |call| {
            offsets::list_offsets(call, &list, context, |answers| {
                Ok(answers.into_iter().map(|(tp, _)| tp).collect::<Vec<TopicPartition>>())
            })
        })
    }

    /// Deletes the records before the offset of each of `offsets` (OFFSET_END: all of them) in
    /// its partition. Resolves to None, or raises the first partition's error.
    fn delete_records<'py>(
        &self,
        py: Python<'py>,
        offsets: Vec<PyRef<'py, TopicPartition>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let list = to_list(&non_empty(partitions_arg(offsets), "offsets")?)?;
        self.submit(py, move |call| {
            let context = "could not delete records";
            let request = crate::native::admin::delete_records(&list)
                .ok_or_else(|| local_error(context, "librdkafka could not allocate the request"))?;
            call.send(
                Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETERECORDS, context).code_only(),
                |admin, options| admin.delete_records(&request, options),
                move |event| {
                    let partitions = native::deleted_records(event, context)?;
                    Ok(first_partition_error(&partitions, "could not delete records of partition").map(|()| Done)?)
                },
            )
        })
    }

    /// The consumer groups of the cluster with their state and type, as confluent-kafka's
    /// ListConsumerGroupsResult (`valid`: ConsumerGroupListing sorted by id; `errors`: a KafkaError
    /// per broker that could not be asked). `states` / `types`: only groups in these states
    /// ("STABLE", "EMPTY", ...) / of these types ("CLASSIC", "CONSUMER"); None: all.
    #[pyo3(signature = (*, states=None, types=None))]
    fn list_consumer_groups<'py>(
        &self,
        py: Python<'py>,
        states: Option<&Bound<'py, PyAny>>,
        types: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let states = groups::states_arg(states)?;
        let types = groups::types_arg(types)?;
        self.submit(py, move |call| groups::list_consumer_groups(call, states, types))
    }

    /// Describes topics (a list of names, or confluent-kafka's TopicCollection): {name:
    /// TopicDescription} with partitions, leaders, replicas and in-sync replicas; raises the error
    /// of the first topic that could not be described. `include_authorized_operations`: also what
    /// this client may do with each topic.
    #[pyo3(signature = (topics, *, include_authorized_operations=false))]
    fn describe_topics<'py>(
        &self,
        py: Python<'py>,
        topics: &Bound<'py, PyAny>,
        include_authorized_operations: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let names: Vec<String> = match topics.getattr("topic_names") {
            Ok(names) if !topics.is_instance_of::<pyo3::types::PyString>() => names.extract()?,
            _ if topics.is_instance_of::<pyo3::types::PyString>() => {
                return Err(FerroError::Type("topics must be a list of topic names, not a str".into()).into())
            }
            _ => topics.extract()?,
        };
        topic_names(&names)?;
        let names = names.iter().map(|name| c_string(name, "topic name")).collect::<FerroResult<Vec<_>>>()?;
        self.submit(py, move |call| cluster::describe_topics(call, &names, include_authorized_operations))
    }

    /// Describes the cluster: DescribeClusterResult(cluster_id, controller, nodes,
    /// authorized_operations) as confluent-kafka's.
    #[pyo3(signature = (*, include_authorized_operations=false))]
    fn describe_cluster<'py>(
        &self,
        py: Python<'py>,
        include_authorized_operations: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.submit(py, move |call| cluster::describe_cluster(call, include_authorized_operations))
    }

    /// Creates ACLs (a list of AclBinding). Resolves to None, or raises the KafkaError of the first
    /// that failed (the others may have been created).
    fn create_acls<'py>(&self, py: Python<'py>, acls: Vec<PyRef<'py, AclBinding>>) -> PyResult<Bound<'py, PyAny>> {
        let acls = acls::bindings_arg(acls)?;
        self.submit(py, move |call| acls::create_acls(call, &acls))
    }

    /// The ACLs matching an AclBindingFilter, as a list of AclBinding.
    fn describe_acls<'py>(
        &self,
        py: Python<'py>,
        acl_binding_filter: PyRef<'py, AclBindingFilter>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = (*acl_binding_filter).clone();
        self.submit(py, move |call| acls::describe_acls(call, &filter))
    }

    /// Deletes the ACLs matching each AclBindingFilter. Resolves to the deleted AclBindings, one
    /// list per filter in order, or raises the first filter's error.
    fn delete_acls<'py>(
        &self,
        py: Python<'py>,
        acl_binding_filters: Vec<PyRef<'py, AclBindingFilter>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filters = acls::filters_arg(acl_binding_filters)?;
        self.submit(py, move |call| acls::delete_acls(call, &filters))
    }

    /// The SCRAM credentials (mechanisms and iterations, never secrets) of `users`, or of every
    /// user that has some (None): {user: UserScramCredentialsDescription}. A user without any
    /// raises RESOURCE_NOT_FOUND.
    #[pyo3(signature = (users=None))]
    fn describe_user_scram_credentials<'py>(
        &self,
        py: Python<'py>,
        users: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let users = scram::users_arg(users)?;
        self.submit(py, move |call| scram::describe(call, users.as_deref()))
    }

    /// Sets (UserScramCredentialUpsertion) or removes (UserScramCredentialDeletion) SCRAM
    /// credentials. Resolves to None, or raises the first user's error.
    fn alter_user_scram_credentials<'py>(
        &self,
        py: Python<'py>,
        alterations: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let alterations = scram::alterations_arg(alterations)?;
        self.submit(py, move |call| scram::alter(call, &alterations))
    }

    /// Leader election ("PREFERRED" or "UNCLEAN", or confluent-kafka's ElectionType) for
    /// `partitions` (None: every partition; preferred only). Resolves to {TopicPartition:
    /// KafkaError or None}: None where a leader was elected, e.g. ELECTION_NOT_NEEDED where the
    /// preferred leader leads already.
    #[pyo3(signature = (election_type, partitions=None))]
    fn elect_leaders<'py>(
        &self,
        py: Python<'py>,
        election_type: &Bound<'py, PyAny>,
        partitions: Option<Vec<PyRef<'py, TopicPartition>>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let election_type = elect::election_type_arg(election_type)?;
        let list = match partitions {
            None => None,
            Some(partitions) => Some(to_list(&non_empty(partitions_arg(partitions), "partitions")?)?),
        };
        self.submit(py, move |call| elect::elect_leaders(call, election_type, list.as_ref()))
    }

    /// Cluster metadata, for one topic or all, as `Consumer.list_topics()` gives it (synchronous,
    /// as confluent-kafka's): `{"brokers": {id: "host:port"}, "topics": {name: {partition:
    /// {"leader", "replicas", "isrs"}}}}`.
    #[pyo3(signature = (topic=None, timeout=None))]
    fn list_topics<'py>(
        &self,
        py: Python<'py>,
        topic: Option<String>,
        timeout: Option<Seconds>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        crate::cluster_metadata::list_topics(py, self.open_core()?, topic, timeout)
    }

    /// The cluster's id from the brokers' metadata (synchronous), waiting up to `timeout` seconds
    /// (None: until known) for the first metadata; None if it did not come in time.
    #[pyo3(signature = (timeout=None))]
    fn cluster_id(&self, py: Python<'_>, timeout: Option<Seconds>) -> PyResult<Option<String>> {
        crate::cluster_metadata::cluster_id(py, self.open_core()?, timeout)
    }

    /// Runs, on this thread, the callbacks (logger, error_cb, throttle_cb) queued so far, which
    /// the client's event thread runs otherwise: for confluent-kafka's `poll()`, which serves
    /// them on the calling thread.
    fn _serve_callbacks(&self, py: Python<'_>) -> PyResult<()> {
        self.open_core()?.callbacks.dispatch(py, None)
    }

    /// Replaces the SASL username and password (PLAIN, SCRAM) used for connections made from now
    /// on (existing ones stay as they are): for credentials that rotate.
    fn set_sasl_credentials(&self, username: &str, password: &str) -> PyResult<()> {
        let core = self.open_core()?;
        let handle = crate::ffi::ClientHandle::open_handle(&*core).ok_or(FerroError::Closed("admin client"))?;
        Ok(crate::config::set_sasl_credentials(&handle, username, password)?)
    }

    /// Closes the client (idempotent). Calls already made complete and resolve their futures; the
    /// native client is destroyed once the last of them is done — with none in flight, before
    /// close() returns (Ctrl-C interrupts that wait; the destruction then finishes on its own).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(core) = self.core.lock().take() else { return Ok(()) };
        // Requests in flight finish; the client's logs and errors are nobody's business now.
        core.callbacks.stop();
        let in_flight = Arc::strong_count(&core) > 1;
        let teardown = core.teardown.clone();
        // Dropping the core never blocks (see AdminCore's Drop), but release the GIL regardless.
        py.detach(move || drop(core));
        if !in_flight {
            teardown.wait(py, None)?;
        }
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.lock().is_none()
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
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match self.core.try_lock().as_ref().and_then(|core| core.as_ref()) {
            Some(core) => core.callbacks.traverse(&visit),
            None => Ok(()),
        }
    }

    fn __clear__(&self) {
        let core = self.core.lock().clone();
        if let Some(core) = core {
            core.callbacks.clear();
        }
    }

    fn __repr__(&self) -> String {
        format!("<AdminClient {}>", if self.closed() { "closed" } else { "open" })
    }
}

impl Drop for AdminClient {
    fn drop(&mut self) {
        let Some(core) = self.core.get_mut().take() else {
            return;
        };
        crate::errors::warn_unclosed(c"ferrokafka.AdminClient was not closed; call close() or use `with`");
        core.callbacks.stop();
        // Never blocks: the client is destroyed on a background thread (AdminCore's Drop).
        drop(core);
    }
}

/// `list_offsets` in confluent-kafka's form: {TopicPartition: ListOffsetsResultInfo}.
struct OffsetAnswers(Vec<(TopicPartition, offsets::ListOffsetsResultInfo)>);

impl<'py> IntoPyObject<'py> for OffsetAnswers {
    type Target = pyo3::types::PyDict;
    type Output = Bound<'py, pyo3::types::PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let dict = pyo3::types::PyDict::new(py);
        for (tp, info) in self.0 {
            dict.set_item(tp, info)?;
        }
        Ok(dict)
    }
}
