"""A quixstreams Application against the real broker, run by tests/test_frameworks.py in a
virtualenv of its own: it produces JSON values to a topic, reads them back through a stateful
StreamingDataFrame (a count per key, in RocksDB with its changelog topic) with exactly-once
processing (transactions, offsets sent to the transaction), writes the result to a second topic,
and reads that topic back with the application's consumer.

Usage: python quixstreams_roundtrip.py BOOTSTRAP TOPIC GROUP [--real]
Without --real, ferrokafka.confluent.install() runs first, so that quixstreams' own
`import confluent_kafka` gets the drop-in; with --real the same script runs on confluent-kafka
itself (to show the script is right). Prints "OK <values>" on success.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

bootstrap, topic_name, group = sys.argv[1:4]
real = "--real" in sys.argv[4:]
if not real:
    import ferrokafka.confluent

    ferrokafka.confluent.install()

import confluent_kafka  # noqa: E402
from quixstreams import Application  # noqa: E402
from quixstreams.state import State  # noqa: E402

if real:
    assert not confluent_kafka.Producer.__module__.startswith("ferrokafka"), confluent_kafka.Producer
else:
    assert confluent_kafka.Producer.__module__.startswith("ferrokafka.confluent"), confluent_kafka.Producer
    assert ferrokafka.confluent.installed()

N = 6
EXPECTED = [(i, f"v{i}", i // 2 + 1) for i in range(N)]  # keys alternate k0, k1: counts 1,1,2,2,3,3


def count_per_key(value: dict, state: State) -> dict:
    count = state.get("count", 0) + 1
    state.set("count", count)
    return {**value, "count": count}


with tempfile.TemporaryDirectory() as state_dir:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel="WARNING",
        processing_guarantee="exactly-once",
    )
    source = app.topic(topic_name, value_serializer="json", value_deserializer="json")
    sink = app.topic(topic_name + "-out", value_serializer="json", value_deserializer="json")

    with app.get_producer() as producer:
        for i in range(N):
            message = source.serialize(key=f"k{i % 2}", value={"i": i, "text": f"v{i}"})
            producer.produce(topic=source.name, key=message.key, value=message.value)

    sdf = app.dataframe(source)
    sdf = sdf.apply(count_per_key, stateful=True)
    sdf = sdf.to_topic(sink)
    rows = app.run(count=N, timeout=60)
    assert sorted((row["i"], row["text"], row["count"]) for row in rows) == EXPECTED, rows

    # What the transactions committed to the output topic, read as a plain consumer.
    written = []
    with app.get_consumer() as consumer:
        consumer.subscribe([sink.name])
        deadline = time.monotonic() + 60
        while len(written) < N and time.monotonic() < deadline:
            msg = consumer.poll(1)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            value = json.loads(msg.value())
            written.append((value["i"], value["text"], value["count"]))

assert sorted(written) == EXPECTED, written
if not real:
    # quixstreams imports confluent_kafka.schema_registry itself: it comes from confluent-kafka's
    # files, on the drop-in's core, and confluent-kafka's native extension never loads.
    registry = sys.modules.get("confluent_kafka.schema_registry")
    ours = os.path.dirname(ferrokafka.confluent.__file__)
    assert registry is not None and not (registry.__file__ or ours).startswith(ours), registry
    assert sys.modules["confluent_kafka.cimpl"].__name__.startswith("ferrokafka.confluent")
print("OK", sorted(written))
