"""Broker faults on a real Apache Kafka broker: SIGKILL the broker's JVM and restart it (same node id,
cluster id, ports, log and metadata dirs) while an idempotent producer produces and while a consumer
group consumes.

The broker is this module's own (``fault_broker``), not the session's shared one: these tests kill it.
Each test prints how long the restart took and what the clients saw.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import ferrokafka as fk
from conftest import _broker_unavailable, consumer_config
from realkafka.harness import KafkaBroker

pytestmark = pytest.mark.broker

VALUE_SIZE = 100
# Clients reconnect with an exponential backoff up to reconnect.backoff.max.ms (default 10 s); 1 s
# keeps the wait after the restart short without changing what is checked.
RECONNECT = {"reconnect.backoff.max.ms": 1000}


@pytest.fixture(scope="module")
def fault_broker() -> Iterator[KafkaBroker]:
    """A broker of this module alone, started with a short broker session so a restart takes ~5 s."""
    from realkafka.harness import FAST_RESTART_PROPERTIES, BrokerUnavailable

    broker = KafkaBroker(heap_max="512m", extra_properties=FAST_RESTART_PROPERTIES)
    try:
        broker.start()
    except BrokerUnavailable as err:
        _broker_unavailable(str(err).splitlines()[0])
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(fault_broker: KafkaBroker) -> KafkaBroker:
    """The module's broker, running (a test that failed between kill and restart left it down)."""
    if not fault_broker.is_running():
        fault_broker.restart()
    return fault_broker


class LogCounter(logging.Handler):
    """A private logger for a client's librdkafka logs that counts records containing `needle`."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.count = 0
        self.logger = logging.getLogger(f"ferrokafka.test.{uuid.uuid4().hex}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.count += 1


def value_of(number: int) -> bytes:
    return (b"%08d|" % number).ljust(VALUE_SIZE, b".")


def number_of(payload: bytes) -> int:
    return int(payload[:8])


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    with fk.AdminClient({"bootstrap.servers": bootstrap}) as admin:
        admin.create_topics([fk.NewTopic(topic, partitions, 1)], operation_timeout=20).result(30)
    # Topic creation resolves once the controller committed it; wait until the broker leads every partition.
    deadline = time.monotonic() + 20
    with fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "md-" + uuid.uuid4().hex[:8]}) as consumer:
        while True:
            parts = consumer.list_topics(topic, timeout=5)["topics"].get(topic, {})
            if len(parts) == partitions and all(p["leader"] >= 0 for p in parts.values()):
                return
            assert time.monotonic() < deadline, f"topic {topic} not ready: {parts}"
            time.sleep(0.1)


def kill_and_restart(broker: KafkaBroker, stay_down: float = 0.0) -> tuple[float, float, float]:
    """SIGKILL the JVM, keep it down `stay_down` s more, start it again.

    Returns (monotonic time it was ready again, seconds restart() took, seconds it was down).
    """
    pid = broker.pid
    t_kill = time.monotonic()
    rc = broker.kill(signal.SIGKILL)
    assert rc == -signal.SIGKILL, f"JVM {pid} exited with {rc}, not by SIGKILL"
    time.sleep(stay_down)  # a longer outage, on purpose (not a wait for a condition)
    restart_s = broker.restart()
    ready = time.monotonic()
    assert broker.pid != pid
    return ready, restart_s, ready - t_kill


def read_partitions(
    bootstrap: str, topic: str, partitions: int, deadline_s: float = 60.0
) -> tuple[dict[int, int], dict[int, list[tuple[int, int]]]]:
    """Every record of every partition, from offset 0 to the high watermark: {p: [(offset, number)]}."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": bootstrap,
        "group.id": "reader-" + uuid.uuid4().hex[:8],
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    out: dict[int, list[tuple[int, int]]] = {p: [] for p in range(partitions)}
    with fk.Consumer(config) as consumer:
        highs = {
            p: consumer.get_watermark_offsets(fk.TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)
        }
        consumer.assign([fk.TopicPartition(topic, p, fk.OFFSET_BEGINNING) for p in range(partitions)])
        pending = {p for p, high in highs.items() if high > 0}
        deadline = time.monotonic() + deadline_s
        while pending:
            assert time.monotonic() < deadline, f"read-back incomplete: pending {pending}, highs {highs}"
            for msg in consumer.consume(1000, timeout=0.5):
                assert msg.payload is not None
                out[msg.partition].append((msg.offset, number_of(bytes(msg.payload))))
                if msg.offset + 1 >= highs[msg.partition]:
                    pending.discard(msg.partition)
                msg.release()
    return highs, out


