"""A quixstreams Application producing to a topic and reading it back through a
StreamingDataFrame (app.run with a count), run by tests/test_frameworks.py in a virtualenv of
its own.

Usage: python quixstreams_roundtrip.py BOOTSTRAP TOPIC GROUP [--real]
Without --real, ferrokafka.confluent.install() runs first, so that quixstreams' own
`import confluent_kafka` gets the drop-in; with --real the same script runs on confluent-kafka
itself (to show the script is right). Prints "OK <values>" on success.
"""

from __future__ import annotations

import os
import sys
import tempfile

bootstrap, topic_name, group = sys.argv[1:4]
real = "--real" in sys.argv[4:]
if not real:
    import ferrokafka.confluent

    ferrokafka.confluent.install()

import confluent_kafka  # noqa: E402
from quixstreams import Application  # noqa: E402

if real:
    assert not confluent_kafka.Producer.__module__.startswith("ferrokafka"), confluent_kafka.Producer
else:
    assert confluent_kafka.Producer.__module__.startswith("ferrokafka.confluent"), confluent_kafka.Producer
    assert ferrokafka.confluent.installed()

N = 5

with tempfile.TemporaryDirectory() as state_dir:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel="WARNING",
    )
    topic = app.topic(topic_name, value_serializer="json", value_deserializer="json")

    with app.get_producer() as producer:
        for i in range(N):
            message = topic.serialize(key=f"k{i}", value={"i": i, "text": f"v{i}"})
            producer.produce(topic=topic.name, key=message.key, value=message.value)

    sdf = app.dataframe(topic)
    sdf = sdf.apply(lambda value: {**value, "doubled": value["i"] * 2})
    rows = app.run(count=N, timeout=60)

values = sorted((row["i"], row["text"], row["doubled"]) for row in rows)
assert values == [(i, f"v{i}", i * 2) for i in range(N)], rows
if not real:
    # quixstreams imports confluent_kafka.schema_registry itself: it comes from confluent-kafka's
    # files, on the drop-in's core, and confluent-kafka's native extension never loads.
    registry = sys.modules.get("confluent_kafka.schema_registry")
    ours = os.path.dirname(ferrokafka.confluent.__file__)
    assert registry is not None and not (registry.__file__ or ours).startswith(ours), registry
    assert sys.modules["confluent_kafka.cimpl"].__name__.startswith("ferrokafka.confluent")
print("OK", values)
