"""Process edges: fork(), interpreter exit with live clients, and Ctrl-C (SIGINT) in every blocking call.

Every scenario runs in a subprocess with a deadline, so that a crash (abort, segfault, panic) or a hang
is a test failure and not a dead test run.

Decided behaviour after ``os.fork()``: in the child, every client inherited from the
parent (Consumer, Producer, AdminClient, MockCluster) raises a ``ferrokafka.Error`` whose message
mentions "fork" when it is used; ``close()`` of an inherited client returns at once without raising;
``len(producer)`` and ``.closed`` do not crash; a future of an inherited producer never blocks
``result(timeout)`` past its timeout; clients created in the child work normally; the parent's clients
are not disturbed.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

# Text that must never appear on a subprocess's stderr.
FORBIDDEN = ("panicked", "Fatal Python error", "PanicException", "Segmentation fault")


def forbidden_in(stderr: str) -> list[str]:
    return [word for word in FORBIDDEN if word in stderr]


def tail(text: str, n: int = 3000) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def run_python(script: str, timeout: float, *args: str) -> tuple[int, str, str, float]:
    """Runs `script` in a fresh interpreter; returns (returncode, stdout, stderr, seconds).

    A subprocess that outlives `timeout` is killed and the test fails, showing what it printed."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(
            f"subprocess still running after {timeout} s (hang)\n--- stdout\n{tail(out)}\n--- stderr\n{tail(err)}"
        )
    return proc.returncode, out, err, time.monotonic() - start


# ================================================================================================
# 1. fork()
# ================================================================================================

# Each operation runs in its own forked child of one subprocess that holds live clients. The child
# writes what happened to a JSON file; the subprocess kills children that outlive their deadline.
_FORK_SCRIPT = r"""
import json, os, signal, sys, time
import ferrokafka as fk
from ferrokafka import TopicPartition as TP

OPS = json.loads(sys.argv[1])        # name -> [code, deadline seconds, propagate exit]
WORKDIR = sys.argv[2]

cluster = fk.MockCluster()
cluster.create_topic("t", 1)
bootstrap = cluster.bootstrap_servers
producer = fk.Producer({"bootstrap.servers": bootstrap})
producer.produce("t", b"before").result(10)
consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "fork-group",
                        "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.assign([TP("t", 0, 0)])
first = None
deadline = time.monotonic() + 10
while first is None and time.monotonic() < deadline:
    first = consumer.poll(0.5)
assert first is not None and bytes(first.payload) == b"before", first
first.release()
stuck = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 600000})
pending = stuck.produce("t", b"pending")      # never delivered: pending at fork time
admin = fk.AdminClient({"bootstrap.servers": bootstrap})
print("parent ready", flush=True)


def child(name, code, propagate):
    fd = os.open(os.path.join(WORKDIR, name + ".err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    env = dict(globals())
    start = time.monotonic()
    if propagate:                      # exit scenarios: let SystemExit/exceptions do their work
        exec(code, env)
        os._exit(0)
    record = {}
    try:
        exec(code, env)
        record.update(outcome="returned", value=repr(env.get("result")))
    except BaseException as exc:
        record.update(outcome="raised", type=type(exc).__module__ + "." + type(exc).__qualname__,
                      is_fk_error=isinstance(exc, fk.Error), is_timeout=isinstance(exc, TimeoutError),
                      message=str(exc))
    record["elapsed"] = time.monotonic() - start
    with open(os.path.join(WORKDIR, name + ".json"), "w") as f:
        json.dump(record, f)
    os._exit(0)


children = {}
for name, (code, limit, propagate) in OPS.items():
    pid = os.fork()
    if pid == 0:
        child(name, code, propagate)   # never returns normally
    children[pid] = (name, time.monotonic(), limit)

status = {}
while children:
    for pid, (name, started, limit) in list(children.items()):
        got, raw = os.waitpid(pid, os.WNOHANG)
        if got:
            elapsed = time.monotonic() - started
            if os.WIFSIGNALED(raw):
                status[name] = {"signal": os.WTERMSIG(raw), "wall": elapsed}
            else:
                status[name] = {"exit": os.WEXITSTATUS(raw), "wall": elapsed}
            del children[pid]
        elif time.monotonic() - started > limit:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status[name] = {"hang": limit}
            del children[pid]
    time.sleep(0.02)

for name in OPS:
    record = dict(status[name])
    try:
        with open(os.path.join(WORKDIR, name + ".json")) as f:
            record.update(json.load(f))
    except FileNotFoundError:
        pass
    with open(os.path.join(WORKDIR, name + ".err"), errors="replace") as f:
        record["stderr"] = f.read()[-3000:]
    print("RESULT", json.dumps({"name": name, **record}), flush=True)

# The parent's clients still work after all that.
parent = {}
try:
    producer.produce("t", b"after").result(10)
    got = None
    deadline = time.monotonic() + 10
    while got is None and time.monotonic() < deadline:
        got = consumer.poll(0.5)
    assert got is not None, "parent consumer got nothing after the fork"
    parent["consumed"] = bytes(got.payload).decode()
    got.release()
    cluster.create_topic("t-after", 1)
    parent["stuck_pending"] = len(stuck)
    consumer.close(5)
    producer.close(5)
    stuck.close(0)
    admin.close()
    cluster.close()
    parent["ok"] = True
except BaseException as exc:
    parent["error"] = repr(exc)
print("PARENT", json.dumps(parent), flush=True)
"""

