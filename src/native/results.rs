//! Readers of admin result events (librdkafka's `rd_kafka_event_<Op>_result` and the arrays it
//! holds), written once for the fifteen request kinds that used to repeat them.

use std::collections::BTreeMap;
use std::ffi::c_int;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::ffi::{self as raw, lossy, native_array, NativePtr};
use crate::native::partitions::{read_native_list, read_native_partition};
use crate::topic_partition::{first_partition_error, TopicPartition};

/// A result event that we own (`NativePtr` destroys it): what these readers read from.
pub type Event = NativePtr<rdsys::rd_kafka_event_t>;

/// The error of a result event of another type than the reader expects.
pub fn wrong_result(context: &str) -> FerroError {
    FerroError::Kafka(KafkaErrorInfo::from_raw(
        RDKafkaErrorCode::Fail as c_int,
        context,
        Some("librdkafka returned a result of another type".to_owned()),
    ))
}

/// The request-level error of a result event, if any.
pub fn check_event(event: &Event, context: &str) -> FerroResult<()> {
    // SAFETY: `event` is a live event we own; rd_kafka_event_error_string returns NULL or a string
    // owned by the event, copied by `lossy` before the event can go.
    let (code, detail) = unsafe {
        let code = raw::rd_kafka_event_error(event.ptr());
        (code, if code != 0 { lossy(rdsys::rd_kafka_event_error_string(event.ptr())) } else { None })
    };
    if code == 0 {
        Ok(())
    } else {
        Err(FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, detail)))
    }
}

/// One reader per result array: `name(event, context)` is the array of items that the event's
/// typed result holds (`$items`), borrowed from the event, or [`wrong_result`] for an event of
/// another type. The items are raw pointers that stay valid as long as the borrow of `event`.
macro_rules! result_arrays {
    ($($(#[$doc:meta])* $name:ident: $result:ident => $items:ident -> $item:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name<'a>(event: &'a Event, context: &str) -> FerroResult<&'a [*const rdsys::$item]> {
            // SAFETY: `event` is a live event that we own, borrowed for 'a. The typed accessor checks
            // the event's type and returns NULL for another; the result and the array of `count`
            // items it returns belong to the event and live as long as it does ('a).
            unsafe {
                let result = rdsys::$result(event.ptr());
                if result.is_null() {
                    return Err(wrong_result(context));
                }
                let mut count = 0;
                let items = rdsys::$items(result, &mut count);
                Ok(native_array(items, count))
            }
        }
    )*};
}

