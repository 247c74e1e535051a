"""``confluent_kafka.aio._AIOConsumer``: where confluent-kafka defines ``AIOConsumer``; the drop-in's
class under that path too, for code that imports it from there, with the names confluent-kafka's
module holds (the package as ``confluent_kafka``, ``_common``). The drop-in's class does not wrap a
``confluent_kafka.Consumer`` in a thread pool (docs/migration.md)."""

import ferrokafka.confluent as confluent_kafka

from . import AIOConsumer, _common

__all__ = ["AIOConsumer", "_common", "confluent_kafka"]
