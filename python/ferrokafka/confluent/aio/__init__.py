"""``confluent_kafka.aio``: confluent-kafka's asyncio clients on ``ferrokafka.aio`` (no thread pool:
ferrokafka's asyncio clients wait on the loop itself).

``AIOProducer.produce()`` returns an ``asyncio.Future`` of the delivered :class:`Message` (or of its
``KafkaException``): ``msg = await (await producer.produce(topic, value))``. ``AIOConsumer.poll()``
and ``consume()`` return :class:`Message` s as the synchronous consumer does (views of the fetched
data, copied only when the application keeps a message past two more calls). Callbacks
(``on_delivery``, ``error_cb``, ``stats_cb``, ``throttle_cb``, ``on_commit``, ``on_assign`` ...) run
on the loop and may be coroutine functions. ``batch_size`` and ``buffer_timeout`` are accepted and
unused (there is no Python-side buffer: each message goes to librdkafka at once).
``confluent_kafka.aio.producer`` and confluent-kafka's private module paths
(``aio._AIOConsumer``, ``aio.producer._AIOProducer``) give the same classes.

``executor`` is the one given, or a ``ThreadPoolExecutor(max_workers)`` (it starts a thread only
when used), as in confluent-kafka; the only call that runs on it is ``cluster_id()`` when the
broker must be asked (``_common.async_call``). close() shuts it down as confluent-kafka's does:
the producer's always, the consumer's when it made it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import ferrokafka as _fk
import ferrokafka.aio as _fk_aio
from ferrokafka.aio._loop import _AsyncClient

from .. import _config
from .._consumer import _UNREFERENCED, _eof_reason, _is_consume_error, check_subscribe_arguments
from .._errors import KafkaError, KafkaException, call, exception_of, kafka_error_of
from .._message import Message, error_message, from_borrowed
from .._metadata import from_dict
from .._topic_partition import TopicPartition, list_from_native, list_to_native, to_native
from . import _common

__all__ = ["AIOConsumer", "AIOProducer", "AsyncDeserializingConsumer", "AsyncSerializingProducer"]

_getrefcount = sys.getrefcount


def _timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    timeout = float(timeout)
    return None if timeout < 0 else timeout


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _native_conf(conf: Any, allowed: tuple[str, ...], client: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config for ferrokafka.aio with confluent-kafka's callbacks wrapped in adapters."""
    if not isinstance(conf, dict):
        raise TypeError("expected configuration dict")
    rest = dict(conf)
    user = _config.take_callbacks(rest, allowed)
    if "error_cb" in user:
        rest["error_cb"] = _config.error_cb_adapter(user["error_cb"])
    if "stats_cb" in user:
        rest["stats_cb"] = user["stats_cb"]  # the JSON string, as confluent-kafka passes it
    if "throttle_cb" in user:
        rest["throttle_cb"] = _config.throttle_cb_adapter(user["throttle_cb"])
    if "oauth_cb" in user:
        rest["oauth_cb"] = _config.OAuthAdapter(user["oauth_cb"])
    if "logger" in user:
        rest["logger"] = _config.LogAdapter(user["logger"], _config.client_name(conf, client))
    return rest, user