result_arrays! {
    create_topics: rd_kafka_event_CreateTopics_result => rd_kafka_CreateTopics_result_topics -> rd_kafka_topic_result_t;
    delete_topics: rd_kafka_event_DeleteTopics_result => rd_kafka_DeleteTopics_result_topics -> rd_kafka_topic_result_t;
    create_partitions: rd_kafka_event_CreatePartitions_result
        => rd_kafka_CreatePartitions_result_topics -> rd_kafka_topic_result_t;
    delete_groups: rd_kafka_event_DeleteGroups_result => rd_kafka_DeleteGroups_result_groups -> rd_kafka_group_result_t;
    create_acls: rd_kafka_event_CreateAcls_result => rd_kafka_CreateAcls_result_acls -> rd_kafka_acl_result_t;
    describe_acls: rd_kafka_event_DescribeAcls_result => rd_kafka_DescribeAcls_result_acls -> rd_kafka_AclBinding_t;
    delete_acls: rd_kafka_event_DeleteAcls_result
        => rd_kafka_DeleteAcls_result_responses -> rd_kafka_DeleteAcls_result_response_t;
    describe_topics: rd_kafka_event_DescribeTopics_result
        => rd_kafka_DescribeTopics_result_topics -> rd_kafka_TopicDescription_t;
    elect_leaders: rd_kafka_event_ElectLeaders_result
        => rd_kafka_ElectLeaders_result_partitions -> rd_kafka_topic_partition_result_t;
    list_groups_valid: rd_kafka_event_ListConsumerGroups_result
        => rd_kafka_ListConsumerGroups_result_valid -> rd_kafka_ConsumerGroupListing_t;
    list_groups_errors: rd_kafka_event_ListConsumerGroups_result
        => rd_kafka_ListConsumerGroups_result_errors -> rd_kafka_error_t;
    describe_groups: rd_kafka_event_DescribeConsumerGroups_result
        => rd_kafka_DescribeConsumerGroups_result_groups -> rd_kafka_ConsumerGroupDescription_t;
    describe_configs: rd_kafka_event_DescribeConfigs_result
        => rd_kafka_DescribeConfigs_result_resources -> rd_kafka_ConfigResource_t;
    incremental_alter_configs: rd_kafka_event_IncrementalAlterConfigs_result
        => rd_kafka_IncrementalAlterConfigs_result_resources -> rd_kafka_ConfigResource_t;
    list_offsets: rd_kafka_event_ListOffsets_result
        => rd_kafka_ListOffsets_result_infos -> rd_kafka_ListOffsetsResultInfo_t;
    describe_scram: rd_kafka_event_DescribeUserScramCredentials_result
        => rd_kafka_DescribeUserScramCredentials_result_descriptions -> rd_kafka_UserScramCredentialsDescription_t;
    alter_scram: rd_kafka_event_AlterUserScramCredentials_result
        => rd_kafka_AlterUserScramCredentials_result_responses -> rd_kafka_AlterUserScramCredentials_result_response_t;
    list_group_offsets: rd_kafka_event_ListConsumerGroupOffsets_result
        => rd_kafka_ListConsumerGroupOffsets_result_groups -> rd_kafka_group_result_t;
    alter_group_offsets: rd_kafka_event_AlterConsumerGroupOffsets_result
        => rd_kafka_AlterConsumerGroupOffsets_result_groups -> rd_kafka_group_result_t;
}

/// The request-level error of a result event, if any, by its code alone (as rdkafka reported the
/// requests it used to send: create and delete topics, create partitions, delete groups and
/// records).
pub fn check_event_code(event: &Event, context: &str) -> FerroResult<()> {
    // SAFETY: `event` is a live event we own; rd_kafka_event_error only reads it.
    let code = unsafe { raw::rd_kafka_event_error(event.ptr()) };
    if code == 0 {
        Ok(())
    } else {
        Err(FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, None)))
    }
}

/// Which topic results a [`topic_errors`] reads (the three have the same shape).
#[derive(Clone, Copy)]
pub enum TopicResults {
    Created,
    Deleted,
    Partitions,
}

/// The topics of a CreateTopics, DeleteTopics or CreatePartitions result that failed, in result
/// order: (name, error code).
pub fn topic_errors(event: &Event, kind: TopicResults, context: &str) -> FerroResult<Vec<(String, c_int)>> {
    let topics = match kind {
        TopicResults::Created => create_topics(event, context)?,
        TopicResults::Deleted => delete_topics(event, context)?,
        TopicResults::Partitions => create_partitions(event, context)?,
    };
    let mut failed = Vec::new();
    for &topic in topics {
        // SAFETY: a topic result of the live `event`; its name belongs to it and is copied.
        let (code, name) =
            unsafe { (raw::rd_kafka_topic_result_error(topic), lossy(rdsys::rd_kafka_topic_result_name(topic))) };
        if code != 0 {
            failed.push((name.unwrap_or_default(), code));
        }
    }
    Ok(failed)
}

/// The groups of a DeleteGroups result that could not be deleted, in result order: (name, error
/// code).
pub fn group_errors(event: &Event, context: &str) -> FerroResult<Vec<(String, c_int)>> {
    let mut failed = Vec::new();
    for &group in delete_groups(event, context)? {
        // SAFETY: a group result of the live `event`; its name and error object (NULL if none)
        // belong to it and are only read.
        unsafe {
            let error = rdsys::rd_kafka_group_result_error(group);
            let code = if error.is_null() { 0 } else { raw::rd_kafka_error_code(error) };
            if code != 0 {
                failed.push((lossy(rdsys::rd_kafka_group_result_name(group)).unwrap_or_default(), code));
            }
        }
    }
    Ok(failed)
}

