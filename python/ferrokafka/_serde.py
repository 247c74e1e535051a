"""What the serializing clients share, synchronous (:mod:`ferrokafka.serialization`) and asyncio
(``ferrokafka.aio``'s ``AsyncSerializingProducer``/``AsyncDeserializingConsumer``): the message
fields and context, the errors, the hooks, the deserialized message, and the two bases that
serialize (``Serializing``) and deserialize and keep the offsets of what was handed out
(``Deserializing``). Both client modules build on this one, and neither imports the other.

The public classes here are documented and imported as ``ferrokafka.serialization``'s (their
``__module__`` says so, which keeps their pickles and reprs as they were).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ferrokafka._config import config_bool
from ferrokafka._native import (
    BorrowedMessage,
    Consumer,
    DeliveryReport,
    Error,
    KafkaError,
    OwnedMessage,
    Producer,
    TimestampType,
    TopicPartition,
)

if TYPE_CHECKING:
    pass


if TYPE_CHECKING:
    # PEP 696 defaults (as confluent-kafka does): an unparameterized SerializingProducer(config) or
    # DeserializingConsumer(config) is [Any, Any] to a type checker instead of needing an annotation.
    from typing_extensions import TypeVar as _TypeVarWithDefault

    K = _TypeVarWithDefault("K", default=Any)
    V = _TypeVarWithDefault("V", default=Any)
else:
    K = TypeVar("K")
    V = TypeVar("V")

_DeliveryCallback = Callable[[KafkaError | None, DeliveryReport | None], object]


class MessageField(StrEnum):
    """Which part of a message a hook works on. A ``str`` whose value is ``"key"`` or ``"value"``,
    as confluent-kafka's: its schema-registry serializers build subject names as
    ``ctx.topic + "-" + ctx.field`` ("orders-value") and compare ``ctx.field == MessageField.KEY``
    (equal across the two enums, since both compare as strings).
    """

    NONE = "none"
    KEY = "key"
    VALUE = "value"


class SerializationContext:
    """What a hook is told besides the data: ``topic``, ``field`` (:class:`MessageField`) and
    ``headers``, as confluent-kafka's ``SerializationContext``.

    On the producer ``headers`` is the list that will be sent: a serializer may append to it (as
    confluent-kafka's ``header_schema_id_serializer`` does); when ``produce()`` got no headers it is
    a fresh empty list, sent only if a serializer added something. On the consumer it is the
    message's headers, a list of ``(key, value)`` tuples.
    """

    def __init__(self, topic: str, field: MessageField, headers: Any = None) -> None:
        self.topic = topic
        self.field = field
        self.headers = headers

    def __repr__(self) -> str:
        return f"SerializationContext(topic={self.topic!r}, field={self.field!s}, headers={self.headers!r})"


# --- errors -------------------------------------------------------------------------------------


def _restore(cls: type[KafkaError]) -> KafkaError:
    error = cls.__new__(cls)
    Exception.__init__(error)
    error.args = (error,)  # as KafkaError's: the error itself; the rest is its pickled __dict__
    return error


class _Code(int):
    """The code of a serialization error: an ``int``, as confluent-kafka's property ``e.code`` gives
    it, that answers ``e.code()`` too, as every ``KafkaError``."""

    def __call__(self) -> int:
        return int(self)


class _Name(str):
    """The name of a serialization error: a ``str`` (confluent-kafka's property ``e.name``) that
    answers ``e.name()`` too."""

    def __call__(self) -> str:
        return str(self)


class _ClientErrorCode:
    """``code`` and ``name`` of confluent-kafka's serialization and consume errors, which are
    properties there (``e.code == KafkaError._VALUE_SERIALIZATION``) where a ``KafkaError`` has
    methods: here they are both."""

    @property
    def code(self) -> _Code:
        return _Code(KafkaError.code(self))  # type: ignore[arg-type]

    @property
    def name(self) -> _Name:
        return _Name(KafkaError.name(self))  # type: ignore[arg-type]


class SerializationError(_ClientErrorCode, KafkaError):
    """A key or value could not be serialized or deserialized. ``exception`` is the hook's exception
    (also the ``__cause__``); ``field`` is :class:`MessageField` ``KEY`` or ``VALUE``. ``code`` and
    ``name`` are values, as confluent-kafka's properties, that may be called, as ``KafkaError``'s
    methods (``e.code == e.code()``).
    """

    exception: BaseException | None
    field: MessageField

    def __init__(
        self,
        message: str = "",
        code: int | None = None,
        *,
        exception: BaseException | None = None,
        field: MessageField = MessageField.NONE,
    ) -> None:
        KafkaError.__init__(self, KafkaError._FAIL if code is None else code, message)
        self.exception = exception
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self),), dict(self.__dict__))


class _FieldSerializationError(SerializationError):
    """A serializer of one field raised; `_FIELD` and `_CODE` say which."""

    _FIELD: MessageField
    _CODE: int
    index: int | None

    def __init__(self, exception: BaseException, index: int | None = None) -> None:
        super().__init__(
            _describe(self._FIELD.value, "serialized", exception, index),
            self._CODE,
            exception=exception,
            field=self._FIELD,
        )
        self.index = index


class KeySerializationError(_FieldSerializationError):
    """``SerializingProducer``: the key serializer raised (code ``KafkaError._KEY_SERIALIZATION``).
    Nothing was sent. ``index`` is the message's index in ``produce_batch()``, else None."""

    _FIELD = MessageField.KEY
    _CODE = KafkaError._KEY_SERIALIZATION


class ValueSerializationError(_FieldSerializationError):
    """``SerializingProducer``: the value serializer raised (code ``KafkaError._VALUE_SERIALIZATION``).
    Nothing was sent. ``index`` is the message's index in ``produce_batch()``, else None."""

    _FIELD = MessageField.VALUE
    _CODE = KafkaError._VALUE_SERIALIZATION


def _describe(field: str, done: str, exception: BaseException, index: int | None) -> str:
    where = "" if index is None else f" of message {index}"
    return f"the {field}{where} could not be {done}: {type(exception).__name__}: {exception}"


class ConsumeError(_ClientErrorCode, KafkaError):
    """A message could not be handed to the application: ``topic``, ``partition``, ``offset`` name
    it, ``kafka_message`` is a copy of it as received (an ``OwnedMessage``, raw bytes), ``exception``
    the cause. confluent-kafka's name; its ``kafka_message`` is its ``Message``. ``code`` and
    ``name`` are values that may be called, as :class:`SerializationError`'s.
    """

    topic: str
    partition: int
    offset: int
    kafka_message: OwnedMessage | None
    exception: BaseException | None

    def __init__(
        self,
        message: str,
        code: int,
        *,
        topic: str,
        partition: int,
        offset: int,
        kafka_message: OwnedMessage | None = None,
        exception: BaseException | None = None,
    ) -> None:
        KafkaError.__init__(self, code, message)
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.kafka_message = kafka_message
        self.exception = exception

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self),), dict(self.__dict__))


