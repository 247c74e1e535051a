"""``confluent_kafka.deserializing_consumer``: where confluent-kafka defines ``DeserializingConsumer``."""

from ._serializing import DeserializingConsumer

__all__ = ["DeserializingConsumer"]
