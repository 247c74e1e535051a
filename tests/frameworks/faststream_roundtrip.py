"""Publish/subscribe round trips through faststream's confluent broker against the real broker,
run by tests/test_frameworks.py in a virtualenv of its own: a subscriber reading keys and
headers, a batch subscriber, and a subscriber acknowledging by hand (whose committed offsets are
then checked with a plain consumer), each in a group of its own.

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
from faststream import AckPolicy  # noqa: E402
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
    keyed: list[tuple[str, bytes, str]] = []
    batched: list[str] = []
    acked: list[str] = []
    done = asyncio.Event()

    def check() -> None:
        if min(len(keyed), len(batched), len(acked)) >= len(EXPECTED):
            done.set()

    @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
    async def handle(body: str, message: KafkaMessage) -> None:
        keyed.append((body, message.raw_message.key(), message.headers["n"]))
        check()

    @broker.subscriber(topic, group_id=group + "-batch", auto_offset_reset="earliest", batch=True, max_records=10)
    async def handle_batch(bodies: list[str]) -> None:
        batched.extend(bodies)
        check()

    @broker.subscriber(topic, group_id=group + "-manual", auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL)
    async def handle_manual(body: str, message: KafkaMessage) -> None:
        acked.append(body)
        await message.ack()
        check()

    async with broker:
        await broker.start()
        for n, payload in enumerate(EXPECTED):
            await broker.publish(payload, topic, key=f"k{n}".encode(), headers={"n": str(n)})
        await asyncio.wait_for(done.wait(), 60)
    assert sorted(keyed) == [(p, f"k{n}".encode(), str(n)) for n, p in enumerate(EXPECTED)], keyed
    assert sorted(batched) == EXPECTED, batched
    assert sorted(acked) == EXPECTED, acked

    # The hand-acknowledged messages are committed: the group's offsets reach the end of the topic.
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group + "-manual"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([confluent_kafka.TopicPartition(topic, p) for p in partitions], timeout=10)
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in committed]
        assert [tp.offset for tp in committed] == ends and sum(ends) == len(EXPECTED), (committed, ends)
    finally:
        consumer.close()
    print("OK", ",".join(body for body, _, _ in keyed))


asyncio.run(main())
