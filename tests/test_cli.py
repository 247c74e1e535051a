"""The command-line tool (ferrokafka.cli), run as subprocesses: `python -m ferrokafka ...`.

Fast tests use the module's mock cluster (in this process; the subprocesses reach it over TCP); the
`broker` tests use the real broker, including interop with kcat both ways.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import ferrokafka as fk
from conftest import consumer_config

CLI = [sys.executable, "-m", "ferrokafka"]
ALL_BYTES = bytes(range(256))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


def run(
    *args: str, stdin: bytes | None = None, timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=_env(),
        stdin=subprocess.DEVNULL if stdin is None else None,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return proc


def assert_user_error(proc: subprocess.CompletedProcess[bytes], code: int, *needles: str) -> None:
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert "error:" in last, err
    for needle in needles:
        assert needle in last, (needle, err)


def json_lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def produce(bootstrap: str, topic: str, messages: list[dict[str, object]]) -> None:
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        futures = [producer.produce(topic, **m) for m in messages]  # type: ignore[arg-type]
        assert producer.flush(30) == 0
        for future in futures:
            future.result(0)


def read_back(bootstrap: str, topic: str, n: int, group: str) -> list[fk.OwnedMessage]:
    out: list[fk.OwnedMessage] = []
    with fk.Consumer(consumer_config(bootstrap, group)) as consumer:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(out) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None:
                out.append(msg.detach())
    assert len(out) == n
    return sorted(out, key=lambda m: (m.partition, m.offset))


def _b(view: memoryview | None) -> bytes | None:
    return None if view is None else bytes(view)


# --- mock cluster: produce and consume -------------------------------------------------------------


def test_produce_keys_headers_partition_and_json_output(mock_cluster, topic_name, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, partitions=3)
    run(
        "produce", "-b", bootstrap, "-t", topic_name, "-p", "2", "-K", ":", "-H", "a=1", "-H", "empty=", "-H", "nul",
        stdin="k1:v1\nk2:v:2\n:no key\nvalue only\n\n\u00e9:\u2713\n".encode(),
    )  # fmt: skip
    got = read_back(bootstrap, topic_name, 6, group_id)
    assert [(_b(m.key), _b(m.payload)) for m in got] == [
        (b"k1", b"v1"),
        (b"k2", b"v:2"),  # split at the first separator
        (b"", b"no key"),
        (None, b"value only"),  # no separator: no key
        (None, b""),  # an empty line is an empty message
        ("\u00e9".encode(), "\u2713".encode()),
    ]
    assert {m.partition for m in got} == {2}
    assert all(m.headers == [("a", b"1"), ("empty", b""), ("nul", None)] for m in got)

    lines = json_lines(run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-J").stdout)
    assert [(r["key"], r["value"], r["partition"], r["offset"]) for r in lines] == [
        ("k1", "v1", 2, 0),
        ("k2", "v:2", 2, 1),
        ("", "no key", 2, 2),
        (None, "value only", 2, 3),
        (None, "", 2, 4),
        ("\u00e9", "\u2713", 2, 5),
    ]
    for record, message in zip(lines, got):
        assert record["topic"] == topic_name
        assert record["timestamp"] == message.timestamp
        assert record["timestamp_type"] == "create"
        assert record["headers"] == [["a", "1"], ["empty", ""], ["nul", None]]


def test_binary_data_raw_json_and_format(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    # -D: a delimiter that binary data never contains here; -K with a byte escape
    key = ALL_BYTES.replace(b"|", b"").replace(b"\x01", b"")
    records = [key + b"\x01" + bytes([0, 255, 10, 1]), b"\xff\xfe", b"plain"]
    stdin = b"|".join(records)
    run("produce", "-b", bootstrap, "-t", topic_name, "-D", "|", "-K", "\\x01", stdin=stdin)
    expected = [(key, bytes([0, 255, 10, 1])), (None, b"\xff\xfe"), (None, b"plain")]

    # raw: values delimited by -D, binary-safe
    raw = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-D", "|||").stdout
    assert raw == b"".join(v + b"|||" for _, v in expected)
    # JSON: non-UTF-8 bytes as {"base64": ...}
    lines = json_lines(run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-J").stdout)
    decoded = []
    for r in lines:
        fields = []
        for name in ("key", "value"):
            v = r[name]
            fields.append(None if v is None else base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode())
        decoded.append(tuple(fields))
    assert decoded == expected
    # format string: %R (big-endian length) then the value, exactly like kcat
    out = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-f", "%K:%R%s").stdout
    pos, parsed = 0, []
    while pos < len(out):
        colon = out.index(b":", pos)
        key_len = int(out[pos:colon])
        (size,) = struct.unpack(">i", out[colon + 1 : colon + 5])
        parsed.append((key_len, out[colon + 5 : colon + 5 + size]))
        pos = colon + 5 + size
    assert parsed == [(-1 if k is None else len(k), v) for k, v in expected]


def test_format_string_tokens(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, partitions=2)
    produce(
        bootstrap,
        topic_name,
        [
            dict(value=b"v0", key=b"k0", partition=1, timestamp=1_700_000_000_000, headers=[("h", b"1"), ("g", b"2")]),
            dict(value=None, key=None, partition=1, timestamp=1_700_000_000_001),
        ],
    )
    fmt = "%t|%p|%o|%k|%K|%s|%S|%T|%h|100%%\\t\\n"
    out = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-f", fmt).stdout
    assert (
        out
        == (
            f"{topic_name}|1|0|k0|2|v0|2|1700000000000|h=1,g=2|100%\t\n{topic_name}|1|1||-1||-1|1700000000001||100%\t\n"
        ).encode()
    )
    out = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-Z", "-f", "%k %s\\n", "-p", "1").stdout
    assert out == b"k0 v0\nNULL NULL\n"
    # -K in raw output: key, separator, value (kcat's form)
    out = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-K", "=").stdout
    assert out == b"k0=v0\n=\n"


def test_offset_variants_exit_at_end_and_count(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    base = 1_700_000_000_000
    produce(bootstrap, topic_name, [dict(value=b"m%d" % i, timestamp=base + i * 1000) for i in range(10)])

    def values(*extra: str) -> list[bytes]:
        return run("consume", "-b", bootstrap, "-t", topic_name, *extra).stdout.splitlines()

    every = [b"m%d" % i for i in range(10)]
    assert values("-e") == every  # -o beginning is the default
    assert values("-e", "-o", "beginning") == every
    assert values("-e", "-o", "end") == []
    assert values("-e", "-o", "7") == every[7:]
    assert values("-e", "-o", "100") == []  # clamped to the end
    assert values("-e", "-o", "-3") == every[7:]
    assert values("-e", "-o", "-30") == every  # clamped to the beginning
    # (s@timestamp: on the real broker; librdkafka's mock answers every timestamp lookup with the end)
    assert values("-c", "3") == every[:3]  # -c alone ends the run
    assert values("-c", "3", "-o", "-5") == every[5:8]
    assert values("-c", "30", "-e") == every  # whichever comes first


def test_exit_at_end_on_an_empty_topic_and_several_partitions(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, partitions=4)
    started = time.monotonic()
    assert run("consume", "-b", bootstrap, "-t", topic_name, "-e").stdout == b""
    assert time.monotonic() - started < 15
    produce(bootstrap, topic_name, [dict(value=b"%d" % i, partition=i % 3) for i in range(9)])
    out = run("consume", "-b", bootstrap, "-t", topic_name, "-e").stdout
    assert sorted(out.splitlines()) == [b"%d" % i for i in range(9)]
    out = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-p", "1", "-p", "2").stdout
    assert sorted(out.splitlines()) == [b"1", b"2", b"4", b"5", b"7", b"8"]


def test_produce_files_count_null_and_config_file(mock_cluster, topic_name, tmp_path, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    whole = tmp_path / "whole.bin"
    whole.write_bytes(b"line1\nline2\n" + ALL_BYTES)
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"a\nb\nc\n")
    config = tmp_path / "client.properties"
    config.write_text(f"# comment\n! another\n\nbootstrap.servers = {bootstrap}\nlinger.ms=1\n")
    # -F supplies the brokers; a file argument is one message, -l splits a file like stdin
    run("produce", "-F", str(config), "-t", topic_name, str(whole))
    run("produce", "-F", str(config), "-t", topic_name, "-l", str(lines))
    run("produce", "-F", str(config), "-t", topic_name, "-c", "2", "-Z", "-K", ":", stdin=b"x:\n:y\nz:z\n")
    got = read_back(bootstrap, topic_name, 6, group_id)
    assert [(_b(m.key), _b(m.payload)) for m in got] == [
        (None, whole.read_bytes()),
        (None, b"a"),
        (None, b"b"),
        (None, b"c"),
        (b"x", None),  # -Z: empty value is NULL
        (None, b"y"),  # -Z: empty key is NULL; -c 2 dropped the third
    ]
    # -X overrides -F, -b overrides both
    out = run("consume", "-F", str(config), "-X", "bootstrap.servers=127.0.0.1:1", "-b", bootstrap,
              "-t", topic_name, "-e", "-c", "2", "-o", "1").stdout  # fmt: skip
    assert out == b"a\nb\n"


def test_consumer_group_on_the_mock(mock_cluster, topic_name, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    produce(bootstrap, topic_name, [dict(value=b"%d" % i) for i in range(6)])
    # librdkafka's mock lets a new member join a group someone just left only after the old member's
    # session timeout: keep it short
    fast = ["-X", "session.timeout.ms=1000", "-X", "heartbeat.interval.ms=100"]
    first = run("consume", "-b", bootstrap, *fast, "-G", group_id, topic_name, "-c", "4").stdout
    assert first.splitlines() == [b"0", b"1", b"2", b"3"]
    rest = run("consume", "-b", bootstrap, *fast, "-G", group_id, "-t", topic_name, "-e").stdout
    assert rest.splitlines() == [b"4", b"5"]


# --- mock subcommand ----------------------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_mock_subcommand(stop, group_id):
    proc = subprocess.Popen(
        [*CLI, "mock", "--brokers", "2", "-t", "pre:3", "-t", "single"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no bootstrap line within 30 s"
        bootstrap = proc.stdout.readline().decode().strip()
        assert bootstrap.count(",") == 1, bootstrap  # two brokers
        with fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group_id}) as consumer:
            topics = consumer.list_topics(timeout=10)["topics"]
        assert len(topics["pre"]) == 3 and len(topics["single"]) == 1
        run("produce", "-b", bootstrap, "-t", "pre", "-p", "1", stdin=b"one\ntwo\n")
        assert run("consume", "-b", bootstrap, "-t", "pre", "-e").stdout == b"one\ntwo\n"
        started = time.monotonic()
        proc.send_signal(stop)
        assert proc.wait(15) == 0
        assert time.monotonic() - started < 10
        assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- errors, progress, demo ------------------------------------------------------------------------


def test_bad_inputs_give_one_line_errors(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    assert_user_error(run("consume", "--no-such-flag", check=False), 2, "--no-such-flag")
    assert_user_error(run("bogus", check=False), 2, "bogus")
    assert_user_error(run("consume", "-b", bootstrap, "-t", "x", "-o", "nowhere", check=False), 2, "invalid offset")
    assert_user_error(run("consume", "-b", bootstrap, "-t", "x", "-o", "s@soon", check=False), 2, "invalid offset")
    assert_user_error(run("consume", "-b", bootstrap, "-t", "x", "-X", "novalue", check=False), 2, "-X")
    assert_user_error(
        run("consume", "-b", bootstrap, "-t", "x", "-X", "no.such.property=1", check=False), 1, "no.such.property"
    )
    assert_user_error(run("consume", "-b", bootstrap, "-t", "x", "-f", "%Q", check=False), 2, "%Q")
    assert_user_error(run("consume", "-t", "x", check=False), 2, "no brokers")
    assert_user_error(run("consume", "-b", bootstrap, check=False), 2, "topic")
    assert_user_error(run("consume", "-b", bootstrap, "-G", "g", "-t", "x", "-o", "5", check=False), 2, "-G")
    assert_user_error(run("consume", "-b", bootstrap, "-t", f"missing-{topic_name}", check=False), 1, "not found")
    assert_user_error(run("produce", "-b", bootstrap, check=False), 2, "-t")
    assert_user_error(run("produce", "-b", bootstrap, "-t", "x", "/no/such/file", check=False), 1, "/no/such/file")
    assert_user_error(run("consume", "-F", "/no/such/config", "-t", "x", check=False), 1, "/no/such/config")
    assert_user_error(run("groups", "reset", "-b", bootstrap, "-G", "g", "--all-topics", check=False), 2, "--to-")
    assert_user_error(run("mock", "-t", "bad:0", check=False), 2, "bad:0")


def test_unreachable_broker_fails_fast_with_one_line(topic_name):
    proc = run("consume", "-q", "-b", "127.0.0.1:1", "-m", "2", "-t", topic_name, "-e", check=False)
    assert_user_error(proc, 1)
    assert proc.stderr.decode().count("\n") == 1  # -q: librdkafka's connection logs are silenced


def read_until(fd: int, done: Callable[[bytes], bool], timeout: float = 30) -> bytes:
    """What `fd` gives until `done(everything read)` holds; fails at the deadline (or at the end
    of the stream) with what was read. A wait for a condition, where a fixed sleep would guess."""
    got = b""
    deadline = time.monotonic() + timeout
    while not done(got):
        left = deadline - time.monotonic()
        assert left > 0, f"not within {timeout} s; read so far: {got!r}"
        if not select.select([fd], [], [], left)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # a pty's master reads EIO once the other side is closed
            chunk = b""
        assert chunk, f"the stream ended; read: {got!r}"
        got += chunk
    return got


def test_no_progress_when_stderr_is_not_a_terminal(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    produce(bootstrap, topic_name, [dict(value=b"x")])
    proc = subprocess.Popen(
        [*CLI, "consume", "-b", bootstrap, "-t", topic_name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        # Consuming: the message is out (the Ctrl-C handler is in place), then time passes.
        first = read_until(proc.stdout.fileno(), lambda got: got == b"x\n" or len(got) > 2)
        time.sleep(1.5)  # longer than the progress interval: time has to pass
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0  # Ctrl-C is how a consumer ends
    assert first + out == b"x\n"
    assert err == b"", err


def test_progress_on_a_terminal(mock_cluster, topic_name):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    produce(bootstrap, topic_name, [dict(value=b"x")] * 3)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, "consume", "-b", bootstrap, "-t", topic_name],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=_env(),
    )
    os.close(slave)
    try:
        assert proc.stdout is not None
        # The progress line counts all three once they are out (it is redrawn every second).
        err = read_until(master, lambda got: b"% consumed 3 messages" in got)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    assert proc.returncode == 0
    assert out == b"x\nx\nx\n"
    assert b"% consumed 3 messages" in err, err


def test_closed_stdout_and_interrupted_produce(mock_cluster, topic_name, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    produce(bootstrap, topic_name, [dict(value=b"x" * 100)] * 3000)
    # `| head -1`: the reader goes away; the consumer ends quietly with 0
    proc = subprocess.Popen(
        [*CLI, "consume", "-b", bootstrap, "-t", topic_name, "-e"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"x" * 100 + b"\n"
    proc.stdout.close()
    assert proc.wait(15) == 0
    assert proc.stderr.read() == b""
    # Ctrl-C while produce waits for more input: what was read is delivered, exit code 130
    other = f"{topic_name}-p"
    mock_cluster.create_topic(other)
    proc = subprocess.Popen(
        [*CLI, "produce", "-b", bootstrap, "-t", other],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdin is not None
    proc.stdin.write(b"one\ntwo\n")
    proc.stdin.flush()
    got = read_back(bootstrap, other, 2, group_id)
    assert [_b(m.payload) for m in got] == [b"one", b"two"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(15) == 130
    assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    proc.stdin.close()


def _start_unreachable_produce(*extra: str, stdin: bytes = b"one\ntwo\n") -> subprocess.Popen[bytes]:
    """`produce` to a broker nobody listens on, its input written and left open (still reading)."""
    proc = subprocess.Popen(
        [*CLI, "produce", "-b", "127.0.0.1:1", "-t", "x", *extra],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.flush()
    return proc


def _stderr_until(proc: subprocess.Popen[bytes], needle: bytes, limit: float) -> bytes:
    """proc's stderr until it contains `needle` (or `limit` seconds pass)."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + limit
    while needle not in seen and time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_ends_produce_to_an_unreachable_broker_in_bounded_time(presses):
    """Ctrl-C while producing to a broker that cannot be reached: the first waits at most -m seconds
    for what was sent (saying so), a second gives up at once; either way the count of messages not
    delivered is on stderr and the exit code is 130 (not a silent wait for message.timeout.ms)."""
    proc = _start_unreachable_produce("-m", "4")
    try:
        time.sleep(1.5)  # reading: the two messages are queued, the broker refuses connections
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        err = _stderr_until(proc, b"Ctrl-C again", 10)
        assert b"% Interrupted: waiting up to 4 s for 2 message(s)" in err, err
        if presses == 2:
            proc.send_signal(signal.SIGINT)
        returncode = proc.wait(20)
        elapsed = time.monotonic() - started
        assert proc.stderr is not None
        err += proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert returncode == 130, err
    assert elapsed < (3 if presses == 2 else 4 + 3), elapsed
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("python -m ferrokafka: interrupted: 2 of 2 messages not delivered: first error:"), err
    assert b"Traceback" not in err


