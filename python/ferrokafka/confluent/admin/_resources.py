"""confluent-kafka's admin argument and result classes: configs, ACLs, SCRAM credentials, offset
specs, groups, topics and the cluster."""

from __future__ import annotations

from typing import Any

from .._model import ConsumerGroupState, ConsumerGroupType, Node, TopicPartitionInfo, Uuid
from ._enums import (
    AclOperation,
    AclPermissionType,
    AlterConfigOpType,
    ConfigSource,
    ResourcePatternType,
    ResourceType,
    ScramMechanism,
    convert,
)

# --- configs ---------------------------------------------------------------------------------


class ConfigEntry:
    """A configuration entry: ``name``, ``value``, ``source``, flags, ``synonyms``; for
    ``incremental_alter_configs`` an ``incremental_operation`` (an :class:`AlterConfigOpType`)."""

    def __init__(
        self,
        name: str,
        value: str | None,
        source: ConfigSource = ConfigSource.UNKNOWN_CONFIG,
        is_read_only: bool = False,
        is_default: bool = False,
        is_sensitive: bool = False,
        is_synonym: bool = False,
        synonyms: dict[str, ConfigEntry] | None = None,
        incremental_operation: AlterConfigOpType | None = None,
    ) -> None:
        self.name = name
        self.value = value
        self.source = source
        self.is_read_only = bool(is_read_only)
        self.is_default = bool(is_default)
        self.is_sensitive = bool(is_sensitive)
        self.is_synonym = bool(is_synonym)
        self.synonyms = {} if synonyms is None else synonyms
        self.incremental_operation = incremental_operation

    def __repr__(self) -> str:
        return f'ConfigEntry({self.name}="{self.value}")'

    def __str__(self) -> str:
        return f'{self.name}="{self.value}"'


class ConfigResource:
    """A resource whose configuration to describe or alter: ``ConfigResource(restype, name,
    set_config=None, described_configs=None, error=None, incremental_configs=None)``; `restype` a
    :class:`ResourceType`, its name (``"topic"``) or number."""

    Type = ResourceType

    def __init__(
        self,
        restype: ResourceType | str | int,
        name: str,
        set_config: dict[str, str] | None = None,
        described_configs: dict[str, ConfigEntry] | None = None,
        error: Any = None,
        incremental_configs: list[ConfigEntry] | None = None,
    ) -> None:
        if name is None:
            raise ValueError("Expected resource name to be a string")
        self.restype = convert(restype, ResourceType)
        if self.restype in (ResourceType.UNKNOWN, ResourceType.ANY):
            raise ValueError(f"Unsupported resource type {self.restype}")
        self.restype_int = self.restype.value
        self.name = name
        self.set_config_dict = dict(set_config) if set_config is not None else {}
        self.incremental_configs = list(incremental_configs) if incremental_configs is not None else []
        self.configs = described_configs
        self.error = error

    def __repr__(self) -> str:
        if self.error is not None:
            return f"ConfigResource({self.restype},{self.name},{self.error!r})"
        return f"ConfigResource({self.restype},{self.name})"

    def __hash__(self) -> int:
        return hash((self.restype, self.name))

    def _key(self, other: object) -> tuple[int, str]:
        if not isinstance(other, ConfigResource):
            raise TypeError("Can't compare ConfigResource with non-ConfigResource")
        return (other.restype.value, other.name)

    def __eq__(self, other: object) -> bool:
        return (self.restype.value, self.name) == self._key(other)

    def __lt__(self, other: object) -> bool:
        return (self.restype.value, self.name) < self._key(other)

    def __len__(self) -> int:
        return len(self.set_config_dict)

    def set_config(self, name: str, value: str, overwrite: bool = True) -> None:
        """Sets an entry for ``alter_configs`` (unless it is set and not `overwrite`)."""
        if not overwrite and name in self.set_config_dict:
            return
        self.set_config_dict[name] = value

    def add_incremental_config(self, config_entry: ConfigEntry) -> None:
        """Adds an entry (with its ``incremental_operation``) for ``incremental_alter_configs``."""
        self.incremental_configs.append(config_entry)


# --- ACLs ------------------------------------------------------------------------------------