class DeserializationError(ConsumeError, SerializationError):
    """``DeserializingConsumer``: a deserializer raised. The message was not handed out and its
    partition was sought back to it: the next call gets it again (and fails again, unless the hook
    changed), and no offset past it is stored or committed. It stays first in line, ahead of other
    partitions' messages fetched after it (as in Java's KafkaConsumer). Skip it with
    ``consumer.seek(TopicPartition(err.topic, err.partition, err.offset + 1))``, or
    ``consumer.pause([TopicPartition(err.topic, err.partition)])`` to go on with the other partitions.
    """

    def __init__(self, field: MessageField, exception: BaseException, message: OwnedMessage) -> None:
        ConsumeError.__init__(
            self,
            f"the {field} of {message.topic} [{message.partition}] at offset {message.offset} could not be "
            f"deserialized: {type(exception).__name__}: {exception}",
            KafkaError._KEY_DESERIALIZATION if field is MessageField.KEY else KafkaError._VALUE_DESERIALIZATION,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            kafka_message=message,
            exception=exception,
        )
        self.field = field


class KeyDeserializationError(DeserializationError):
    """The key deserializer raised (code ``KafkaError._KEY_DESERIALIZATION``)."""


class ValueDeserializationError(DeserializationError):
    """The value deserializer raised (code ``KafkaError._VALUE_DESERIALIZATION``)."""


# --- hooks --------------------------------------------------------------------------------------


