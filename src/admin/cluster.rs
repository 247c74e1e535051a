//! `describe_cluster()` and `describe_topics()`: the cluster's brokers and controller, and topics
//! with their partitions' leaders and replicas, as confluent-kafka's `DescribeClusterResult`,
//! `TopicDescription`, `TopicPartitionInfo` and `Node` (the same attribute names).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CString;

use pyo3::prelude::*;
use rdkafka::bindings as rdsys;

use super::acls::operation_names;
use super::request::{local_error, Call, Request};
use crate::errors::{FerroResult, KafkaErrorInfo};
use crate::native::admin::Options;
use crate::native::results::{self as native, NodeData};

/// A broker: confluent-kafka's `Node`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: i32,
    /// `str(id)`.
    pub id_string: String,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

#[pymethods]
impl Node {
    fn __repr__(&self) -> String {
        let rack = self.rack.as_ref().map_or("None".into(), |rack| format!("{rack:?}"));
        format!("Node(id={}, host={:?}, port={}, rack={rack})", self.id, self.host, self.port)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Node>().is_ok_and(|other| *other.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        self.id as u64
    }
}

/// A partition of a described topic: confluent-kafka's `TopicPartitionInfo`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct TopicPartitionInfo {
    pub id: i32,
    /// None while the partition has no leader.
    pub leader: Option<Node>,
    pub replicas: Vec<Node>,
    pub isr: Vec<Node>,
}

#[pymethods]
impl TopicPartitionInfo {
    fn __repr__(&self) -> String {
        let ids = |nodes: &[Node]| nodes.iter().map(|n| n.id.to_string()).collect::<Vec<_>>().join(", ");
        format!(
            "TopicPartitionInfo(id={}, leader={}, replicas=[{}], isr=[{}])",
            self.id,
            self.leader.as_ref().map_or("None".into(), |n| n.id.to_string()),
            ids(&self.replicas),
            ids(&self.isr)
        )
    }
}

/// A topic: confluent-kafka's `TopicDescription`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct TopicDescription {
    pub name: String,
    /// The topic id, in Kafka's base64 form (what confluent-kafka's `str(topic_id)` shows).
    pub topic_id: String,
    pub is_internal: bool,
    /// Sorted by id.
    pub partitions: Vec<TopicPartitionInfo>,
    /// AclOperation names ("READ", "WRITE", ...) this client may perform on the topic, when asked
    /// for (`include_authorized_operations=True`), else None.
    pub authorized_operations: Option<Vec<String>>,
}

#[pymethods]
impl TopicDescription {
    fn __repr__(&self) -> String {
        format!(
            "TopicDescription(name={:?}, topic_id={:?}, is_internal={}, partitions={})",
            self.name,
            self.topic_id,
            if self.is_internal { "True" } else { "False" },
            self.partitions.len()
        )
    }
}

/// The cluster: confluent-kafka's `DescribeClusterResult`.
#[pyclass(frozen, get_all, module = "ferrokafka")]
#[derive(Clone, Debug)]
pub struct DescribeClusterResult {
    pub cluster_id: Option<String>,
    /// None when the cluster reports no controller.
    pub controller: Option<Node>,
    /// Sorted by id.
    pub nodes: Vec<Node>,
    /// As in `TopicDescription`: AclOperation names on the cluster, or None.
    pub authorized_operations: Option<Vec<String>>,
}

#[pymethods]
impl DescribeClusterResult {
    fn __repr__(&self) -> String {
        format!(
            "DescribeClusterResult(cluster_id={}, controller={}, nodes={})",
            self.cluster_id.as_ref().map_or("None".into(), |id| format!("{id:?}")),
            self.controller.as_ref().map_or("None".into(), |n| n.__repr__()),
            self.nodes.len()
        )
    }
}

impl From<NodeData> for Node {
    fn from(node: NodeData) -> Self {
        Node { id: node.id, id_string: node.id.to_string(), host: node.host, port: node.port, rack: node.rack }
    }
}

fn nodes(nodes: Vec<NodeData>) -> Vec<Node> {
    nodes.into_iter().map(Node::from).collect()
}

fn include_operations(include: bool, context: &str) -> impl FnOnce(&Options) -> Option<KafkaErrorInfo> + '_ {
    move |options| crate::native::admin::include_authorized_operations(options, include, context)
}

/// Describes the cluster.
pub(super) fn describe_cluster(call: Call<'_>, include_authorized_operations: bool) -> FerroResult<()> {
    let context = "could not describe the cluster";
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER, context)
            .options(include_operations(include_authorized_operations, context)),
        |admin, options| admin.describe_cluster(options),
        move |event| Ok(described_cluster(native::described_cluster(event, context)?)),
    )
}

fn described_cluster(cluster: native::ClusterData) -> DescribeClusterResult {
    let mut nodes = nodes(cluster.nodes);
    nodes.sort_by_key(|node| node.id);
    DescribeClusterResult {
        cluster_id: cluster.cluster_id,
        controller: cluster.controller.map(Node::from),
        nodes,
        authorized_operations: cluster.authorized_operations.map(|codes| operation_names(&codes)),
    }
}

/// Describes the topics `names` (checked names): {name: TopicDescription}, or the error of the
/// first topic that could not be described.
pub(super) fn describe_topics(
    call: Call<'_>,
    names: &[CString],
    include_authorized_operations: bool,
) -> FerroResult<()> {
    let context = "could not describe topic";
    let topics = crate::native::admin::topic_collection(names)
        .ok_or_else(|| local_error(context, "librdkafka could not allocate the request"))?;
    call.send(
        Request::new(rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS, context)
            .options(include_operations(include_authorized_operations, context)),
        |admin, options| admin.describe_topics(&topics, options),
        move |event| Ok(described_topics(native::described_topics(event, context)?)),
    )
}

fn described_topics(topics: Vec<native::TopicData>) -> BTreeMap<String, TopicDescription> {
    let mut described = BTreeMap::new();
    for topic in topics {
        let mut partitions: Vec<TopicPartitionInfo> = topic
            .partitions
            .into_iter()
            .map(|partition| TopicPartitionInfo {
                id: partition.id,
                leader: partition.leader.map(Node::from),
                replicas: nodes(partition.replicas),
                isr: nodes(partition.isr),
            })
            .collect();
        partitions.sort_by_key(|partition| partition.id);
        described.insert(
            topic.name.clone(),
            TopicDescription {
                name: topic.name,
                topic_id: topic.topic_id.unwrap_or_default(),
                is_internal: topic.is_internal,
                partitions,
                authorized_operations: topic.authorized_operations.map(|codes| operation_names(&codes)),
            },
        );
    }
    described
}
