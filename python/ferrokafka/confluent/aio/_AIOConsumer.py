"""``confluent_kafka.aio._AIOConsumer``: where confluent-kafka defines ``AIOConsumer``; the drop-in's
class under that path too, for code that imports it from there. Only the class: confluent-kafka's
thread-pool plumbing (``_common``, the wrapped ``confluent_kafka.Consumer``) does not exist here
(docs/migration.md)."""

from . import AIOConsumer

__all__ = ["AIOConsumer"]
