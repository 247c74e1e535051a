"""confluent-kafka's ``SerializingProducer`` and ``DeserializingConsumer``: the drop-in's
``Producer``/``Consumer`` with a (de)serializer per key and value, configured by
``key.serializer``/``value.serializer`` (or ``*.serializer.builder``) and
``key.deserializer``/``value.deserializer`` (or ``*.deserializer.builder``). confluent-kafka's
Schema Registry serializers work as they are."""

from __future__ import annotations

import threading
from typing import Any

from ._consumer import Consumer
from ._message import Message
from ._producer import Producer
from .error import (
    ConsumeError,
    KeyDeserializationError,
    KeySerializationError,
    ValueDeserializationError,
    ValueSerializationError,
)
from .serialization import MessageField, SerializationContext


def _take(conf: Any, names: tuple[str, str]) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """Removes the (de)serializer keys of `names` from a copy of `conf`: returns the copy, the two
    (de)serializers (built from builders where given) and those the client built (to close)."""
    if not isinstance(conf, dict):
        raise TypeError("expected configuration dict")
    rest = dict(conf)
    given = [rest.pop(name, None) for name in names]
    builders = [rest.pop(f"{name}.builder", None) for name in names]
    serdes: list[Any] = []
    owned: list[Any] = []
    try:
        for name, serde, builder, is_key in zip(names, given, builders, (True, False)):
            if serde is not None and builder is not None:
                raise ValueError(f"{name} and {name}.builder are mutually exclusive")
            if builder is not None:
                serde, rest = builder.build(rest, is_key)
                owned.append(serde)
            serdes.append(serde)
    except BaseException:
        _close(owned)
        raise
    return rest, serdes, owned


def _close(serdes: list[Any]) -> None:
    first: BaseException | None = None
    for serde in serdes:
        close = getattr(serde, "close", None)
        if close is None:
            continue
        try:
            close()
        except Exception as error:  # the first error is raised once every one was tried
            first = first or error
    if first is not None:
        raise first


class _ClusterIdResolver:
    """Asks the client for the cluster id once, when a (de)serializer first needs it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._id: str | None = None

    def __call__(self) -> str | None:
        with self._lock:
            if self._id is None:
                self._id = self._client.cluster_id()
            return self._id


def _give_resolver(client: Any, serdes: list[Any]) -> None:
    resolver = _ClusterIdResolver(client)
    for serde in serdes:
        set_resolver = getattr(serde, "set_cluster_id_resolver", None)
        if set_resolver is not None:
            set_resolver(resolver)


class SerializingProducer(Producer):
    """A :class:`Producer` that serializes keys and values: ``produce(topic, key=None,
    value=None, partition=-1, on_delivery=None, timestamp=0, headers=None)``. A serializer's
    exception is raised as ``KeySerializationError``/``ValueSerializationError``."""

    _key_serializer: Any = None
    _value_serializer: Any = None
    _owned: list[Any]

    def __init__(self, conf: dict[str, Any]) -> None:
        rest, (self._key_serializer, self._value_serializer), self._owned = _take(
            conf, ("key.serializer", "value.serializer")
        )
        try:
            super().__init__(rest)
            _give_resolver(self, [self._key_serializer, self._value_serializer])
        except BaseException:
            owned, self._owned = self._owned, []
            try:
                _close(owned)
            except Exception:
                pass
            raise

    def produce(  # type: ignore[override]
        self,
        topic: str,
        key: Any = None,
        value: Any = None,
        partition: int = -1,
        on_delivery: Any = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> None:
        self._open()
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        if self._key_serializer is not None:
            try:
                key = self._key_serializer(key, SerializationContext(topic, MessageField.KEY, headers))
            except Exception as error:
                raise KeySerializationError(error) from error
        if self._value_serializer is not None:
            try:
                value = self._value_serializer(value, SerializationContext(topic, MessageField.VALUE, headers))
            except Exception as error:
                raise ValueSerializationError(error) from error
        super().produce(
            topic, value, key, headers=headers, partition=partition, timestamp=timestamp, on_delivery=on_delivery
        )

    def close(self) -> bool:
        """Closes the producer, then the serializers it built from builders."""
        result = super().close()
        owned, self._owned = getattr(self, "_owned", []), []
        _close(owned)
        return result


class DeserializingConsumer(Consumer):
    """A :class:`Consumer` that deserializes keys and values: ``poll()`` returns a
    :class:`Message` whose ``key()``/``value()`` are deserialized; an error event is raised as
    ``ConsumeError``, a deserializer's exception as ``KeyDeserializationError``/
    ``ValueDeserializationError`` (with the raw message in ``kafka_message``)."""

    _key_deserializer: Any = None
    _value_deserializer: Any = None
    _owned: list[Any]

    def __init__(self, conf: dict[str, Any]) -> None:
        rest, (self._key_deserializer, self._value_deserializer), self._owned = _take(
            conf, ("key.deserializer", "value.deserializer")
        )
        try:
            super().__init__(rest)
            _give_resolver(self, [self._key_deserializer, self._value_deserializer])
        except BaseException:
            owned, self._owned = self._owned, []
            try:
                _close(owned)
            except Exception:
                pass
            raise

    def poll(self, timeout: float = -1) -> Message | None:
        message = super().poll(timeout)
        if message is None:
            return None
        error = message.error()
        if error is not None:
            raise ConsumeError(error, kafka_message=message)
        topic = message.topic()
        headers = message.headers()
        if self._value_deserializer is not None:
            try:
                value = self._value_deserializer(
                    message.value(), SerializationContext(topic, MessageField.VALUE, headers)
                )
            except Exception as failure:
                raise ValueDeserializationError(exception=failure, kafka_message=message) from failure
            message.set_value(value)
        if self._key_deserializer is not None:
            try:
                key = self._key_deserializer(message.key(), SerializationContext(topic, MessageField.KEY, headers))
            except Exception as failure:
                raise KeyDeserializationError(exception=failure, kafka_message=message) from failure
            message.set_key(key)
        return message

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        """Not implemented, as in confluent-kafka: use :meth:`poll`."""
        raise NotImplementedError

    def close(self) -> None:
        """Closes the consumer, then the deserializers it built from builders."""
        super().close()
        owned, self._owned = getattr(self, "_owned", []), []
        _close(owned)


SerializingProducer.__module__ = "ferrokafka.confluent"
DeserializingConsumer.__module__ = "ferrokafka.confluent"
