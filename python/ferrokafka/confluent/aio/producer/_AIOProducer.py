"""``confluent_kafka.aio.producer._AIOProducer``: where confluent-kafka defines ``AIOProducer``; the
drop-in's class under that path too, for code that imports it from there."""

from .. import AIOProducer

__all__ = ["AIOProducer"]