# --- (1) an idempotent producer across a broker SIGKILL --------------------------------------------

N_PRODUCE = 20_000
PRODUCE_PARTITIONS = 3
PACE_EVERY, PACE_S = 10, 0.004  # ~2,000 msg/s: the stream runs before, during and after the outage
# Around the kill the producer bursts (no pacing) in batches of 100: the kill lands while ProduceRequests
# are in flight (up to 5 with idempotence), possibly written by the broker but not acknowledged.
BATCH_MESSAGES = 100
BURST = 4000


def test_idempotent_producer_across_broker_sigkill(broker, topic_name, capsys):
    bootstrap = broker.bootstrap_servers
    create_topic(bootstrap, topic_name, PRODUCE_PARTITIONS)
    client_errors: list[fk.KafkaError] = []
    # librdkafka's "eos" debug log says when ProduceRequests in flight failed and their partition is
    # drained to be retried with the same sequence numbers: the case idempotence must deduplicate.
    retried = LogCounter("drain before retrying")
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "batch.num.messages": BATCH_MESSAGES,
        "error_cb": client_errors.append,
        "debug": "eos",
        "logger": retried.logger,
        **RECONNECT,
    }
    done_at: list[float] = []  # monotonic time of each resolution (list.append is atomic)
    futures: list[concurrent.futures.Future[fk.DeliveryReport]] = []
    produce_errors: list[BaseException] = []
    burst_from = [N_PRODUCE]  # the producer does not pace numbers burst_from[0] .. + BURST
    t_start = time.monotonic()

    with fk.Producer(config) as producer:  # type: ignore[arg-type]  # the stub omits the callback values

        def produce_all() -> None:
            try:
                for i in range(N_PRODUCE):
                    # Number i goes to partition i % 3: each partition gets an increasing sequence.
                    future = producer.produce(topic_name, value_of(i), key=b"%d" % i, partition=i % PRODUCE_PARTITIONS)
                    future.add_done_callback(lambda _f: done_at.append(time.monotonic()))
                    futures.append(future)
                    if i % PACE_EVERY == PACE_EVERY - 1 and not 0 <= i - burst_from[0] < BURST:
                        time.sleep(PACE_S)
            except BaseException as err:  # reported by the main thread
                produce_errors.append(err)

        thread = threading.Thread(target=produce_all, name="producer")
        thread.start()
        try:
            # Once a quarter is delivered, burst; kill halfway through the burst.
            deadline = time.monotonic() + 30
            while len(done_at) < N_PRODUCE // 4:
                assert thread.is_alive(), f"producer thread ended before the kill: {produce_errors}"
                assert time.monotonic() < deadline, f"only {len(done_at)} deliveries before the kill"
                time.sleep(0.005)
            burst_from[0] = len(futures)
            while len(futures) < burst_from[0] + BURST // 2:
                assert thread.is_alive(), f"producer thread ended before the kill: {produce_errors}"
                time.sleep(0.0005)
            produced_at_kill, resolved_at_kill = len(futures), len(done_at)
            ready, restart_s, down_s = kill_and_restart(broker)
        finally:
            thread.join(120)
        assert not thread.is_alive(), "producer thread still producing after 120 s"
        assert not produce_errors, f"produce() raised: {produce_errors!r}"
        assert len(futures) == N_PRODUCE
        assert produced_at_kill < N_PRODUCE, "every message was produced before the kill"
        left = producer.flush(120)
        finished, pending = concurrent.futures.wait(futures, timeout=10)
        t_end = time.monotonic()

    # Every future resolves: delivered or a definite error.
    assert left == 0 and not pending, f"{len(pending)} futures unresolved (flush left {left})"
    reports: dict[int, fk.DeliveryReport] = {}
    failures: Counter[str] = Counter()
    for i, future in enumerate(futures):
        err = future.exception(0)
        if err is None:
            reports[i] = future.result(0)
        else:
            failures[err.name() if isinstance(err, fk.KafkaError) else type(err).__name__] += 1
    after_ready = [t for t in done_at if t >= ready]
    resumed_s = (min(after_ready) - ready) if after_ready else float("nan")
    with capsys.disabled():
        print(
            f"\nidempotent producer: SIGKILL at {resolved_at_kill}/{produced_at_kill} resolved/produced; "
            f"broker down {down_s:.2f} s (restart {restart_s:.2f} s); first delivery {resumed_s:.2f} s after "
            f"ready; {len(reports)} delivered, failed {dict(failures)}; {retried.count} partition(s) retried in-flight requests; "
            f"total {t_end - t_start:.1f} s; client errors {sorted(Counter(e.name() for e in client_errors).items())}",
            end=" ",
        )
    fatal = [e for e in client_errors if e.fatal()]
    assert not fatal, f"fatal producer error(s): {fatal}"

    # Read the topic back: nothing delivered lost, nothing duplicated, order kept per partition.
    highs, records = read_partitions(bootstrap, topic_name, PRODUCE_PARTITIONS)
    seen: Counter[int] = Counter()
    for p, recs in records.items():
        offsets = [o for o, _ in recs]
        assert offsets == list(range(highs[p])), f"partition {p}: offsets not 0..{highs[p] - 1}"
        numbers = [n for _, n in recs]
        assert all(n % PRODUCE_PARTITIONS == p for n in numbers), f"partition {p} holds foreign numbers"
        assert all(0 <= n < N_PRODUCE for n in numbers)
        out_of_order = [(a, b) for a, b in zip(numbers, numbers[1:]) if b <= a]
        assert not out_of_order, f"partition {p}: order broken or duplicated, e.g. {out_of_order[:5]}"
        seen.update(numbers)
    duplicated = [n for n, c in seen.items() if c > 1]
    assert not duplicated, f"{len(duplicated)} numbers written twice, e.g. {sorted(duplicated)[:10]}"
    lost = sorted(i for i in reports if i not in seen)
    assert not lost, f"{len(lost)} delivered numbers missing from the log, e.g. {lost[:10]}"
    at_offset = {p: dict(recs) for p, recs in records.items()}
    misplaced = [
        i
        for i, r in reports.items()
        if r.partition != i % PRODUCE_PARTITIONS or at_offset[r.partition].get(r.offset) != i
    ]
    assert not misplaced, f"{len(misplaced)} delivery reports point at another record, e.g. {misplaced[:10]}"
    # With idempotence and the default retries (and message.timeout.ms 300 s), a 5-10 s outage loses nothing.
    assert not failures, f"{sum(failures.values())} futures failed: {dict(failures)}"
    assert len(reports) == N_PRODUCE == len(seen)


