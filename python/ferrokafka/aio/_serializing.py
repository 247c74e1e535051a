"""``AsyncSerializingProducer`` and ``AsyncDeserializingConsumer``: ``ferrokafka.serialization``'s
clients for asyncio, over ``ferrokafka.aio``'s ``AIOProducer`` and ``AIOConsumer``, named like
``confluent_kafka.aio``'s. Imported (and documented) as ``ferrokafka.aio``'s.

They take the same config and hooks as the synchronous :class:`~ferrokafka.serialization.SerializingProducer`
and :class:`~ferrokafka.serialization.DeserializingConsumer` (same rules: which hooks get a context,
``None`` never reaches a hook, the same errors), and also **async** hooks: a hook whose result is
awaitable (an ``async def`` function or ``__call__``, confluent-kafka's asyncio schema-registry
serializers such as ``AsyncAvroSerializer`` and ``AsyncAvroDeserializer``) is awaited. Every hook
runs on the loop, the key's to its end before the value's starts, so keep the synchronous ones cheap.

The consumer hands out :class:`~ferrokafka.serialization.DeserializedMessage` from ``poll()``,
``consume()`` and ``async for``, with the synchronous consumer's offset rules: what a call handed
out is stored when the application comes back for more; a message whose deserializer raised is not
handed out, its partition is sought back to it (it comes again with the next call) and no offset
past it is stored or committed. Cancelling a call loses nothing: a message taken but not yet handed
out (its hooks still awaited) is sought back too.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Self

from ferrokafka._native import (
    BorrowedMessage,
    ConsumerGroupMetadata,
    DeliveryReport,
    DeliveryResults,
    Error,
    KafkaError,
    MessageBatch,
    OwnedMessage,
    TopicPartition,
)
from ferrokafka._serde import (
    DeserializedMessage,
    Deserializing,
    Hook,
    K,
    KeySerializationError,
    MessageField,
    Serializing,
    V,
    ValueSerializationError,
    deserialization_error,
)
from ferrokafka.aio._consumer import AIOConsumer
from ferrokafka.aio._loop import _AsyncClient
from ferrokafka.aio._producer import AIOProducer

if TYPE_CHECKING:
    from ferrokafka._native import _ClusterMetadata
    from ferrokafka.aio._producer import DeliveryCallback

__all__ = ["AsyncDeserializingConsumer", "AsyncSerializingProducer"]


class _AwaitingHook(Hook):
    """A hook of the asyncio clients. ``run`` returns a coroutine that calls the hook when awaited
    and awaits what it returned if that is awaitable: nothing runs before the await, so the key's
    hook runs to its end before the value's starts."""

    __slots__ = ()

    async def run(self, data: Any, topic: str, field: MessageField, headers: Any) -> Any:
        result = Hook.run(self, data, topic, field, headers)
        if inspect.isawaitable(result):
            return await result
        return result


async def _resolved(result: Any, fail: Callable[[Exception], KafkaError], pending: Any = None) -> Any:
    """`result`, what the synchronous code made of a field: awaited if it is an `_AwaitingHook`'s
    coroutine, whose exception is raised as ``fail(exception)``. `pending` is the next field's: a
    coroutine that will not run because this one failed (or was cancelled) is closed."""
    if not inspect.iscoroutine(result):
        return result
    try:
        return await result
    except BaseException as exc:
        if inspect.iscoroutine(pending):
            pending.close()
        if isinstance(exc, Exception):
            raise fail(exc) from exc
        raise


class _AsyncSerdeClient(_AsyncClient):
    """``await Client(config)`` (confluent-kafka's form, where construction is a coroutine) is the
    client itself; ``async with`` comes from the clients' shared base."""

    def __await__(self) -> Generator[Any, None, Self]:
        """``await client`` is the client: for code written for confluent-kafka's asyncinit classes."""
        return self._itself().__await__()

    async def _itself(self) -> Self:
        return self


# --- producer --------------------------------------------------------------------------------------


