"""A publish/subscribe round trip through faststream's confluent broker, run by
tests/test_frameworks.py in a virtualenv of its own.

Usage: python faststream_roundtrip.py BOOTSTRAP TOPIC GROUP [--real]
Without --real, ferrokafka.confluent.install() runs first, so that faststream's own
`import confluent_kafka` gets the drop-in; with --real the same script runs on confluent-kafka
itself (to show the script is right). Prints "OK <payloads>" on success.
"""

from __future__ import annotations

import asyncio
import sys

bootstrap, topic, group = sys.argv[1:4]
real = "--real" in sys.argv[4:]
if not real:
    import ferrokafka.confluent

    ferrokafka.confluent.install()

import confluent_kafka  # noqa: E402
from faststream.confluent import KafkaBroker  # noqa: E402
from faststream.confluent.annotations import KafkaMessage  # noqa: E402

if real:
    assert not confluent_kafka.Producer.__module__.startswith("ferrokafka"), confluent_kafka.Producer
else:
    assert confluent_kafka.Producer.__module__.startswith("ferrokafka.confluent"), confluent_kafka.Producer
    assert ferrokafka.confluent.installed()

EXPECTED = ["hello-0", "hello-1", "hello-2"]


async def main() -> None:
    broker = KafkaBroker(bootstrap)
    received: list[tuple[str, bytes, str]] = []
    done = asyncio.Event()

    @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
    async def handle(body: str, message: KafkaMessage) -> None:
        received.append((body, message.raw_message.key(), message.headers["n"]))
        if len(received) >= len(EXPECTED):
            done.set()

    async with broker:
        await broker.start()
        for n, payload in enumerate(EXPECTED):
            await broker.publish(payload, topic, key=f"k{n}".encode(), headers={"n": str(n)})
        await asyncio.wait_for(done.wait(), 60)
    assert sorted(received) == [(p, f"k{n}".encode(), str(n)) for n, p in enumerate(EXPECTED)], received
    print("OK", ",".join(body for body, _, _ in received))


asyncio.run(main())