# --- (2) a consumer group across a broker SIGKILL --------------------------------------------------

# argv: config-json topic out-path stop-path mode(auto|manual) deadline-s batch delay-s
# Appends "partition offset number unix-time" per message (one write per batch); in manual mode the
# batch is fsync'd and then committed synchronously (a failed commit is counted, the next one covers
# it). Runs until stop-path exists, then close()s (which commits in auto mode) and prints a JSON line.
GROUP_CONSUMER = r"""
import json, os, sys, time
import ferrokafka as fk

config = json.loads(sys.argv[1])
topic, out_path, stop_path, mode = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
deadline = time.monotonic() + float(sys.argv[6])
batch_size, delay = int(sys.argv[7]), float(sys.argv[8])
commit_failures = {}
longest_commit = 0.0
fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
consumer = fk.Consumer(config)
consumer.subscribe([topic])
print("subscribed", flush=True)
while not os.path.exists(stop_path):
    if time.monotonic() > deadline:
        print("deadline", flush=True)
        sys.exit(3)
    batch = consumer.consume(batch_size, timeout=0.2)
    if not batch:
        continue
    now = time.time()
    os.write(fd, b"".join(b"%d %d %d %.3f\n" % (m.partition, m.offset, int(bytes(m.payload[:8])), now)
                          for m in batch))
    for m in batch:
        m.release()
    if mode == "manual":
        os.fsync(fd)
        t = time.monotonic()
        try:
            consumer.commit(asynchronous=False)
        except fk.KafkaError as e:
            commit_failures[e.name()] = commit_failures.get(e.name(), 0) + 1
            print("commit failed after %.2f s: %r" % (time.monotonic() - t, e), flush=True)
        longest_commit = max(longest_commit, time.monotonic() - t)
    time.sleep(delay)
t = time.monotonic()
consumer.close()
print(json.dumps({"close_s": round(time.monotonic() - t, 3), "longest_commit_s": round(longest_commit, 2),
                  "commit_failures": commit_failures}), flush=True)
os.close(fd)
"""