class AsyncSerializingProducer(Serializing[K, V], _AsyncSerdeClient):
    """An :class:`~ferrokafka.aio.AIOProducer` that serializes keys and values with the config's
    ``key.serializer`` and ``value.serializer``: the hooks of
    :class:`~ferrokafka.serialization.SerializingProducer`, or async ones (awaited).

    ``AsyncSerializingProducer(config)`` is created inside a running loop, like ``AIOProducer``
    (``await AsyncSerializingProducer(config)``, confluent-kafka's form, works too). As in the
    synchronous class, ``value`` comes before the keyword-only ``key`` (confluent-kafka's
    ``produce(topic, key, value)`` cannot swap them silently) and a hook's exception is raised as
    :class:`~ferrokafka.serialization.KeySerializationError` /
    :class:`~ferrokafka.serialization.ValueSerializationError`, nothing sent. Every other method is
    the ``AIOProducer``'s, which is ``.producer``. Hooks are the application's: ``close()`` does
    not close them. Not supported: confluent-kafka's ``*.serializer.builder`` keys (``ValueError``).
    """

    def __init__(self, config: Mapping[str, object]) -> None:
        self._aio = AIOProducer(self._configure(config, kind=_AwaitingHook))
        self._producer = self._aio._native

    @property
    def producer(self) -> AIOProducer:
        """The wrapped :class:`~ferrokafka.aio.AIOProducer`."""
        return self._aio

    async def _serialized(
        self, topic: str, key: object, value: object, headers: Any, index: int | None
    ) -> tuple[Any, Any, Any]:
        """(key, value, headers) to send: the key's hook awaited, then the value's."""
        self._check(topic)
        sent_headers = headers if headers is not None else []
        key_run, value_run = self._serialize(topic, key, value, sent_headers, index)
        key_out = await _resolved(key_run, partial(KeySerializationError, index=index), value_run)
        value_out = await _resolved(value_run, partial(ValueSerializationError, index=index))
        return key_out, value_out, sent_headers if (headers is not None or sent_headers) else None

    async def produce(
        self,
        topic: str,
        value: V | None = None,
        *,
        key: K | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        headers: Any = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> asyncio.Future[DeliveryReport]:
        """Serializes `key` and `value` (awaiting async hooks; ``None`` stays ``None``), then
        ``AIOProducer.produce()``s them: returns the ``asyncio.Future`` of the ``DeliveryReport``
        (``report = await (await producer.produce(...))``). Raises ``KeySerializationError`` /
        ``ValueSerializationError`` (nothing sent) if a hook raises. `headers` is given to the hooks
        in their context (a serializer may add to a list), then sent. Off the producer's loop
        raises ``Error`` before any hook runs."""
        self._aio._check_loop()
        key_out, value_out, sent = await self._serialized(topic, key, value, headers, None)
        return await self._aio.produce(
            topic, value_out, key_out, partition=partition, timestamp=timestamp, headers=sent, on_delivery=on_delivery
        )

    async def produce_batch(
        self,
        topic: str,
        values: Sequence[V | None],
        *,
        keys: Sequence[K | None] | None = None,
        headers: Sequence[Any] | None = None,
        partition: int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> asyncio.Future[DeliveryResults]:
        """Serializes every message (`values[i]` with `keys[i]` and `headers[i]`), then sends them
        with one ``AIOProducer.produce_batch()``: returns its future of ``DeliveryResults``. A hook
        that raises raises here, with the message's ``index``, and nothing is sent."""
        self._aio._check_loop()
        self._check_batch(topic, values, keys, headers)
        batch = [
            await self._serialized(
                topic, None if keys is None else keys[i], value, None if headers is None else headers[i], i
            )
            for i, value in enumerate(values)
        ]
        return await self._aio.produce_batch(topic, batch, partition=partition, on_delivery=on_delivery)

    async def poll(self, timeout: float = 0.0) -> int:
        """``AIOProducer.poll()``: resolves the futures of deliveries that reached the loop."""
        return await self._aio.poll(timeout)

    async def flush(self, timeout: float | None = None) -> int:
        """``AIOProducer.flush()``: waits for every delivery; returns how many are unresolved."""
        return await self._aio.flush(timeout)

    async def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        """``AIOProducer.purge()``."""
        await self._aio.purge(in_queue, in_flight)

    async def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """``AIOProducer.list_topics()``."""
        return await self._aio.list_topics(topic, timeout)

    async def init_transactions(self, timeout: float = 30.0) -> None:
        """``AIOProducer.init_transactions()``."""
        await self._aio.init_transactions(timeout)

    async def begin_transaction(self) -> None:
        """``AIOProducer.begin_transaction()``."""
        await self._aio.begin_transaction()

    async def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], group_metadata: ConsumerGroupMetadata, timeout: float = 30.0
    ) -> None:
        """``AIOProducer.send_offsets_to_transaction()``."""
        await self._aio.send_offsets_to_transaction(offsets, group_metadata, timeout)

    async def commit_transaction(self, timeout: float = 60.0) -> None:
        """``AIOProducer.commit_transaction()``."""
        await self._aio.commit_transaction(timeout)

    async def abort_transaction(self, timeout: float = 60.0) -> None:
        """``AIOProducer.abort_transaction()``."""
        await self._aio.abort_transaction(timeout)

    def __len__(self) -> int:
        """Futures not resolved yet."""
        return len(self._aio)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` ran (or the wrapped client was closed)."""
        return self._aio.closed

    async def close(self, timeout: float | None = None) -> None:
        """``AIOProducer.close()``: flushes, fails what is left, stops. The hooks are left alone."""
        await self._aio.close(timeout)


# --- consumer --------------------------------------------------------------------------------------

_RebalanceCallback = Callable[["AsyncDeserializingConsumer[Any, Any]", list[TopicPartition]], object]


class AsyncDeserializingConsumer(Deserializing[K, V], _AsyncSerdeClient):
    """An :class:`~ferrokafka.aio.AIOConsumer` that deserializes keys and values with the config's
    ``key.deserializer`` and ``value.deserializer``: the hooks of
    :class:`~ferrokafka.serialization.DeserializingConsumer`, or async ones (awaited), with the
    same data (a ``memoryview`` of librdkafka's buffer; ``bytes`` for confluent-kafka's
    ``Deserializer`` objects, its async ones included).

    ``AsyncDeserializingConsumer(config)`` is created inside a running loop, like ``AIOConsumer``
    (``await AsyncDeserializingConsumer(config)``, confluent-kafka's form, works too).
    ``poll()``, ``consume()`` and ``async for`` hand out
    :class:`~ferrokafka.serialization.DeserializedMessage` (owned: kept as long as wanted), one
    call at a time (concurrent calls wait for each other). Offsets are stored as by
    ``DeserializingConsumer``: a message whose deserializer raised
    (:class:`~ferrokafka.serialization.KeyDeserializationError` /
    :class:`~ferrokafka.serialization.ValueDeserializationError`) comes again with the next call,
    and no offset past it is stored or committed until the application seeks past it. Cancelling
    a call, also while it awaits a hook, loses nothing.

    Rebalance callbacks get this consumer and may be coroutine functions. Every other method is
    the ``AIOConsumer``'s, which is ``.consumer`` (``consume_batch`` is not offered: it gives raw
    Arrow columns). Hooks are the application's: ``close()`` does not close them.
    """

    # Seeking back after a failed message does not wait on the loop: a seek takes effect for the
    # messages fetched before it at once.
    _SEEK_TIMEOUT = 0.0

    def __init__(self, config: Mapping[str, object]) -> None:
        self._aio = AIOConsumer(self._configure(config, kind=_AwaitingHook))
        self._consumer = self._aio._native
        self._one_at_a_time = asyncio.Lock()
        self._callback_task: asyncio.Task[Any] | None = None
        self._aio._owners.ended.append(self._task_ended)

    def _task_ended(self, task: int, finished: bool) -> None:
        if finished:
            self._finish(task)
        else:
            self._abandon(task)

    def _taker(self) -> int:
        """At a call that takes messages or commits what was taken: the calling task's number
        (refused off the consumer's loop), which is done with what it was handed so far."""
        task = self._aio._taker()
        self._finish(task)
        return task

    @property
    def consumer(self) -> AIOConsumer:
        """The wrapped :class:`~ferrokafka.aio.AIOConsumer` (its own ``poll()`` bypasses the
        deserializers and this wrapper's record of what was handed out)."""
        return self._aio

    # -- handing out --

    async def _deserialize_awaiting(self, message: BorrowedMessage) -> DeserializedMessage[K, V]:
        m = self._deserialize(message)  # its key and value: the hooks' coroutines, not run yet
        key = await _resolved(m.key, partial(deserialization_error, MessageField.KEY, message=message), m.value)
        value = await _resolved(m.value, partial(deserialization_error, MessageField.VALUE, message=message))
        return DeserializedMessage(m.topic, m.partition, m.offset, m.timestamp, m.timestamp_type, m.headers, key, value)

    async def _take_next(self, task: int, fetch: Callable[[], Awaitable[Any]]) -> list[DeserializedMessage[K, V]]:
        """Takes messages with `fetch` (a message, None or a list), deserializes them in order and
        hands them out to `task` by the synchronous rules (`_hand_out`)."""
        if self._callback_task is not None and asyncio.current_task() is self._callback_task:
            raise Error("poll(), consume() and iteration cannot be called from a rebalance callback")
        async with self._one_at_a_time:
            got = await fetch()
            messages: list[BorrowedMessage] = got if isinstance(got, list) else [] if got is None else [got]
            out: list[DeserializedMessage[K, V]] = []
            error: BaseException | None = None
            try:
                for message in messages:
                    out.append(await self._deserialize_awaiting(message))
            except BaseException as exc:  # a DeserializationError, or a cancelled await
                error = exc
            return self._hand_out(messages, out, error, task)

    def poll(self, timeout: float | None = None) -> Coroutine[Any, Any, DeserializedMessage[K, V] | None]:
        """The next message, deserialized, or None if none arrived within `timeout` seconds (None:
        wait until one does). Raises ``KeyDeserializationError``/``ValueDeserializationError`` if a
        hook raised (the message comes again with the next call). What it hands out belongs to the
        calling task (see ``AIOConsumer``)."""
        return self._poll(self._taker(), timeout)

    async def _poll(self, task: int, timeout: float | None) -> DeserializedMessage[K, V] | None:
        out = await self._take_next(task, partial(self._aio.poll, timeout))
        return out[0] if out else None

    def consume(
        self, num_messages: int = 1, timeout: float | None = None
    ) -> Coroutine[Any, Any, list[DeserializedMessage[K, V]]]:
        """Up to `num_messages` messages (``AIOConsumer.consume``'s name and default), deserialized:
        waits up to `timeout` seconds for a first one, then adds those already fetched; an empty
        list on timeout. If a hook raises, the messages before the failed one are returned and the
        next call raises for it (or this one, if it was the first)."""
        return self._take_next(self._taker(), partial(self._aio.consume, num_messages, timeout))

    def __aiter__(self) -> Self:
        """``async for msg in consumer``: see ``__anext__``."""
        return self

    def __anext__(self) -> Coroutine[Any, Any, DeserializedMessage[K, V]]:
        """The next message (waiting as long as it takes), deserialized; ends once the consumer is
        closed. A hook's error is raised from here (the message comes again)."""
        return self._anext(self._taker())

    async def _anext(self, task: int) -> DeserializedMessage[K, V]:
        return (await self._take_next(task, self._aio.__anext__))[0]

    # -- offsets --

    def commit(
        self,
        message: DeserializedMessage[Any, Any] | OwnedMessage | MessageBatch | None = None,
        offsets: list[TopicPartition] | None = None,
        asynchronous: bool = True,
    ) -> Coroutine[Any, Any, list[TopicPartition] | None]:
        """Commits offsets to the group (``AIOConsumer.commit()``): a message's offset + 1; or exactly
        `offsets`; or, with neither, for every assigned partition, the offset after the last message
        this consumer handed out, but never past a message another task still holds (nothing to
        commit is not an error). Asynchronous by default, as confluent-kafka's;
        ``asynchronous=False`` waits and returns the offsets committed."""
        return self._commit(self._current(), message, offsets, asynchronous)

    async def _commit(
        self, task: int, message: object, offsets: list[TopicPartition] | None, asynchronous: bool
    ) -> list[TopicPartition] | None:
        to_commit = self._to_commit(message, offsets, task)
        if to_commit is None:
            return None if asynchronous else []
        return await self._aio.commit(to_commit[0], offsets=to_commit[1], asynchronous=asynchronous)

    async def store_offsets(
        self,
        message: DeserializedMessage[Any, Any] | OwnedMessage | None = None,
        offsets: list[TopicPartition] | None = None,
    ) -> None:
        """For ``enable.auto.offset.store=false``: stores a message's offset + 1, or `offsets`."""
        self._aio._check_loop()
        self._store(message, offsets)

    # -- group and partitions --

    def _wrap(self, callback: _RebalanceCallback | None, forget: bool) -> Callable[..., Awaitable[None]]:
        async def rebalanced(_aio: AIOConsumer, partitions: list[TopicPartition]) -> None:
            self._callback_task = asyncio.current_task()
            try:
                if callback is not None:
                    result = callback(self, partitions)
                    if inspect.isawaitable(result):
                        await result
            finally:
                self._callback_task = None
                if forget:
                    self._forget(partitions)

        return rebalanced

    async def subscribe(
        self,
        topics: str | Sequence[str],
        on_assign: _RebalanceCallback | None = None,
        on_revoke: _RebalanceCallback | None = None,
        on_lost: _RebalanceCallback | None = None,
    ) -> None:
        """``AIOConsumer.subscribe()``; the callbacks get this consumer and may be coroutine
        functions. ``on_lost`` falls back to ``on_revoke``. Partitions taken away are forgotten
        (after the callback, which may commit)."""
        for name, callback in (("on_assign", on_assign), ("on_revoke", on_revoke), ("on_lost", on_lost)):
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable")
        await self._aio.subscribe(
            topics,
            on_assign=self._wrap(on_assign, False),
            on_revoke=self._wrap(on_revoke, True),
            on_lost=self._wrap(on_lost if on_lost is not None else on_revoke, True),
        )

    async def unsubscribe(self) -> None:
        """``AIOConsumer.unsubscribe()``."""
        await self._aio.unsubscribe()

    async def assign(self, partitions: list[TopicPartition]) -> None:
        """``AIOConsumer.assign()``: replaces the assignment (what was handed out is forgotten)."""
        self._finish(self._current())
        self._forget(None)
        await self._aio.assign(partitions)

    async def unassign(self) -> None:
        """``AIOConsumer.unassign()`` (what was handed out is forgotten)."""
        self._finish(self._current())
        self._forget(None)
        await self._aio.unassign()

    async def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """``AIOConsumer.incremental_assign()``."""
        await self._aio.incremental_assign(partitions)

    async def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        """``AIOConsumer.incremental_unassign()`` (what was handed out of them is forgotten)."""
        self._finish(self._current())
        self._forget(partitions)
        await self._aio.incremental_unassign(partitions)

    async def assignment(self) -> list[TopicPartition]:
        """``AIOConsumer.assignment()``."""
        return await self._aio.assignment()

    async def seek(self, partition: TopicPartition) -> None:
        """``AIOConsumer.seek()``: e.g. past a message that cannot be deserialized."""
        await self._aio.seek(partition)

    async def pause(self, partitions: list[TopicPartition]) -> None:
        """``AIOConsumer.pause()``."""
        await self._aio.pause(partitions)

    async def resume(self, partitions: list[TopicPartition]) -> None:
        """``AIOConsumer.resume()``."""
        await self._aio.resume(partitions)

    async def position(self, partitions: list[TopicPartition] | None = None) -> list[TopicPartition]:
        """``AIOConsumer.position()``."""
        return await self._aio.position(partitions)

    async def committed(
        self, partitions: list[TopicPartition] | None = None, timeout: float | None = None
    ) -> list[TopicPartition]:
        """``AIOConsumer.committed()``."""
        return await self._aio.committed(partitions, timeout)

    async def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None) -> tuple[int, int]:
        """``AIOConsumer.get_watermark_offsets()``."""
        return await self._aio.get_watermark_offsets(partition, timeout)

    async def offsets_for_times(
        self, partitions: list[TopicPartition], timeout: float | None = None
    ) -> list[TopicPartition]:
        """``AIOConsumer.offsets_for_times()``."""
        return await self._aio.offsets_for_times(partitions, timeout)

    async def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """``AIOConsumer.list_topics()``."""
        return await self._aio.list_topics(topic, timeout)

    async def consumer_group_metadata(self) -> ConsumerGroupMetadata:
        """``AIOConsumer.consumer_group_metadata()``, for ``send_offsets_to_transaction()``."""
        return await self._aio.consumer_group_metadata()

    async def memberid(self) -> str | None:
        """``AIOConsumer.memberid()``."""
        return await self._aio.memberid()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` ran (or the wrapped client was closed)."""
        return self._aio.closed

    def close(self, timeout: float | None = None) -> Coroutine[Any, Any, None]:
        """Stores what the calling task was handed (not when ``async with`` is left by an
        exception), then ``AIOConsumer.close()`` (which leaves the group through the rebalance
        callbacks). The hooks are left alone. Idempotent; works after the consumer's loop ended."""
        return self._close_as(timeout, self._aio._owners.current() if self._aio._on_loop() else None)

    async def _close_as(self, timeout: float | None, task: int | None) -> None:
        if task is not None and not self._aio.closed:
            self._finish(task)
        await self._aio._close_as(timeout, None)

    async def __aexit__(self, *exc_info: object) -> None:
        # Leaving on an exception (a failed or cancelled task), the task is not done with what it
        # holds: it is not stored, and the group delivers it again.
        await self._close_as(None, self._current() if exc_info[1] is None and self._aio._on_loop() else None)

    def _current(self) -> int:
        """The calling task's number (refused off the consumer's loop)."""
        self._aio._check_loop()
        return self._aio._owners.current()