/// The partitions of a DeleteRecords result, each with its low watermark after the deletion or its
/// error.
pub fn deleted_records(event: &Event, context: &str) -> FerroResult<Vec<TopicPartition>> {
    // SAFETY: `event` is a live event we own. The typed accessor returns NULL for an event of
    // another type; the list (NULL if none) belongs to the result and is copied.
    unsafe {
        let result = rdsys::rd_kafka_event_DeleteRecords_result(event.ptr());
        if result.is_null() {
            return Err(wrong_result(context));
        }
        Ok(read_native_list(rdsys::rd_kafka_DeleteRecords_result_offsets(result)))
    }
}

/// Which of librdkafka's two consumer-group offsets results (same shape) a [`group_offsets`] reads.
#[derive(Clone, Copy)]
pub enum GroupOffsets {
    List,
    Alter,
}

/// The group results of a ListConsumerGroupOffsets or AlterConsumerGroupOffsets result event: the
/// partitions of the (only) group, sorted, or its first error (group-level, then partition-level).
pub fn group_offsets(event: &Event, kind: GroupOffsets, context: &str) -> FerroResult<Vec<TopicPartition>> {
    let groups = match kind {
        GroupOffsets::List => list_group_offsets(event, context)?,
        GroupOffsets::Alter => alter_group_offsets(event, context)?,
    };
    let mut partitions = Vec::new();
    for &group in groups {
        // SAFETY: `group` is a group result of the live `event`. Its error (NULL if none) and its
        // partition list (NULL if none) belong to it too, and are only read (copied) here.
        unsafe {
            if let Some(err) = crate::native::error_object(rdsys::rd_kafka_group_result_error(group), context) {
                return Err(FerroError::Kafka(err));
            }
            partitions.extend(read_native_list(rdsys::rd_kafka_group_result_partitions(group)));
        }
    }
    first_partition_error(&partitions, &format!("{context}: partition"))?;
    partitions.sort();
    Ok(partitions)
}

/// The partitions of a ListOffsets result event, in result order, each with the timestamp of its
/// offset.
pub fn listed_offsets(event: &Event, context: &str) -> FerroResult<Vec<(TopicPartition, i64)>> {
    let mut listed = Vec::new();
    for &info in list_offsets(event, context)? {
        // SAFETY: an info of the live `event`; its partition (or NULL) belongs to it and is copied.
        unsafe {
            let partition = rdsys::rd_kafka_ListOffsetsResultInfo_topic_partition(info);
            if !partition.is_null() {
                listed.push((read_native_partition(partition), rdsys::rd_kafka_ListOffsetsResultInfo_timestamp(info)));
            }
        }
    }
    Ok(listed)
}

/// The partition list of an event that carries one (an offset commit's result), or none.
pub fn event_partitions(event: &Event) -> Vec<TopicPartition> {
    // SAFETY: `event` is a live event we own; its list (NULL for an event without one) belongs to
    // it and is copied.
    unsafe { read_native_list(rdsys::rd_kafka_event_topic_partition_list(event.ptr())) }
}

/// A consumer group as `describe_groups` shows it.
pub struct GroupDescription {
    pub state: String,
    pub group_type: String,
    pub protocol: String,
    pub members: Vec<GroupMember>,
}

pub struct GroupMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    pub group_instance_id: Option<String>,
}

/// The groups of a DescribeConsumerGroups result event, by id, or the error of the first group
/// that could not be described.
pub fn described_groups(event: &Event, context: &str) -> FerroResult<BTreeMap<String, GroupDescription>> {
    let mut groups = BTreeMap::new();
    for &group in describe_groups(event, context)? {
        // SAFETY: a description of the live result event (`event` outlives the call).
        let (group_id, description) = unsafe { group_description(group, context) }?;
        groups.insert(group_id, description);
    }
    Ok(groups)
}