N_GROUP = 20_000
N_AFTER = 1_000  # produced after the restart: only a group that resumed fetching can see them
GROUP_PARTITIONS = 4
BATCH, DELAY = 50, 0.03  # ~1,500 msg/s per consumer: consumption runs before, during and after the outage
# Small prefetch, so that the consumers cannot ride out the outage on messages fetched before it.
PREFETCH = {"queued.min.messages": 200, "max.partition.fetch.bytes": 32768, "fetch.queue.backoff.ms": 50}
# "survives": the outage (~5-7 s) is shorter than the consumers' session, so they keep their partitions.
# "expires": a 6 s session (the broker's minimum) and the broker kept down 3 s longer (down >= 8 s), so
# every member's session times out during the outage: assignments are lost, the group rebalances (the
# coordinator waits for the old members' sessions, ~6 s after the restart), uncommitted work is redone.
SESSIONS = {"survives": (30_000, 0.0), "expires": (6_000, 3.0)}


def produce_numbers(bootstrap: str, topic: str, numbers: range, partitions: int) -> dict[tuple[int, int], int]:
    """Produces value_of(i) to partition i % partitions; returns {(partition, offset): i}."""
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **RECONNECT}) as producer:
        futures = {i: producer.produce(topic, value_of(i), key=b"%d" % i, partition=i % partitions) for i in numbers}
        assert producer.flush(60) == 0
    return {(r.partition, r.offset): i for i, r in ((i, f.result(0)) for i, f in futures.items())}


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<missing>"


def _lines(out: Path) -> list[tuple[int, int, int, float]]:
    data = out.read_bytes() if out.exists() else b""
    rows = []
    for line in data.split(b"\n")[:-1]:  # the last element is b"" or a torn line
        p, o, n, t = line.split()
        rows.append((int(p), int(o), int(n), float(t)))
    return rows