def test_produce_says_so_when_deliveries_outlast_the_timeout():
    """Input complete, broker unreachable: after -m seconds produce says what it is waiting for (and
    how to stop), then reports the failures when message.timeout.ms expires: exit code 1."""
    proc = _start_unreachable_produce("-m", "1", "-X", "message.timeout.ms=4000")
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        err = _stderr_until(proc, b"Ctrl-C to give up", 10)
        assert b"% 2 message(s) not delivered after 1 s: waiting until they are or message.timeout.ms passes" in err
        returncode = proc.wait(20)
        assert proc.stderr is not None
        err += proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert returncode == 1, err
    assert "2 of 2 messages not delivered: first error:" in err.decode().strip().splitlines()[-1]
    assert b"_MSG_TIMED_OUT" in err


def test_exit_at_end_in_a_group_without_a_broker_ends(mock_cluster, topic_name):
    """`consume -G g -e`: an unreachable broker is an error within -m seconds, a missing topic an
    error, a pattern that matches no topic an empty, successful run (none of them waits forever)."""
    started = time.monotonic()
    proc = run(
        "consume", "-q", "-b", "127.0.0.1:1", "-m", "2", "-G", "g", "-t", topic_name, "-e", check=False, timeout=30
    )
    assert_user_error(proc, 1)
    assert time.monotonic() - started < 15
    bootstrap = mock_cluster.bootstrap_servers
    proc = run("consume", "-b", bootstrap, "-G", "g", "-t", f"missing-{topic_name}", "-e", check=False, timeout=30)
    assert_user_error(proc, 1, "not found")
    proc = run("consume", "-b", bootstrap, "-G", "g", "-t", f"^missing-{topic_name}.*", "-e", timeout=30)
    assert proc.stdout == b""