class AclBinding:
    """An ACL: ``AclBinding(restype, name, resource_pattern_type, principal, host, operation,
    permission_type)``; enums as members, names or numbers."""

    _nullable: tuple[str, ...] = ()
    _forbidden: dict[str, tuple[Any, ...]] = {
        "restype": (ResourceType.ANY,),
        "resource_pattern_type": (ResourcePatternType.ANY, ResourcePatternType.MATCH),
        "operation": (AclOperation.ANY,),
        "permission_type": (AclPermissionType.ANY,),
    }

    def __init__(
        self,
        restype: ResourceType | str | int,
        name: str | None,
        resource_pattern_type: ResourcePatternType | str | int,
        principal: str | None,
        host: str | None,
        operation: AclOperation | str | int,
        permission_type: AclPermissionType | str | int,
    ) -> None:
        given = {
            "restype": restype,
            "name": name,
            "resource_pattern_type": resource_pattern_type,
            "principal": principal,
            "host": host,
            "operation": operation,
            "permission_type": permission_type,
        }
        for key, value in given.items():
            if value is None and key not in self._nullable:
                raise ValueError(f"Expected {key} to be not None")
        for key in ("name", "principal", "host"):
            if given[key] is not None and not isinstance(given[key], str):
                raise TypeError(f"Expected {key} to be a string")
        self.restype = convert(restype, ResourceType)
        self.name = name
        self.resource_pattern_type = convert(resource_pattern_type, ResourcePatternType)
        self.principal = principal
        self.host = host
        self.operation = convert(operation, AclOperation)
        self.permission_type = convert(permission_type, AclPermissionType)
        for key, forbidden in self._forbidden.items():
            if getattr(self, key) in forbidden:
                raise ValueError(f"Cannot use enum {getattr(self, key).name}, value not allowed for {key}")
        self.restype_int = self.restype.value
        self.resource_pattern_type_int = self.resource_pattern_type.value
        self.operation_int = self.operation.value
        self.permission_type_int = self.permission_type.value

    def _tuple(self) -> tuple[Any, ...]:
        return (
            self.restype_int,
            self.name,
            self.resource_pattern_type_int,
            self.principal,
            self.host,
            self.operation_int,
            self.permission_type_int,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.restype},{self.name},{self.resource_pattern_type},{self.principal},"
            f"{self.host},{self.operation},{self.permission_type})"
        )

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash(self._tuple())

    def _other(self, other: object) -> tuple[Any, ...]:
        if not isinstance(other, AclBinding):
            return NotImplemented  # type: ignore[no-any-return]
        return tuple("" if v is None else v for v in other._tuple())

    def _mine(self) -> tuple[Any, ...]:
        return tuple("" if v is None else v for v in self._tuple())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AclBinding):
            return NotImplemented
        return self._mine() == self._other(other)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AclBinding):
            return NotImplemented
        return self._mine() < self._other(other)


class AclBindingFilter(AclBinding):
    """ACLs to describe or delete: ``name``, ``principal`` and ``host`` may be ``None`` (any); the
    enums may be ``ANY`` (and the pattern type ``MATCH``)."""

    _nullable = ("name", "principal", "host")
    _forbidden: dict[str, tuple[Any, ...]] = {}


# --- SCRAM -----------------------------------------------------------------------------------


class ScramCredentialInfo:
    """A SCRAM mechanism and its iteration count."""

    def __init__(self, mechanism: ScramMechanism, iterations: int) -> None:
        self.mechanism = mechanism
        self.iterations = iterations

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScramCredentialInfo):
            return NotImplemented
        return (self.mechanism, self.iterations) == (other.mechanism, other.iterations)

    def __hash__(self) -> int:
        return hash((self.mechanism, self.iterations))

    def __repr__(self) -> str:
        return f"ScramCredentialInfo({self.mechanism},{self.iterations})"


class UserScramCredentialsDescription:
    """A user's SCRAM credentials (without secrets)."""

    def __init__(self, user: str, scram_credential_infos: list[ScramCredentialInfo]) -> None:
        self.user = user
        self.scram_credential_infos = scram_credential_infos


class UserScramCredentialAlteration:
    """Base class of a change to a user's SCRAM credentials."""

    def __init__(self, user: str) -> None:
        self.user = user


class UserScramCredentialUpsertion(UserScramCredentialAlteration):
    """Sets a user's password for a mechanism (no salt: a random one)."""

    def __init__(
        self, user: str, scram_credential_info: ScramCredentialInfo, password: bytes, salt: bytes | None = None
    ) -> None:
        super().__init__(user)
        self.scram_credential_info = scram_credential_info
        self.password = password
        self.salt = salt


class UserScramCredentialDeletion(UserScramCredentialAlteration):
    """Removes a user's credentials for a mechanism."""

    def __init__(self, user: str, mechanism: ScramMechanism) -> None:
        super().__init__(user)
        self.mechanism = mechanism


# --- offsets ---------------------------------------------------------------------------------


class OffsetSpec:
    """Which offset ``list_offsets`` looks up: :meth:`earliest`, :meth:`latest`,
    :meth:`max_timestamp` or :meth:`for_timestamp`."""

    _value: int

    def __new__(cls, index: int) -> OffsetSpec:
        if cls is OffsetSpec:
            if index == -2:
                cls = EarliestSpec
            elif index == -1:
                cls = LatestSpec
            elif index == -3:
                cls = MaxTimestampSpec
            else:
                spec = object.__new__(TimestampSpec)
                spec.timestamp = index
                spec._value = index
                return spec
        return object.__new__(cls)

    def __init__(self, index: int) -> None:
        self._value = index

    @classmethod
    def earliest(cls) -> OffsetSpec:
        return EarliestSpec(-2)

    @classmethod
    def latest(cls) -> OffsetSpec:
        return LatestSpec(-1)

    @classmethod
    def max_timestamp(cls) -> OffsetSpec:
        return MaxTimestampSpec(-3)

    @classmethod
    def for_timestamp(cls, timestamp: int) -> OffsetSpec:
        return TimestampSpec(timestamp)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OffsetSpec):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._value})"


