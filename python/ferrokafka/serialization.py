"""Serializers and deserializers for people with schemas: ``SerializingProducer`` and
``DeserializingConsumer``, named like confluent-kafka's so that moving from them is a change of
import, and taking the same hooks: confluent-kafka's schema-registry serializers
(``AvroSerializer``, ``JSONSerializer``, ``ProtobufSerializer`` and their deserializers) and any
``f(obj, ctx)``, or plain one-argument callables such as ``orjson.dumps`` and ``msgspec.json.decode``.

- ``SerializingProducer(config)``: ``config["key.serializer"]`` / ``config["value.serializer"]``
  (removed before the rest reaches :class:`ferrokafka.Producer`). ``produce()`` serializes, then
  produces and returns the native ``Future[DeliveryReport]``; ``produce_batch()`` serializes every
  message first, then sends them in one native call.
- ``DeserializingConsumer(config)``: ``config["key.deserializer"]`` / ``config["value.deserializer"]``.
  ``poll()``, ``consume(n)`` (which confluent-kafka's DeserializingConsumer does not implement) and
  iteration return :class:`DeserializedMessage`: owned, immutable, deserialized. A deserializer
  gets the borrowed message's zero-copy ``memoryview`` of librdkafka's buffer, not ``bytes``
  (except confluent-kafka's own ``Deserializer`` objects, whose documented argument is ``bytes``:
  see :class:`DeserializingConsumer`).

**Hooks.** A hook is called as ``f(data, ctx)`` when it takes a context, else as ``f(data)``;
which one is decided once, at construction, from the hook itself:

1. an instance of confluent-kafka's ``Serializer``/``Deserializer`` classes takes a context;
2. otherwise ``inspect.signature``: a hook with a second positional parameter takes a context if
   that parameter is required or named ``ctx``/``context``; one with ``*args`` takes it too; every
   other hook (``orjson.dumps(obj, default=None)``, ``pickle.dumps(obj, protocol=None)``,
   ``json.loads``) is called with the data alone;
3. a hook without a signature (some builtins: ``bytes``) is called with the data alone.

To force either form, wrap it: ``lambda obj, ctx: f(obj)`` or ``lambda obj: f(obj, None)``. A hook
that is not callable, or that cannot take one positional argument, is a ``TypeError`` at
construction, and so is a coroutine function (an async serializer: ``ferrokafka.aio``'s
``AsyncSerializingProducer`` and ``AsyncDeserializingConsumer`` await those). ``None`` (no key, a
tombstone) never reaches a hook: it stays ``None``. Without a
deserializer the key or value is ``bytes`` (one copy); without a serializer it must be what
``Producer.produce`` takes (bytes-like or ``str``).

**Errors.** A hook's exception is wrapped (and chained as ``__cause__``): on the producer in
:class:`KeySerializationError`/:class:`ValueSerializationError`, raised before anything is
sent; on the consumer in :class:`KeyDeserializationError`/:class:`ValueDeserializationError`
(both :class:`DeserializationError`, a :class:`ConsumeError`), which carry ``topic``,
``partition``, ``offset`` and ``kafka_message``, an ``OwnedMessage`` copy of the raw message (for
a dead-letter topic). As in Java's ``KafkaConsumer``, the consumer's position stays at a message
that failed: its partition is sought back to it, so it comes again with the next call, and no
offset past it is stored or committed until the application moves on, e.g. with
``consumer.seek(TopicPartition(err.topic, err.partition, err.offset + 1))``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ferrokafka._native import (
    Consumer,
    ConsumerGroupMetadata,
    DeliveryReport,
    DeliveryResults,
    KafkaError,
    MessageBatch,
    OwnedMessage,
    Producer,
    TopicPartition,
)

if TYPE_CHECKING:
    from ferrokafka._native import _ClusterMetadata

from ferrokafka._serde import (
    ConsumeError,
    DeserializationError,
    DeserializedMessage,
    Deserializing,
    K,
    KeyDeserializationError,
    KeySerializationError,
    MessageField,
    SerializationContext,
    SerializationError,
    Serializing,
    V,
    ValueDeserializationError,
    ValueSerializationError,
)

# Pickles of SerializationError/ConsumeError made before _serde existed name this function here.
from ferrokafka._serde import _restore as _restore  # noqa: F401

__all__ = [
    "ConsumeError",
    "DeserializationError",
    "DeserializedMessage",
    "DeserializingConsumer",
    "KeyDeserializationError",
    "KeySerializationError",
    "MessageField",
    "SerializationContext",
    "SerializationError",
    "SerializingProducer",
    "ValueDeserializationError",
    "ValueSerializationError",
]


_DeliveryCallback = Callable[[KafkaError | None, DeliveryReport | None], object]


class SerializingProducer(Serializing[K, V]):
    """A :class:`ferrokafka.Producer` that serializes keys and values with the config's
    ``key.serializer`` and ``value.serializer`` (see the module docs for what a hook may be).

    Differences from confluent-kafka's ``SerializingProducer``: ``produce()`` returns the native
    ``Future[DeliveryReport]``; ``value`` comes first and ``key`` is keyword-only, so that neither
    confluent-kafka's order ``produce(topic, key, value)`` nor ferrokafka's ``produce(topic, value,
    key)`` can swap them silently (two positional objects are a ``TypeError``); ``on_delivery``
    is ``(error, report)``, error first as confluent-kafka's. Every other method is the native producer's; the
    producer itself is ``.producer``. Hooks are the application's: ``close()`` does not close them.
    """

    def __init__(self, config: Mapping[str, object]) -> None:
        self._producer = Producer(self._configure(config))  # type: ignore[arg-type]

    @property
    def producer(self) -> Producer:
        """The wrapped :class:`ferrokafka.Producer`."""
        return self._producer

    def produce(
        self,
        topic: str,
        value: V | None = None,
        *,
        key: K | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        headers: Any = None,
        on_delivery: _DeliveryCallback | None = None,
    ) -> Future[DeliveryReport]:
        """Serializes `key` and `value` (each with its hook; ``None`` stays ``None``), then
        ``Producer.produce()``s them and returns its Future. Raises :class:`KeySerializationError` /
        :class:`ValueSerializationError` (nothing sent) if a hook raises; otherwise what
        ``Producer.produce`` raises. `headers` is given to the hooks in their context (a serializer
        may add to a list) and then sent.
        """
        self._check(topic)
        sent_headers = headers if headers is not None else []
        key_out, value_out = self._serialize(topic, key, value, sent_headers, None)
        return self._producer.produce(
            topic,
            value_out,
            key_out,
            partition=partition,
            timestamp=timestamp,
            headers=sent_headers if (headers is not None or sent_headers) else None,
            on_delivery=on_delivery,
        )

    def produce_batch(
        self,
        topic: str,
        values: Sequence[V | None],
        *,
        keys: Sequence[K | None] | None = None,
        headers: Sequence[Any] | None = None,
        partition: int | None = None,
        on_delivery: _DeliveryCallback | None = None,
    ) -> Future[DeliveryResults]:
        """Serializes every message, then sends them all with one ``Producer.produce_batch()`` call
        and returns its Future (one ``DeliveryResults`` for the batch). `values[i]` goes with
        `keys[i]` and `headers[i]` (each list as long as `values`; headers are given to the hooks
        as in ``produce()``). Objects, not the native call's tuples or dicts: a value may be a
        tuple or a dict (Avro records are dicts). A hook that raises raises here, with the message's
        ``index``, and nothing is sent.
        """
        self._check_batch(topic, values, keys, headers)
        batch: list[tuple[Any, Any, Any]] = []
        for index, value in enumerate(values):
            given = headers[index] if headers is not None else None
            sent_headers = given if given is not None else []
            key = keys[index] if keys is not None else None
            key_out, value_out = self._serialize(topic, key, value, sent_headers, index)
            batch.append((key_out, value_out, sent_headers if (given is not None or sent_headers) else None))
        return self._producer.produce_batch(topic, batch, partition=partition, on_delivery=on_delivery)

    def poll(self, timeout: float | None = 0.0) -> int:
        """``Producer.poll()``: runs finished deliveries' callbacks on this thread."""
        return self._producer.poll(timeout)

    def flush(self, timeout: float | None = None) -> int:
        """``Producer.flush()``: waits for every delivery; returns how many are unresolved."""
        return self._producer.flush(timeout)

    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        """``Producer.purge()``."""
        self._producer.purge(in_queue, in_flight)

    def init_transactions(self, timeout: float = 30.0) -> None:
        """``Producer.init_transactions()``."""
        self._producer.init_transactions(timeout)

    def begin_transaction(self) -> None:
        """``Producer.begin_transaction()``."""
        self._producer.begin_transaction()

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], group_metadata: ConsumerGroupMetadata, timeout: float = 30.0
    ) -> None:
        """``Producer.send_offsets_to_transaction()``."""
        self._producer.send_offsets_to_transaction(offsets, group_metadata, timeout)

    def commit_transaction(self, timeout: float = 60.0) -> None:
        """``Producer.commit_transaction()``."""
        self._producer.commit_transaction(timeout)

    def abort_transaction(self, timeout: float = 60.0) -> None:
        """``Producer.abort_transaction()``."""
        self._producer.abort_transaction(timeout)

    def close(self, timeout: float | None = None) -> None:
        """``Producer.close()``: flushes, fails what is left, stops. The hooks are left alone."""
        self._producer.close(timeout)

    @property
    def closed(self) -> bool:
        return self._producer.closed

    def __len__(self) -> int:
        """Futures not resolved yet."""
        return len(self._producer)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# --- consumer -----------------------------------------------------------------------------------

