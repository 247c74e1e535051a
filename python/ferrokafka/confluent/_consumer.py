"""confluent-kafka's ``Consumer`` on ferrokafka's.

``poll()`` hands out a small message (key and value up to ``_COPY_AT_MOST`` bytes together) with
both copied into ``bytes``, as confluent-kafka does; bigger ones, and ``consume()``'s, are
:class:`Message`s made from ferrokafka's borrowed messages without copying (see ``_message.py``).
To bound how long their views pin librdkafka's fetch
buffers, the consumer keeps the messages of its last two calls: at each call, those handed out
two calls ago that the application still references are materialized (their views copied into
``bytes``); all are at ``close()``. A loop that rebinds ``msg = consumer.poll()`` drops each message
before that, and pays no copy for what it does not read.

Errors come back as confluent-kafka returns them: the end of a partition (``enable.partition.eof``)
and consume errors (an unknown topic, an authorization failure) as messages whose ``error()`` is
set, client-level errors to ``error_cb``, fatal ones raised as ``KafkaException``.

Rebalance callbacks get this consumer and mutable ``TopicPartition``s: setting offsets and
calling ``assign()``/``incremental_assign()`` inside ``on_assign`` applies them.
"""

from __future__ import annotations

import math
import sys
import time
import weakref
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import ferrokafka as _fk
from ferrokafka._native import DropInPoll as _DropInPoll

from . import _config
from ._errors import KafkaError, KafkaException, call, reraise, text_of
from ._message import Message, error_message, from_borrowed
from ._metadata import ClusterMetadata, cluster_metadata
from ._producer import seconds
from ._topic_partition import TopicPartition, from_native, list_from_native, list_to_native, to_native

_CONSUMER_CALLBACKS = ("error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger", "on_commit")
_getrefcount = sys.getrefcount
# A handed-out message referenced only by the consumer's list, the loop variable and
# getrefcount's argument: the application let it go.
_UNREFERENCED = 3
# How long after a synchronous commit returns its result may still be on its way to on_commit
# (librdkafka queues it a moment after the commit's answer; the next poll or close() serves it).
_SYNC_RESULT_DELAY = 1.0
_CONSUME_ERROR_CONTEXTS = ("consume failed: ", "fatal consumer error: ")
# poll() copies a message's key and value into bytes when they are at most this long together (as
# confluent-kafka always does: cheaper than views for small messages); a bigger one is held as
# views, copied when read (see _message.py).
_COPY_AT_MOST = 8192


def _closed() -> RuntimeError:
    return RuntimeError("Consumer closed")


def _never_opened(timeout: Any = None) -> Message | None:
    raise _closed()


def _is_consume_error(error: BaseException) -> bool:
    return text_of(error).startswith(_CONSUME_ERROR_CONTEXTS)


class _Callbacks:
    """The consumer's callback adapters; they reach the consumer through a weak reference (the
    native consumer holds them)."""

    def __init__(self, consumer: Consumer, user: dict[str, Any]) -> None:
        self.consumer = weakref.ref(consumer)
        self.user = user
        self.errors: deque[Message] = deque()
        self.pending: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        # The partitions of the synchronous commits whose result ferrokafka has yet to pass to
        # on_commit (confluent-kafka returns or raises that result instead), with when the commit
        # returned (inf while it runs).
        self.sync_commits: list[list[Any]] = []

    def error_cb(self, error: Any) -> None:
        value = _config.error_value(error)
        if value is None:
            return
        if isinstance(error, BaseException) and _is_consume_error(error) and not value.fatal():
            self.event(error_message(value))
            return
        error_cb = self.user.get("error_cb")
        if error_cb is None:
            _config.default_error_log(value)
        else:
            error_cb(value)

    def event(self, message: Message) -> None:
        """Queues an error event: what the next poll() (or this one, if running) returns."""
        self.errors.append(message)
        self.queued()

    def queued(self) -> None:
        """Something was added to a container the native poll watches: it goes the Python way."""
        queued = getattr(getattr(self.consumer(), "_poller", None), "_queued", None)
        if queued is not None:  # none before the native poll is made (which then settles)
            queued()

    def throttle_cb(self, event: Any) -> None:
        self.user["throttle_cb"](_config.throttle_event(event))

    def on_commit(self, error: BaseException | None, partitions: list[_fk.TopicPartition] | None) -> None:
        if self.sync_commits:
            key = frozenset((tp.topic, tp.partition) for tp in partitions or [])
            for entry in self.sync_commits:
                if entry[0] == key:
                    self.sync_commits.remove(entry)
                    return
        self.user["on_commit"](_config.error_value(error), list_from_native(partitions or []))

    def forget_sync_commits(self, polled_at: float) -> None:
        """Forgets the synchronous commits whose result was served: librdkafka queues it a moment
        after the commit returns, and a poll that began a second later has served it."""
        if self.sync_commits:
            # in place: the native poll watches this list (see Consumer.__init__)
            self.sync_commits[:] = [entry for entry in self.sync_commits if entry[1] > polled_at - _SYNC_RESULT_DELAY]

    def rebalance(self, which: str, _native: Any, partitions: list[_fk.TopicPartition]) -> None:
        consumer = self.consumer()
        if consumer is None:
            return
        callback = consumer._rebalance_callbacks.get(which)
        if which == "lost" and callback is None:
            callback = consumer._rebalance_callbacks.get("revoke")
        if callback is None:
            return
        consumer._rebalancing += 1
        try:
            callback(consumer, list_from_native(partitions))
        finally:
            consumer._rebalancing -= 1


