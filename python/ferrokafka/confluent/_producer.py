"""confluent-kafka's ``Producer`` on ferrokafka's.

confluent-kafka serves every callback (``on_delivery``, ``error_cb``, ``stats_cb``, ``throttle_cb``)
inside ``poll()``/``flush()``, on the thread that calls them. ferrokafka resolves deliveries on a
thread of its own: here that thread only files each event in a queue (the adapters), and
``poll()``/``flush()`` run the application's callbacks from it, in order. An exception a callback
raises propagates from the ``poll()``/``flush()`` that ran it; the events after it wait for the
next call.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import ferrokafka as _fk
from ferrokafka._native import DropInProduce as _DropInProduce

from . import _config
from ._errors import KafkaError, KafkaException, call, exception_of, kafka_error_of, reraise
from ._message import Message
from ._metadata import ClusterMetadata, cluster_metadata
from ._topic_partition import list_to_native

_PRODUCER_CALLBACKS = ("error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger", "on_delivery")
_SLICE = 0.1  # the longest a wait goes without checking the deadline and the queue


def seconds(timeout: float | None) -> float | None:
    """confluent-kafka's timeout (seconds, negative or None: forever) as ferrokafka's (None: forever)."""
    if timeout is None:
        return None
    timeout = float(timeout)
    return None if timeout < 0 else timeout


def _closed() -> RuntimeError:
    return RuntimeError("Producer has been closed")


def _bytes(data: Any) -> Any:
    if data is None or isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return bytes(data)


def _check_headers(headers: Any) -> None:
    if headers is None:
        return
    if isinstance(headers, dict):
        pairs = list(headers.items())
    elif isinstance(headers, list):
        pairs = headers
    else:
        raise TypeError("expected headers to be dict or list of (key, value) tuples")
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError("expected header to be a (key, value) tuple")
        name, value = pair
        if not isinstance(name, str):
            raise TypeError(f"expected header key to be str, not {type(name).__name__}")
        if value is not None and not isinstance(value, str | bytes | bytearray | memoryview):
            raise TypeError(f"expected header value to be None, bytes or str, not {type(value).__name__}")


def _check_data(data: Any, position: int) -> None:
    if data is not None and not isinstance(data, str | bytes | bytearray | memoryview):
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")


class _Events:
    """The callbacks waiting for ``poll()``/``flush()``: filed by ferrokafka's delivery thread (and
    by the client callbacks' adapters), run by the application's thread."""

    def __init__(self) -> None:
        self.queue: deque[tuple[Callable[..., Any], tuple[Any, ...], bool]] = deque()
        self.cond = threading.Condition(threading.Lock())
        self.awaiting = 0  # messages with a callback whose delivery has not been filed yet
        self.deliveries = 0  # delivery reports filed and not served yet

    def file(self, callback: Callable[..., Any], args: tuple[Any, ...], delivery: bool = False) -> None:
        with self.cond:
            self.queue.append((callback, args, delivery))
            if delivery:
                self.awaiting -= 1
                self.deliveries += 1
            self.cond.notify_all()

    def delivered(
        self,
        producing: list[Any],
        callback: Callable[..., Any],
        topic: str,
        key: Any,
        value: Any,
        headers: Any,
        partition: int,
        started: float,
        error: BaseException | None,
        report: _fk.DeliveryReport | None,
    ) -> None:
        """ferrokafka's on_delivery (on its delivery thread): files confluent-kafka's ``(err, msg)``
        (not for a message librdkafka refused at once: ferrokafka reports it inside ``produce()``,
        on the thread `producing` names while ``produce()`` runs, and confluent-kafka's
        ``produce()`` raises it instead; a delivery failing on ferrokafka's thread meanwhile is
        filed as any other)."""
        if producing[0] == threading.get_ident():
            producing[1] = True  # refused at once: produce() raises it
            with self.cond:
                self.awaiting -= 1
                self.cond.notify_all()
            return
        try:
            message = Message(
                topic,
                partition if report is None else report.partition,
                None if report is None else report.offset,
                _bytes(key),
                _bytes(value),
                None,  # confluent-kafka's delivery reports carry no headers
                None,
                (0, -1) if report is None or report.timestamp is None else (1, report.timestamp),
                time.monotonic() - started,
            )
            error_value = _config.error_value(error)
        except BaseException as exc:  # pragma: no cover - keep the count right whatever happens
            self.file(_reraiser, (exc,), delivery=True)
            return
        self.file(callback, (error_value, message), delivery=True)

    def serve(self) -> int:
        """Runs the waiting callbacks in order; the first exception propagates (the rest wait)."""
        served = 0
        queue = self.queue
        while True:
            with self.cond:
                if not queue:
                    return served
                callback, args, delivery = queue.popleft()
                if delivery:
                    self.deliveries -= 1
            served += 1
            callback(*args)

    def wait(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds for an event; True if one is waiting."""
        with self.cond:
            if not self.queue and timeout > 0:
                self.cond.wait(timeout)
            return bool(self.queue)