_ROUND_TRIP = """
import time
child_cluster = fk.MockCluster()
child_cluster.create_topic("rt", 1)
with fk.Producer({"bootstrap.servers": child_cluster.bootstrap_servers}) as p2:
    report = p2.produce("rt", b"hello-child").result(10)
with fk.Consumer({"bootstrap.servers": child_cluster.bootstrap_servers, "group.id": "child",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False}) as k2:
    k2.assign([TP("rt", 0, 0)])
    m = None
    deadline = time.monotonic() + 10
    while m is None and time.monotonic() < deadline:
        m = k2.poll(0.5)
    result = bytes(m.payload) if m is not None else None
    k2.commit(m, asynchronous=False)
    if m is not None:
        m.release()
child_cluster.close()
"""


@dataclass(frozen=True)
class ForkOp:
    code: str
    kind: str  # "refuse" | "close" | "no_crash" | "future" | "works" | "exit"
    deadline: float = 8.0
    exit_status: int = 0


FORK_OPS: dict[str, ForkOp] = {
    # inherited Producer
    "producer.produce": ForkOp("result = producer.produce('t', b'x')", "refuse"),
    "producer.poll": ForkOp("result = producer.poll(0.5)", "refuse"),
    "producer.flush": ForkOp("result = producer.flush(1)", "refuse"),
    "producer.flush_pending": ForkOp("result = stuck.flush(1)", "refuse"),
    "producer.purge": ForkOp("result = stuck.purge()", "refuse"),
    "producer.len": ForkOp("result = len(stuck)", "no_crash"),
    "producer.closed": ForkOp("result = producer.closed", "no_crash"),
    "producer.close": ForkOp("producer.close(); result = producer.closed", "close"),
    "producer.close_pending": ForkOp("stuck.close(); result = stuck.closed", "close"),
    "producer.future_pending": ForkOp("result = pending.result(1)", "future"),
    "producer.future_after_close": ForkOp("stuck.close(timeout=1); result = pending.result(1)", "future"),
    # inherited Consumer
    "consumer.poll": ForkOp("result = consumer.poll(1)", "refuse"),
    "consumer.consume": ForkOp("result = consumer.consume(10, 1)", "refuse"),
    "consumer.iterate": ForkOp("result = next(iter(consumer))", "refuse"),
    "consumer.commit": ForkOp("result = consumer.commit(offsets=[TP('t', 0, 1)])", "refuse"),
    "consumer.list_topics": ForkOp("result = consumer.list_topics(timeout=1)", "refuse"),
    "consumer.committed": ForkOp("result = consumer.committed([TP('t', 0)], timeout=1)", "refuse"),
    "consumer.get_watermark_offsets": ForkOp(
        "result = consumer.get_watermark_offsets(TP('t', 0), timeout=1)", "refuse"
    ),
    "consumer.assignment": ForkOp("result = consumer.assignment()", "refuse"),
    "consumer.assign": ForkOp("result = consumer.assign([TP('t', 0, 0)])", "refuse"),
    "consumer.closed": ForkOp("result = consumer.closed", "no_crash"),
    "consumer.close": ForkOp("consumer.close(); result = consumer.closed", "close"),
    # inherited AdminClient: refusing at the call or through the future both count
    "admin.list_groups": ForkOp("result = admin.list_groups().result(3)", "refuse"),
    "admin.create_topics": ForkOp("result = admin.create_topics([fk.NewTopic('new', 1, 1)]).result(3)", "refuse"),
    "admin.close": ForkOp("admin.close(); result = admin.closed", "close"),
    # inherited MockCluster
    "cluster.create_topic": ForkOp("result = cluster.create_topic('new', 1)", "refuse"),
    "cluster.close": ForkOp("cluster.close(); result = True", "close"),
    # new clients in the child
    "child.new_clients": ForkOp(_ROUND_TRIP, "works", deadline=30),
    "child.new_clients_after_closing_inherited": ForkOp(
        "producer.close(); stuck.close(); consumer.close(); admin.close(); cluster.close()\n" + _ROUND_TRIP,
        "works",
        deadline=30,
    ),
    # a child that never touches what it inherited
    "exit.os_exit": ForkOp("os._exit(7)", "exit", exit_status=7),
    "exit.sys_exit_0": ForkOp("sys.exit(0)", "exit", exit_status=0),
    "exit.sys_exit_5": ForkOp("sys.exit(5)", "exit", exit_status=5),
    "exit.unhandled_exception": ForkOp("raise RuntimeError('child boom')", "exit", exit_status=1),
}


