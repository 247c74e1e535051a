"""ferrokafka.confluent's Consumer committing: commit()'s return value and on_commit, a commit without
arguments after a partition came back, committing an error event, and commit metadata that reads
back the same whichever of confluent-kafka and the drop-in committed it. confluent-kafka
(installed in the test environment) is the expected value."""

from __future__ import annotations

from typing import Any

import pytest

import ferrokafka as fk
import ferrokafka.confluent as fc
from dropin_helpers import BOTH, ck

pytestmark = pytest.mark.timeout(120)


@BOTH
def test_commit_sync_returns_partitions_async_reports_to_on_commit(mod, mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for value in (b"a", b"b"):
            producer.produce(topic_name, value).result(10)
    commits: list[Any] = []
    consumer = mod.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "on_commit": lambda err, parts: commits.append((err, [(p.topic, p.partition, p.offset) for p in parts])),
        }
    )
    consumer.subscribe([topic_name])
    first = consumer.poll(10)
    assert first is not None and first.error() is None
    result = consumer.commit(message=first, asynchronous=False)
    assert [(p.topic, p.partition, p.offset) for p in result] == [(topic_name, 0, 1)]
    committed = consumer.committed([mod.TopicPartition(topic_name, 0)], timeout=10)
    assert [(p.topic, p.partition, p.offset) for p in committed] == [(topic_name, 0, 1)]
    second = consumer.poll(10)
    assert second is not None and second.error() is None
    assert consumer.commit(message=second) is None
    for _ in range(50):
        if commits:
            break
        consumer.poll(0.1)
    consumer.close()
    # Only the asynchronous commit: a synchronous one's result is its return value.
    assert commits == [(None, [(topic_name, 0, 2)])]


@BOTH
@pytest.mark.parametrize("leave", ["unassign", "incremental_unassign"])
def test_an_argument_less_commit_never_rewinds_a_partition_assigned_again(
    mod, mock_cluster, topic_name, group_id, leave
):
    """confluent-kafka's commit() without arguments commits the positions of the current
    assignment: a partition that left and came back, none of its messages read since, has nothing
    to commit, whatever this consumer read of it before (another member committed further)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(20):
            producer.produce(topic_name, b"%d" % i)
        producer.flush(10)
    config = {"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False}
    consumer = mod.Consumer(config)
    consumer.assign([mod.TopicPartition(topic_name, 0, 0)])
    read = 0
    while read < 5:
        message = consumer.poll(10)
        read += message is not None and message.error() is None
    if leave == "unassign":
        consumer.unassign()
    else:
        consumer.incremental_unassign([mod.TopicPartition(topic_name, 0)])
    other = mod.Consumer(config)
    other.commit(offsets=[mod.TopicPartition(topic_name, 0, 15)], asynchronous=False)
    other.close()
    consumer.assign([mod.TopicPartition(topic_name, 0)])  # from the committed offset
    try:
        consumer.commit(asynchronous=False)
    except mod.KafkaException as error:
        assert error.args[0].code() == mod.KafkaError._NO_OFFSET
    committed = consumer.committed([mod.TopicPartition(topic_name, 0)], timeout=10)
    consumer.close()
    assert [p.offset for p in committed] == [15]


@BOTH
def test_synchronous_commits_never_reach_on_commit_even_when_closed_right_after(
    mod, mock_cluster, topic_name, group_id
):
    """Each message committed synchronously as soon as poll() hands it out, then close(): the
    results were the commits' return values, so on_commit hears of none (librdkafka queues a
    synchronous commit's result for the callback a moment after the commit returns; the drop-in
    gave some of them to on_commit from close(). confluent's integration test_basic_operations
    asserts on_commit only ever sees errors)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(10):
            producer.produce(topic_name, b"%d" % i).result(10)
    for round_ in range(5):
        commits: list[Any] = []
        consumer = mod.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"{group_id}-{round_}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "on_commit": lambda err, parts, commits=commits: commits.append((err, len(parts))),
            }
        )
        consumer.subscribe([topic_name])
        for _ in range(10):
            message = consumer.poll(10)
            assert message is not None and message.error() is None
            assert consumer.commit(message, asynchronous=False)[0].offset == message.offset() + 1
        consumer.close()
        assert commits == [], f"round {round_}"


