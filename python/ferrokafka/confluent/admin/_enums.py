"""confluent-kafka's admin enums (librdkafka's values) and the conversion of an enum argument
given as a member, a name or a number."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from .._model import _OrderedEnum

_E = TypeVar("_E", bound=Enum)


class ResourceType(_OrderedEnum):
    """The type of a resource (configs, ACLs)."""

    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    BROKER = 4
    TRANSACTIONAL_ID = 5


class ResourcePatternType(_OrderedEnum):
    """How an ACL's resource name matches."""

    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(_OrderedEnum):
    """An operation an ACL allows or denies."""

    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


class AclPermissionType(_OrderedEnum):
    """Whether an ACL allows or denies."""

    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


class ConfigSource(_OrderedEnum):
    """Where a configuration entry's value comes from."""

    UNKNOWN_CONFIG = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    GROUP_CONFIG = 8


class AlterConfigOpType(_OrderedEnum):
    """What ``incremental_alter_configs`` does with an entry."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ScramMechanism(_OrderedEnum):
    """A SCRAM mechanism."""

    UNKNOWN = 0
    SCRAM_SHA_256 = 1
    SCRAM_SHA_512 = 2


RESOURCE_UNKNOWN = ResourceType.UNKNOWN.value
RESOURCE_ANY = ResourceType.ANY.value
RESOURCE_TOPIC = ResourceType.TOPIC.value
RESOURCE_GROUP = ResourceType.GROUP.value
RESOURCE_BROKER = ResourceType.BROKER.value
RESOURCE_TRANSACTIONAL_ID = ResourceType.TRANSACTIONAL_ID.value

CONFIG_SOURCE_UNKNOWN_CONFIG = ConfigSource.UNKNOWN_CONFIG.value
CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG = ConfigSource.DYNAMIC_TOPIC_CONFIG.value
CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG = ConfigSource.DYNAMIC_BROKER_CONFIG.value
CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
CONFIG_SOURCE_STATIC_BROKER_CONFIG = ConfigSource.STATIC_BROKER_CONFIG.value
CONFIG_SOURCE_DEFAULT_CONFIG = ConfigSource.DEFAULT_CONFIG.value
CONFIG_SOURCE_GROUP_CONFIG = ConfigSource.GROUP_CONFIG.value


def convert(value: Any, enum: type[_E]) -> _E:
    """`value` (a member, its name in any case, or its number) as a member of `enum`."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum[value.upper()]
        except KeyError:
            raise ValueError(f'Unknown value "{value}": should be a {enum.__name__}') from None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return enum(value)
        except ValueError:
            raise ValueError(f'Unknown value "{value}": should be a {enum.__name__}') from None
    if isinstance(value, Enum) and value.name in enum.__members__:
        # a member of an equal enum (confluent-kafka's own, when both are imported)
        return enum[value.name]
    raise TypeError(f"Expected a {enum.__name__}, a str or an int, not {type(value).__name__}")


def from_name(name: str | None, enum: type[_E], default: str = "UNKNOWN") -> _E:
    """A member from ferrokafka's name for it (``"STABLE"``, ``"DYNAMIC_TOPIC_CONFIG"``), or `default`."""
    if name is None:
        return enum[default]
    key = name.upper().replace("-", "_")
    return enum[key] if key in enum.__members__ else enum[default]


for _cls in (
    ResourceType,
    ResourcePatternType,
    AclOperation,
    AclPermissionType,
    ConfigSource,
    AlterConfigOpType,
    ScramMechanism,
):
    _cls.__module__ = "ferrokafka.confluent.admin"
del _cls
