"""confluent-kafka's API on ferrokafka's core: a drop-in replacement.

Switch an application (or a framework built on confluent-kafka: faststream, quixstreams, ...)
with one line, run before anything imports ``confluent_kafka``::

    import ferrokafka.confluent
    ferrokafka.confluent.install()      # now `import confluent_kafka` gives this module

or import from here directly: ``from ferrokafka.confluent import Consumer, Producer``.

Every public name of confluent-kafka 2.16 is here, behaving as confluent-kafka's: ``Message``
accessors are methods, errors come back in ``msg.error()``, delivery callbacks are
``on_delivery(err, msg)`` served by ``poll()``/``flush()``, ``commit()`` is asynchronous by default,
timeouts are seconds with ``-1`` for "forever", a full queue raises ``BufferError``,
``KafkaException(KafkaError)``. What differs is listed in ``docs/migration.md``. For zero-copy
messages and Arrow batches use ferrokafka's own API (``import ferrokafka``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import deserializing_consumer, deserializing_share_consumer, error, serialization, serializing_producer
from ._config import ThrottleEvent
from ._constants import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    OFFSET_STORED,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
)
from ._consumer import Consumer
from ._errors import ConcurrentModificationException, IllegalStateException, KafkaError, KafkaException
from ._install import install, installed, uninstall
from ._message import Message
from ._model import (
    AcknowledgeType,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    DeserializingShareConsumer,
    ElectionType,
    IsolationLevel,
    Messages,
    Node,
    ShareConsumer,
    TopicCollection,
    TopicPartitionInfo,
    Uuid,
    consistent,
    fnv1a,
    murmur2,
)
from ._producer import Producer
from ._serializing import DeserializingConsumer, SerializingProducer
from ._topic_partition import TopicPartition
from ._version import libversion, version

if TYPE_CHECKING:
    from . import admin, aio, cimpl

__all__ = [
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "AcknowledgeType",
    "ConcurrentModificationException",
    "Consumer",
    "ConsumerGroupState",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupType",
    "DeserializingConsumer",
    "DeserializingShareConsumer",
    "ElectionType",
    "IllegalStateException",
    "IsolationLevel",
    "KafkaError",
    "KafkaException",
    "Message",
    "Messages",
    "Node",
    "Producer",
    "SerializingProducer",
    "ShareConsumer",
    "ThrottleEvent",
    "TopicCollection",
    "TopicPartition",
    "TopicPartitionInfo",
    "Uuid",
    "admin",
    "aio",
    "cimpl",
    "consistent",
    "deserializing_consumer",
    "deserializing_share_consumer",
    "error",
    "fnv1a",
    "install",
    "installed",
    "libversion",
    "murmur2",
    "serialization",
    "serializing_producer",
    "uninstall",
    "version",
]


def __getattr__(name: str) -> Any:
    # The heavier submodules (admin, aio, cimpl) load when first used: `confluent_kafka.admin`.
    if name in ("admin", "aio", "cimpl"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
