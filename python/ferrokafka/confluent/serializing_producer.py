"""``confluent_kafka.serializing_producer``: where confluent-kafka defines ``SerializingProducer``."""

from ._serializing import SerializingProducer

__all__ = ["SerializingProducer"]
