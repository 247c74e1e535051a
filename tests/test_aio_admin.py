"""ferrokafka.aio's AIOAdminClient on the real broker: create a topic, list its offsets, describe its
configuration, delete it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import ferrokafka as fk
from aio_helpers import run
from ferrokafka.aio import AIOAdminClient


@pytest.mark.broker
def test_admin_client(kafka_bootstrap, topic_name):
    async def main() -> None:
        async with AIOAdminClient({"bootstrap.servers": kafka_bootstrap}) as admin:
            await admin.create_topics([fk.NewTopic(topic_name, 2, 1)])
            deadline = time.monotonic() + 30
            while True:
                try:
                    offsets = await admin.list_offsets([fk.TopicPartition(topic_name, p) for p in (0, 1)])
                    break
                except fk.KafkaError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            assert [(tp.partition, tp.offset) for tp in offsets] == [(0, 0), (1, 0)]
            assert "cleanup.policy" in await admin.describe_configs("topic", topic_name)
            await admin.delete_topics([topic_name])
        assert admin.closed

    run(main())