/// One group of a DescribeConsumerGroups result: its id and description, or its error.
///
/// # Safety
/// `group` belongs to a DescribeConsumerGroups result event that stays alive during the call.
unsafe fn group_description(
    group: *const rdsys::rd_kafka_ConsumerGroupDescription_t,
    context: &str,
) -> FerroResult<(String, GroupDescription)> {
    // SAFETY: the group's id string, copied while the group is alive (caller's guarantee).
    let group_id = unsafe { lossy(rdsys::rd_kafka_ConsumerGroupDescription_group_id(group)) }.unwrap_or_default();
    // SAFETY: the group's error object (or NULL), owned by the group and only read.
    let error = unsafe {
        crate::native::error_object(
            rdsys::rd_kafka_ConsumerGroupDescription_error(group),
            &format!("{context} {group_id:?}"),
        )
    };
    if let Some(err) = error {
        return Err(FerroError::Kafka(err));
    }
    // SAFETY: a live group; state and type come from librdkafka's own mapping (always a variant of
    // its enum) and their names are static strings.
    let (state, group_type) = unsafe {
        (
            lossy(rdsys::rd_kafka_consumer_group_state_name(rdsys::rd_kafka_ConsumerGroupDescription_state(group))),
            lossy(rdsys::rd_kafka_consumer_group_type_name(rdsys::rd_kafka_ConsumerGroupDescription_type(group))),
        )
    };
    // SAFETY: the group's assignor name (or NULL), copied while it is alive.
    let protocol = unsafe { lossy(rdsys::rd_kafka_ConsumerGroupDescription_partition_assignor(group)) };
    // SAFETY: a live group.
    let member_count = unsafe { rdsys::rd_kafka_ConsumerGroupDescription_member_count(group) };
    let members = (0..member_count)
        // SAFETY: an index below the count; the member (or NULL) belongs to the group.
        .map(|i| unsafe { rdsys::rd_kafka_ConsumerGroupDescription_member(group, i) })
        .filter(|member| !member.is_null())
        // SAFETY: a member of the live group.
        .map(|member| unsafe { group_member(member) })
        .collect();
    let description = GroupDescription {
        state: state.unwrap_or_default(),
        group_type: group_type.unwrap_or_default(),
        protocol: protocol.unwrap_or_default(),
        members,
    };
    Ok((group_id, description))
}

/// One member of a group description.
///
/// # Safety
/// `member` belongs to a group description of a result event that stays alive during the call.
unsafe fn group_member(member: *const rdsys::rd_kafka_MemberDescription_t) -> GroupMember {
    // SAFETY: the member's strings (or NULL), each copied while the member is alive.
    unsafe {
        GroupMember {
            member_id: lossy(rdsys::rd_kafka_MemberDescription_consumer_id(member)).unwrap_or_default(),
            client_id: lossy(rdsys::rd_kafka_MemberDescription_client_id(member)).unwrap_or_default(),
            host: lossy(rdsys::rd_kafka_MemberDescription_host(member)).unwrap_or_default(),
            group_instance_id: lossy(rdsys::rd_kafka_MemberDescription_group_instance_id(member)),
        }
    }
}

/// One configuration entry of a DescribeConfigs result, as librdkafka describes it (the source
/// read as the `int` it is); `synonyms` only for a top-level entry.
pub struct ConfigEntryData {
    pub name: Option<String>,
    pub value: Option<String>,
    pub source: c_int,
    pub is_read_only: bool,
    pub is_default: bool,
    pub is_sensitive: bool,
    pub is_synonym: bool,
    pub synonyms: Vec<ConfigEntryData>,
}

/// The entries of every resource of a DescribeConfigs result event, in result order, or the error
/// An IncrementalAlterConfigs result: Ok, or the error of the first resource that failed.
pub fn altered_configs(event: &Event, context: &str) -> FerroResult<()> {
    for &resource in incremental_alter_configs(event, context)? {
        // SAFETY: a resource of the live result event (borrowed); its error string belongs to the
        // event and is copied (`lossy`) while the event is alive.
        let (code, reason) = unsafe {
            (raw::rd_kafka_ConfigResource_error(resource), lossy(rdsys::rd_kafka_ConfigResource_error_string(resource)))
        };
        if code != 0 {
            return Err(FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, reason)));
        }
    }
    Ok(())
}