@pytest.fixture(scope="module")
def fork_results() -> Iterator[dict[str, Any]]:
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    ops = {name: [op.code, op.deadline, op.kind == "exit"] for name, op in FORK_OPS.items()}
    with tempfile.TemporaryDirectory() as workdir:
        code, out, err, _ = run_python(_FORK_SCRIPT, 90, json.dumps(ops), workdir)
    results: dict[str, Any] = {"_returncode": code, "_stderr": err, "_stdout": out}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            record = json.loads(line[len("RESULT ") :])
            results[record["name"]] = record
        elif line.startswith("PARENT "):
            results["_parent"] = json.loads(line[len("PARENT ") :])
    yield results


def _describe(record: dict[str, Any]) -> str:
    shown = {k: v for k, v in record.items() if k != "stderr"}
    return f"{shown}\n--- child stderr\n{tail(record.get('stderr', ''), 1500)}"


@pytest.mark.parametrize("name", list(FORK_OPS))
def test_fork_child(fork_results: dict[str, Any], name: str) -> None:
    op = FORK_OPS[name]
    record = fork_results.get(name)
    assert record is not None, (
        f"no result for {name}: subprocess rc={fork_results['_returncode']}\n"
        f"{tail(fork_results['_stdout'])}\n{tail(fork_results['_stderr'])}"
    )
    info = _describe(record)
    assert "hang" not in record, f"child still running after {record.get('hang')} s: {info}"
    assert "signal" not in record, f"child killed by signal {record['signal']}: {info}"
    bad = forbidden_in(record.get("stderr", ""))
    assert not bad, f"{bad} on the child's stderr: {info}"
    assert record["exit"] == op.exit_status, info
    if op.kind == "exit":
        assert record["wall"] < 5, f"exit took {record['wall']:.2f} s: {info}"
        return
    assert "outcome" in record, info
    if op.kind == "refuse":
        assert record["outcome"] == "raised" and record["is_fk_error"], f"expected fk.Error mentioning fork: {info}"
        assert "fork" in record["message"].lower(), f"error does not mention fork: {info}"
        assert record["elapsed"] < 2, info
    elif op.kind == "close":
        assert record["outcome"] == "returned", f"close() of an inherited client raised: {info}"
        assert record["elapsed"] < 2, f"close() took {record['elapsed']:.2f} s: {info}"
        assert record["value"] == "True", f"not closed after close(): {info}"
    elif op.kind == "no_crash":
        assert record["outcome"] == "returned" or record["is_fk_error"], info
        assert record["elapsed"] < 2, info
    elif op.kind == "future":
        # result(1) may time out, or fail with a ferrokafka error; it must not block past its timeout.
        assert record["outcome"] == "returned" or record["is_fk_error"] or record["is_timeout"], info
        assert record["elapsed"] < 4.5, f"took {record['elapsed']:.2f} s: {info}"
    elif op.kind == "works":
        assert record["outcome"] == "returned" and record["value"] == repr(b"hello-child"), info
    else:  # pragma: no cover - table error
        raise AssertionError(op.kind)


