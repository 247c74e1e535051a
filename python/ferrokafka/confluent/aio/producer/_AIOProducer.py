"""``confluent_kafka.aio.producer._AIOProducer``: where confluent-kafka defines ``AIOProducer``; the
drop-in's class under that path too, for code that imports it from there, with the names
confluent-kafka's module holds (the package as ``confluent_kafka``, ``_common``). The drop-in's class
has no Python-side batch buffer (docs/migration.md)."""

import ferrokafka.confluent as confluent_kafka

from .. import AIOProducer, _common

__all__ = ["AIOProducer", "_common", "confluent_kafka"]
