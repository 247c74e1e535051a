"""OpenTelemetry for ferrokafka (``pip install ferrokafka[otel]``): traces across produce and
consume, and metrics from librdkafka's statistics.

- :class:`Tracing` — ``tracing.produce(producer, topic, value, ...)`` makes a PRODUCER span
  ``send <topic>`` per message, carries its context in the message's headers (W3C
  ``traceparent``/``tracestate``) and ends it when the delivery is reported (with the partition and
  offset, or the error). ``with tracing.process(message):`` makes a CONSUMER span ``process
  <topic>`` whose parent is the producer's span read from the headers; ``tracing.handler(fn)`` wraps
  a ``ferrokafka.parallel`` handler (or any per-message function) the same way.
- :class:`StatsMetrics` — a ``stats_cb`` (set ``statistics.interval.ms``) that publishes
  librdkafka's statistics as observable gauges: consumer lag per partition, request round-trip
  time per broker, messages and bytes waiting in the client's queues.

Attribute names follow OpenTelemetry's messaging conventions (``messaging.system`` ``kafka``,
``messaging.destination.name``, ``messaging.destination.partition.id``, ``messaging.kafka.offset``).
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, cast

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - depends on the environment (the cause stays chained)
    raise ImportError("ferrokafka.telemetry needs OpenTelemetry: pip install 'ferrokafka[otel]'")  # noqa: B904

from ferrokafka._native import DeliveryReport, Producer

__all__ = ["StatsMetrics", "Tracing"]

_T = TypeVar("_T")
_SCOPE = "ferrokafka"
_HeaderValue = bytes | bytearray | memoryview | str | None


class _Message(Protocol):
    """What a span needs of a message: BorrowedMessage, OwnedMessage and the drop-in's Message
    (through ``tracing.process``) all have it."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def headers(self) -> list[tuple[str, bytes | None]]: ...


def _header_pairs(
    headers: Iterable[tuple[str | bytes, _HeaderValue]] | Mapping[str | bytes, _HeaderValue] | None,
) -> list[tuple[str | bytes, _HeaderValue]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


class Tracing:
    """Spans for produced and processed messages, from ``tracer_provider`` (the global one if None)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)

    def produce(
        self,
        producer: Producer,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        headers: Iterable[tuple[str | bytes, _HeaderValue]] | Mapping[str | bytes, _HeaderValue] | None = None,
        **kwargs: Any,
    ) -> Future[DeliveryReport]:
        """``producer.produce(topic, value, key, ...)`` inside a ``send <topic>`` span, whose context
        goes into the message's headers. The span ends when the delivery is reported; a message
        refused at once (``QueueFullError``, a bad argument) ends it with the error and raises."""
        span = self._tracer.start_span(
            f"send {topic}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
            },
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        pairs = _header_pairs(headers)
        pairs += [(name, text.encode()) for name, text in carrier.items()]
        try:
            future = producer.produce(topic, value, key, headers=pairs, **kwargs)
        except BaseException as error:
            _end_with_error(span, error)
            raise
        future.add_done_callback(lambda done: _end_send(span, done))
        return future

    @contextmanager
    def process(self, message: _Message) -> Iterator[Span]:
        """A ``process <topic>`` span around the work on `message`, child of the span that sent it
        (when its headers carry one). An exception leaving the block marks the span failed."""
        carrier = {name: value.decode(errors="replace") for name, value in message.headers if value is not None}
        parent = propagate.extract(carrier)
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": message.topic,
            "messaging.destination.partition.id": str(message.partition),
            "messaging.kafka.offset": message.offset,
        }
        with self._tracer.start_as_current_span(
            f"process {message.topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        ) as span:
            yield span

    def handler(self, function: Callable[[Any], _T]) -> Callable[[Any], _T]:
        """`function(message)` run inside :meth:`process` (e.g. a ``ferrokafka.parallel`` handler).
        A coroutine function stays one: its span lasts until the coroutine has finished."""
        if inspect.iscoroutinefunction(function):
            coroutine_function = cast("Callable[[Any], Awaitable[Any]]", function)

            @functools.wraps(function)
            async def traced_async(message: Any) -> Any:
                with self.process(message):
                    return await coroutine_function(message)

            return cast("Callable[[Any], _T]", traced_async)

        @functools.wraps(function)
        def traced(message: Any) -> _T:
            with self.process(message):
                return function(message)

        return traced


def _end_with_error(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)))
    span.end()


def _end_send(span: Span, done: Future[DeliveryReport]) -> None:
    if done.cancelled():
        span.set_status(Status(StatusCode.ERROR, "cancelled"))
        span.end()
        return
    error = done.exception()
    if error is not None:
        _end_with_error(span, error)
        return
    report = done.result()
    span.set_attribute("messaging.destination.partition.id", str(report.partition))
    span.set_attribute("messaging.kafka.offset", report.offset)
    span.end()


class StatsMetrics:
    """A ``stats_cb`` publishing librdkafka's statistics (set ``statistics.interval.ms``) as
    observable gauges of ``meter_provider`` (the global one if None), read at each collection from
    the latest statistics of every client it is given to (one instance may serve many clients):

    - ``kafka.consumer.lag`` (messages) per client, topic and partition;
    - ``kafka.broker.rtt`` (ms, average over the interval) per client and broker;
    - ``kafka.client.queue.messages`` and ``kafka.client.queue.bytes``: what waits in the client's
      queues (for a producer, messages not yet delivered).
    """

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, dict[str, Any]] = {}  # client name -> its latest statistics
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        meter.create_observable_gauge("kafka.consumer.lag", [self._lag], unit="{message}")
        meter.create_observable_gauge("kafka.broker.rtt", [self._rtt], unit="ms")
        meter.create_observable_gauge("kafka.client.queue.messages", [self._queue_messages], unit="{message}")
        meter.create_observable_gauge("kafka.client.queue.bytes", [self._queue_bytes], unit="By")

    def __call__(self, stats: str | bytes | Mapping[str, Any]) -> None:
        """The ``stats_cb``: keeps the latest statistics of the client that sent them."""
        document = stats if isinstance(stats, Mapping) else json.loads(stats)
        name = str(document.get("name", ""))
        with self._lock:
            self._latest[name] = dict(document)

    def _snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self._latest.items())

    def _lag(self, _options: CallbackOptions) -> Iterable[Observation]:
        for client, stats in self._snapshot():
            for topic, topic_stats in stats.get("topics", {}).items():
                for partition, partition_stats in topic_stats.get("partitions", {}).items():
                    lag = partition_stats.get("consumer_lag", -1)
                    if int(partition) >= 0 and lag >= 0:
                        attributes = {"client": client, "topic": topic, "partition": int(partition)}
                        yield Observation(lag, attributes)

    def _rtt(self, _options: CallbackOptions) -> Iterable[Observation]:
        for client, stats in self._snapshot():
            for broker, broker_stats in stats.get("brokers", {}).items():
                rtt = broker_stats.get("rtt", {})
                if broker_stats.get("nodeid", -1) >= 0 and rtt.get("cnt", 0) > 0:
                    yield Observation(rtt.get("avg", 0) / 1000.0, {"client": client, "broker": broker})

    def _queue_messages(self, _options: CallbackOptions) -> Iterable[Observation]:
        for client, stats in self._snapshot():
            yield Observation(stats.get("msg_cnt", 0), {"client": client, "type": str(stats.get("type", ""))})

    def _queue_bytes(self, _options: CallbackOptions) -> Iterable[Observation]:
        for client, stats in self._snapshot():
            yield Observation(stats.get("msg_size", 0), {"client": client, "type": str(stats.get("type", ""))})