def test_fork_parent_clients_keep_working(fork_results: dict[str, Any]) -> None:
    parent = fork_results.get("_parent")
    assert parent is not None, (
        f"parent did not report: rc={fork_results['_returncode']}\n{tail(fork_results['_stderr'])}"
    )
    assert parent.get("ok"), parent
    assert parent["consumed"] == "after"
    assert parent["stuck_pending"] == 1
    assert fork_results["_returncode"] == 0, tail(fork_results["_stderr"])
    assert not forbidden_in(fork_results["_stderr"]), tail(fork_results["_stderr"])


# ================================================================================================
# 2. Interpreter exit with live clients
# ================================================================================================

_EXIT_SCRIPT = r"""
import sys, threading, time
import ferrokafka as fk

mode = sys.argv[1]
cluster = fk.MockCluster()
cluster.create_topic("t", 1)
bootstrap = cluster.bootstrap_servers
with fk.Producer({"bootstrap.servers": bootstrap}) as p:
    for i in range(200):
        p.produce("t", b"v%d" % i)
    assert p.flush(10) == 0

# A producer whose futures never resolve.
stuck = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 600000})
futures = [stuck.produce("t", b"x%d" % i) for i in range(100)]

# Daemon threads blocked in native calls and on a future.
blocked = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "blocked"})
cluster.create_topic("empty", 1)
blocked.subscribe(["empty"])
started = threading.Barrier(4)
def block_poll():
    started.wait()
    blocked.poll(None)
def block_flush():
    started.wait()
    stuck.flush(None)
def block_future():
    started.wait()
    futures[0].result()
for target in (block_poll, block_flush, block_future):
    threading.Thread(target=target, daemon=True).start()
started.wait()

# A consumer in the middle of iteration, holding a borrowed message and a view of it.
iterating = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "iter", "auto.offset.reset": "earliest"})
iterating.subscribe(["t"])
it = iter(iterating)
msg = next(it)
for _ in range(5):
    msg = next(it)
view = msg.payload

# An admin client with an outstanding call (no broker: it never completes).
admin = fk.AdminClient({"bootstrap.servers": "127.0.0.1:1"})
admin_future = admin.list_groups()

time.sleep(0.3)   # let the daemon threads enter their native waits
print("ready", flush=True)
if mode == "normal":
    pass
elif mode == "sys_exit":
    sys.exit(3)
elif mode == "exception":
    raise RuntimeError("unhandled at exit")
elif mode == "keyboard_interrupt":
    raise KeyboardInterrupt
"""