def test_raw_output_without_delimiter_and_timestamps_before_the_epoch(mock_cluster, topic_name):
    """kcat's rules: consume -D '' prints the values back to back; produce -D '' is refused (records
    are split at it); -o s@-1 is refused (Kafka would read -1 as "the end" and print nothing)."""
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name)
    produce(bootstrap, topic_name, [dict(value=b"a", key=b"k"), dict(value=b"b"), dict(value=b"c")])
    assert run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-D", "").stdout == b"abc"
    assert run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-D", "", "-K", "").stdout == b"kabc"
    assert_user_error(run("produce", "-b", bootstrap, "-t", topic_name, "-D", "", check=False), 2, "-D", "empty")
    assert_user_error(run("produce", "-b", bootstrap, "-t", topic_name, "-K", "", check=False), 2, "-K", "empty")
    for offset in ("s@-1", "s@-2", "s@-100"):
        proc = run("consume", "-b", bootstrap, "-t", topic_name, "-e", "-o", offset, check=False)
        assert_user_error(proc, 2, offset, ">= 0")


def test_demo_still_works():
    proc = run("demo", "--messages", "2000", "--sample-every", "100")
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "ferrokafka demo (embedded MockCluster, no broker)"
    assert "live borrowed messages at the end: 0" in lines[-1]


