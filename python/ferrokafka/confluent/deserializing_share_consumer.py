"""``confluent_kafka.deserializing_share_consumer``: where confluent-kafka defines
``DeserializingShareConsumer`` (not available here: it needs librdkafka ≥ 2.15)."""

from ._model import DeserializingShareConsumer

__all__ = ["DeserializingShareConsumer"]