EXIT_MODES = {"normal": 0, "sys_exit": 3, "exception": 1, "keyboard_interrupt": -signal.SIGINT}


@pytest.mark.parametrize("mode", list(EXIT_MODES))
def test_interpreter_exit_with_live_clients(mode: str) -> None:
    code, out, err, seconds = run_python(_EXIT_SCRIPT, 30, mode)
    assert "ready" in out, tail(err)
    # Python 3.11 exits an unhandled KeyboardInterrupt by re-raising SIGINT on itself: that signal
    # death is the expected one; any other signal (SIGSEGV, SIGABRT) is a crash.
    assert code == EXIT_MODES[mode], f"exit status {code}\n{tail(err)}"
    assert seconds < 10, f"exit took {seconds:.1f} s"
    assert not forbidden_in(err), tail(err)
    if mode == "exception":
        assert "RuntimeError: unhandled at exit" in err


# ================================================================================================
# 3. SIGINT in every blocking call
# ================================================================================================

_SIGINT_PRELUDE = r'''
import sys, time
import ferrokafka as fk
from ferrokafka import TopicPartition as TP
NO_BROKER = "127.0.0.1:1"


def bounded(limit, fn, *args, **kwargs):
    """Calls fn; a ferrokafka.Error is an acceptable outcome (returned); it must not take > limit s."""
    start = time.monotonic()
    try:
        value = fn(*args, **kwargs)
    except fk.Error as exc:
        value = exc
    took = time.monotonic() - start
    assert took < limit, f"{getattr(fn, '__name__', fn)} took {took:.2f} s (limit {limit} s)"
    return value


def mock_with_topic(*topics):
    cluster = fk.MockCluster()
    for topic in topics:
        cluster.create_topic(topic, 1)
    return cluster
'''

_SIGINT_BODY = r"""
print("ready", flush=True)
try:
    CALL
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
except BaseException as exc:
    print("raised", repr(exc).replace("\n", " ")[:500], flush=True)
else:
    print("returned", flush=True)
try:
    AFTER
except BaseException as exc:
    print("after FAIL", repr(exc).replace("\n", " ")[:500], flush=True)
else:
    print("after ok", flush=True)
"""


@dataclass(frozen=True)
class SigintRow:
    setup: str
    call: str
    after: str  # must show the client usable or cleanly closable; raises AssertionError if not


_NO_BROKER_CONSUMER = (
    "consumer = fk.Consumer({'bootstrap.servers': NO_BROKER, 'group.id': 'g'})\nconsumer.assign([TP('t', 0, 5)])"
)
_CLOSE_CONSUMER = "bounded(4, consumer.close, 2); assert consumer.closed"
_STUCK_PRODUCER = (
    "producer = fk.Producer({'bootstrap.servers': NO_BROKER, 'message.timeout.ms': 600000})\n"
    "future = producer.produce('t', b'never delivered')"
)
_CLOSE_STUCK = (
    "bounded(3, producer.close, 1); assert producer.closed\n"
    "assert isinstance(future.exception(2), fk.KafkaError), future"
)
_MOCK_CONSUMER = (
    "cluster = mock_with_topic('empty')\n"
    "consumer = fk.Consumer({'bootstrap.servers': cluster.bootstrap_servers, 'group.id': 'g'})\n"
    "consumer.subscribe(['empty'])"
)

