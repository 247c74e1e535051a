"""Consumer groups across real processes: at-least-once delivery over a SIGKILL, and partition splitting.

The consumers run as subprocesses (the scripts below, run with this interpreter) against the real broker.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import ferrokafka as fk
from conftest import consumer_config

pytestmark = pytest.mark.broker

ck = pytest.importorskip("confluent_kafka")

PARTITIONS = 4


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """ferrokafka has no AdminClient in this build: confluent-kafka's creates the topic."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=20)
    for future in futures.values():
        future.result(30)


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The group's committed offsets, read without joining the group (no subscribe)."""
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([ck.TopicPartition(topic, p) for p in range(partitions)], timeout=15)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in tps}  # OFFSET_INVALID (-1001) when none


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<missing>"


# --- (a) at-least-once across a crash ------------------------------------------------------------

# argv: config-json topic out-path batch-size delay-s ends-json deadline-s
# Processes each batch by appending "partition offset number" lines to out-path (one write + fsync),
# then commits synchronously. With ends = {} it runs until killed; otherwise it exits 0 once it has
# processed offset end-1 of every listed partition, and 3 if the deadline passes first.
AT_LEAST_ONCE_CONSUMER = r"""
import json, os, sys, time
import ferrokafka as fk

config = json.loads(sys.argv[1])
topic, out_path = sys.argv[2], sys.argv[3]
batch_size, delay = int(sys.argv[4]), float(sys.argv[5])
pending = {int(p): int(end) for p, end in json.loads(sys.argv[6]).items()}
run_until_killed = not pending
deadline = time.monotonic() + float(sys.argv[7])

fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
with fk.Consumer(config) as consumer:
    consumer.subscribe([topic])
    print("subscribed", fk.__file__, flush=True)
    while run_until_killed or pending:
        if time.monotonic() > deadline:
            print("deadline; still pending:", pending, flush=True)
            sys.exit(3)
        batch = consumer.consume(batch_size, timeout=0.5)
        if not batch:
            continue
        lines = []
        for msg in batch:
            lines.append(b"%d %d %s\n" % (msg.partition, msg.offset, bytes(msg.payload)))
            if pending.get(msg.partition, 1 << 62) <= msg.offset + 1:
                del pending[msg.partition]
        os.write(fd, b"".join(lines))   # process ...
        os.fsync(fd)
        time.sleep(delay)
        consumer.commit(asynchronous=False)               # ... then commit (synchronous), at-least-once
        for msg in batch:
            msg.release()
os.close(fd)
print("done", flush=True)
"""

N = 2000
BATCH = 25


def _start_consumer(
    tmp_path: Path,
    name: str,
    config: dict,
    topic: str,
    out: Path,
    delay: float,
    ends: dict[int, int],
    deadline_s: float,
) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                AT_LEAST_ONCE_CONSUMER,
                json.dumps(config),
                topic,
                str(out),
                str(BATCH),
                str(delay),
                json.dumps(ends),
                str(deadline_s),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    return proc, log


def _complete_lines(out: Path) -> list[bytes]:
    data = out.read_bytes() if out.exists() else b""
    lines = data.split(b"\n")
    return lines[:-1]  # the last element is b"" or a torn line


def test_at_least_once_across_sigkill(kafka_bootstrap, topic_name, group_id, tmp_path, capsys):
    create_topic(kafka_bootstrap, topic_name, PARTITIONS)
    with fk.Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5}) as producer:
        futures = [producer.produce(topic_name, b"%d" % i, key=b"k%d" % i, partition=i % PARTITIONS) for i in range(N)]
        assert producer.flush(30) == 0
        reports = [f.result(0) for f in futures]
    where = {(r.partition, r.offset): i for i, r in enumerate(reports)}
    ends = {p: max(r.offset for r in reports if r.partition == p) + 1 for p in range(PARTITIONS)}
    assert sum(ends.values()) == N

    config = consumer_config(kafka_bootstrap, group_id, **{"enable.auto.commit": False})
    out = tmp_path / "processed.txt"

    first, first_log = _start_consumer(tmp_path, "first", config, topic_name, out, 0.05, {}, 40)
    try:
        deadline = time.monotonic() + 20
        while len(_complete_lines(out)) < N // 5:
            assert first.poll() is None, f"first consumer exited early:\n{_tail(first_log)}"
            assert time.monotonic() < deadline, f"first consumer too slow:\n{_tail(first_log)}"
            time.sleep(0.01)
        # A little jitter so that the kill lands in any phase of a batch (fetch, process, commit).
        time.sleep(random.uniform(0, 0.08))
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    at_kill = len(_complete_lines(out))
    assert N // 5 <= at_kill < N, f"kill was not mid-stream: {at_kill} of {N} lines"

    committed = committed_offsets(kafka_bootstrap, group_id, topic_name, PARTITIONS)
    assert any(o > 0 for o in committed.values()), f"the first consumer committed nothing: {committed}"
    committed_count = sum(max(o, 0) for o in committed.values())
    assert committed_count <= at_kill, (committed, at_kill)
    remaining = {p: end for p, end in ends.items() if max(committed[p], 0) < end}
    assert remaining, "everything was committed before the kill"

    second, second_log = _start_consumer(tmp_path, "second", config, topic_name, out, 0.0, remaining, 28)
    try:
        rc = second.wait(30)
    except subprocess.TimeoutExpired:
        second.kill()
        second.wait(10)
        pytest.fail(f"second consumer did not finish:\n{_tail(second_log)}")
    assert rc == 0, f"second consumer exited {rc}:\n{_tail(second_log)}"

    lines = _complete_lines(out)
    numbers: Counter[int] = Counter()
    for line in lines:
        partition, offset, number = (int(x) for x in line.split())
        assert where[(partition, offset)] == number, line  # the right message at the right place
        numbers[number] += 1
    missing = sorted(set(range(N)) - set(numbers))
    duplicates = len(lines) - len(numbers)
    with capsys.disabled():
        print(
            f"\nat-least-once: {len(lines)} lines for {N} messages, {at_kill} before SIGKILL, "
            f"{committed_count} committed by the killed consumer, {duplicates} duplicates",
            end=" ",
        )
    assert not missing, f"{len(missing)} messages never processed, e.g. {missing[:10]}"
    assert set(numbers) == set(range(N))
    assert duplicates < N
    # Commits are synchronous and follow each fsync'd batch, so only the batch the kill interrupted
    # (processed, not yet committed) can be processed again.
    assert duplicates == at_kill - committed_count
    assert duplicates <= BATCH, f"{duplicates} duplicates > one batch ({BATCH})"
    # The second consumer committed its work: the group is at the end of every partition.
    assert committed_offsets(kafka_bootstrap, group_id, topic_name, PARTITIONS) == ends