/// of the first resource that has one.
pub fn described_configs(event: &Event, context: &str) -> FerroResult<Vec<ConfigEntryData>> {
    let mut entries = Vec::new();
    for &resource in describe_configs(event, context)? {
        // SAFETY: a resource of the live result event; its error, string and entries belong to it
        // and are copied while it is alive; the code is read as the int it is.
        unsafe {
            let code = raw::rd_kafka_ConfigResource_error(resource);
            if code != 0 {
                let detail = lossy(rdsys::rd_kafka_ConfigResource_error_string(resource));
                return Err(FerroError::Kafka(KafkaErrorInfo::from_raw(code, context, detail)));
            }
            let mut count = 0;
            let configs = rdsys::rd_kafka_ConfigResource_configs(resource, &mut count);
            entries.extend(native_array(configs, count).iter().map(|&entry| read_config_entry(entry, 0)));
        }
    }
    Ok(entries)
}

/// # Safety
/// `entry` belongs to a DescribeConfigs result event that stays alive during the call.
unsafe fn read_config_entry(entry: *const rdsys::rd_kafka_ConfigEntry_t, depth: usize) -> ConfigEntryData {
    // SAFETY: a live entry; strings copied while it is alive, the source read as the int it is.
    unsafe {
        let mut synonyms = Vec::new();
        if depth == 0 {
            let mut count = 0;
            let list = rdsys::rd_kafka_ConfigEntry_synonyms(entry, &mut count);
            synonyms = native_array(list, count).iter().map(|&synonym| read_config_entry(synonym, depth + 1)).collect();
        }
        ConfigEntryData {
            name: lossy(rdsys::rd_kafka_ConfigEntry_name(entry)),
            value: lossy(rdsys::rd_kafka_ConfigEntry_value(entry)),
            source: raw::rd_kafka_ConfigEntry_source(entry),
            is_read_only: rdsys::rd_kafka_ConfigEntry_is_read_only(entry) != 0,
            is_default: rdsys::rd_kafka_ConfigEntry_is_default(entry) != 0,
            is_sensitive: rdsys::rd_kafka_ConfigEntry_is_sensitive(entry) != 0,
            is_synonym: rdsys::rd_kafka_ConfigEntry_is_synonym(entry) != 0,
            synonyms,
        }
    }
}

/// One group of a ListConsumerGroups result (state and type read as the `int`s they are).
pub struct GroupListingData {
    pub group_id: Option<String>,
    pub is_simple_consumer_group: bool,
    pub state: c_int,
    pub group_type: c_int,
}

/// The groups a ListConsumerGroups result event lists, in result order.
pub fn listed_groups(event: &Event, context: &str) -> FerroResult<Vec<GroupListingData>> {
    let listings = list_groups_valid(event, context)?;
    Ok(listings
        .iter()
        // SAFETY: a listing of the live result event, copied while it is alive; state and type
        // read as the ints they are.
        .map(|&listing| unsafe {
            GroupListingData {
                group_id: lossy(rdsys::rd_kafka_ConsumerGroupListing_group_id(listing)),
                is_simple_consumer_group: rdsys::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(listing) != 0,
                state: raw::rd_kafka_ConsumerGroupListing_state(listing),
                group_type: raw::rd_kafka_ConsumerGroupListing_type(listing),
            }
        })
        .collect())
}

/// The errors of the brokers a ListConsumerGroups result event could not list groups from.
pub fn listed_group_errors(event: &Event, context: &str) -> FerroResult<Vec<KafkaErrorInfo>> {
    let errors = list_groups_errors(event, context)?;
    // SAFETY: error objects of the live result event, only read.
    Ok(errors.iter().filter_map(|&error| unsafe { crate::native::error_object(error, context) }).collect())
}

/// A user's SCRAM credentials: (mechanism, iterations) each (the mechanism as the `int` it is).
pub type ScramUser = (String, Vec<(c_int, i32)>);