@pytest.mark.parametrize("call", ["commit", "commit_sync", "store_offsets"])
def test_committing_or_storing_an_error_message_raises_invalid_arg(call):
    """commit(msg)/store_offsets(msg) of an error event raise KafkaException(_INVALID_ARG) naming
    the event's error, as confluent-kafka's do (not the event's own error)."""
    seen = []
    for mod in (ck, fc):
        consumer = mod.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g"})
        error = mod.KafkaError(
            mod.KafkaError.INVALID_SESSION_TIMEOUT, "JoinGroup failed: Broker: Invalid session timeout"
        )
        message = mod.Message(None, -1, -1, None, None, None, error, (0, 0), -1.0, -1)
        try:
            with pytest.raises(mod.KafkaException) as info:
                if call == "store_offsets":
                    consumer.store_offsets(message)
                else:
                    consumer.commit(message, asynchronous=call == "commit")
        finally:
            consumer.close()
        seen.append((info.value.args[0].code(), info.value.args[0].str()))
    assert seen[0][0] == ck.KafkaError._INVALID_ARG
    assert seen[1] == seen[0]


_METADATA = [None, "", "x", "hello world", "नमस्ते दुनिया"]


def test_commit_metadata_reads_back_the_same_whichever_of_confluent_kafka_and_the_dropin_committed(backend, topic_name):
    """confluent-kafka commits metadata as a C string with its NUL (None: zero bytes) and reads
    it up to the first NUL; the drop-in commits the same bytes, so each reads back what either
    committed: '' as '' (zero bytes would read back as None), and confluent-kafka never reads past
    metadata without a NUL (it read heap garbage, or failed to decode it, for the drop-in's 'x').
    ferrokafka's own consumer reads the raw bytes: the same for both committers."""
    backend.create_topic(topic_name)
    conf = {"bootstrap.servers": backend.bootstrap, "group.id": f"md-{topic_name}"}
    theirs, ours, native = ck.Consumer(conf), fc.Consumer(conf), fk.Consumer(conf)
    offset = 0
    try:
        for metadata in _METADATA:
            raw = []
            for committer, mod in ((theirs, ck), (ours, fc)):
                offset += 1
                tp = mod.TopicPartition(topic_name, 0, offset, *([] if metadata is None else [metadata]))
                committer.commit(offsets=[tp], asynchronous=False)
                read = [
                    (client.committed([m.TopicPartition(topic_name, 0)], timeout=10)[0].metadata)
                    for client, m in ((theirs, ck), (ours, fc))
                ]
                assert read == [metadata, metadata], f"committed by {mod.__name__}"
                [committed] = native.committed([fk.TopicPartition(topic_name, 0)], 10)
                assert committed.offset == offset
                raw.append(committed.metadata)
            assert raw[1] == raw[0] == (None if metadata is None else metadata + "\0")
    finally:
        theirs.close()
        ours.close()
        native.close()


def test_commit_metadata_committed_by_confluent_kafka_reads_the_same_in_the_dropin(mock_cluster, topic_name):
    """confluent-kafka commits metadata with a NUL after the text and reads it as a C string: the
    drop-in reads what it committed as confluent-kafka does (an application moving over keeps its
    metadata), not with a trailing NUL."""
    mock_cluster.create_topic(topic_name)
    conf = {"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": f"md-{topic_name}"}
    theirs, ours = ck.Consumer(conf), fc.Consumer(conf)
    try:
        for offset, metadata in enumerate(["hello world", "", "नमस्ते दुनिया"], start=1):
            theirs.commit(offsets=[ck.TopicPartition(topic_name, 0, offset, metadata)], asynchronous=False)
            read = [
                client.committed([mod.TopicPartition(topic_name, 0)], timeout=10)[0].metadata
                for client, mod in ((theirs, ck), (ours, fc))
            ]
            assert read == [metadata, metadata]
    finally:
        theirs.close()
        ours.close()
