"""ferrokafka.parallel.ParallelProcessor(mode="process") on the mock cluster: messages shipped to
worker processes (pickle protocol 5, out-of-band key and payload), key order, commits, and a
worker that dies: its message runs again, nothing is lost."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from test_parallel import Running, committed, keyed, produce, wait_for

import ferrokafka as fk
from conftest import consumer_config
from ferrokafka.parallel import HandlerError, ParallelProcessor, WorkerDied
from ferrokafka.parallel._processes import receive_message, send_message

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def bootstrap(mock_cluster: fk.MockCluster) -> str:
    return mock_cluster.bootstrap_servers


def record(log: str, message: fk.OwnedMessage) -> None:
    """The handler, in the worker processes: appends "<event> <pid> <key> <value> <offset>" lines."""
    key = bytes(message.key or b"-").decode()
    value = bytes(message.payload or b"").decode()
    with open(log, "a") as out:
        out.write(f"s {os.getpid()} {key} {value} {message.offset}\n")
    time.sleep(0.005)
    with open(log, "a") as out:
        out.write(f"d {os.getpid()} {key} {value} {message.offset}\n")


def die_once_on(offset: int, marker: str, log: str, message: fk.OwnedMessage) -> None:
    if message.offset == offset and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(7)  # the worker process dies mid-message
    record(log, message)


def block_on(offset: int, pids: str, log: str, message: fk.OwnedMessage) -> None:
    """Writes this worker's pid to `pids` and blocks on `offset` the first time (until killed)."""
    if message.offset == offset and not os.path.exists(pids):
        with open(pids + ".tmp", "w") as out:
            out.write(str(os.getpid()))
        os.rename(pids + ".tmp", pids)
        time.sleep(120)
    record(log, message)


def always_die_on(offset: int, log: str, message: fk.OwnedMessage) -> None:
    if message.offset == offset:
        os._exit(9)
    record(log, message)


def lines(log: Path, kind: str) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split()[1:] for line in log.read_text().splitlines() if line.startswith(kind + " ")]


def test_shipping_keeps_every_field() -> None:
    parent, child = multiprocessing.Pipe()
    message = fk.OwnedMessage(
        "t",
        3,
        42,
        payload=os.urandom(100_000),
        key=b"k\x00ey",
        timestamp=1234,
        timestamp_type=fk.TimestampType.CREATE_TIME,
        headers=[("a", b"1"), ("none", None)],
        leader_epoch=5,
    )
    send_message(parent, message)
    assert receive_message(child) == message
    send_message(parent, fk.OwnedMessage("t", 0, 1))  # no key, no payload
    assert receive_message(child) == fk.OwnedMessage("t", 0, 1)


def test_process_mode_keeps_key_order_across_processes(mock_cluster, bootstrap, topic_name, group_id, tmp_path):
    mock_cluster.create_topic(topic_name, 2)
    produce(bootstrap, topic_name, keyed(200, 8))
    log = tmp_path / "log"
    processor = ParallelProcessor(
        consumer_config(bootstrap, group_id),
        topic_name,
        functools.partial(record, str(log)),
        mode="process",
        concurrency=3,
        commit_interval=0.05,
    )
    run = Running(processor)
    wait_for(lambda: len(lines(log, "d")) == 200, timeout=90)
    run.stop()
    assert len({pid for pid, *_ in lines(log, "d")}) > 1, "more than one worker process"
    by_key: dict[str, list[int]] = {}
    running: dict[str, int] = {}
    for line in log.read_text().splitlines():
        kind, _, key, value, _ = line.split()
        if kind == "s":
            assert key not in running, "two messages of one key at once"
            running[key] = int(value)
            by_key.setdefault(key, []).append(int(value))
        else:
            del running[key]
    assert all(values == sorted(values) for values in by_key.values())
    assert sum(committed(bootstrap, group_id, topic_name, 2).values()) == 200


def test_a_dead_worker_is_replaced_and_its_message_runs_again(backend, topic_name, group_id, tmp_path):
    bootstrap = backend.bootstrap
    backend.create_topic(topic_name, 1)
    produce(bootstrap, topic_name, keyed(30, 3))
    log, marker = tmp_path / "log", tmp_path / "died"
    processor = ParallelProcessor(
        consumer_config(bootstrap, group_id),
        topic_name,
        functools.partial(die_once_on, 5, str(marker), str(log)),
        mode="process",
        concurrency=2,
    )
    run = Running(processor)
    wait_for(lambda: len(lines(log, "d")) == 30, timeout=90)
    run.stop()
    assert marker.exists(), "the worker died"
    assert sorted(int(offset) for *_, offset in lines(log, "d")) == list(range(30)), "offset 5 done, once"
    assert committed(bootstrap, group_id, topic_name, 1) == {0: 30}


def test_a_sigkilled_worker_process_message_is_redone(backend, topic_name, group_id, tmp_path):
    """A worker process killed from outside (SIGKILL, as the OOM killer does) mid-message: the
    message runs again in a new worker, the other keys went on meanwhile, nothing is lost or
    committed past it before it finished."""
    bootstrap = backend.bootstrap
    backend.create_topic(topic_name, 1)
    produce(bootstrap, topic_name, keyed(40, 4))
    log, pids = tmp_path / "log", tmp_path / "pid"
    processor = ParallelProcessor(
        consumer_config(bootstrap, group_id),
        topic_name,
        functools.partial(block_on, 6, str(pids), str(log)),
        mode="process",
        concurrency=2,
        commit_interval=0.05,
    )
    run = Running(processor)
    try:
        wait_for(lambda: pids.exists(), timeout=90)
        # k2's 10, 14, ..., 38 wait behind 6; the other keys (and k2's 2) finish meanwhile
        wait_for(lambda: len(lines(log, "d")) == 31, timeout=60)
        stats = processor.stats()
        assert stats.partitions[(topic_name, 0)].committable == 6
        assert committed(bootstrap, group_id, topic_name, 1) == {0: 6}
        os.kill(int(pids.read_text()), signal.SIGKILL)
        wait_for(lambda: len(lines(log, "d")) == 40, timeout=60)
    finally:
        run.stop()
    offsets = sorted(int(offset) for *_, offset in lines(log, "d"))
    assert offsets == list(range(40)), "offset 6 redone, once; nothing lost"
    assert committed(bootstrap, group_id, topic_name, 1) == {0: 40}


def test_a_message_that_keeps_killing_workers_stops_the_processor(
    mock_cluster, bootstrap, topic_name, group_id, tmp_path
):
    mock_cluster.create_topic(topic_name, 1)
    produce(bootstrap, topic_name, keyed(10, 10))
    log = tmp_path / "log"
    processor = ParallelProcessor(
        consumer_config(bootstrap, group_id),
        topic_name,
        functools.partial(always_die_on, 3, str(log)),
        mode="process",
        concurrency=2,
    )
    with pytest.raises(HandlerError, match="@3") as info:
        processor.run()
    assert isinstance(info.value.__cause__, WorkerDied)
    assert committed(bootstrap, group_id, topic_name, 1)[0] <= 3