class Hook(NamedTuple):
    """A hook and how to call it: ``call(data, ctx)`` if ``context``, else ``call(data)``."""

    call: Callable[..., Any]
    context: bool

    def run(self, data: Any, topic: str, field: MessageField, headers: Any) -> Any:
        """Calls the hook on one field's data, with a context if it takes one."""
        if self.context:
            return self.call(data, SerializationContext(topic, field, headers))
        return self.call(data)


_CONTEXT_NAMES = frozenset({"ctx", "context"})
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _is_confluent_serde(hook: object) -> bool:
    return any(
        cls.__name__ in ("Serializer", "Deserializer") and cls.__module__.startswith("confluent_kafka")
        for cls in type(hook).__mro__
    )


def _takes_context(hook: Callable[..., Any], name: str) -> bool:
    """Whether `hook` is called as f(data, ctx) (True) or f(data) (False); see the module docs."""
    if _is_confluent_serde(hook):
        return True
    try:
        signature = inspect.signature(hook)
    except (ValueError, TypeError):
        return False  # builtins without a signature: bytes, int, ...
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    star_args = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    if not positional and not star_args:
        raise TypeError(f"{name} must take the data as a positional argument: {hook!r} takes none")
    if len(required) > 2:
        raise TypeError(f"{name} must be callable as f(data, ctx) or f(data): {hook!r} requires {len(required)}")
    if len(positional) >= 2:
        second = positional[1]
        return second.default is inspect.Parameter.empty or second.name in _CONTEXT_NAMES
    return star_args


def _hook(
    config: dict[str, object], name: str, *, confluent_wants_bytes: bool = False, kind: type[Hook] = Hook
) -> Hook | None:
    """Pops `name` from `config` and returns it as an f(data, ctx) callable, or None. With
    `confluent_wants_bytes`, confluent-kafka's Deserializers are given bytes (see DeserializingConsumer).
    `kind` is the class of the result: a subclass (ferrokafka.aio's, which awaits) takes coroutine
    functions too."""
    hook: Any = config.pop(name, None)  # Any: narrowing an `object` with callable() confuses stubtest
    if hook is None:
        return None
    if not callable(hook):
        raise TypeError(f"{name} must be callable as f(data, ctx) or f(data), not {type(hook).__name__}")
    if kind is Hook and (inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(type(hook).__call__)):
        raise TypeError(
            f"{name} is a coroutine function (an async serializer): give a synchronous one, or use "
            "ferrokafka.aio's AsyncSerializingProducer/AsyncDeserializingConsumer"
        )
    if confluent_wants_bytes and _is_confluent_serde(hook):
        confluent = hook
        return kind(lambda data, ctx: confluent(bytes(data), ctx), True)
    return kind(hook, _takes_context(hook, name))


def _reject_builders(config: Mapping[str, object], names: tuple[str, ...]) -> None:
    for name in names:
        if f"{name}.builder" in config:
            raise ValueError(
                f"{name}.builder (confluent-kafka's experimental serde builders) is not supported: "
                f"build the {name.split('.')[1]} and pass it as {name}"
            )


# --- producer -----------------------------------------------------------------------------------


class Serializing(Generic[K, V]):
    """What :class:`SerializingProducer` shares with ``ferrokafka.aio.AsyncSerializingProducer``: the
    serializers and how they are run."""

    _key: Hook | None
    _value: Hook | None
    _producer: Producer

    def _configure(self, config: Mapping[str, object], *, kind: type[Hook] = Hook) -> dict[str, object]:
        """Takes the serializers out of (a copy of) `config`; returns the rest, for the producer."""
        conf = dict(config)
        _reject_builders(conf, ("key.serializer", "value.serializer"))
        self._key = _hook(conf, "key.serializer", kind=kind)
        self._value = _hook(conf, "value.serializer", kind=kind)
        return conf

    def _serialize(self, topic: str, key: object, value: object, headers: Any, index: int | None) -> tuple[Any, Any]:
        if key is not None and self._key is not None:
            try:
                key = self._key.run(key, topic, MessageField.KEY, headers)
            except Exception as exc:
                raise KeySerializationError(exc, index) from exc
        if value is not None and self._value is not None:
            try:
                value = self._value.run(value, topic, MessageField.VALUE, headers)
            except Exception as exc:
                raise ValueSerializationError(exc, index) from exc
        return key, value

    def _check(self, topic: object) -> None:
        # Before the serializers run: they may register schemas for a message that cannot be sent.
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        if self._producer.closed:
            raise KafkaError(KafkaError._STATE, "the producer is closed")

    def _check_batch(
        self, topic: object, values: Sequence[object], keys: Sequence[object] | None, headers: Sequence[Any] | None
    ) -> None:
        self._check(topic)
        count = len(values)
        if keys is not None and len(keys) != count:
            raise ValueError(f"keys has {len(keys)} entries for {count} values")
        if headers is not None and len(headers) != count:
            raise ValueError(f"headers has {len(headers)} entries for {count} values")