def _reraiser(error: BaseException) -> None:
    raise error


class Producer:
    """confluent-kafka's asynchronous producer: ``produce()`` queues a message and returns ``None``;
    ``poll()``/``flush()`` serve the delivery reports (``on_delivery(err, msg)``) and the other
    callbacks on the calling thread. ``BufferError`` when the local queue is full."""

    _native: _fk.Producer | None = None
    _events: _Events
    _default_cb: Callable[..., Any] | None = None
    _logs = False  # a logger was given: its records wait for poll()/flush()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        conf = _config.merge(args, kwargs, allow_empty=False)
        callbacks = _config.take_callbacks(conf, _PRODUCER_CALLBACKS)
        events = _Events()
        self._events = events
        self._default_cb = callbacks.get("on_delivery")
        native_conf: dict[str, Any] = dict(conf)
        error_cb = callbacks.get("error_cb")
        native_conf["error_cb"] = _config.Call(_file_error, events, error_cb)
        if "stats_cb" in callbacks:
            native_conf["stats_cb"] = _config.Call(_file_stats, events, callbacks["stats_cb"])
        if "throttle_cb" in callbacks:
            native_conf["throttle_cb"] = _config.Call(_file_throttle, events, callbacks["throttle_cb"])
        if "oauth_cb" in callbacks:
            native_conf["oauth_cb"] = _config.OAuthAdapter(callbacks["oauth_cb"])
        if "logger" in callbacks:
            native_conf["logger"] = _config.LogAdapter(
                callbacks["logger"], _config.client_name(conf, "producer"), sink=events.file
            )
        self._logs = "logger" in callbacks
        native = self._native = call(_fk.Producer, native_conf)
        if self._default_cb is None and type(self).produce is Producer.produce:
            # produce() without a delivery callback, natively: no Python frame per message
            # (DropInProduce, src/producer/dropin.rs). Any other call, and any the native path
            # refuses, goes to Producer.produce below; a subclass that overrides produce() keeps
            # its own.
            fast = _DropInProduce(native, weakref.ref(self), Producer.produce)
            self.produce = fast.produce  # type: ignore[method-assign]

    # --- producing ---------------------------------------------------------------------------

    def _open(self) -> _fk.Producer:
        native = self._native
        if native is None:
            raise _closed()
        return native

    def produce(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int = -1,
        callback: Callable[..., Any] | None = None,
        on_delivery: Callable[..., Any] | None = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> None:
        """Queues a message. ``on_delivery(err, msg)`` (or ``callback``, or the config's) is served
        by a later ``poll()``/``flush()``. Raises ``BufferError`` when the local queue is full."""
        native = self._native
        if native is None:
            raise _closed()
        if type(topic) is not str and not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {type(topic).__name__}")
        # The checks' common cases inline (bytes or None; no headers): one call less each.
        if value is not None and type(value) is not bytes:
            _check_data(value, 2)
        if key is not None and type(key) is not bytes:
            _check_data(key, 3)
        if headers is not None:
            _check_headers(headers)
        if type(partition) is not int:
            partition = int(partition.__index__())
        if type(timestamp) is not int:
            timestamp = int(timestamp.__index__())
        cb = on_delivery if on_delivery is not None else callback
        if cb is None:
            cb = self._default_cb
        elif not callable(cb):
            raise TypeError("on_delivery expects a callable")
        if cb is None:
            # Nothing waits for the outcome: no future, no adapter; refused at once raises.
            try:
                native._produce_quiet(
                    topic, value, key, None if partition < 0 else partition, timestamp or None, headers or None
                )
            except _fk.Error as error:
                reraise(error)
            return
        self._send(native, topic, value, key, partition, timestamp, headers, cb)

    def _send(
        self,
        native: _fk.Producer,
        topic: str,
        value: Any,
        key: Any,
        partition: int,
        timestamp: int,
        headers: Any,
        cb: Callable[..., Any] | None,
    ) -> None:
        events = self._events
        adapter = None
        # [the thread in produce() (None after), whether ferrokafka refused the message at once]
        producing: list[Any] = [threading.get_ident(), False]
        if cb is not None:
            adapter = _config.Call(
                events.delivered, producing, cb, topic, key, value, headers, partition, time.monotonic()
            )
            with events.cond:
                events.awaiting += 1
        try:
            future = native.produce(
                topic,
                value,
                key,
                partition=None if partition < 0 else partition,
                timestamp=timestamp or None,
                headers=headers or None,
                on_delivery=adapter,
            )
        except BaseException as error:
            if adapter is not None:
                with events.cond:
                    events.awaiting -= 1
            if isinstance(error, _fk.Error):
                reraise(error)
            raise
        finally:
            producing[0] = None
        # A message librdkafka refused at once (too large, unknown partition, ...) comes back as a
        # failed future (its callback called inside produce()): confluent-kafka's produce() raises
        # instead, and calls no callback.
        if (producing[1] or adapter is None) and future.done():
            failure = future.exception()
            if failure is not None:
                reraise(failure)

    def produce_batch(
        self,
        topic: str,
        messages: list[dict[str, Any]],
        partition: int = -1,
        callback: Callable[..., Any] | None = None,
        on_delivery: Callable[..., Any] | None = None,
    ) -> int:
        """Queues each message (a dict of ``value``, ``key``, ``partition``, ``callback``); returns
        how many were queued. A message that could not be queued gets its ``KafkaError`` under
        ``"_error"``."""
        native = self._open()
        if not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {type(topic).__name__}")
        if not isinstance(messages, list):
            raise TypeError("messages must be a list")
        if isinstance(partition, bool) or not isinstance(partition, int):
            raise TypeError("partition must be int")
        default_cb = on_delivery if on_delivery is not None else callback
        if default_cb is not None and not callable(default_cb):
            default_cb = None
        if default_cb is None:
            default_cb = self._default_cb
        for index, message in enumerate(messages):
            _check_batch_message(index, message)
        queued = 0
        for message in messages:
            part = message.get("partition")
            cb = message.get("callback")
            if cb is None or not callable(cb):
                cb = default_cb
            try:
                self._send(
                    native,
                    topic,
                    message.get("value"),
                    message.get("key"),
                    partition if part is None else part,
                    0,
                    message.get("headers"),
                    cb,
                )
            except (KafkaException, BufferError) as error:
                message["_error"] = _error_of(error)
            else:
                message.pop("_error", None)
                queued += 1
        return queued

    # --- serving -----------------------------------------------------------------------------

    def _take_logs(self, native: _fk.Producer) -> None:
        """With a logger: files the log records ferrokafka has taken from librdkafka and not handed
        on yet (its delivery thread does that every tenth of a second), so that this
        ``poll()``/``flush()`` serves every record logged before it, as confluent-kafka's does."""
        if self._logs:
            call(native.poll, 0)

    def poll(self, timeout: float = -1) -> int:
        """Serves the callbacks waiting, waiting up to `timeout` seconds (negative: forever) for
        the first; returns how many ran."""
        self._take_logs(self._open())
        events = self._events
        served = events.serve()
        if served:
            return served
        wait = seconds(timeout)
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            left = _SLICE if deadline is None else min(_SLICE, deadline - time.monotonic())
            if events.wait(left) or (deadline is not None and time.monotonic() >= deadline):
                return events.serve()

    def flush(self, timeout: float = -1) -> int:
        """Waits until every message is delivered or failed and its callback served, or `timeout`
        seconds (negative: forever) pass; returns how many are left."""
        native = self._open()
        self._take_logs(native)
        events = self._events
        wait = seconds(timeout)
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            events.serve()
            left = _SLICE if deadline is None else max(0.0, min(_SLICE, deadline - time.monotonic()))
            try:
                remaining = native.flush(left)
            except _fk.Error as error:
                reraise(error)
            events.serve()
            with events.cond:
                busy = remaining or events.awaiting or events.queue
            if not busy:
                return 0
            if deadline is not None and time.monotonic() >= deadline:
                return len(self)
            if not remaining:
                events.wait(min(_SLICE, left or _SLICE))

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        """Fails the messages not delivered yet (queued locally and/or in flight): their callbacks
        get ``_PURGE_QUEUE``/``_PURGE_INFLIGHT`` at the next ``poll()``/``flush()``."""
        native = self._open()
        call(native.purge, bool(in_queue), bool(in_flight))

    def __len__(self) -> int:
        native = self._native
        if native is None:
            return 0
        events = self._events
        return max(len(native), events.awaiting) + events.deliveries

    def __bool__(self) -> bool:
        return True

    # --- transactions ------------------------------------------------------------------------

    def init_transactions(self, timeout: float = -1) -> None:
        call(self._open().init_transactions, seconds(timeout))

    def begin_transaction(self) -> None:
        call(self._open().begin_transaction)

    def send_offsets_to_transaction(self, positions: list[Any], group_metadata: Any, timeout: float = -1) -> None:
        offsets = list_to_native(positions)
        native = self._open()
        call(native.send_offsets_to_transaction, offsets, group_metadata, seconds(timeout))

    def commit_transaction(self, timeout: float = -1) -> None:
        native = self._open()
        self._events.serve()
        call(native.commit_transaction, seconds(timeout))

    def abort_transaction(self, timeout: float = -1) -> None:
        call(self._open().abort_transaction, seconds(timeout))

    # --- cluster -----------------------------------------------------------------------------

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        native = self._open()
        return cluster_metadata(native, topic, seconds(timeout))

    def cluster_id(self, timeout: float = -1) -> str | None:
        return call(self._open().cluster_id, seconds(timeout))

    def set_sasl_credentials(self, username: str, password: str) -> None:
        call(self._open().set_sasl_credentials, username, password)

    # --- lifecycle ---------------------------------------------------------------------------

    def __del__(self) -> None:
        _config.release_unclosed(self)

    def close(self) -> bool:
        """Flushes (serving the callbacks), then closes the producer. True once closed."""
        native = self._native
        if native is None:
            return True
        try:
            self.flush()
        finally:
            self._native = None
            try:
                native.close()
            except _fk.Error as error:
                raise exception_of(error) from error
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        return None


Producer.__module__ = "ferrokafka.confluent"


def _error_of(error: BaseException) -> KafkaError:
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return error.args[0]
    if isinstance(error, _fk.KafkaError):
        return kafka_error_of(error)  # QueueFullError
    return KafkaError(KafkaError._QUEUE_FULL, str(error) or None)


def _file_error(events: _Events, error_cb: Callable[..., Any] | None, error: Any) -> None:
    value = _config.error_value(error)
    if value is None:
        return
    if value.fatal():
        # confluent-kafka gives a fatal error not to error_cb: poll()/flush() raise it.
        events.file(_reraiser, (KafkaException(value),))
        return
    if error_cb is None:
        _config.default_error_log(value)
        return
    events.file(error_cb, (value,))


def _file_stats(events: _Events, stats_cb: Callable[..., Any], stats: str) -> None:
    events.file(stats_cb, (stats,))


def _file_throttle(events: _Events, throttle_cb: Callable[..., Any], event: Any) -> None:
    events.file(throttle_cb, (_config.throttle_event(event),))


def _check_batch_message(index: int, message: object) -> None:
    """confluent-kafka's checks of one message of ``produce_batch()``, all made before any is sent."""
    if not isinstance(message, dict):
        raise TypeError(f"Message at index {index} must be a dict")
    for field in ("value", "key"):
        data = message.get(field)
        if data is not None and not isinstance(data, str | bytes):
            raise TypeError(f"Message {field} at index {index} must be bytes or str")
    part = message.get("partition")
    if part is not None and (isinstance(part, bool) or not isinstance(part, int)):
        raise TypeError(f"Message partition at index {index} must be int")
    if message.get("timestamp") is not None:
        raise NotImplementedError("Message timestamps are not currently supported")