def test_help_and_version():
    proc = run("--help")
    for command in ("produce", "consume", "topics", "groups", "mock", "demo"):
        assert command.encode() in proc.stdout
    assert run("--version").stdout.startswith(b"ferrokafka ")


def test_console_script():
    script = shutil.which("ferrokafka", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the ferrokafka console script is not installed in this venv (pip install . installs it)")
    proc = subprocess.run([script, "--version"], capture_output=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.startswith(b"ferrokafka ")


# --- the real broker ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kcat() -> str:
    path = shutil.which("kcat")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("kcat is not installed (apt-get install kcat); it is required in CI", pytrace=False)
        pytest.skip("kcat is not installed (apt-get install kcat)")
    return path


def run_kcat(kcat: str, *args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run([kcat, *args], input=stdin, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    run("topics", "create", "-b", bootstrap, "-t", topic, "--partitions", str(partitions), "--replication-factor", "1")
    deadline = time.monotonic() + 20  # brokers apply a creation a moment after the controller
    with fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "x"}) as consumer:
        while len(consumer.list_topics(topic, timeout=10)["topics"].get(topic, {})) < partitions:
            assert time.monotonic() < deadline
            time.sleep(0.2)


@pytest.mark.broker
def test_ferrokafka_produce_to_kcat(kafka_bootstrap, topic_name, kcat):
    create_topic(kafka_bootstrap, topic_name, 2)
    records = [b"k0:v0", b"k1:\xff\xfe binary \x00", b":empty key", b"no separator", "k\u00e9:\u2713".encode()]
    run("produce", "-b", kafka_bootstrap, "-t", topic_name, "-p", "1", "-K", ":", "-H", "h1=one", "-H", "h2=2",
        stdin=b"\n".join(records) + b"\n")  # fmt: skip
    out = run_kcat(
        kcat, "-C", "-b", kafka_bootstrap, "-t", topic_name, "-p", "1", "-o", "beginning", "-e", "-q",
        "-f", "%o|%K|%k|%S|%s|%h\\n",
    )  # fmt: skip
    assert out.splitlines() == [
        b"0|2|k0|2|v0|h1=one,h2=2",
        b"1|2|k1|11|\xff\xfe binary \x00|h1=one,h2=2",
        b"2|0||9|empty key|h1=one,h2=2",
        b"3|-1||12|no separator|h1=one,h2=2",
        "4|3|k\u00e9|3|\u2713|h1=one,h2=2".encode(),
    ]


@pytest.mark.broker
def test_kcat_produce_to_ferrokafka(kafka_bootstrap, topic_name, kcat):
    create_topic(kafka_bootstrap, topic_name)
    stdin = b"k0:v0\nk1:\xff\xfe\x00bin\n:no key\n\xc3\xa9:\xe2\x9c\x93\n"
    run_kcat(kcat, "-P", "-b", kafka_bootstrap, "-t", topic_name, "-p", "0", "-K:", "-H", "a=1", "-H", "b=",
             stdin=stdin)  # fmt: skip
    # kcat 1.7: -Z sends empty keys/values as NULL; -H without '=' is a NULL header
    run_kcat(kcat, "-P", "-b", kafka_bootstrap, "-t", topic_name, "-p", "0", "-K:", "-Z", "-H", "nullh",
             stdin=b"k4:\n:v5\n")  # fmt: skip
    lines = json_lines(run("consume", "-b", kafka_bootstrap, "-t", topic_name, "-e", "-J").stdout)
    assert [(r["offset"], r["key"], r["value"], r["headers"]) for r in lines] == [
        (0, "k0", "v0", [["a", "1"], ["b", ""]]),
        (1, "k1", {"base64": base64.b64encode(b"\xff\xfe\x00bin").decode()}, [["a", "1"], ["b", ""]]),
        (2, "", "no key", [["a", "1"], ["b", ""]]),
        (3, "\u00e9", "\u2713", [["a", "1"], ["b", ""]]),
        (4, "k4", None, [["nullh", None]]),
        (5, None, "v5", [["nullh", None]]),
    ]
    # the same messages through kcat's own format string and ours: byte for byte
    fmt = "%p:%o:%T:%K:%k:%S:%s:%h\\n"
    ours = run("consume", "-b", kafka_bootstrap, "-t", topic_name, "-e", "-f", fmt).stdout
    theirs = run_kcat(kcat, "-C", "-b", kafka_bootstrap, "-t", topic_name, "-o", "beginning", "-e", "-q", "-f", fmt)
    assert ours == theirs


@pytest.mark.broker
def test_offsets_by_timestamp_and_group_commits_on_the_broker(kafka_bootstrap, topic_name, group_id):
    create_topic(kafka_bootstrap, topic_name)
    base = (int(time.time()) - 600) * 1000
    produce(kafka_bootstrap, topic_name, [dict(value=b"m%d" % i, timestamp=base + i * 1000) for i in range(8)])
    out = run("consume", "-b", kafka_bootstrap, "-t", topic_name, "-e", "-o", f"s@{base + 5000}").stdout
    assert out == b"m5\nm6\nm7\n"
    # group mode: -c stops after 3, and the next run of the same group continues after them
    first = run("consume", "-b", kafka_bootstrap, "-G", group_id, "-t", topic_name, "-c", "3").stdout
    assert first == b"m0\nm1\nm2\n"
    second = run("consume", "-b", kafka_bootstrap, "-G", group_id, "-t", topic_name, "-e").stdout
    assert second == b"m3\nm4\nm5\nm6\nm7\n"
    assert run("consume", "-b", kafka_bootstrap, "-G", group_id, "-t", topic_name, "-e").stdout == b""
    # a new group with -o end starts at the end
    fresh = f"{group_id}-end"
    assert run("consume", "-b", kafka_bootstrap, "-G", fresh, "-t", topic_name, "-o", "end", "-e").stdout == b""


@pytest.mark.broker
def test_interrupted_group_consumer_commits_what_it_printed(kafka_bootstrap, topic_name, group_id):
    create_topic(kafka_bootstrap, topic_name)
    produce(kafka_bootstrap, topic_name, [dict(value=b"%d" % i) for i in range(5)])
    proc = subprocess.Popen(
        [*CLI, "consume", "-b", kafka_bootstrap, "-G", group_id, "-t", topic_name, "-u"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(5)]
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert lines + rest.splitlines(keepends=True) == [b"%d\n" % i for i in range(5)]
    offsets = run("groups", "offsets", "-b", kafka_bootstrap, "-G", group_id).stdout.decode().splitlines()
    assert offsets[1].split() == [group_id, topic_name, "0", "5", "5", "0"]


@pytest.mark.broker
def test_topics_create_describe_alter_delete(kafka_bootstrap, topic_name):
    b = ["-b", kafka_bootstrap]
    run("topics", "create", *b, "-t", topic_name, "--partitions", "2", "--replication-factor", "1",
        "--config", "retention.ms=3600000")  # fmt: skip
    again = run("topics", "create", *b, topic_name, "--partitions", "2", check=False)
    assert_user_error(again, 1, "TOPIC_ALREADY_EXISTS")
    run("topics", "create", *b, topic_name, "--partitions", "2", "--if-not-exists")
    deadline = time.monotonic() + 20
    while topic_name.encode() not in run("topics", "list", *b).stdout.splitlines():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    described = run("topics", "describe", *b, "-t", topic_name).stdout.decode()
    assert f"Topic: {topic_name}\tPartitionCount: 2\tReplicationFactor: 1" in described
    assert "\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1" in described
    assert "\t\tretention.ms=3600000\n" in described
    run("topics", "alter", *b, "-t", topic_name, "--config", "cleanup.policy=compact", "--delete-config",
        "retention.ms", "--partitions", "3")  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        described = run("topics", "describe", *b, "-t", topic_name).stdout.decode()
        if "PartitionCount: 3" in described and "cleanup.policy=compact" in described:
            break
        assert time.monotonic() < deadline, described
        time.sleep(0.3)
    assert "\t\tretention.ms=3600000\n" not in described  # back to the broker's default
    assert "\t\tretention.ms=" in described
    run("topics", "delete", *b, "-t", topic_name)
    run("topics", "delete", *b, "-t", topic_name, "--if-exists")
    missing = run("topics", "delete", *b, "-t", f"never-{uuid.uuid4().hex[:8]}", check=False)
    assert_user_error(missing, 1, "UNKNOWN_TOPIC")


@pytest.mark.broker
def test_groups_list_describe_offsets_reset(kafka_bootstrap, topic_name, group_id):
    b = ["-b", kafka_bootstrap]
    create_topic(kafka_bootstrap, topic_name, 2)
    base = (int(time.time()) - 600) * 1000
    produce(
        kafka_bootstrap,
        topic_name,
        [dict(value=b"%d" % i, partition=i % 2, timestamp=base + i * 1000) for i in range(10)],
    )
    run("consume", *b, "-G", group_id, "-t", topic_name, "-e")
    assert group_id.encode() in run("groups", "list", *b).stdout.splitlines()
    described = run("groups", "describe", *b, group_id).stdout.decode()
    assert described.startswith(f"Group: {group_id}\tState: Empty\t"), described
    assert "Members: 0" in described

    def committed() -> list[list[str]]:
        lines = run("groups", "offsets", *b, "-G", group_id).stdout.decode().splitlines()
        assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"]
        return [line.split()[2:] for line in lines[1:]]

    assert committed() == [["0", "5", "5", "0"], ["1", "5", "5", "0"]]
    # a dry run (the default) changes nothing
    plan = run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "--to-earliest")
    assert plan.stdout.decode().splitlines()[1].split() == [group_id, topic_name, "0", "0"]
    assert b"--execute" in plan.stderr
    assert committed() == [["0", "5", "5", "0"], ["1", "5", "5", "0"]]
    run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "--to-earliest", "--execute")
    assert committed() == [["0", "0", "5", "5"], ["1", "0", "5", "5"]]
    run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "-p", "1", "--to-offset", "3", "--execute")
    assert committed() == [["0", "0", "5", "5"], ["1", "3", "5", "2"]]
    run("groups", "reset", *b, "-G", group_id, "--all-topics", "--shift-by", "1", "--execute")
    assert committed() == [["0", "1", "5", "4"], ["1", "4", "5", "1"]]
    run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "--to-offset", "99", "--execute")  # clamped
    assert committed() == [["0", "5", "5", "0"], ["1", "5", "5", "0"]]
    # message i is at partition i % 2, offset i // 2, timestamp base + i s: from base + 6 s on: 6, 7, 8, 9
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + 6000) / 1000)) + "Z"
    run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "--to-datetime", moment, "--execute")
    assert committed() == [["0", "3", "5", "2"], ["1", "3", "5", "2"]]
    out = run("consume", *b, "-G", group_id, "-t", topic_name, "-e").stdout
    assert sorted(out.splitlines()) == [b"6", b"7", b"8", b"9"]
    # a moment before 1970 (here -1 ms, which Kafka would read as "latest") precedes every message
    run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "--to-datetime", "1969-12-31T23:59:59.999+00:00",
        "--execute")  # fmt: skip
    assert committed() == [["0", "0", "5", "5"], ["1", "0", "5", "5"]]

    # a group with an active member is refused, clearly
    with fk.Consumer(consumer_config(kafka_bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline
            consumer.poll(0.2)
        busy = run("groups", "reset", *b, "-G", group_id, "-t", topic_name, "--to-earliest", "--execute", check=False)
        assert_user_error(busy, 1, "active member")


@pytest.mark.broker
def test_exit_at_end_after_a_transaction_marker(kafka_bootstrap, topic_name):
    """The last offset of a transactional topic is a commit marker, never handed out: -e still ends."""
    create_topic(kafka_bootstrap, topic_name)
    config = {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{topic_name}"}
    with fk.Producer(config) as producer:
        producer.init_transactions(30)
        producer.begin_transaction()
        for i in range(3):
            producer.produce(topic_name, b"t%d" % i)
        producer.commit_transaction(30)
    started = time.monotonic()
    out = run("consume", "-b", kafka_bootstrap, "-t", topic_name, "-e", "-X", "isolation.level=read_committed").stdout
    assert out == b"t0\nt1\nt2\n"
    assert time.monotonic() - started < 20