SIGINT_ROWS: dict[str, SigintRow] = {
    "consumer.poll(None)": SigintRow(
        _MOCK_CONSUMER, "consumer.poll(None)", f"assert bounded(2, consumer.poll, 0.1) is None; {_CLOSE_CONSUMER}"
    ),
    "consumer.consume(timeout=None)": SigintRow(
        _MOCK_CONSUMER,
        "consumer.consume(10, timeout=None)",
        f"assert bounded(2, consumer.consume, 10, 0.1) == []; {_CLOSE_CONSUMER}",
    ),
    "consumer iteration": SigintRow(
        _MOCK_CONSUMER, "for _ in consumer: pass", f"assert bounded(2, consumer.poll, 0.1) is None; {_CLOSE_CONSUMER}"
    ),
    "consumer.close() with the broker down": SigintRow(
        "cluster = mock_with_topic('t')\n"
        "with fk.Producer({'bootstrap.servers': cluster.bootstrap_servers}) as p:\n"
        "    for i in range(10): p.produce('t', b'x')\n"
        "consumer = fk.Consumer({'bootstrap.servers': cluster.bootstrap_servers, 'group.id': 'g',"
        " 'auto.offset.reset': 'earliest'})\n"
        "consumer.subscribe(['t'])\n"
        "m = None\n"
        "deadline = time.monotonic() + 15\n"
        "while m is None and time.monotonic() < deadline: m = consumer.poll(0.5)\n"
        "assert m is not None\n"
        "cluster.broker_down(1)",
        "consumer.close()",
        _CLOSE_CONSUMER,
    ),
    "consumer.commit() no broker": SigintRow(
        _NO_BROKER_CONSUMER,
        "consumer.commit(offsets=[TP('t', 0, 6)], asynchronous=False)",
        f"bounded(2, consumer.commit, offsets=[TP('t', 0, 6)], asynchronous=True); {_CLOSE_CONSUMER}",
    ),
    "consumer.list_topics() no broker": SigintRow(
        _NO_BROKER_CONSUMER,
        "consumer.list_topics()",
        f"bounded(2, consumer.list_topics, timeout=0.5); {_CLOSE_CONSUMER}",
    ),
    "consumer.committed() no broker": SigintRow(
        _NO_BROKER_CONSUMER,
        "consumer.committed([TP('t', 0)])",
        f"bounded(2, consumer.committed, [TP('t', 0)], timeout=0.5); {_CLOSE_CONSUMER}",
    ),
    "consumer.get_watermark_offsets() no broker": SigintRow(
        _NO_BROKER_CONSUMER,
        "consumer.get_watermark_offsets(TP('t', 0))",
        f"bounded(2, consumer.get_watermark_offsets, TP('t', 0), timeout=0.5); {_CLOSE_CONSUMER}",
    ),
    "consumer.offsets_for_times() no broker": SigintRow(
        _NO_BROKER_CONSUMER,
        "consumer.offsets_for_times([TP('t', 0, 1000)])",
        f"bounded(2, consumer.offsets_for_times, [TP('t', 0, 1000)], timeout=0.5); {_CLOSE_CONSUMER}",
    ),
    # seek() returns at once in every setup found (no broker, mock broker down): the row seeks in a
    # loop, so the interrupt lands in or between seeks, and checks the consumer is unharmed.
    "consumer.seek(timeout=None) no broker": SigintRow(
        _NO_BROKER_CONSUMER,
        "while True: consumer.seek(TP('t', 0, 3))",
        f"bounded(2, consumer.seek, TP('t', 0, 4), timeout=1); {_CLOSE_CONSUMER}",
    ),
    "producer.flush(None) undeliverable": SigintRow(
        _STUCK_PRODUCER, "producer.flush(None)", f"assert bounded(2, producer.flush, 0.1) == 1; {_CLOSE_STUCK}"
    ),
    # A producer with nothing to report: poll(None) waits for an event that never comes (with an
    # undeliverable message it would return on the first connection error event).
    "producer.poll(None) idle": SigintRow(
        "cluster = mock_with_topic('t')\nproducer = fk.Producer({'bootstrap.servers': cluster.bootstrap_servers})",
        "producer.poll(None)",
        "assert bounded(2, producer.poll, 0.1) == 0; bounded(3, producer.close, 1); assert producer.closed",
    ),
    "producer.close(None) undeliverable": SigintRow(_STUCK_PRODUCER, "producer.close(None)", _CLOSE_STUCK),
    "producer.close(None) slow on_delivery": SigintRow(
        "cluster = mock_with_topic('t')\n"
        "producer = fk.Producer({'bootstrap.servers': cluster.bootstrap_servers})\n"
        "futures = [producer.produce('t', b'x', on_delivery=lambda e, r: time.sleep(0.25)) for _ in range(20)]",
        "producer.close(None)",
        # close() waits for the callbacks left (~4.5 s): none runs past it into the interpreter's exit
        "bounded(7, producer.close, 1); assert producer.closed and all(f.done() for f in futures)",
    ),
    "producer.init_transactions() no broker": SigintRow(
        "producer = fk.Producer({'bootstrap.servers': NO_BROKER, 'transactional.id': 'tx'})",
        "producer.init_transactions()",
        "bounded(3, producer.close, 1); assert producer.closed",
    ),
    "producer.commit_transaction() broker down": SigintRow(
        "cluster = mock_with_topic('t')\n"
        "producer = fk.Producer({'bootstrap.servers': cluster.bootstrap_servers, 'transactional.id': 'tx'})\n"
        "producer.init_transactions(15)\n"
        "producer.begin_transaction()\n"
        "producer.produce('t', b'x').result(10)\n"
        "cluster.broker_down(1)",
        "producer.commit_transaction()",
        "bounded(3, producer.close, 1); assert producer.closed",
    ),
    "admin future.result() no broker": SigintRow(
        "admin = fk.AdminClient({'bootstrap.servers': NO_BROKER})\nfuture = admin.list_groups()",
        "future.result()",
        "later = admin.list_groups(); assert not later.done() or later.exception(0) is not None\n"
        "bounded(2, admin.close); assert admin.closed",
    ),
}