class DeserializedMessage(Generic[K, V]):
    """A message of a :class:`DeserializingConsumer`: owned, immutable (read-only properties), any
    thread, picklable if its key and value are; equal by content, hashable if they are.

    Properties like ferrokafka's ``OwnedMessage`` (``msg.value``, not confluent-kafka's
    ``msg.value()``); ``value`` rather than ``payload`` because it is the deserialized object. Without
    a deserializer ``key``/``value`` are ``bytes``; ``None`` when the message has none. ``headers``
    is a tuple of ``(key, value)`` pairs. (A slotted class: one is made per message, in about 0.2 µs;
    a frozen dataclass takes 1.1 µs.)
    """

    __slots__ = ("_topic", "_partition", "_offset", "_timestamp", "_timestamp_type", "_headers", "_key", "_value")

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int | None,
        timestamp_type: TimestampType,
        headers: tuple[tuple[str, bytes | None], ...],
        key: K | None,
        value: V | None,
    ) -> None:
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._timestamp = timestamp
        self._timestamp_type = timestamp_type
        self._headers = headers
        self._key = key
        self._value = value

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def partition(self) -> int:
        return self._partition

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def timestamp(self) -> int | None:
        """Milliseconds since the epoch, or None when the broker gave none."""
        return self._timestamp

    @property
    def timestamp_type(self) -> TimestampType:
        return self._timestamp_type

    @property
    def headers(self) -> tuple[tuple[str, bytes | None], ...]:
        return self._headers

    @property
    def key(self) -> K | None:
        """The deserialized key (bytes without a key deserializer), or None."""
        return self._key

    @property
    def value(self) -> V | None:
        """The deserialized value (bytes without a value deserializer), or None (a tombstone)."""
        return self._value

    def _fields(self) -> tuple[Any, ...]:
        return (
            self._topic,
            self._partition,
            self._offset,
            self._timestamp,
            self._timestamp_type,
            self._headers,
            self._key,
            self._value,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeserializedMessage):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[type[DeserializedMessage[K, V]], tuple[Any, ...]]:
        return (type(self), self._fields())

    def __repr__(self) -> str:
        return (
            f"DeserializedMessage(topic={self._topic!r}, partition={self._partition}, offset={self._offset}, "
            f"key={self._key!r}, value={self._value!r})"
        )