class EarliestSpec(OffsetSpec):
    """The first offset of a partition."""


class LatestSpec(OffsetSpec):
    """The offset after the last message of a partition."""


class MaxTimestampSpec(OffsetSpec):
    """The offset of the message with the highest timestamp."""


class TimestampSpec(OffsetSpec):
    """The first offset whose timestamp is at least ``timestamp`` (ms)."""

    timestamp: int

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.timestamp = index


class ListOffsetsResultInfo:
    """One partition's answer of ``list_offsets``."""

    def __init__(self, offset: int, timestamp: int, leader_epoch: int | None) -> None:
        self.offset = offset
        self.timestamp = timestamp
        self.leader_epoch = leader_epoch


class DeletedRecords:
    """One partition's answer of ``delete_records``: its new ``low_watermark``."""

    def __init__(self, low_watermark: int) -> None:
        self.low_watermark = low_watermark


# --- topics, cluster, groups -----------------------------------------------------------------


class TopicDescription:
    """A described topic."""

    def __init__(
        self,
        name: str,
        topic_id: Uuid | None,
        is_internal: bool,
        partitions: list[TopicPartitionInfo],
        authorized_operations: list[AclOperation] | None = None,
    ) -> None:
        self.name = name
        self.topic_id = topic_id
        self.is_internal = is_internal
        self.partitions = partitions
        self.authorized_operations = authorized_operations


class DescribeClusterResult:
    """The described cluster."""

    def __init__(
        self,
        controller: Node | None,
        nodes: list[Node],
        cluster_id: str | None = None,
        authorized_operations: list[AclOperation] | None = None,
    ) -> None:
        self.controller = controller
        self.nodes = nodes
        self.cluster_id = cluster_id
        self.authorized_operations = authorized_operations


class ConsumerGroupListing:
    """A group of ``list_consumer_groups``."""

    def __init__(
        self,
        group_id: str,
        is_simple_consumer_group: bool,
        state: ConsumerGroupState | str | int | None = None,
        type: ConsumerGroupType | str | int | None = None,  # noqa: A002
    ) -> None:
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.state = None if state is None else convert(state, ConsumerGroupState)
        self.type = None if type is None else convert(type, ConsumerGroupType)


class ListConsumerGroupsResult:
    """``list_consumer_groups``' answer: ``valid`` listings and ``errors``."""

    def __init__(self, valid: list[ConsumerGroupListing] | None = None, errors: list[Exception] | None = None) -> None:
        self.valid = valid
        self.errors = errors


class MemberAssignment:
    """A group member's partitions."""

    def __init__(self, topic_partitions: list[Any] | None) -> None:
        self.topic_partitions = [] if topic_partitions is None else topic_partitions


class MemberDescription:
    """A member of a described group."""

    def __init__(
        self,
        member_id: str,
        client_id: str,
        host: str,
        assignment: MemberAssignment,
        group_instance_id: str | None = None,
        target_assignment: MemberAssignment | None = None,
    ) -> None:
        self.member_id = member_id
        self.client_id = client_id
        self.host = host
        self.assignment = assignment
        self.group_instance_id = group_instance_id
        self.target_assignment = target_assignment


class ConsumerGroupDescription:
    """A described consumer group."""

    def __init__(
        self,
        group_id: str,
        is_simple_consumer_group: bool,
        members: list[MemberDescription],
        partition_assignor: str,
        state: ConsumerGroupState | str | int | None,
        coordinator: Node | None,
        authorized_operations: list[AclOperation] | None = None,
        type: ConsumerGroupType | str | int = ConsumerGroupType.UNKNOWN,  # noqa: A002
    ) -> None:
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.members = members
        self.partition_assignor = partition_assignor
        self.state = None if state is None else convert(state, ConsumerGroupState)
        self.coordinator = coordinator
        self.authorized_operations = authorized_operations
        self.type = convert(type, ConsumerGroupType)


for _cls in (
    ConfigEntry,
    ConfigResource,
    AclBinding,
    AclBindingFilter,
    ScramCredentialInfo,
    UserScramCredentialsDescription,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
    UserScramCredentialDeletion,
    OffsetSpec,
    EarliestSpec,
    LatestSpec,
    MaxTimestampSpec,
    TimestampSpec,
    ListOffsetsResultInfo,
    DeletedRecords,
    TopicDescription,
    DescribeClusterResult,
    ConsumerGroupListing,
    ListConsumerGroupsResult,
    MemberAssignment,
    MemberDescription,
    ConsumerGroupDescription,
):
    _cls.__module__ = "ferrokafka.confluent.admin"
del _cls
