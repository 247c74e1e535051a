"""ferrokafka.telemetry with OpenTelemetry's SDK and its in-memory exporters: a span per produced
and per processed message, the context carried in the headers from one to the other, failures on
the span, and librdkafka's statistics as gauges (consumer lag, broker round trip, queue depth)."""

from __future__ import annotations

import asyncio
import inspect
import json
import pickle
import subprocess
import sys
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config


def test_without_opentelemetry_the_import_says_what_to_install():
    code = "import sys; sys.modules['opentelemetry'] = None; import ferrokafka.telemetry"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 1 and "pip install 'ferrokafka[otel]'" in run.stderr, run.stderr


pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from ferrokafka.telemetry import StatsMetrics, Tracing  # noqa: E402


@Tracing().handler
def module_handler(message: fk.OwnedMessage) -> int:
    return message.offset


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider), exporter
    provider.shutdown()


def test_a_trace_goes_from_produce_through_the_headers_to_processing(backend, topic_name, group_id, spans):
    tracing, exporter = spans
    backend.create_topic(topic_name)
    with fk.Producer({"bootstrap.servers": backend.bootstrap}) as producer:
        report = tracing.produce(producer, topic_name, b"v", b"k", headers={"app": b"1"}).result(30)
    (send,) = exporter.get_finished_spans()
    assert send.name == f"send {topic_name}" and send.kind == SpanKind.PRODUCER
    assert send.attributes["messaging.destination.name"] == topic_name
    assert send.attributes["messaging.kafka.offset"] == report.offset
    assert send.status.status_code == StatusCode.UNSET

    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name])
        message = consumer.poll(30)
        assert message is not None
        headers = dict(message.headers)
        assert headers["app"] == b"1" and headers["traceparent"].startswith(b"00-")
        with tracing.process(message) as span:
            assert span.is_recording()
    process = exporter.get_finished_spans()[-1]
    assert process.name == f"process {topic_name}" and process.kind == SpanKind.CONSUMER
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    assert process.attributes["messaging.kafka.offset"] == report.offset


def test_a_failed_delivery_and_a_failed_handler_mark_their_spans(mock_cluster, topic_name, spans):
    tracing, exporter = spans
    config = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 200}
    with fk.Producer(config) as producer:
        future = tracing.produce(producer, topic_name, b"v")
        with pytest.raises(fk.KafkaError):
            future.result(30)
        producer.flush(5)
    (send,) = exporter.get_finished_spans()
    assert send.status.status_code == StatusCode.ERROR

    owned = fk.OwnedMessage(topic_name, partition=0, offset=7, payload=b"v")

    @tracing.handler
    def handle(message: fk.OwnedMessage) -> None:
        raise ValueError("bad message")

    with pytest.raises(ValueError):
        handle(owned)
    process = exporter.get_finished_spans()[-1]
    assert process.status.status_code == StatusCode.ERROR
    assert process.attributes["messaging.kafka.offset"] == 7
    assert process.parent is None  # no traceparent header: a trace of its own


def test_a_wrapped_handler_keeps_its_name_and_a_coroutine_its_span_until_it_ends(spans):
    tracing, exporter = spans
    owned = fk.OwnedMessage("t", partition=0, offset=3, payload=b"v")

    def plain(message: fk.OwnedMessage) -> int:
        """Plain handler."""
        return message.offset

    wrapped = tracing.handler(plain)
    assert (wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__) == ("plain", "Plain handler.", plain)  # type: ignore[attr-defined]
    assert wrapped(owned) == 3

    async def handle(message: fk.OwnedMessage) -> int:
        await asyncio.sleep(0.01)
        assert trace.get_current_span().is_recording()  # still inside the process span
        return message.offset

    # Decorated at module level, a handler pickles by its name (process mode of ferrokafka.parallel).
    assert pickle.loads(pickle.dumps(module_handler))(owned) == 3

    traced = tracing.handler(handle)
    assert inspect.iscoroutinefunction(traced) and traced.__name__ == "handle"
    assert asyncio.run(traced(owned)) == 3  # type: ignore[arg-type]
    spans_done = exporter.get_finished_spans()
    assert [s.name for s in spans_done[-2:]] == ["process t", "process t"]
    assert spans_done[-1].end_time - spans_done[-1].start_time >= 10_000_000  # ns: the await inside it


def test_a_message_refused_at_once_ends_its_span_and_raises(topic_name, spans):
    tracing, exporter = spans
    with fk.Producer({"bootstrap.servers": "127.0.0.1:1"}) as producer:
        with pytest.raises(ValueError):
            tracing.produce(producer, topic_name, b"v", partition=-7)
    (send,) = exporter.get_finished_spans()
    assert send.status.status_code == StatusCode.ERROR


def gauges(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, object], float]]]:
    found: dict[str, list[tuple[dict[str, object], float]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [(dict(p.attributes), p.value) for p in metric.data.data_points]
    return found


def test_statistics_become_gauges_of_lag_round_trip_and_queues(backend, topic_name, group_id):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    stats = StatsMetrics(provider)
    backend.create_topic(topic_name)
    backend.create_topic(topic_name + "-busy")
    produce_config = {"bootstrap.servers": backend.bootstrap, "statistics.interval.ms": 100, "stats_cb": stats}
    with fk.Producer(produce_config) as producer:
        for i in range(10):
            producer.produce(topic_name, b"v%d" % i)
        producer.flush(30)
        config = consumer_config(backend.bootstrap, group_id, **{"statistics.interval.ms": 100, "stats_cb": stats})
        with fk.Consumer(config) as consumer:
            consumer.subscribe([topic_name])
            assert consumer.poll(30) is not None  # one of ten read, the rest held back: a lag of nine
            consumer.pause(consumer.assignment())
            deadline = time.monotonic() + 20
            found: dict[str, list[tuple[dict[str, object], float]]] = {}
            while time.monotonic() < deadline:
                producer.produce(topic_name + "-busy", b"x")  # requests, so round trips are measured
                producer.poll(0.05)
                consumer.poll(0.05)  # serves the consumer's stats_cb
                found = gauges(reader)
                lag = found.get("kafka.consumer.lag", [])
                if any(a["topic"] == topic_name and value == 9 for a, value in lag) and found.get("kafka.broker.rtt"):
                    break
    lag = found.get("kafka.consumer.lag", [])
    assert any(attrs["topic"] == topic_name and attrs["partition"] == 0 and value == 9 for attrs, value in lag), lag
    assert {attrs["type"] for attrs, _ in found["kafka.client.queue.messages"]} >= {"producer", "consumer"}
    assert found.get("kafka.broker.rtt") and all(value >= 0 for _, value in found["kafka.broker.rtt"]), found
    provider.shutdown()


def test_stats_metrics_takes_the_json_text_confluent_kafka_gives():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    stats = StatsMetrics(provider)
    stats(json.dumps({"name": "c#1", "type": "consumer", "msg_cnt": 3, "msg_size": 30, "topics": {}}))
    found = gauges(reader)
    assert found["kafka.client.queue.messages"] == [({"client": "c#1", "type": "consumer"}, 3)]
    assert found["kafka.client.queue.bytes"] == [({"client": "c#1", "type": "consumer"}, 30)]
    provider.shutdown()