/// The users of a DescribeUserScramCredentials result event, in result order, each with its
/// credentials as (mechanism, iterations) (the mechanism read as the `int` it is), or the error of
/// the first user that could not be described.
pub fn described_scram_users(event: &Event, context: &str) -> FerroResult<Vec<ScramUser>> {
    let mut described = Vec::new();
    for &description in describe_scram(event, context)? {
        // SAFETY: a description of the live result event; its user, error and infos belong to it
        // and are copied while it is alive.
        unsafe {
            let user = lossy(rdsys::rd_kafka_UserScramCredentialsDescription_user(description)).unwrap_or_default();
            let error = rdsys::rd_kafka_UserScramCredentialsDescription_error(description);
            if let Some(err) = crate::native::error_object(error, &format!("{context} of user {user:?}")) {
                return Err(FerroError::Kafka(err));
            }
            let infos = (0..rdsys::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo_count(description))
                .map(|i| rdsys::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo(description, i))
                .filter(|info| !info.is_null())
                .map(|info| {
                    (
                        raw::rd_kafka_ScramCredentialInfo_mechanism(info),
                        rdsys::rd_kafka_ScramCredentialInfo_iterations(info),
                    )
                })
                .collect();
            described.push((user, infos));
        }
    }
    Ok(described)
}

/// The error of the first user whose SCRAM alteration failed, in an AlterUserScramCredentials
/// result event.
pub fn altered_scram_users(event: &Event, context: &str) -> FerroResult<()> {
    for &response in alter_scram(event, context)? {
        // SAFETY: a response of the live result event; its user and error belong to it and are
        // copied while it is alive.
        unsafe {
            let user =
                lossy(rdsys::rd_kafka_AlterUserScramCredentials_result_response_user(response)).unwrap_or_default();
            let error = rdsys::rd_kafka_AlterUserScramCredentials_result_response_error(response);
            if let Some(err) = crate::native::error_object(error, &format!("{context} of user {user:?}")) {
                return Err(FerroError::Kafka(err));
            }
        }
    }
    Ok(())
}

