"""``confluent_kafka.cimpl``: the names confluent-kafka's C extension defines, here on ferrokafka
(code that imports from ``confluent_kafka.cimpl`` directly gets the drop-in's classes)."""

from __future__ import annotations

from . import _constants
from ._constants import *  # noqa: F403
from ._consumer import Consumer
from ._errors import ConcurrentModificationException, IllegalStateException, KafkaError, KafkaException
from ._message import Message
from ._model import ShareConsumer, Uuid, consistent, fnv1a, murmur2
from ._producer import Producer
from ._topic_partition import TopicPartition
from ._version import libversion, version
from .admin._types import NewPartitions, NewTopic

__all__ = [
    "ConcurrentModificationException",
    "Consumer",
    "IllegalStateException",
    "KafkaError",
    "KafkaException",
    "Message",
    "NewPartitions",
    "NewTopic",
    "Producer",
    "ShareConsumer",
    "TopicPartition",
    "Uuid",
    "consistent",
    "fnv1a",
    "libversion",
    "murmur2",
    "version",
    *_constants.__all__,
]