@pytest.mark.parametrize("session", list(SESSIONS))
@pytest.mark.parametrize("mode", ["auto", "manual"])
def test_consumer_group_across_broker_sigkill(broker, topic_name, group_id, tmp_path, capsys, mode, session):
    bootstrap = broker.bootstrap_servers
    create_topic(bootstrap, topic_name, GROUP_PARTITIONS)
    where = produce_numbers(bootstrap, topic_name, range(N_GROUP), GROUP_PARTITIONS)
    session_ms, stay_down = SESSIONS[session]
    extra: dict[str, object] = {"session.timeout.ms": session_ms}
    if mode == "manual":
        extra["enable.auto.commit"] = False  # auto: the default (on, every 5 s), left unset
    config = consumer_config(bootstrap, group_id, **PREFETCH, **RECONNECT, **extra)
    stop = tmp_path / "stop"
    outs = [tmp_path / f"c{k}.txt" for k in range(2)]
    logs = [tmp_path / f"c{k}.log" for k in range(2)]
    procs: list[subprocess.Popen[bytes]] = []
    t_start = time.monotonic()
    try:
        for out, log in zip(outs, logs):
            with log.open("wb") as log_file:
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-c",
                            GROUP_CONSUMER,
                            json.dumps(config),
                            topic_name,
                            str(out),
                            str(stop),
                            mode,
                            "100",
                            str(BATCH),
                            str(DELAY),
                        ],
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                        cwd=tmp_path,
                    )
                )

        def union() -> set[int]:
            return {n for out in outs for _, _, n, _ in _lines(out)}

        def check_alive() -> None:
            for k, proc in enumerate(procs):
                assert proc.poll() is None, f"consumer {k} exited {proc.returncode}:\n{_tail(logs[k])}"

        # Kill once both members consume and a fifth of the topic is done.
        deadline = time.monotonic() + 40
        while not (all(_lines(out) for out in outs) and len(union()) >= N_GROUP // 5):
            check_alive()
            assert time.monotonic() < deadline, (
                f"group too slow before the kill: {[len(_lines(o)) for o in outs]} lines\n"
                + "\n".join(_tail(log) for log in logs)
            )
            time.sleep(0.05)
        seen_at_kill = len(union())
        ready, restart_s, down_s = kill_and_restart(broker, stay_down)
        ready_wall = time.time()
        where.update(produce_numbers(bootstrap, topic_name, range(N_GROUP, N_GROUP + N_AFTER), GROUP_PARTITIONS))
        total = N_GROUP + N_AFTER

        # The group resumes: together the consumers see every message.
        deadline = time.monotonic() + 60
        while len(union()) < total:
            check_alive()
            assert time.monotonic() < deadline, (
                f"group did not resume/finish: {len(union())} of {total} seen "
                f"({seen_at_kill} at the kill)\n" + "\n".join(_tail(log) for log in logs)
            )
            time.sleep(0.05)
        t_all = time.monotonic()
        stop.touch()
        for k, proc in enumerate(procs):
            try:
                rc = proc.wait(30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"consumer {k} did not close within 30 s:\n{_tail(logs[k])}")
            assert rc == 0, f"consumer {k} exited {rc}:\n{_tail(logs[k])}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    rows = [row for out in outs for row in _lines(out)]
    wrong = [r for r in rows if where.get((r[0], r[1])) != r[2]]
    assert not wrong, f"{len(wrong)} lines name the wrong message, e.g. {wrong[:5]}"
    counts = Counter(n for _, _, n, _ in rows)
    missing = sorted(set(range(total)) - set(counts))
    duplicates = len(rows) - len(counts)
    per_consumer = [len(_lines(out)) for out in outs]
    resumed = [min((t for *_, t in _lines(out) if t >= ready_wall), default=float("nan")) - ready_wall for out in outs]
    reports = [json.loads(_tail(log, 400).strip().splitlines()[-1]) for log in logs]
    failed_commits = sum(sum(r["commit_failures"].values()) for r in reports)
    # When was each duplicated message first consumed: before the kill, during the outage, after it?
    kill_wall = ready_wall - down_s
    first_seen: dict[int, float] = {}
    for _, _, n, t in sorted(rows, key=lambda r: r[3]):
        first_seen.setdefault(n, t)
    phases = Counter(
        "before" if first_seen[n] < kill_wall else "during" if first_seen[n] < ready_wall else "after"
        for n, c in counts.items()
        for _ in range(c - 1)
    )
    with capsys.disabled():
        print(
            f"\nconsumer group ({mode} commit, session {session_ms} ms): SIGKILL at {seen_at_kill}/{N_GROUP} "
            f"seen; broker down {down_s:.2f} s (restart {restart_s:.2f} s); consumers resumed "
            f"{', '.join(f'{r:.2f}' for r in resumed)} s after ready; all {total} seen {t_all - ready:.1f} s "
            f"after ready; lines per consumer {per_consumer}; {duplicates} duplicates (first consumed before/during/after the "
            f"outage: {phases['before']}/{phases['during']}/{phases['after']}); {failed_commits} failed "
            f"commits; consumers said {reports}; total {time.monotonic() - t_start:.1f} s",
            end=" ",
        )
    assert not missing, f"{len(missing)} messages never consumed, e.g. {missing[:10]}"
    assert seen_at_kill <= N_GROUP // 2, f"kill was not mid-stream: {seen_at_kill} of {N_GROUP} already seen"
    assert all(per_consumer), f"a consumer got nothing: {per_consumer}"
    if mode == "manual":
        # Work is committed after each batch: only batches whose commit failed can be consumed again.
        assert duplicates <= BATCH * failed_commits, (duplicates, failed_commits)
    elif session == "survives":
        # Nobody lost a partition: positions are kept in memory, nothing is delivered twice.
        assert duplicates == 0, f"{duplicates} messages consumed twice although no session expired"
    else:
        # Partitions were lost during the outage (not committed), so what was consumed before it may be
        # consumed again; what was consumed after the group came back is committed and never redone.
        assert phases["after"] == 0, f"{phases['after']} messages first consumed after the outage came twice"
    assert duplicates < total
    # The group's commits work again after the restart: on close every partition is committed at its end.
    ends: dict[int, int] = {}
    for p, o in where:
        ends[p] = max(ends.get(p, 0), o + 1)
    reader_config = consumer_config(bootstrap, group_id, **{"enable.auto.commit": False})
    with fk.Consumer(reader_config) as reader:  # type: ignore[arg-type]
        committed = reader.committed([fk.TopicPartition(topic_name, p) for p in range(GROUP_PARTITIONS)], timeout=15)
    assert {tp.partition: tp.offset for tp in committed} == ends
