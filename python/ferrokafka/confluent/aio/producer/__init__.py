"""``confluent_kafka.aio.producer``: confluent-kafka's package of ``AIOProducer``; the drop-in's class
under that path too. Its batching internals (``_batch_processor``, ``_buffer_timeout_manager``, ...)
do not exist here: the drop-in hands each message to librdkafka at once (docs/migration.md)."""

from .. import AIOProducer

__all__ = ["AIOProducer"]