SIGINT_LATENCY = 1.0  # seconds from the signal to KeyboardInterrupt in the child
_WAIT_FOR_INTERRUPT = 5.0  # how long the parent waits for it before calling the call deaf to Ctrl-C


@dataclass
class SigintOutcome:
    lines: list[str] = field(default_factory=list)
    latency: float | None = None  # seconds, None when no KeyboardInterrupt arrived in time
    returncode: int | None = None
    stderr: str = ""
    problem: str | None = None  # why the protocol broke down (no "ready", hang, ...)

    def describe(self) -> str:
        return (
            f"problem={self.problem} latency={self.latency} rc={self.returncode}\n"
            f"stdout: {self.lines}\n--- stderr\n{tail(self.stderr, 2000)}"
        )


def _sigint_script(row: SigintRow) -> str:
    body = _SIGINT_BODY.replace("CALL", row.call.replace("\n", "\n    ")).replace(
        "AFTER", row.after.replace("\n", "\n    ")
    )
    return _SIGINT_PRELUDE + "\n" + row.setup + "\n" + body


def _run_sigint_row(row: SigintRow) -> SigintOutcome:
    outcome = SigintOutcome()
    proc = subprocess.Popen(
        [sys.executable, "-c", _sigint_script(row)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    err_chunks: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def read_err() -> None:
        assert proc.stderr is not None
        err_chunks.append(proc.stderr.read())

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for reader in readers:
        reader.start()

    def next_line(timeout: float) -> str | None:
        try:
            line = lines.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if line is not None:
            outcome.lines.append(line)
        return line

    try:
        if next_line(30) != "ready":
            outcome.problem = "no 'ready' line"
            return outcome
        time.sleep(0.5)  # let it block inside the call
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        line = next_line(_WAIT_FOR_INTERRUPT)
        if line is None:
            outcome.problem = f"no KeyboardInterrupt within {_WAIT_FOR_INTERRUPT} s of SIGINT"
            return outcome
        if line.startswith("interrupted "):
            outcome.latency = float(line.split()[1]) - sent
        else:
            outcome.problem = f"the call ended without KeyboardInterrupt: {line!r}"
        deadline = time.monotonic() + 15
        while (line := next_line(deadline - time.monotonic())) is not None:
            pass
        if time.monotonic() >= deadline:
            outcome.problem = outcome.problem or "the check after the interrupt did not finish within 15 s"
            return outcome
        outcome.returncode = proc.wait(timeout=10)
        return outcome
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(5)
        outcome.stderr = "".join(err_chunks)


@pytest.fixture(scope="module")
def sigint_outcomes() -> dict[str, SigintOutcome]:
    # The rows run in parallel (a few at a time) to keep this file's runtime down: most of each
    # row is spent waiting, not computing.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run_sigint_row, row) for name, row in SIGINT_ROWS.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(SIGINT_ROWS))
def test_sigint_interrupts_blocking_call(sigint_outcomes: dict[str, SigintOutcome], name: str) -> None:
    outcome = sigint_outcomes[name]
    info = outcome.describe()
    assert outcome.problem is None, info
    assert outcome.latency is not None and outcome.latency < SIGINT_LATENCY, info
    assert "after ok" in outcome.lines, f"client neither usable nor cleanly closable after Ctrl-C: {info}"
    assert outcome.returncode == 0, info
    assert not forbidden_in(outcome.stderr), info


# --- exiting while ferrokafka's own threads call into Python ----------------------------------

_BUSY_AT_EXIT = r"""
import logging, sys, time
import ferrokafka as fk
logging.basicConfig(level=logging.DEBUG, stream=open(sys.argv[2], "w"))  # lock + I/O per record
fast = {"bootstrap.servers": "127.0.0.1:1", "reconnect.backoff.ms": 1, "reconnect.backoff.max.ms": 1,
        "debug": "broker,admin,metadata", "error_cb": lambda e: None}
clients = [fk.AdminClient(fast) for _ in range(6)]
clients += [fk.Producer({**fast, "statistics.interval.ms": 5, "stats_cb": lambda s: None}) for _ in range(3)]
closed = fk.AdminClient(fast)
closed.close()
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:  # hold the GIL, as a busy program does, up to its exit
    sum(range(1000))
print("exiting", flush=True)
"""


_SLOW_BACKLOG_AT_EXIT = r"""
import time
import ferrokafka as fk
cluster = fk.MockCluster()
cluster.create_topic("t", 1)
producer = fk.Producer({"bootstrap.servers": cluster.bootstrap_servers})
calls = []
futures = [producer.produce("t", b"x", on_delivery=lambda e, r: (calls.append(1), time.sleep(0.5))) for _ in range(20)]
while not calls:  # the delivery thread is inside the first callback, 19 more behind it
    time.sleep(0.01)
print("exiting", flush=True)
"""


def test_exit_with_a_backlog_of_slow_callbacks_waits_for_one_callback_not_the_backlog() -> None:
    """An unclosed producer with 10 s of on_delivery work left when the program ends: the exit waits
    for the callback in progress (0.5 s), calls no further one, and does not crash (a thread left
    running Python code past the interpreter's exit aborts the process)."""
    for _ in range(3):
        code, out, err, seconds = run_python(_SLOW_BACKLOG_AT_EXIT, 30)
        assert code == 0 and "exiting" in out, f"rc={code}\n{tail(err)}"
        assert seconds < 5, f"exit took {seconds:.1f} s"
        assert not forbidden_in(err), tail(err)


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_exit_while_own_threads_call_into_python(delay: float, tmp_path) -> None:
    """The interpreter exits while the admin client's event thread and the producer's delivery
    thread are busy with callbacks and logs (unclosed clients). CPython ends a thread that waits
    for the GIL during finalization with pthread_exit, which aborts the process when Rust frames
    are on its stack: ferrokafka's threads stop calling into Python before that (an atexit hook).
    Before it, this aborted about one exit in five."""
    for _ in range(5):
        code, out, err, _ = run_python(_BUSY_AT_EXIT, 30, str(delay), str(tmp_path / "log"))
        assert code == 0 and "exiting" in out, f"rc={code}\n{tail(err)}"
