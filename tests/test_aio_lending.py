"""ferrokafka.aio's AIOConsumer lends messages as the synchronous consumer does: under ``async for``
each message until the next, from poll() and consume() until the consumer closes, each owned by the
loop's thread (a detached copy crosses threads). On the mock cluster and the real broker, on the
default event loop and uvloop.
"""

from __future__ import annotations

import pytest

import ferrokafka as fk
from aio_helpers import LOOPS, on_other_thread, run
from conftest import consumer_config, produce_n
from ferrokafka.aio import AIOConsumer


@pytest.mark.parametrize("loop", LOOPS)
def test_async_for_lends_each_message_until_the_next(backend, topic_name, group_id, loop):
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 50)

    async def main() -> None:
        config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            offsets: list[int] = []
            previous: fk.BorrowedMessage | None = None
            kept: list[fk.OwnedMessage] = []
            async for msg in consumer:
                assert isinstance(msg, fk.BorrowedMessage)
                if previous is not None:
                    assert not previous.valid, "the previous message outlived the next one"
                    with pytest.raises(fk.MessageInvalidatedError):
                        previous.payload
                assert bytes(msg.payload) == b"v%d" % msg.offset and bytes(msg.key) == b"k%d" % msg.offset
                offsets.append(msg.offset)
                if msg.offset == 7:
                    # It belongs to the loop's thread; a detached copy crosses threads.
                    assert isinstance(on_other_thread(lambda m=msg: m.payload), fk.WrongThreadError)
                    kept.append(msg.detach())
                previous = msg
                if len(offsets) == 50:
                    break
            assert offsets == list(range(50))
            copies: list[bytes] = []
            assert on_other_thread(lambda: copies.append(bytes(kept[0].payload))) is None
            assert copies == [b"v7"]
            last = previous
            assert last is not None and last.valid  # the last one stays lent until the consumer closes
        assert not last.valid
        with pytest.raises(fk.MessageInvalidatedError) as invalidated:
            last.payload
        assert invalidated.value.reason == "consumer_closed"

    run(main(), loop)


def test_async_for_supersedes_the_previous_message(mock_cluster, topic_name, group_id):
    produce_n(mock_cluster.bootstrap_servers, topic_name, 2)

    async def main() -> str:
        async with AIOConsumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
            await consumer.subscribe([topic_name])
            first = await anext(consumer)
            await anext(consumer)
            with pytest.raises(fk.MessageInvalidatedError) as invalidated:
                first.payload
            return invalidated.value.reason

    assert run(main()) == "superseded"


def test_poll_and_consume_lend_messages_of_the_loops_thread(backend, topic_name, group_id):
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 30)

    async def main() -> None:
        async with AIOConsumer(consumer_config(backend.bootstrap, group_id)) as consumer:
            await consumer.subscribe(topic_name)
            first = await consumer.poll(30)
            assert first is not None and first.offset == 0
            batch: list[fk.BorrowedMessage] = []
            while len(batch) < 29:
                batch += await consumer.consume(29 - len(batch), timeout=30)
            assert [m.offset for m in batch] == list(range(1, 30))
            assert first.valid and all(m.valid for m in batch), "poll() and consume() do not supersede"
            assert isinstance(on_other_thread(lambda: batch[3].key), fk.WrongThreadError)
            assert consumer.live_message_count >= 30
            assert await consumer.poll(0.2) is None  # nothing more: a timeout, not an error
            assert await consumer.consume(10, 0) == []
            owned = first.detach()
        assert not first.valid and owned.offset == 0

    run(main())