def _executor(max_workers: int) -> concurrent.futures.ThreadPoolExecutor:
    """The executor of a client given none (it starts a thread only when first used)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=max_workers)


async def _cluster_id(client: Any, aio_client: Any, timeout: float) -> str | None:
    """The cluster id (asks the broker if not known yet, on the asyncio client's executor)."""
    cluster_id: str | None = await _translated(aio_client._call(call, client.cluster_id, _timeout(timeout)))
    return cluster_id


class _OnExecutor:
    """``_call()``, as confluent-kafka's asyncio clients have it: a blocking call on ``executor``
    (through ``_common.async_call``, the module confluent-kafka's tests patch)."""

    executor: concurrent.futures.Executor

    async def _call(self, blocking_task: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await _common.async_call(self.executor, blocking_task, *args, **kwargs)


def _shut_down(executor: Any) -> None:
    """Shuts `executor` down (a cluster_id() still asking on it ends on its own)."""
    executor.shutdown(wait=False, cancel_futures=True)


class AIOProducer(_AsyncClient, _OnExecutor):
    """confluent-kafka's asyncio producer (see the module's docstring)."""

    def __init__(
        self,
        producer_conf: dict[str, Any],
        max_workers: int = 4,
        executor: Any = None,
        batch_size: int = 1000,
        buffer_timeout: float = 1.0,
    ) -> None:
        # confluent-kafka's: a ThreadPoolExecutor(max_workers) refuses max_workers < 1 here.
        self.executor = executor if executor is not None else _executor(max_workers)
        rest, user = _native_conf(
            producer_conf, ("error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger", "on_delivery"), "producer"
        )
        self._default_cb: Callable[..., Any] | None = user.get("on_delivery")
        self._native = call(_fk_aio.AIOProducer, rest)

    async def produce(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int = -1,
        on_delivery: Callable[..., Any] | None = None,
        callback: Callable[..., Any] | None = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> Any:
        """Queues a message; returns an ``asyncio.Future`` resolving to the delivered
        :class:`Message` (raising ``KafkaException`` if it failed). ``on_delivery(err, msg)`` runs
        on the loop too."""
        cb = on_delivery if on_delivery is not None else callback if callback is not None else self._default_cb
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        result = loop.create_future()

        try:
            inner = await self._native.produce(
                topic,
                value,
                key,
                partition=None if partition is None or partition < 0 else partition,
                timestamp=timestamp or None,
                headers=headers or None,
                on_delivery=_config.Call(_aio_delivered, result, cb, topic, partition, key, value, started),
            )
        except _fk.Error as error:
            raise exception_of(error) from error
        # The inner future's outcome is filed by `delivered`; keep it from warning when unread.
        inner.add_done_callback(lambda f: f.cancelled() or f.exception())
        return result

    async def poll(self, timeout: float = 0) -> int:
        return await self._native.poll(0.0 if timeout is None or timeout < 0 else float(timeout))

    async def flush(self, timeout: float = -1) -> int:
        return await self._native.flush(_timeout(timeout))

    async def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        await self._native.purge(bool(in_queue), bool(in_flight))

    async def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return from_dict(await _translated(self._native.list_topics(topic, _timeout(timeout))), None)

    async def cluster_id(self, timeout: float = -1) -> str | None:
        return await _cluster_id(self._native._producer, self, timeout)

    def set_sasl_credentials(self, username: str, password: str) -> None:
        call(self._native.set_sasl_credentials, username, password)

    async def init_transactions(self, timeout: float = -1) -> None:
        await _translated(self._native.init_transactions(30.0 if timeout is None or timeout < 0 else timeout))

    async def begin_transaction(self) -> None:
        await _translated(self._native.begin_transaction())

    async def send_offsets_to_transaction(self, positions: list[Any], group_metadata: Any, timeout: float = -1) -> None:
        await _translated(
            self._native.send_offsets_to_transaction(
                list_to_native(positions), group_metadata, 60.0 if timeout is None or timeout < 0 else float(timeout)
            )
        )

    async def commit_transaction(self, timeout: float = -1) -> None:
        await _translated(self._native.commit_transaction(60.0 if timeout is None or timeout < 0 else timeout))

    async def abort_transaction(self, timeout: float = -1) -> None:
        await _translated(self._native.abort_transaction(60.0 if timeout is None or timeout < 0 else timeout))

    def __len__(self) -> int:
        return len(self._native)

    async def close(self) -> None:
        _shut_down(self.executor)  # even a given one, as confluent-kafka's producer does
        await self._native.close()


def _message_offsets(message: Message) -> list[_fk.TopicPartition]:
    """Where to commit after `message`: its offset + 1 (with its leader epoch)."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise KafkaException(KafkaError(KafkaError._INVALID_ARG, "Message has no topic, partition or offset"))
    return [_fk.TopicPartition(topic, partition, offset + 1, None, message.leader_epoch())]


def _aio_delivered(
    result: asyncio.Future[Message],
    cb: Callable[..., Any] | None,
    topic: str,
    partition: int,
    key: Any,
    value: Any,
    started: float,
    error: BaseException | None,
    report: _fk.DeliveryReport | None,
) -> Any:
    """ferrokafka.aio's on_delivery (on the loop): resolves `result` and calls confluent-kafka's
    ``on_delivery(err, msg)``."""
    message = Message(
        topic,
        partition if report is None else report.partition,
        None if report is None else report.offset,
        key if not isinstance(key, str) else key.encode(),
        value if not isinstance(value, str) else value.encode(),
        None,
        None,
        (0, -1) if report is None or report.timestamp is None else (1, report.timestamp),
        time.monotonic() - started,
    )
    err = _config.error_value(error)
    if not result.done():
        if err is None:
            result.set_result(message)
        else:
            result.set_exception(KafkaException(err))
    if cb is not None:
        return cb(err, message)
    return None


async def _translated(awaitable: Any) -> Any:
    try:
        return await awaitable
    except _fk.Error as error:
        raise exception_of(error) from error


def _consumer_error_cb(errors: deque[Message], error_cb: Callable[..., Any] | None, error: BaseException) -> Any:
    """The AIOConsumer's error_cb: a consume error becomes a message for poll()/consume(); the
    others go to the application's error_cb (or the log)."""
    value = _config.error_value(error)
    if value is None:
        return None
    if _is_consume_error(error) and not value.fatal():
        errors.append(error_message(value))
        return None
    if error_cb is None:
        _config.default_error_log(value)
        return None
    return error_cb(value)


class _Closed:
    """In place of a closed client's native one: any use raises confluent-kafka's ``RuntimeError``."""

    def __init__(self, message: str) -> None:
        self._message = message

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(self._message)


_CLOSED_CONSUMER: Any = _Closed("Consumer closed")


class AIOConsumer(_AsyncClient, _OnExecutor):
    """confluent-kafka's asyncio consumer (see the module's docstring)."""

    def __init__(self, consumer_conf: dict[str, Any], max_workers: int = 2, executor: Any = None) -> None:
        if executor is None and max_workers < 1:
            raise ValueError("max_workers must be at least 1")  # confluent-kafka's check
        self._own_executor = executor is None
        self.executor = executor if executor is not None else _executor(max_workers)
        if not isinstance(consumer_conf, dict):
            raise TypeError("expected configuration dict")
        if not consumer_conf.get("group.id"):
            raise ValueError("Failed to create consumer: group.id must be set")
        rest, user = _native_conf(
            consumer_conf, ("error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger", "on_commit"), "consumer"
        )
        self._sync_commits: list[frozenset[tuple[str, int]]] = []
        if "on_commit" in user:
            on_commit = user["on_commit"]

            def commit_adapter(error: BaseException | None, partitions: list[_fk.TopicPartition] | None) -> Any:
                key = frozenset((tp.topic, tp.partition) for tp in partitions or [])
                if key in self._sync_commits:
                    self._sync_commits.remove(key)
                    return None
                return on_commit(_config.error_value(error), list_from_native(partitions or []))

            rest["on_commit"] = commit_adapter
        self._user = user
        # Consume errors (an unknown topic, an authorization failure) come back from poll() and
        # consume() as messages whose error() is set, as confluent-kafka's do; ferrokafka reports
        # them to error_cb.
        self._errors: deque[Message] = deque()
        rest["error_cb"] = _config.Call(_consumer_error_cb, self._errors, user.get("error_cb"))
        self._native = call(_fk_aio.AIOConsumer, rest)
        self._latest: list[Message] = []
        self._previous: list[Message] = []
        # (topic, partition) -> the offset after the last message handed out: what an
        # argument-less commit commits (of the partitions still assigned).
        self._handed: dict[tuple[str, int], int] = {}
        # Set once close() starts: a poll()/consume() it interrupts ends as confluent-kafka's does
        # (nothing received), not with ferrokafka's "closed" error.
        self._closing = False

    def _age(self) -> None:
        previous = self._previous
        for message in previous:
            if _getrefcount(message) > _UNREFERENCED:
                message._materialize()
        previous.clear()
        self._previous = self._latest
        self._latest = previous

    async def poll(self, timeout: float = -1) -> Message | None:
        self._age()
        errors = self._errors
        if errors:
            return errors.popleft()
        try:
            borrowed = await self._native.poll(_timeout(timeout))
        except _fk.PartitionEOF as eof:
            return error_message(
                KafkaError(KafkaError._PARTITION_EOF, _eof_reason(eof)), eof.topic, eof.partition, eof.offset
            )
        except _fk.Error as error:
            if self._closing:
                return None  # close() interrupted this poll
            if _is_consume_error(error) and not (isinstance(error, _fk.KafkaError) and error.fatal()):
                return error_message(kafka_error_of(error, flags=False))
            raise exception_of(error) from error
        if borrowed is None:
            return errors.popleft() if errors else None
        message = from_borrowed(borrowed)
        self._latest.append(message)
        self._handed[(message._topic, message._partition)] = message._offset + 1
        return message

    async def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        count = int(num_messages.__index__())
        if not 0 <= count <= 1_000_000:
            raise ValueError("num_messages must be between 0 and 1000000 (1M)")
        self._age()
        errors = self._errors
        result: list[Message] = []
        while errors and len(result) < count:
            result.append(errors.popleft())
        if len(result) == count:
            return result
        try:
            borrowed = await self._native.consume(count - len(result), 0.0 if result else _timeout(timeout))
        except _fk.PartitionEOF as eof:
            result.append(
                error_message(
                    KafkaError(KafkaError._PARTITION_EOF, _eof_reason(eof)), eof.topic, eof.partition, eof.offset
                )
            )
            return result
        except _fk.Error as error:
            if self._closing:
                return result  # close() interrupted this consume
            raise exception_of(error) from error
        messages = [from_borrowed(item) for item in borrowed]
        self._latest.extend(messages)
        handed = self._handed
        for message in messages:
            handed[(message._topic, message._partition)] = message._offset + 1
        result.extend(messages)
        while errors and len(result) < count:
            result.append(errors.popleft())
        return result

    async def subscribe(
        self,
        topics: list[str],
        on_assign: Callable[..., Any] | None = None,
        on_revoke: Callable[..., Any] | None = None,
        on_lost: Callable[..., Any] | None = None,
    ) -> None:
        check_subscribe_arguments(topics, on_assign, on_revoke, on_lost)

        def adapt(callback: Callable[..., Any] | None) -> Callable[..., Any] | None:
            if callback is None:
                return None

            async def rebalance(_native: Any, partitions: list[Any]) -> None:
                await _maybe_await(callback(self, list_from_native(partitions)))

            return rebalance

        if on_lost is None and on_revoke is not None:
            on_lost = on_revoke
        await _translated(
            self._native.subscribe(
                list(topics), on_assign=adapt(on_assign), on_revoke=adapt(on_revoke), on_lost=adapt(on_lost)
            )
        )

    async def unsubscribe(self) -> None:
        await _translated(self._native.unsubscribe())

    async def assign(self, partitions: list[TopicPartition]) -> None:
        await _translated(self._native.assign(list_to_native(partitions)))

    async def unassign(self) -> None:
        await _translated(self._native.unassign())

    async def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        await _translated(self._native.incremental_assign(list_to_native(partitions)))

    async def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        await _translated(self._native.incremental_unassign(list_to_native(partitions)))

    async def assignment(self) -> list[TopicPartition]:
        return list_from_native(await _translated(self._native.assignment()))

    async def pause(self, partitions: list[TopicPartition]) -> None:
        await _translated(self._native.pause(list_to_native(partitions)))

    async def resume(self, partitions: list[TopicPartition]) -> None:
        await _translated(self._native.resume(list_to_native(partitions)))

    async def seek(self, partition: TopicPartition) -> None:
        await _translated(self._native.seek(to_native(partition)))

    async def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return list_from_native(await _translated(self._native.position(list_to_native(partitions))))

    async def committed(self, partitions: list[TopicPartition], timeout: float = -1) -> list[TopicPartition]:
        return list_from_native(
            await _translated(self._native.committed(list_to_native(partitions), timeout=_timeout(timeout)))
        )

    async def commit(
        self, message: Message | None = None, offsets: list[TopicPartition] | None = None, asynchronous: bool = True
    ) -> list[TopicPartition] | None:
        """As ``Consumer.commit``: asynchronous by default (the result goes to ``on_commit``);
        ``asynchronous=False`` waits (on the loop) and returns the committed partitions."""
        if message is not None and offsets is not None:
            raise ValueError("message and offsets are mutually exclusive")
        if message is not None:
            native = _message_offsets(message)
        elif offsets is not None:
            native = list_to_native(offsets)
        else:
            assigned = {(tp.topic, tp.partition) for tp in await _translated(self._native.assignment())}
            native = [
                _fk.TopicPartition(topic, partition, offset)
                for (topic, partition), offset in self._handed.items()
                if (topic, partition) in assigned
            ]
            if not native:
                raise KafkaException(KafkaError(KafkaError._NO_OFFSET))
        if asynchronous:
            await _translated(self._native.commit(offsets=native, asynchronous=True))
            return None
        if "on_commit" in self._user:
            self._sync_commits.append(frozenset((tp.topic, tp.partition) for tp in native))
        await _translated(self._native.commit(offsets=native, asynchronous=False))
        return list_from_native(native)

    async def store_offsets(self, message: Message | None = None, offsets: list[TopicPartition] | None = None) -> None:
        if message is not None:
            native = _message_offsets(message)
        else:
            native = list_to_native(offsets or [])
        await _translated(self._native.store_offsets(offsets=native))

    async def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float = -1, cached: bool = False
    ) -> tuple[int, int]:
        return await _translated(self._native.get_watermark_offsets(to_native(partition), _timeout(timeout)))  # type: ignore[no-any-return]

    async def offsets_for_times(self, partitions: list[TopicPartition], timeout: float = -1) -> list[TopicPartition]:
        return list_from_native(
            await _translated(self._native.offsets_for_times(list_to_native(partitions), _timeout(timeout)))
        )

    async def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return from_dict(await _translated(self._native.list_topics(topic, _timeout(timeout))), None)

    async def cluster_id(self, timeout: float = -1) -> str | None:
        return await _cluster_id(self._native._consumer, self, timeout)

    async def consumer_group_metadata(self) -> Any:
        return await _translated(self._native.consumer_group_metadata())

    def set_sasl_credentials(self, username: str, password: str) -> None:
        call(self._native.set_sasl_credentials, username, password)

    async def close(self) -> None:
        if self._native is _CLOSED_CONSUMER:
            return
        if self._own_executor:  # a given one stays usable, as with confluent-kafka's consumer
            _shut_down(self.executor)
        for message in self._previous + self._latest:
            message._materialize()
        self._previous.clear()
        self._latest.clear()
        self._closing = True
        await _translated(self._native.close())
        # Every later call raises what confluent-kafka's does (RuntimeError("Consumer closed")),
        # with no check on the way of the calls of an open consumer.
        self._native = _CLOSED_CONSUMER
        self._errors.clear()


AIOProducer.__module__ = AIOConsumer.__module__ = __name__

from .._aio_serializing import AsyncDeserializingConsumer, AsyncSerializingProducer  # noqa: E402