_RebalanceCallback = Callable[["DeserializingConsumer[Any, Any]", list[TopicPartition]], object]


class DeserializingConsumer(Deserializing[K, V]):
    """A :class:`ferrokafka.Consumer` that deserializes keys and values with the config's
    ``key.deserializer`` and ``value.deserializer`` and hands out :class:`DeserializedMessage`.

    Each deserializer gets the ``memoryview`` that ``BorrowedMessage.key``/``payload`` gives: read-only,
    over librdkafka's fetch buffer, no copy. ``orjson.loads``, ``msgspec.json.decode``,
    ``struct.unpack``, ``str(data, "utf-8")`` and ``fastavro`` (through ``io.BytesIO``) read it as it
    is; the standard library's ``json.loads`` and ``bytes.decode`` want ``bytes``: give them
    ``bytes(data)`` (one copy). confluent-kafka's own ``Deserializer`` objects get ``bytes``: that
    is their documented argument, and its ``StringDeserializer`` calls ``value.decode()``. For its
    ``AvroDeserializer`` (which reads a view too) this costs nothing: it wraps the data in an
    ``io.BytesIO``, which copies a view but shares ``bytes``. The borrowed message is released as soon
    as both are deserialized; a hook that keeps the view (or returns it) keeps that fetch buffer alive.

    Offsets: the wrapper stores them itself (the native consumer runs with
    ``enable.auto.offset.store=false``), with the native rule: what a call handed out is stored when
    the application comes back for more (the next ``poll``/``consume``/iteration, ``commit()``, or
    ``close()`` from the thread that received it). ``commit()`` without arguments commits the
    offsets after the last messages handed out. A message whose deserialization failed was never
    handed out (see :class:`DeserializationError`). With ``enable.auto.offset.store=false`` in the
    config nothing is stored automatically: ``store_offsets(msg)`` takes a :class:`DeserializedMessage`.

    ``poll()``, ``consume()`` and iteration deserialize; every other method is the native
    consumer's (``consume_batch`` is not offered: it gives raw Arrow columns, take them from
    ``.consumer`` if wanted). Rebalance callbacks get this consumer. Hooks are the application's:
    ``close()`` does not close them.
    """

    def __init__(self, config: Mapping[str, object]) -> None:
        self._consumer = Consumer(self._configure(config))  # type: ignore[arg-type]

    @property
    def consumer(self) -> Consumer:
        """The wrapped :class:`ferrokafka.Consumer` (its own ``poll()`` bypasses the deserializers
        and this wrapper's record of what was handed out)."""
        return self._consumer

    def poll(self, timeout: float | None = None) -> DeserializedMessage[K, V] | None:
        """The next message, deserialized, or None if none arrived within `timeout` seconds (None:
        wait forever). Raises :class:`KeyDeserializationError`/:class:`ValueDeserializationError`
        if a hook raised (the message comes again with the next call).
        """
        self._finish()
        message = self._consumer.poll(timeout)
        if message is None:
            return None
        return self._take([message])[0]

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[DeserializedMessage[K, V]]:
        """Up to `num_messages` messages (1 by default, as confluent-kafka's), deserialized: waits up
        to `timeout` seconds for a first one, then adds those already fetched (``Consumer.consume``);
        an empty list on timeout. If a hook
        raises, the messages before the failed one are returned, and the next call raises for it
        (or raises now, if it was the first).
        """
        self._finish()
        return self._take(self._consumer.consume(num_messages, timeout))

    def __iter__(self) -> Iterator[DeserializedMessage[K, V]]:
        return self

    def __next__(self) -> DeserializedMessage[K, V]:
        """The next message (waiting as long as it takes), deserialized; ``StopIteration`` once the
        consumer is closed. A hook's error is raised from here (the message comes again)."""
        self._finish()
        return self._take([next(self._consumer)])[0]

    # -- offsets --

    def commit(
        self,
        message: DeserializedMessage[Any, Any] | OwnedMessage | MessageBatch | None = None,
        offsets: list[TopicPartition] | None = None,
        asynchronous: bool = True,
    ) -> list[TopicPartition] | None:
        """Commits offsets to the group: a message's offset + 1; or exactly `offsets`; or, with
        neither, for every assigned partition, the offset after the last message this consumer
        handed out (nothing to commit is not an error). As ``Consumer.commit()`` (and
        confluent-kafka's): asynchronous by default, returning None at once; ``asynchronous=False``
        waits and returns the offsets committed.
        """
        to_commit = self._to_commit(message, offsets)
        if to_commit is None:
            return None if asynchronous else []
        return self._consumer.commit(to_commit[0], to_commit[1], asynchronous)

    def store_offsets(
        self,
        message: DeserializedMessage[Any, Any] | OwnedMessage | None = None,
        offsets: list[TopicPartition] | None = None,
    ) -> None:
        """For ``enable.auto.offset.store=false``: stores a message's offset + 1, or `offsets`."""
        self._store(message, offsets)

    # -- group and partitions --

    def _wrap(
        self, callback: _RebalanceCallback | None, forget: bool
    ) -> Callable[[Consumer, list[TopicPartition]], None]:
        def rebalanced(_native: Consumer, partitions: list[TopicPartition]) -> None:
            try:
                if callback is not None:
                    callback(self, partitions)
            finally:
                if forget:
                    self._forget(partitions)

        return rebalanced

    def subscribe(
        self,
        topics: str | Sequence[str],
        on_assign: _RebalanceCallback | None = None,
        on_revoke: _RebalanceCallback | None = None,
        on_lost: _RebalanceCallback | None = None,
    ) -> None:
        """``Consumer.subscribe()``; the callbacks get this consumer. ``on_lost`` falls back to
        ``on_revoke``. Partitions taken away are forgotten (after the callback, which may commit).
        """
        self._consumer.subscribe(
            topics,
            on_assign=self._wrap(on_assign, False),
            on_revoke=self._wrap(on_revoke, True),
            on_lost=self._wrap(on_lost if on_lost is not None else on_revoke, True),
        )

    def unsubscribe(self) -> None:
        self._consumer.unsubscribe()

    def assign(self, partitions: list[TopicPartition]) -> None:
        """``Consumer.assign()``: replaces the assignment (what was handed out is forgotten)."""
        self._finish()
        self._forget(None)
        self._consumer.assign(partitions)

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self._consumer.incremental_assign(partitions)

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        self._finish()
        self._forget(partitions)
        self._consumer.incremental_unassign(partitions)

    def assignment(self) -> list[TopicPartition]:
        return self._consumer.assignment()

    def seek(self, partition: TopicPartition, timeout: float | None = None) -> None:
        """``Consumer.seek()``: e.g. past a message that cannot be deserialized."""
        self._consumer.seek(partition, timeout)

    def pause(self, partitions: list[TopicPartition]) -> None:
        self._consumer.pause(partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._consumer.resume(partitions)

    def position(self, partitions: list[TopicPartition] | None = None) -> list[TopicPartition]:
        return self._consumer.position(partitions)

    def committed(
        self, partitions: list[TopicPartition] | None = None, timeout: float | None = None
    ) -> list[TopicPartition]:
        return self._consumer.committed(partitions, timeout)

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None) -> tuple[int, int]:
        return self._consumer.get_watermark_offsets(partition, timeout)

    def offsets_for_times(self, partitions: list[TopicPartition], timeout: float | None = None) -> list[TopicPartition]:
        return self._consumer.offsets_for_times(partitions, timeout)

    def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        return self._consumer.list_topics(topic, timeout)

    def consumer_group_metadata(self) -> ConsumerGroupMetadata:
        return self._consumer.consumer_group_metadata()

    def close(self, timeout: float | None = None) -> None:
        """Stores what the last call handed out (from the thread that received it, as the native
        consumer does), then ``Consumer.close()``. The hooks are left alone. Idempotent."""
        if not self._consumer.closed:
            self._finish(threading.get_ident())
        self._consumer.close(timeout)

    @property
    def closed(self) -> bool:
        return self._consumer.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
