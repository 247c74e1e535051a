"""``confluent_kafka.serialization``: the serializer interface that ``SerializingProducer``,
``DeserializingConsumer`` and confluent-kafka's Schema Registry serializers (Avro, JSON Schema,
Protobuf) share, and the primitive (de)serializers."""

from __future__ import annotations

import struct
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from ._errors import KafkaException

HeadersType = list[tuple[str, str | bytes | None]] | dict[str, str | bytes | None]


class MessageField(StrEnum):
    """Which part of a message a (de)serializer works on (``str()`` is its value, ``"key"``)."""

    NONE = "none"
    KEY = "key"
    VALUE = "value"


class SerializationContext:
    """What a (de)serializer is told about its data: ``topic``, ``field`` and ``headers``."""

    def __init__(self, topic: str, field: MessageField, headers: HeadersType | None = None) -> None:
        self.topic = topic
        self.field = field
        self.headers = headers


class SerializationError(KafkaException):
    """A (de)serializer failed."""


class Serializer:
    """Base class of serializers: ``serializer(obj, ctx) -> bytes | None``."""

    __slots__: list[str] = []

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        raise NotImplementedError

    def set_cluster_id_resolver(self, resolver: Callable[[], Any]) -> None:
        """Takes a callable that answers the cluster's id (for the *associated* subject name
        strategy); the default ignores it."""

    def close(self) -> None:
        """Releases what the serializer made for itself; the default does nothing."""


class Deserializer:
    """Base class of deserializers: ``deserializer(data, ctx) -> object | None``."""

    __slots__: list[str] = []

    def __call__(self, value: bytes | None, ctx: SerializationContext | None = None) -> Any:
        raise NotImplementedError

    def set_cluster_id_resolver(self, resolver: Callable[[], Any]) -> None:
        """See :meth:`Serializer.set_cluster_id_resolver`."""

    def close(self) -> None:
        """Releases what the deserializer made for itself; the default does nothing."""


class SerializerBuilder:
    """Builds a serializer when the client is made, from its configuration (the
    ``key.serializer.builder``/``value.serializer.builder`` keys)."""

    __slots__: list[str] = []

    def build(self, conf: dict[str, Any], is_key: bool) -> tuple[Serializer, dict[str, Any]]:
        """Returns the serializer and the configuration it left over for the client."""
        raise NotImplementedError


class DeserializerBuilder:
    """Builds a deserializer when the client is made (``key.deserializer.builder``/
    ``value.deserializer.builder``)."""

    __slots__: list[str] = []

    def build(self, conf: dict[str, Any], is_key: bool) -> tuple[Deserializer, dict[str, Any]]:
        """Returns the deserializer and the configuration it left over for the client."""
        raise NotImplementedError


_DOUBLE = struct.Struct(">d")
_INT = struct.Struct(">i")


class DoubleSerializer(Serializer):
    """``float`` as an IEEE 754 binary64, big-endian."""

    def __call__(self, obj: float | None, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        try:
            return _DOUBLE.pack(obj)
        except struct.error as error:
            raise SerializationError(str(error)) from error


class DoubleDeserializer(Deserializer):
    """An IEEE 754 binary64, big-endian, as ``float``."""

    def __call__(self, value: bytes | None, ctx: SerializationContext | None = None) -> float | None:
        if value is None:
            return None
        try:
            return float(_DOUBLE.unpack(value)[0])
        except struct.error as error:
            raise SerializationError(str(error)) from error


class IntegerSerializer(Serializer):
    """``int`` as a signed 32-bit big-endian integer."""

    def __call__(self, obj: int | None, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        try:
            return _INT.pack(obj)
        except struct.error as error:
            raise SerializationError(str(error)) from error


class IntegerDeserializer(Deserializer):
    """A signed 32-bit big-endian integer as ``int``."""

    def __call__(self, value: bytes | None, ctx: SerializationContext | None = None) -> int | None:
        if value is None:
            return None
        try:
            return int(_INT.unpack(value)[0])
        except struct.error as error:
            raise SerializationError(str(error)) from error


class StringSerializer(Serializer):
    """``str`` encoded with `codec` (default UTF-8)."""

    def __init__(self, codec: str = "utf_8") -> None:
        self.codec = codec

    def __call__(self, obj: str | None, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        try:
            return obj.encode(self.codec)
        except UnicodeError as error:
            raise SerializationError(str(error)) from error


class StringDeserializer(Deserializer):
    """Bytes decoded with `codec` (default UTF-8) as ``str``."""

    def __init__(self, codec: str = "utf_8") -> None:
        self.codec = codec

    def __call__(self, value: bytes | None, ctx: SerializationContext | None = None) -> str | None:
        if value is None:
            return None
        try:
            return bytes(value).decode(self.codec)
        except UnicodeError as error:
            raise SerializationError(str(error)) from error


__all__ = [
    "Deserializer",
    "DeserializerBuilder",
    "DoubleDeserializer",
    "DoubleSerializer",
    "IntegerDeserializer",
    "IntegerSerializer",
    "MessageField",
    "SerializationContext",
    "SerializationError",
    "Serializer",
    "SerializerBuilder",
    "StringDeserializer",
    "StringSerializer",
]