class Deserializing(Generic[K, V]):
    """What :class:`DeserializingConsumer` shares with ``ferrokafka.aio.AsyncDeserializingConsumer``:
    the deserializers, and the record of what was handed out, stored and may be committed."""

    _consumer: Consumer
    # How long seeking back after a failed message waits for the seek to take effect (messages
    # fetched before a seek are never handed out after it, whether it waits or not).
    _SEEK_TIMEOUT = 30.0

    def _configure(self, config: Mapping[str, object], *, kind: type[Hook] = Hook) -> dict[str, object]:
        """Takes the deserializers out of (a copy of) `config`; returns the rest, for a consumer that
        stores no offset itself (this class does)."""
        conf = dict(config)
        _reject_builders(conf, ("key.deserializer", "value.deserializer"))
        self._key = _hook(conf, "key.deserializer", confluent_wants_bytes=True, kind=kind)
        self._value = _hook(conf, "value.deserializer", confluent_wants_bytes=True, kind=kind)
        # Both read (and checked) before either decides: librdkafka's rule for a boolean value.
        auto_store = config_bool("enable.auto.offset.store", conf.get("enable.auto.offset.store", True))
        auto_commit = config_bool("enable.auto.commit", conf.get("enable.auto.commit", True))
        self._auto_store = auto_store and auto_commit
        conf["enable.auto.offset.store"] = False
        self._lock = threading.Lock()
        # Per partition, the offset after the last message handed to the application: what commit()
        # without arguments commits (below what is still in hand).
        self._handed: dict[tuple[str, int], int] = {}
        # Per owner (the receiving thread; for the asyncio consumer the task that asked), what its
        # calls handed out that it is not done with yet: per partition (first offset, next offset).
        self._in_hand: dict[int, dict[tuple[str, int], tuple[int, int]]] = {}
        # Done, not stored in full yet (held below a message still in hand): per partition, the
        # offset after the last message done.
        self._done: dict[tuple[str, int], int] = {}
        return conf

    # -- handing out --

    def _record(self, messages: Sequence[DeserializedMessage[K, V]], owner: int | None = None) -> None:
        if not messages:
            return
        with self._lock:
            held = self._in_hand.setdefault(threading.get_ident() if owner is None else owner, {})
            for message in messages:
                key, offset = (message.topic, message.partition), message.offset
                self._handed[key] = offset + 1
                first = held[key][0] if key in held else offset
                held[key] = (min(first, offset), offset + 1)

    def _first_in_hand(self, key: tuple[str, int]) -> int | None:
        """The first offset of a partition some owner still holds (the lock held)."""
        firsts = [held[key][0] for held in self._in_hand.values() if key in held]
        return min(firsts) if firsts else None

    def _finish(self, owner: int | None = None) -> None:
        """Stores what `owner` (None: every owner) was handed: it is done with it. Nothing stored
        passes a message another owner still holds."""
        with self._lock:
            if owner is None:
                finished = list(self._in_hand.values())
                self._in_hand.clear()
            else:
                held = self._in_hand.pop(owner, None)
                finished = [] if held is None else [held]
            if not finished or not self._auto_store:
                return
            for held in finished:
                for key, (_, next_offset) in held.items():
                    self._done[key] = max(self._done.get(key, next_offset), next_offset)
            due: list[TopicPartition] = []
            for key, next_offset in list(self._done.items()):
                first = self._first_in_hand(key)
                if first is not None and first < next_offset:
                    due.append(TopicPartition(key[0], key[1], first))
                else:
                    due.append(TopicPartition(key[0], key[1], next_offset))
                    del self._done[key]
        try:
            self._consumer.store_offsets(offsets=due)
        except KafkaError:
            pass  # a partition revoked meanwhile: nothing to store for it any more
        except Error:
            # Closed meanwhile (an asyncio task that ends after close(), say): close() stored what
            # was done then; the rest is delivered again.
            if not self._consumer.closed:
                raise

    def _abandon(self, owner: int) -> None:
        """What `owner` holds will never be done (its task failed or was cancelled): it stays in
        hand, so nothing past it is stored or committed, until its partitions are taken away."""
        with self._lock:
            held = self._in_hand.pop(owner, None)
            if not held:
                return
            abandoned = self._in_hand.setdefault(-1, {})
            for key, (first, next_offset) in held.items():
                known = abandoned.get(key)
                abandoned[key] = (first, next_offset) if known is None else (min(known[0], first), next_offset)

    def _forget(self, partitions: Sequence[TopicPartition] | None) -> None:
        with self._lock:
            if partitions is None:
                self._handed.clear()
                self._in_hand.clear()
                self._done.clear()
                return
            for tp in partitions:
                key = (tp.topic, tp.partition)
                self._handed.pop(key, None)
                self._done.pop(key, None)
                for held in self._in_hand.values():
                    held.pop(key, None)

    @staticmethod
    def _decode(message: BorrowedMessage, hook: Hook | None, data: Any, field: MessageField, headers: Any) -> Any:
        """One field through its deserializer (None stays None; no deserializer: bytes)."""
        if data is None:
            return None
        if hook is None:
            return bytes(data)
        try:
            return hook.run(data, message.topic, field, headers)
        except Exception as exc:
            raise deserialization_error(field, exc, message) from exc

    def _deserialize(self, message: BorrowedMessage) -> DeserializedMessage[K, V]:
        topic = message.topic
        headers = message.headers
        key = self._decode(message, self._key, message.key, MessageField.KEY, headers)
        value = self._decode(message, self._value, message.payload, MessageField.VALUE, headers)
        return DeserializedMessage(
            topic,
            message.partition,
            message.offset,
            message.timestamp,
            message.timestamp_type,
            tuple(headers),
            key,
            value,
        )

    def _rewind(self, error: BaseException, messages: Sequence[BorrowedMessage]) -> None:
        """Seeks every partition of `messages` (those not handed out) back to its first message
        there, so that none of them is skipped and nothing past them is stored."""
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            first.setdefault((message.topic, message.partition), message.offset)
        for (topic, partition), offset in first.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset), self._SEEK_TIMEOUT)
            except KafkaError as seek_error:
                error.add_note(f"seeking {topic} [{partition}] back to offset {offset} failed: {seek_error}")

    def _take(self, messages: list[BorrowedMessage]) -> list[DeserializedMessage[K, V]]:
        """Deserializes `messages` in order, then hands them out (see `_hand_out`)."""
        out: list[DeserializedMessage[K, V]] = []
        error: BaseException | None = None
        try:
            for message in messages:
                out.append(self._deserialize(message))
        except BaseException as exc:
            error = exc
        return self._hand_out(messages, out, error)

    def _hand_out(
        self,
        messages: list[BorrowedMessage],
        out: list[DeserializedMessage[K, V]],
        error: BaseException | None,
        owner: int | None = None,
    ) -> list[DeserializedMessage[K, V]]:
        """Releases `messages`, whose first ones deserialized into `out` until `error` (None: all of
        them), and records `out` as handed out. After a DeserializationError returns `out` (raises
        it if `out` is empty), the rest sought back (see DeserializationError); after another error
        (Ctrl-C in a hook, a cancelled await) nothing is handed out: all are sought back, it is raised."""
        try:
            if isinstance(error, DeserializationError):
                self._rewind(error, messages[len(out) :])
                if not out:
                    raise error
            elif error is not None:
                self._rewind(error, messages)
                raise error
        finally:
            for message in messages:
                message.release()
        self._record(out, owner)
        return out

    # -- offsets --

    def _offsets_of(self, message: object) -> list[TopicPartition] | None:
        if isinstance(message, DeserializedMessage):
            return [TopicPartition(message.topic, message.partition, message.offset + 1)]
        return None

    def _to_commit(
        self, message: object, offsets: list[TopicPartition] | None, owner: int | None = None
    ) -> tuple[Any, Any] | None:
        """Stores what `owner` (None: every owner) was handed, then: (message, offsets) to give the
        native commit for ``commit(message, offsets=offsets)``, or None if there is nothing to
        commit."""
        self._finish(owner)
        if message is not None and offsets is None:
            converted = self._offsets_of(message)
            return (message, None) if converted is None else (None, converted)
        if message is not None:
            raise TypeError("commit() takes a message or offsets, not both")
        if offsets is None:
            assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
            with self._lock:
                offsets = [
                    TopicPartition(t, p, min(o, first) if (first := self._first_in_hand((t, p))) is not None else o)
                    for (t, p), o in self._handed.items()
                    if (t, p) in assigned
                ]
            if not offsets:
                return None
        return None, offsets

    def _store(self, message: object, offsets: list[TopicPartition] | None) -> None:
        converted = self._offsets_of(message)
        if converted is not None:
            if offsets is not None:
                raise TypeError("store_offsets() takes a message or offsets, not both")
            self._consumer.store_offsets(offsets=converted)
        else:
            self._consumer.store_offsets(message, offsets=offsets)  # type: ignore[arg-type]


def deserialization_error(field: MessageField, exception: Exception, message: BorrowedMessage) -> DeserializationError:
    """The error for a deserializer of `field` that raised `exception` on `message` (still borrowed)."""
    error = KeyDeserializationError if field is MessageField.KEY else ValueDeserializationError
    return error(field, exception, message.detach())


for _public in (
    MessageField,
    SerializationContext,
    SerializationError,
    KeySerializationError,
    ValueSerializationError,
    ConsumeError,
    DeserializationError,
    KeyDeserializationError,
    ValueDeserializationError,
    DeserializedMessage,
):
    _public.__module__ = "ferrokafka.serialization"
