"""``AsyncSerializingProducer`` and ``AsyncDeserializingConsumer``: the drop-in's asyncio clients
with a (de)serializer per key and value, as the synchronous ``SerializingProducer``/
``DeserializingConsumer`` (see ``_serializing.py``); a (de)serializer may be a coroutine function.
Construction may be awaited (``producer = await AsyncSerializingProducer(conf)``, as confluent-kafka
requires) or not; ``*.serializer.builder`` keys need the awaited form (builders may be async)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ._message import Message
from ._serializing import _take
from .aio import AIOConsumer, AIOProducer, _maybe_await
from .error import (
    ConsumeError,
    KeyDeserializationError,
    KeySerializationError,
    ValueDeserializationError,
    ValueSerializationError,
)
from .serialization import MessageField, SerializationContext


async def _build(conf: dict[str, Any], names: tuple[str, str]) -> tuple[dict[str, Any], list[Any], list[Any]]:
    rest = dict(conf)
    serdes: list[Any] = []
    owned: list[Any] = []
    for name, is_key in zip(names, (True, False)):
        serde = rest.pop(name, None)
        builder = rest.pop(f"{name}.builder", None)
        if serde is not None and builder is not None:
            raise ValueError(f"{name} and {name}.builder are mutually exclusive")
        if builder is not None:
            serde, rest = await _maybe_await(builder.build(rest, is_key))
            owned.append(serde)
        serdes.append(serde)
    return rest, serdes, owned


async def _close_async(serdes: list[Any]) -> None:
    for serde in serdes:
        close = getattr(serde, "close", None)
        if close is not None:
            await _maybe_await(close())


class _Awaitable:
    """``await Client(conf)`` gives the client (building the serdes of ``*.builder`` keys first)."""

    _pending_conf: dict[str, Any] | None = None
    _names: tuple[str, str]

    def __await__(self) -> Generator[Any, None, Any]:
        return self._finish().__await__()

    async def _finish(self) -> Any:
        conf, self._pending_conf = self._pending_conf, None
        if conf is not None:
            rest, serdes, owned = await _build(conf, self._names)
            self._set_serdes(serdes, owned)
            self._start(rest)
        return self

    def _set_serdes(self, serdes: list[Any], owned: list[Any]) -> None:
        raise NotImplementedError

    def _start(self, conf: dict[str, Any]) -> None:
        raise NotImplementedError


def _has_builders(conf: Any, names: tuple[str, str]) -> bool:
    return isinstance(conf, dict) and any(f"{name}.builder" in conf for name in names)


class AsyncSerializingProducer(_Awaitable, AIOProducer):
    """An :class:`AIOProducer` that serializes keys and values first:
    ``await producer.produce(topic, key=None, value=None, ...)``."""

    _names = ("key.serializer", "value.serializer")
    _key_serializer: Any = None
    _value_serializer: Any = None
    _owned: list[Any]

    def __init__(self, conf: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self._owned = []
        if _has_builders(conf, self._names):
            self._pending_conf = dict(conf)
            return
        rest, serdes, self._owned = _take(conf, self._names)
        self._set_serdes(serdes, self._owned)
        self._start(rest)

    def _set_serdes(self, serdes: list[Any], owned: list[Any]) -> None:
        self._key_serializer, self._value_serializer = serdes
        self._owned = owned

    def _start(self, conf: dict[str, Any]) -> None:
        AIOProducer.__init__(self, conf)

    async def produce(  # type: ignore[override]
        self, topic: str, key: Any = None, value: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        headers = kwargs.get("headers")
        if self._key_serializer is not None:
            try:
                key = await _maybe_await(
                    self._key_serializer(key, SerializationContext(topic, MessageField.KEY, headers))
                )
            except Exception as error:
                raise KeySerializationError(error) from error
        if self._value_serializer is not None:
            try:
                value = await _maybe_await(
                    self._value_serializer(value, SerializationContext(topic, MessageField.VALUE, headers))
                )
            except Exception as error:
                raise ValueSerializationError(error) from error
        return await AIOProducer.produce(self, topic, value, key, *args, **kwargs)

    async def close(self) -> None:
        await AIOProducer.close(self)
        owned, self._owned = self._owned, []
        await _close_async(owned)


class AsyncDeserializingConsumer(_Awaitable, AIOConsumer):
    """An :class:`AIOConsumer` whose ``poll()`` deserializes keys and values (an error event is
    raised as ``ConsumeError``, a deserializer's exception as ``Key/ValueDeserializationError``)."""

    _names = ("key.deserializer", "value.deserializer")
    _key_deserializer: Any = None
    _value_deserializer: Any = None
    _owned: list[Any]

    def __init__(self, conf: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self._owned = []
        if _has_builders(conf, self._names):
            self._pending_conf = dict(conf)
            return
        rest, serdes, self._owned = _take(conf, self._names)
        self._set_serdes(serdes, self._owned)
        self._start(rest)

    def _set_serdes(self, serdes: list[Any], owned: list[Any]) -> None:
        self._key_deserializer, self._value_deserializer = serdes
        self._owned = owned

    def _start(self, conf: dict[str, Any]) -> None:
        AIOConsumer.__init__(self, conf)

    async def poll(self, timeout: float = -1) -> Message | None:
        message = await AIOConsumer.poll(self, timeout)
        if message is None:
            return None
        error = message.error()
        if error is not None:
            raise ConsumeError(error, kafka_message=message)
        topic = message.topic()
        headers = message.headers()
        if self._value_deserializer is not None:
            try:
                value = await _maybe_await(
                    self._value_deserializer(message.value(), SerializationContext(topic, MessageField.VALUE, headers))
                )
            except Exception as failure:
                raise ValueDeserializationError(exception=failure, kafka_message=message) from failure
            message.set_value(value)
        if self._key_deserializer is not None:
            try:
                key = await _maybe_await(
                    self._key_deserializer(message.key(), SerializationContext(topic, MessageField.KEY, headers))
                )
            except Exception as failure:
                raise KeyDeserializationError(exception=failure, kafka_message=message) from failure
            message.set_key(key)
        return message

    async def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        """Not implemented, as in confluent-kafka: use :meth:`poll`."""
        raise NotImplementedError

    async def close(self) -> None:
        await AIOConsumer.close(self)
        owned, self._owned = self._owned, []
        await _close_async(owned)


AsyncSerializingProducer.__module__ = AsyncDeserializingConsumer.__module__ = "ferrokafka.confluent.aio"