def check_subscribe_arguments(topics: Any, *callbacks: Any) -> None:
    """confluent-kafka's TypeErrors for `subscribe(topics, on_assign, on_revoke, on_lost)` (the
    asyncio consumer's too: confluent's calls the same C method)."""
    if not isinstance(topics, list):
        raise TypeError("expected list of topic unicode strings")
    for name, callback in zip(("on_assign", "on_revoke", "on_lost"), callbacks, strict=True):
        if callback is not None and not callable(callback):
            raise TypeError(f"expected {name} callback to be callable")


class Consumer:
    """confluent-kafka's high-level consumer: ``poll()`` returns a :class:`Message` (check its
    ``error()``) or ``None``; ``commit()`` is asynchronous unless ``asynchronous=False``."""

    _native: _fk.Consumer | None = None
    # poll()'s native path (set once the native consumer is made)
    _poller: Any = staticmethod(_never_opened)
    _callbacks: _Callbacks
    _rebalance_callbacks: dict[str, Any]
    _rebalancing = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        conf = _config.merge(args, kwargs, allow_empty=False)
        if not conf.get("group.id"):
            raise ValueError("Failed to create consumer: group.id must be set")
        user = _config.take_callbacks(conf, _CONSUMER_CALLBACKS)
        callbacks = _Callbacks(self, user)
        native_conf: dict[str, Any] = dict(conf)
        native_conf["error_cb"] = callbacks.error_cb
        if "stats_cb" in user:
            native_conf["stats_cb"] = user["stats_cb"]  # ferrokafka's gets the JSON string too
        if "throttle_cb" in user:
            native_conf["throttle_cb"] = callbacks.throttle_cb
        if "on_commit" in user:
            native_conf["on_commit"] = callbacks.on_commit
        if "oauth_cb" in user:
            native_conf["oauth_cb"] = _config.OAuthAdapter(user["oauth_cb"])
        if "logger" in user:
            native_conf["logger"] = _config.LogAdapter(user["logger"], _config.client_name(conf, "consumer"))
        self._callbacks = callbacks
        self._rebalance_callbacks = {}
        self._previous: list[Message] = []
        self._latest: list[Message] = []
        # Messages that came in the same call as an error event: the event goes first, as in
        # librdkafka's queue (a rejoin after max.poll.interval.ms brings messages along with
        # _MAX_POLL_EXCEEDED); they are the next ones handed out.
        self._held: deque[Message] = deque()
        # Set while close() runs: a poll()/consume() it interrupts in another thread ends as
        # confluent-kafka's does (nothing received), not with ferrokafka's "closed" error.
        self._closing = False
        native = self._native = call(_fk.Consumer, native_conf)
        # poll() in the common case, natively; it also keeps the offset after the last message
        # handed out per partition (what commit() commits). Any of these containers not empty
        # sends a poll to _poll_slow: whatever adds to one calls _poller._queued() (one flag the
        # native poll reads), and _poll_slow's _poller._settle() clears it when all are empty
        # again (looking at these very objects: they are only ever changed in place).
        watched = [
            self._previous,
            self._latest,
            callbacks.pending,
            callbacks.errors,
            self._held,
            callbacks.sync_commits,
        ]
        self._poller = _DropInPoll(native, weakref.ref(self), watched, _COPY_AT_MOST)
        self._poller._settle()  # in case an error event was queued before it was made
        if type(self).poll is Consumer.poll:
            # consumer.poll is then the native poll itself (a method: vectorcall, no argument
            # tuple), no Python frame per message (a subclass that overrides poll() keeps its own)
            self.poll = self._poller.poll  # type: ignore[method-assign]

    def _open(self) -> _fk.Consumer:
        native = self._native
        if native is None:
            raise _closed()
        return native

    # --- messages ----------------------------------------------------------------------------

    def _age(self) -> None:
        """Materializes the messages of two calls ago that the application still holds."""
        previous = self._previous
        for message in previous:
            if _getrefcount(message) > _UNREFERENCED:
                message._materialize()
        # in place: the native poll watches both lists
        previous[:] = self._latest
        self._latest.clear()

    def _queue_callback(self, callback: Callable[..., Any], *args: Any) -> None:
        """Runs `callback(*args)` at the next poll() (or consume())."""
        self._callbacks.pending.append((callback, args))
        self._poller._queued()

    def _serve_pending(self) -> None:
        pending = self._callbacks.pending
        while pending:
            callback, args = pending.popleft()
            callback(*args)

    def poll(self, timeout: float = -1) -> Message | None:
        """The next message or error event, or ``None`` if none came within `timeout` seconds
        (negative: wait forever)."""
        # Natively unless something needs _poll_slow (see _DropInPoll in src/consumer/dropin.rs);
        # an instance's poll is usually _DropInPoll itself (see __init__).
        message: Message | None = self._poller(timeout)
        return message

    def _poll_slow(self, timeout: Any) -> Message | None:
        """poll() when callbacks, error events or held messages are queued, messages age or a
        synchronous commit's result may be on its way (or the timeout is no plain number)."""
        try:
            return self._poll_queued(timeout)
        finally:
            self._poller._settle()  # the next poll natively if nothing is queued any more

    def _poll_queued(self, timeout: Any) -> Message | None:
        native = self._native
        if native is None:
            raise _closed()
        wait = seconds(timeout)
        if self._previous or self._latest:
            self._age()
        callbacks = self._callbacks
        if callbacks.pending:
            self._serve_pending()
        errors = callbacks.errors
        if errors:
            return errors.popleft()
        if self._held:
            held = self._take_held(native, 1)
            if held:
                return held[0]
        # Only read when a synchronous commit's result may still be on its way (see commit()).
        polled_at = time.monotonic() if callbacks.sync_commits else 0.0
        try:
            received = self._poller._receive(wait)
        except BaseException as error:  # noqa: BLE001 - _poll_failed raises what is not an event
            callbacks.forget_sync_commits(polled_at)
            return self._poll_failed(error)
        if callbacks.sync_commits:
            callbacks.forget_sync_commits(polled_at)
        return self._poll_after(received)

    def _poll_after(self, received: Any) -> Message | None:
        """What poll() returns for what the native poll received (a small message as a
        ``Message``, a big one as a ``BorrowedMessage``, or None) when error events are queued
        or the message is big."""
        errors = self._callbacks.errors
        if received is None:
            return errors.popleft() if errors else None
        message = received if type(received) is Message else from_borrowed(received)
        if errors:  # an error that came in the same native poll goes first; the message waits
            self._hold([message])
            return errors.popleft()
        return self._hand_out(message)

    def _poll_failed(self, error: BaseException) -> Message | None:
        """What poll() returns or raises for an error of the native poll."""
        if self._closing and isinstance(error, _fk.Error) and not isinstance(error, _fk.PartitionEOF):
            # close() in another thread interrupted this poll (a poll of a consumer closed before
            # it started goes to _poll_slow, which raises)
            return None
        if self._native is None:
            raise _closed()
        if isinstance(error, _fk.PartitionEOF):
            return error_message(
                KafkaError(KafkaError._PARTITION_EOF, _eof_reason(error)), error.topic, error.partition, error.offset
            )
        if isinstance(error, _fk.Error):
            reraise(error)
        raise error

    def _hand_out(self, message: Message) -> Message:
        if message._lazy:
            self._latest.append(message)  # views into a fetch buffer: aged (see _age)
            self._poller._queued()
        self._poller.record(message._topic, message._partition, message._offset + 1)
        return message

    def _take_held(self, native: _fk.Consumer, count: int) -> list[Message]:
        """Up to `count` held messages, handed out; those of partitions no longer assigned are
        dropped (as librdkafka drops what it fetched for a revoked partition)."""
        held = self._held
        if not held or count <= 0:
            return []
        assigned = {(tp.topic, tp.partition) for tp in call(native.assignment)}
        taken: list[Message] = []
        while held and len(taken) < count:
            message = held.popleft()
            if (message._topic, message._partition) in assigned:
                taken.append(self._hand_out(message))
        return taken

    def _hold(self, messages: list[Message]) -> None:
        for message in messages:
            message._materialize()  # it outlives this call: its own copy, not the fetch buffer
            self._held.append(message)
        if messages:
            self._poller._queued()

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        """Up to `num_messages` messages (and error events), waiting up to `timeout` seconds
        (negative: forever) for the first; ``[]`` on timeout."""
        native = self._open()
        count = int(num_messages.__index__())
        if not 0 <= count <= 1_000_000:
            raise ValueError("num_messages must be between 0 and 1000000 (1M)")
        wait = seconds(timeout)
        self._age()
        self._serve_pending()
        errors = self._callbacks.errors
        result: list[Message] = []
        while errors and len(result) < count:
            result.append(errors.popleft())
        result.extend(self._take_held(native, count - len(result)))
        if count == 0 or len(result) == count:
            return result
        polled_at = time.monotonic()
        try:
            borrowed = native.consume(count - len(result), 0.0 if result else wait)
        except _fk.PartitionEOF as eof:
            self._callbacks.forget_sync_commits(polled_at)
            result.append(
                error_message(
                    KafkaError(KafkaError._PARTITION_EOF, _eof_reason(eof)), eof.topic, eof.partition, eof.offset
                )
            )
            return result
        except _fk.Error as error:
            if self._closing:
                return result  # close() in another thread interrupted this call
            reraise(error)
        self._callbacks.forget_sync_commits(polled_at)
        messages = [from_borrowed(item) for item in borrowed]
        # Error events of this call go before its messages; messages beyond the count wait.
        while errors and len(result) < count:
            result.append(errors.popleft())
        room = count - len(result)
        self._hold(messages[room:])
        result.extend(self._hand_out(message) for message in messages[:room])
        return result

    # --- subscription and assignment ---------------------------------------------------------

    def subscribe(
        self,
        topics: list[str],
        on_assign: Callable[..., Any] | None = None,
        on_revoke: Callable[..., Any] | None = None,
        on_lost: Callable[..., Any] | None = None,
    ) -> None:
        """Subscribes to `topics` (a list; ``^`` starts a regex). ``on_assign(consumer, partitions)``
        runs when partitions are assigned, ``on_revoke`` before they are revoked, ``on_lost`` when
        they were lost (default: ``on_revoke``)."""
        native = self._open()
        check_subscribe_arguments(topics, on_assign, on_revoke, on_lost)
        self._rebalance_callbacks = {"assign": on_assign, "revoke": on_revoke, "lost": on_lost}
        rebalance = self._callbacks.rebalance
        call(
            native.subscribe,
            [str(topic) for topic in topics],
            on_assign=_config.Call(rebalance, "assign") if on_assign is not None else None,
            on_revoke=_config.Call(rebalance, "revoke") if on_revoke is not None else None,
            on_lost=_config.Call(rebalance, "lost") if on_lost is not None or on_revoke is not None else None,
        )

    def unsubscribe(self) -> None:
        call(self._open().unsubscribe)

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Consumes exactly these partitions, from their offsets."""
        native = self._open()
        call(native.assign, list_to_native(partitions))

    def unassign(self) -> None:
        call(self._open().unassign)

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        native = self._open()
        call(native.incremental_assign, list_to_native(partitions))

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        native = self._open()
        call(native.incremental_unassign, list_to_native(partitions))

    def assignment(self) -> list[TopicPartition]:
        return list_from_native(call(self._open().assignment))

    def pause(self, partitions: list[TopicPartition]) -> None:
        native = self._open()
        call(native.pause, list_to_native(partitions))

    def resume(self, partitions: list[TopicPartition]) -> None:
        native = self._open()
        call(native.resume, list_to_native(partitions))

    def seek(self, partition: TopicPartition) -> None:
        """Moves the fetch position of an assigned partition to ``partition.offset``."""
        native = self._open()
        call(native.seek, to_native(partition), None)
        if self._held:  # fetched before the seek: not what comes next any more
            key = (partition.topic, partition.partition)
            kept = [m for m in self._held if (m._topic, m._partition) != key]
            self._held.clear()  # in place: the native poll watches it
            self._held.extend(kept)

    # --- offsets -----------------------------------------------------------------------------

    @staticmethod
    def _offsets_of(message: Any, what: str) -> list[_fk.TopicPartition]:
        if not isinstance(message, Message):
            raise TypeError("expected message to be a Message")
        error = message.error()
        if error is not None:
            # confluent-kafka's: _INVALID_ARG naming the message's error, not that error itself
            reason = f"Cannot {what} offsets for message with error: '{error.str()}'"
            raise KafkaException(KafkaError(KafkaError._INVALID_ARG, reason))
        topic = message.topic()
        if not isinstance(topic, str):
            raise KafkaException(KafkaError(KafkaError._INVALID_ARG, "Message has no topic"))
        # The message's own partition and offset, unknown ones included (confluent-kafka's
        # commit(message=...) commits offset + 1 whatever they are).
        return [_fk.TopicPartition(topic, message._partition, message._offset + 1, None, message.leader_epoch())]

    def commit(
        self, message: Message | None = None, offsets: list[TopicPartition] | None = None, asynchronous: bool = True
    ) -> list[TopicPartition] | None:
        """Commits `message`'s offset + 1, or `offsets`, or (neither) the position of every
        assigned partition. Asynchronous by default (the result goes to ``on_commit``);
        ``asynchronous=False`` waits and returns the committed partitions."""
        native = self._open()
        if message is not None and offsets is not None:
            raise ValueError("message and offsets are mutually exclusive")
        if message is not None:
            commit = self._offsets_of(message, "commit")
        elif offsets is not None:
            commit = list_to_native(offsets)
        else:
            # What ferrokafka's argument-less commit commits: the position after the last message
            # handed out, per assigned partition (its own record, not librdkafka's position).
            assigned = {(tp.topic, tp.partition) for tp in call(native.assignment)}
            commit = [
                _fk.TopicPartition(topic, partition, offset)
                for (topic, partition), offset in self._poller.handed().items()
                if (topic, partition) in assigned
            ]
            if not commit:
                self._nothing_to_commit(native, asynchronous)
                return None
            return self._commit(native, None, commit, asynchronous)
        return self._commit(native, commit, commit, asynchronous)

    def _commit(
        self,
        native: _fk.Consumer,
        offsets: list[_fk.TopicPartition] | None,
        expected: list[_fk.TopicPartition],
        asynchronous: bool,
    ) -> list[TopicPartition] | None:
        entry = None if asynchronous else self._sync_commit(expected)
        try:
            if asynchronous:
                native.commit(offsets=offsets)
                return None
            return list_from_native(native.commit(offsets=offsets, asynchronous=False))
        except _fk.Error as error:
            reraise(error)
        finally:
            if entry is not None:
                entry[1] = time.monotonic()

    def _sync_commit(self, commit: list[_fk.TopicPartition]) -> list[Any] | None:
        """Marks a synchronous commit's result, which ferrokafka passes to on_commit at a later
        poll (or close()), as not for the application's on_commit."""
        if "on_commit" not in self._callbacks.user or not commit:
            return None
        entry = [frozenset((tp.topic, tp.partition) for tp in commit), math.inf]
        self._callbacks.sync_commits.append(entry)
        self._poller._queued()
        return entry

    def _file_commit(self, error: KafkaError | None, partitions: list[_fk.TopicPartition]) -> None:
        """An asynchronous commit's result for ``on_commit``, at the next poll (a synchronous
        commit's result is its return value or exception: confluent-kafka's on_commit does not
        hear of it)."""
        on_commit = self._callbacks.user.get("on_commit")
        if on_commit is not None:
            self._queue_callback(on_commit, error, list_from_native(partitions))

    def _nothing_to_commit(self, native: _fk.Consumer, asynchronous: bool) -> None:
        error = KafkaError(KafkaError._NO_OFFSET)
        if not asynchronous:
            raise KafkaException(error)
        self._file_commit(error, [_fk.TopicPartition(tp.topic, tp.partition) for tp in call(native.assignment)])

    def store_offsets(self, message: Message | None = None, offsets: list[TopicPartition] | None = None) -> None:
        """Stores `message`'s offset + 1 (or `offsets`) for the next commit (with
        ``enable.auto.offset.store=false``)."""
        native = self._open()
        if message is not None and offsets is not None:
            raise ValueError("message and offsets are mutually exclusive")
        if message is None and offsets is None:
            raise ValueError("expected either message or offsets")
        stored = self._offsets_of(message, "store") if message is not None else list_to_native(offsets)
        call(native.store_offsets, offsets=stored)

    def committed(self, partitions: list[TopicPartition], timeout: float = -1) -> list[TopicPartition]:
        """The group's committed offsets of `partitions`."""
        native = self._open()
        return list_from_native(call(native.committed, list_to_native(partitions), seconds(timeout)))

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The fetch positions (last message handed out + 1) of `partitions`."""
        native = self._open()
        return list_from_native(call(native.position, list_to_native(partitions)))

    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float = -1, cached: bool = False
    ) -> tuple[int, int]:
        """``(low, high)`` watermarks of `partition`, asked of the broker. ``cached=True`` does not
        wait for the broker beyond a second and answers ``(OFFSET_INVALID, OFFSET_INVALID)`` when it
        did not answer (ferrokafka keeps no cache of them)."""
        native = self._open()
        tp = to_native(partition)
        if cached:
            wait = seconds(timeout)
            try:
                return native.get_watermark_offsets(tp, 1.0 if wait is None else min(wait, 1.0))
            except _fk.Error:
                return (_fk.OFFSET_INVALID, _fk.OFFSET_INVALID)
        return call(native.get_watermark_offsets, tp, seconds(timeout))

    def offsets_for_times(self, partitions: list[TopicPartition], timeout: float = -1) -> list[TopicPartition]:
        native = self._open()
        return list_from_native(call(native.offsets_for_times, list_to_native(partitions), seconds(timeout)))

    # --- cluster and group -------------------------------------------------------------------

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        native = self._native
        if native is None:
            raise RuntimeError("Handle has been closed")  # confluent-kafka's words for this call
        return cluster_metadata(native, topic, seconds(timeout))

    def cluster_id(self, timeout: float = -1) -> str:
        cluster_id = call(self._open().cluster_id, seconds(timeout))
        if cluster_id is None:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "Failed to retrieve cluster id: Local: Timed out"))
        return cluster_id

    def consumer_group_metadata(self) -> Any:
        return call(self._open().consumer_group_metadata)

    def memberid(self) -> str | None:
        return call(self._open().memberid)

    def set_sasl_credentials(self, username: str, password: str) -> None:
        call(self._open().set_sasl_credentials, username, password)

    # --- lifecycle ---------------------------------------------------------------------------

    def __del__(self) -> None:
        self.__dict__.pop("poll", None)  # the native poll holds the native consumer too
        self.__dict__.pop("_poller", None)
        _config.release_unclosed(self)

    def close(self) -> None:
        """Leaves the group (running ``on_revoke``) and closes the consumer; messages still held
        keep their data. Idempotent."""
        native = self._native
        if native is None:
            return
        for generation in (self._previous, self._latest):
            for message in generation:
                if _getrefcount(message) > _UNREFERENCED:
                    message._materialize()
            generation.clear()
        self._closing = True
        try:
            native.close()
        except _fk.Error as error:
            reraise(error)
        finally:
            self._native = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        return None


Consumer.__module__ = "ferrokafka.confluent"


def _eof_reason(eof: BaseException) -> str:
    offset = getattr(eof, "offset", -1)
    return f"Fetch from broker reached end of partition at offset {offset} (HighwaterMark {offset})"


__all__ = ["Consumer", "TopicPartition", "from_native"]
