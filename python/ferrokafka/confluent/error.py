"""``confluent_kafka.error``: the exceptions of the serializing clients, each a
:class:`KafkaException` whose ``args[0]`` is the :class:`KafkaError`."""

from __future__ import annotations

from typing import Any

from ._errors import KafkaError, KafkaException
from ._message import Message
from .serialization import SerializationError


class _KafkaClientError(KafkaException):
    """A client's error: the KafkaError, the exception that caused it (``exception``) and the
    message concerned (``kafka_message``), with ``code`` and ``name`` as properties."""

    def __init__(
        self, kafka_error: KafkaError, exception: BaseException | None = None, kafka_message: Message | None = None
    ) -> None:
        super().__init__(kafka_error)
        self.exception = exception
        self.kafka_message = kafka_message

    @property
    def code(self) -> int:
        error: Any = self.args[0]
        return int(error.code())

    @property
    def name(self) -> str:
        error: Any = self.args[0]
        return str(error.name())


class ConsumeError(_KafkaClientError):
    """Consuming a message failed; ``kafka_message`` is the message as it came."""


class KeyDeserializationError(ConsumeError, SerializationError):
    """The key deserializer raised ``exception``."""

    def __init__(self, exception: BaseException | None = None, kafka_message: Message | None = None) -> None:
        super().__init__(KafkaError(KafkaError._KEY_DESERIALIZATION, str(exception)), exception, kafka_message)


class ValueDeserializationError(ConsumeError, SerializationError):
    """The value deserializer raised ``exception``."""

    def __init__(self, exception: BaseException | None = None, kafka_message: Message | None = None) -> None:
        super().__init__(KafkaError(KafkaError._VALUE_DESERIALIZATION, str(exception)), exception, kafka_message)


class ProduceError(_KafkaClientError):
    """Producing a message failed."""

    def __init__(self, kafka_error: KafkaError, exception: BaseException | None = None) -> None:
        super().__init__(kafka_error, exception, None)


class KeySerializationError(ProduceError, SerializationError):
    """The key serializer raised ``exception``."""

    def __init__(self, exception: BaseException | None = None) -> None:
        super().__init__(KafkaError(KafkaError._KEY_SERIALIZATION, str(exception)), exception)


class ValueSerializationError(ProduceError, SerializationError):
    """The value serializer raised ``exception``."""

    def __init__(self, exception: BaseException | None = None) -> None:
        super().__init__(KafkaError(KafkaError._VALUE_SERIALIZATION, str(exception)), exception)


__all__ = [
    "ConsumeError",
    "KafkaError",
    "KafkaException",
    "KeyDeserializationError",
    "KeySerializationError",
    "Message",
    "ProduceError",
    "SerializationError",
    "ValueDeserializationError",
    "ValueSerializationError",
]