# --- (b) two consumer processes split a topic -----------------------------------------------------

# argv: config-json topic deadline-s. Prints its assignment (and seconds since start) as a JSON line
# whenever it changes; SIGTERM makes it close() the consumer (leaving the group) and exit 0.
ASSIGNMENT_CONSUMER = r"""
import json, signal, sys, time
import ferrokafka as fk

config = json.loads(sys.argv[1])
topic = sys.argv[2]
started = time.monotonic()
deadline = started + float(sys.argv[3])
stop = False

def on_sigterm(signum, frame):
    global stop
    stop = True

signal.signal(signal.SIGTERM, on_sigterm)
consumer = fk.Consumer(config)
consumer.subscribe([topic])
last, received = None, 0
while not stop and time.monotonic() < deadline:
    msg = consumer.poll(0.2)
    if msg is not None:
        received += 1
        msg.release()
    parts = sorted(tp.partition for tp in consumer.assignment() if tp.topic == topic)
    if parts != last:
        event = {"assignment": parts, "received": received, "t": round(time.monotonic() - started, 2)}
        print(json.dumps(event), flush=True)
        last = parts
consumer.close()
print(json.dumps({"closed": True, "by_signal": stop}), flush=True)
"""


class ConsumerProcess:
    def __init__(self, config: dict, topic: str, name: str, cwd: Path) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ASSIGNMENT_CONSUMER, json.dumps(config), topic, "45"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self.events: list[dict] = []
        self.stderr = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    @property
    def assignment(self) -> list[int] | None:
        for event in reversed(self.events):
            if "assignment" in event:
                return event["assignment"]
        return None

    def describe(self) -> str:
        return (
            f"{self.name}: rc={self.proc.poll()} events={self.events} "
            f"stderr={self.stderr.decode(errors='replace')[-1500:]}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._reader.join(5)
        self._err_reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _wait_until(predicate, timeout: float, message) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(message())
        time.sleep(0.05)


@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
def test_two_processes_split_partitions_and_take_over(
    kafka_bootstrap, topic_name, group_id, tmp_path, capsys, group_protocol
):
    """classic: the JoinGroup/SyncGroup protocol; consumer: KIP-848's, with broker-side assignment
    (each of its steps waits for the broker's group.consumer.heartbeat.interval.ms, 5 s by default)."""
    create_topic(kafka_bootstrap, topic_name, PARTITIONS)
    with fk.Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5}) as producer:
        for i in range(40):
            producer.produce(topic_name, b"%d" % i, partition=i % PARTITIONS)
        assert producer.flush(30) == 0

    config = consumer_config(kafka_bootstrap, group_id, **{"group.protocol": group_protocol})
    if group_protocol == "consumer":  # session and heartbeat are broker-side settings there
        del config["session.timeout.ms"], config["heartbeat.interval.ms"]
    a = ConsumerProcess(config, topic_name, "A", tmp_path)
    b = ConsumerProcess(config, topic_name, "B", tmp_path)
    try:

        def split() -> bool:
            pa, pb = a.assignment, b.assignment
            return bool(pa) and bool(pb) and not set(pa) & set(pb) and set(pa) | set(pb) == set(range(PARTITIONS))

        _wait_until(split, 20, lambda: "no disjoint split of all partitions:\n" + a.describe() + "\n" + b.describe())
        time.sleep(1.0)  # still split a moment later (no late rebalance undoing it)
        assert split(), a.describe() + "\n" + b.describe()
        with capsys.disabled():
            print(f"\n[{group_protocol}] split: A={a.assignment} B={b.assignment}", end=" ")
        assert sorted(a.assignment + b.assignment) == list(range(PARTITIONS))  # type: ignore[operator]

        a.proc.send_signal(signal.SIGTERM)
        assert a.proc.wait(10) == 0, a.describe()
        a._reader.join(5)
        assert a.events[-1] == {"closed": True, "by_signal": True}, a.describe()

        _wait_until(
            lambda: b.assignment == list(range(PARTITIONS)),
            15,
            lambda: "survivor did not take over every partition:\n" + b.describe(),
        )
        assert b.proc.poll() is None, b.describe()
    finally:
        a.stop()
        b.stop()
