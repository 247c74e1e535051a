"""The pytest plugin shipped in the wheel (ferrokafka.testing): its fixtures, as a user's test
suite sees them (a separate pytest run with no conftest), and its file-descriptor hygiene."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

import ferrokafka as fk
from ferrokafka.testing import KafkaCluster

pytest_plugins = ["pytester"]

USER_TESTS = textwrap.dedent(
    """
    import ferrokafka as fk

    def test_round_trip(kafka_cluster):
        kafka_cluster.create_topic("orders", partitions=3)
        reports = kafka_cluster.produce("orders", [b"a", (b"k", b"b"), (b"k", b"c", [("h", b"1")])], partition=1)
        assert [r.offset for r in reports] == [0, 1, 2]
        messages = kafka_cluster.read("orders", 3)
        assert [bytes(m.payload) for m in messages] == [b"a", b"b", b"c"]
        assert messages[2].headers == [("h", b"1")]

    def test_factories_and_faults(kafka_cluster):
        kafka_cluster.create_topic("t")
        producer = kafka_cluster.producer({"message.timeout.ms": 2000})
        consumer = kafka_cluster.consumer("t")
        kafka_cluster.broker_down(1)
        future = producer.produce("t", b"lost?")
        try:
            future.result(10)
            raise AssertionError("delivered with the broker down")
        except fk.KafkaError as err:
            assert err.code() == fk.KafkaError._MSG_TIMED_OUT
        kafka_cluster.broker_up(1)
        producer.produce("t", b"x").result(10)
        assert consumer.poll(10) is not None

    def test_each_test_gets_a_fresh_cluster(kafka_cluster):
        assert kafka_cluster.mock.bootstrap_servers == kafka_cluster.bootstrap_servers
        metadata = kafka_cluster.consumer().list_topics(timeout=10)
        assert "orders" not in metadata["topics"]
    """
)


def test_a_user_suite_gets_the_fixtures_without_any_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    # The plugin is loaded through its pytest11 entry point, as in a user's project.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3)


def test_clients_and_clusters_are_closed_and_descriptors_kept() -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with KafkaCluster() as warm:
        warm.create_topic("t")
        warm.produce("t", [b"x"])
    before = open_fds()
    for _ in range(30):
        with KafkaCluster() as cluster:
            cluster.create_topic("t", partitions=2)
            cluster.produce("t", [b"a", b"b"])
            assert len(cluster.read("t", 2)) == 2
            producer = cluster.producer()
            consumer = cluster.consumer("t")
        assert producer.closed and consumer.closed
    # A closed client still referenced keeps its native handle (and sockets) until collected.
    del producer, consumer
    # Client handles are destroyed on a background thread: their sockets and wake-up pipes close
    # within a moment of close().
    deadline = time.monotonic() + 10
    while open_fds() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_fds() <= before + 2


def test_read_says_what_arrived_when_too_few_do() -> None:
    with KafkaCluster() as cluster:
        cluster.create_topic("t")
        cluster.produce("t", [b"only one"])
        with pytest.raises(TimeoutError, match="read 1 of 2"):
            cluster.read("t", 2, timeout=1.0)


def test_exported() -> None:
    import ferrokafka.testing as testing

    assert testing.__all__ == ["KafkaCluster", "kafka_cluster"]
    assert isinstance(KafkaCluster().mock, fk.MockCluster)


def test_the_guide_example_runs(pytester: pytest.Pytester) -> None:
    guide = (Path(__file__).parent.parent / "docs" / "testing.md").read_text()
    example = guide.split("```python\n", 1)[1].split("```", 1)[0]
    assert "def test_" in example
    pytester.makepyfile(test_readme=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


LEFT_OPEN = textwrap.dedent(
    """
    import logging
    import time

    import pytest

    import ferrokafka as fk

    @pytest.mark.filterwarnings("ignore:ferrokafka.*was not closed:ResourceWarning")
    def test_leaves_a_client_open(kafka_cluster):
        kafka_cluster.create_topic("t")
        client = fk.{kind}(kafka_cluster.config({config}))
        {use}

    def test_next(caplog):
        caplog.set_level(logging.DEBUG, logger="ferrokafka")
        time.sleep(2)
        assert [r.getMessage() for r in caplog.records if r.name == "ferrokafka"] == []
    """
)


@pytest.mark.parametrize(
    ("kind", "config", "use"),
    [
        ("Producer", "", 'client.produce("t", b"x").result(10)'),
        ("Consumer", '{"group.id": "g"}', 'client.subscribe(["t"]); client.poll(1)'),
    ],
)
def test_a_client_left_open_in_a_test_does_not_log_into_the_next(pytester: pytest.Pytester, kind, config, use) -> None:
    """A client made without the fixture's factories and dropped unclosed (a ResourceWarning says
    so) goes quiet: once its cluster is gone, its connection errors do not land in the next test's
    captured logs."""
    pytester.makepyfile(test_user=LEFT_OPEN.format(kind=kind, config=config, use=use))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