/// A broker node of a result.
pub struct NodeData {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// A partition of a described topic.
pub struct PartitionInfoData {
    pub id: i32,
    pub leader: Option<NodeData>,
    pub replicas: Vec<NodeData>,
    pub isr: Vec<NodeData>,
}

/// A described topic; `authorized_operations` as the `int`s they are (None: not asked for).
pub struct TopicData {
    pub name: String,
    pub topic_id: Option<String>,
    pub is_internal: bool,
    pub partitions: Vec<PartitionInfoData>,
    pub authorized_operations: Option<Vec<c_int>>,
}

/// A described cluster; `authorized_operations` as for [`TopicData`].
pub struct ClusterData {
    pub cluster_id: Option<String>,
    pub controller: Option<NodeData>,
    pub nodes: Vec<NodeData>,
    pub authorized_operations: Option<Vec<c_int>>,
}

/// # Safety
/// `node` is NULL or a node owned by a result event that stays alive during the call.
unsafe fn read_node(node: *const rdsys::rd_kafka_Node_t) -> Option<NodeData> {
    if node.is_null() {
        return None;
    }
    // SAFETY: a live node (caller's guarantee); its strings are copied while it is alive.
    unsafe {
        Some(NodeData {
            id: rdsys::rd_kafka_Node_id(node),
            host: lossy(rdsys::rd_kafka_Node_host(node)).unwrap_or_default(),
            port: rdsys::rd_kafka_Node_port(node),
            rack: lossy(rdsys::rd_kafka_Node_rack(node)),
        })
    }
}

/// # Safety
/// As [`read_node`], for an array of `count` nodes.
unsafe fn read_nodes(nodes: *const *const rdsys::rd_kafka_Node_t, count: usize) -> Vec<NodeData> {
    // SAFETY: `count` nodes of a live result (caller's guarantee).
    unsafe { native_array(nodes, count) }.iter().filter_map(|&node| unsafe { read_node(node) }).collect()
}

/// Authorized operations: librdkafka gives NULL when they were not asked for.
///
/// # Safety
/// `operations` is NULL or `count` operation codes owned by a live result.
unsafe fn read_operations(operations: *const rdsys::rd_kafka_AclOperation_t, count: usize) -> Option<Vec<c_int>> {
    if operations.is_null() {
        return None;
    }
    // SAFETY: `count` C enums (ints) owned by the live result, read as the ints they are.
    Some(unsafe { std::slice::from_raw_parts(operations.cast::<c_int>(), count) }.to_vec())
}

/// What a DescribeCluster result event says.
pub fn described_cluster(event: &Event, context: &str) -> FerroResult<ClusterData> {
    // SAFETY: `event` is a live event that we own; the typed accessor returns NULL for an event of
    // another type; everything read below belongs to it and is copied while it is alive.
    unsafe {
        let result = rdsys::rd_kafka_event_DescribeCluster_result(event.ptr());
        if result.is_null() {
            return Err(wrong_result(context));
        }
        let mut count = 0;
        let nodes = rdsys::rd_kafka_DescribeCluster_result_nodes(result, &mut count);
        let mut op_count = 0;
        let operations = rdsys::rd_kafka_DescribeCluster_result_authorized_operations(result, &mut op_count);
        Ok(ClusterData {
            cluster_id: lossy(rdsys::rd_kafka_DescribeCluster_result_cluster_id(result)),
            controller: read_node(rdsys::rd_kafka_DescribeCluster_result_controller(result)),
            nodes: read_nodes(nodes, count),
            authorized_operations: read_operations(operations, op_count),
        })
    }
}

/// The topics of a DescribeTopics result event, in result order, or the error of the first topic
/// that could not be described.
pub fn described_topics(event: &Event, context: &str) -> FerroResult<Vec<TopicData>> {
    let mut described = Vec::new();
    for &topic in describe_topics(event, context)? {
        // SAFETY: a description of the live result event; everything reachable from it belongs to
        // the event and is copied while it is alive.
        unsafe {
            let name = lossy(rdsys::rd_kafka_TopicDescription_name(topic)).unwrap_or_default();
            let error = rdsys::rd_kafka_TopicDescription_error(topic);
            if let Some(err) = crate::native::error_object(error, &format!("{context} {name:?}")) {
                return Err(FerroError::Kafka(err));
            }
            let id = rdsys::rd_kafka_TopicDescription_topic_id(topic);
            let topic_id = if id.is_null() { None } else { lossy(rdsys::rd_kafka_Uuid_base64str(id)) };
            let mut partition_count = 0;
            let partitions = rdsys::rd_kafka_TopicDescription_partitions(topic, &mut partition_count);
            let partitions = native_array(partitions, partition_count)
                .iter()
                .map(|&partition| {
                    let (mut replica_count, mut isr_count) = (0, 0);
                    let replicas = rdsys::rd_kafka_TopicPartitionInfo_replicas(partition, &mut replica_count);
                    let isr = rdsys::rd_kafka_TopicPartitionInfo_isr(partition, &mut isr_count);
                    PartitionInfoData {
                        id: rdsys::rd_kafka_TopicPartitionInfo_partition(partition),
                        leader: read_node(rdsys::rd_kafka_TopicPartitionInfo_leader(partition)),
                        replicas: read_nodes(replicas, replica_count),
                        isr: read_nodes(isr, isr_count),
                    }
                })
                .collect();
            let mut op_count = 0;
            let operations = rdsys::rd_kafka_TopicDescription_authorized_operations(topic, &mut op_count);
            described.push(TopicData {
                name,
                topic_id,
                is_internal: rdsys::rd_kafka_TopicDescription_is_internal(topic) != 0,
                partitions,
                authorized_operations: read_operations(operations, op_count),
            });
        }
    }
    Ok(described)
}

/// An ACL binding of a result (enums read as the `int`s they are).
pub struct AclData {
    pub restype: c_int,
    pub name: Option<String>,
    pub pattern: c_int,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: c_int,
    pub permission: c_int,
}

/// # Safety
/// `acl` belongs to a result event that stays alive during the call.
unsafe fn read_acl(acl: *const rdsys::rd_kafka_AclBinding_t) -> AclData {
    // SAFETY: a live binding; enums read as ints, strings copied while it is alive.
    unsafe {
        AclData {
            restype: raw::rd_kafka_AclBinding_restype(acl),
            name: lossy(rdsys::rd_kafka_AclBinding_name(acl)),
            pattern: raw::rd_kafka_AclBinding_resource_pattern_type(acl),
            principal: lossy(rdsys::rd_kafka_AclBinding_principal(acl)),
            host: lossy(rdsys::rd_kafka_AclBinding_host(acl)),
            operation: raw::rd_kafka_AclBinding_operation(acl),
            permission: raw::rd_kafka_AclBinding_permission_type(acl),
        }
    }
}

/// The error of the first ACL a CreateAcls result event says failed; the results come in the
/// order of the request, and `item_contexts` holds each request's context, in that order.
pub fn created_acls(event: &Event, context: &str, item_contexts: &[String]) -> FerroResult<()> {
    for (&result, item_context) in create_acls(event, context)?.iter().zip(item_contexts) {
        // SAFETY: a result of the live event; its error (or NULL) belongs to it and is only read.
        let error = unsafe { crate::native::error_object(rdsys::rd_kafka_acl_result_error(result), item_context) };
        if let Some(err) = error {
            return Err(FerroError::Kafka(err));
        }
    }
    Ok(())
}

/// The bindings of a DescribeAcls result event.
pub fn described_acls(event: &Event, context: &str) -> FerroResult<Vec<AclData>> {
    let bindings = describe_acls(event, context)?;
    // SAFETY: bindings of the live event, copied while it is alive.
    Ok(bindings.iter().map(|&acl| unsafe { read_acl(acl) }).collect())
}

/// The bindings each filter of a DeleteAcls result event deleted, in the order of the request
/// (`item_contexts`: each filter's context), or the error of the first filter that failed.
pub fn deleted_acls(event: &Event, context: &str, item_contexts: &[String]) -> FerroResult<Vec<Vec<AclData>>> {
    let mut deleted = Vec::new();
    for (&response, item_context) in delete_acls(event, context)?.iter().zip(item_contexts) {
        // SAFETY: a response of the live event; its error and matching bindings belong to it and
        // are read while it is alive.
        unsafe {
            let error = rdsys::rd_kafka_DeleteAcls_result_response_error(response);
            if let Some(err) = crate::native::error_object(error, item_context) {
                return Err(FerroError::Kafka(err));
            }
            let mut matching = 0;
            let bindings = rdsys::rd_kafka_DeleteAcls_result_response_matching_acls(response, &mut matching);
            deleted.push(native_array(bindings, matching).iter().map(|&acl| read_acl(acl)).collect());
        }
    }
    Ok(deleted)
}

/// The partitions of an ElectLeaders result event, in result order, each with its error (None:
/// elected), named `"{context} for {topic:?} [{partition}]"`; offsets are `OFFSET_INVALID`.
pub fn elected_partitions(event: &Event, context: &str) -> FerroResult<Vec<(TopicPartition, Option<KafkaErrorInfo>)>> {
    let mut outcomes = Vec::new();
    for &partition_result in elect_leaders(event, context)? {
        // SAFETY: a partition result of the live event; its partition and error belong to it and
        // are copied while it is alive.
        unsafe {
            let partition = rdsys::rd_kafka_topic_partition_result_partition(partition_result);
            if partition.is_null() {
                continue;
            }
            let mut tp = read_native_partition(partition);
            tp.offset = crate::topic_partition::OFFSET_INVALID;
            let what = format!("{context} for {:?} [{}]", tp.topic, tp.partition);
            let error =
                crate::native::error_object(rdsys::rd_kafka_topic_partition_result_error(partition_result), &what);
            outcomes.push((tp, error));
        }
    }
    Ok(outcomes)
}
