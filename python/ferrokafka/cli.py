"""The ``ferrokafka`` command-line tool (also ``python -m ferrokafka``), for kcat and kafka-console-* users.

Subcommands: ``produce``, ``consume``, ``topics`` (list, describe, create, delete, alter),
``groups`` (list, describe, offsets, reset), ``mock`` (an embedded cluster for other processes) and
``demo``. Pure Python over the public ferrokafka API. The decisions, as a kcat user would expect them:

Connection (every subcommand but ``mock`` and ``demo``)
  ``-b brokers`` (bootstrap.servers), ``-X prop=value`` (any librdkafka property, repeatable),
  ``-F file`` (a properties file like kcat's: ``prop=value`` lines, ``#``/``!`` comments). Precedence:
  ``-b`` over ``-X`` over ``-F`` over ``$KAFKA_BOOTSTRAP_SERVERS``; no brokers at all is a usage error.
  ``-m seconds`` bounds metadata and admin requests (default 10). ``-q`` silences librdkafka's
  warnings and the progress line, ``-v`` shows librdkafka's info logs.

produce
  Reads stdin as bytes (binary-safe), one message per ``-D`` delimiter (default ``\\n``; a final
  record without a delimiter is sent too; an empty record is an empty message, NULL with ``-Z``).
  ``-K sep`` splits each record at the first ``sep`` into key and value (no ``sep``: value only, key
  from ``-k`` if given). ``-H name=value`` adds a header to every message (``-H name``: a NULL
  header). ``-p N`` fixes the partition (default, or -1: the partitioner). ``-c N`` stops after N
  messages. File arguments are sent as one message each, like kcat; with ``-l`` they are split like
  stdin (``-`` is stdin). ``-z codec`` sets compression.codec. Nothing is printed on success; the
  exit code is 1 if any message failed (the count and the first error on stderr). At the end of the
  input it waits for every delivery (until librdkafka's message.timeout.ms), saying so on stderr
  once that takes longer than ``-m`` seconds. Ctrl-C stops reading and gives what was sent ``-m``
  seconds more (a notice says so); a second Ctrl-C, or Ctrl-C while waiting, gives up at once. An
  interrupted run prints how many messages were not delivered and exits with 130.

consume
  Without ``-G``: assigns the partitions of ``-t`` topics (all, or ``-p N``, repeatable) from
  ``-o``: ``beginning`` (the default, like kcat), ``end``, ``N`` (absolute; clamped to the
  partition's low..high watermarks), ``-N`` (N before the end, per partition) or ``s@MS`` (the first
  message at or after a timestamp in ms, >= 0: Kafka reads -1 and -2 as the ends, so negative ones
  are refused). Nothing is committed (a throw-away group.id is set, librdkafka needs one to
  assign). With ``-G group``: subscribes to the topics (``-t`` and/or positional; ``^regex``
  works) and resumes from the group's committed offsets; ``-o beginning|end`` is
  auto.offset.reset for partitions without one (default beginning), other ``-o`` forms are
  refused (use ``groups reset``). Offsets are stored only once a message has been written and
  flushed to stdout, and committed by auto-commit and at close: an interrupted run commits exactly
  what it printed, and the next run of the group continues after it.
  ``-e`` exits once every assigned partition has reached the high watermark it had when the partition
  was assigned (the position is re-checked when idle); with ``-G``, the topics must exist and the
  broker answer within ``-m`` seconds (else an error), a ``^regex`` that matches no topic ends at
  once, and an empty assignment counts as done. ``-c N`` exits after N messages (exactly N
  are taken from the consumer, so a group commits no more than it printed).
  Output goes to stdout as bytes: by default each value followed by ``-D`` (default ``\\n``;
  ``-D ''``: nothing, as kcat), prefixed with its key and ``-K sep`` when ``-K`` is given; NULL
  keys and values print as nothing (``NULL`` with ``-Z``). ``-J`` prints JSON lines: ``{"topic",
  "partition", "offset", "timestamp" (ms or null), "timestamp_type" ("create"/"logappend"/null),
  "key", "value", "headers" ([[name, value], ...] in order)}``, each key/value/header value a
  string when it is UTF-8, ``{"base64": "..."}`` when it is not, null when NULL. ``-f fmt`` is
  kcat's format string: ``%t`` topic, ``%p`` partition, ``%o`` offset, ``%k`` key, ``%K`` key
  length, ``%s`` value, ``%S`` value length (-1 for NULL), ``%R`` value length as a big-endian
  int32, ``%T`` timestamp (ms, -1 if none), ``%h`` headers as ``name=value`` joined by ``,`` (a
  NULL header value prints ``NULL``, as kcat does), ``%%``; escapes ``\\n \\r \\t \\\\ \\xHH``;
  an unknown token is a usage error. ``-f`` takes precedence over ``-D`` and ``-K``. ``-u`` flushes
  after each message (otherwise after each batch and whenever the consumer waits).

topics
  ``list`` prints topic names, sorted (``--exclude-internal`` drops ``__*``); ``describe`` prints
  kafka-topics-like lines per partition and every config value the broker reports (``--no-configs``
  skips them; they need a real broker's admin API); ``create`` (``--partitions``,
  ``--replication-factor``, default the broker's, ``--config k=v``, ``--if-not-exists``), ``delete``
  (``--if-exists``), ``alter`` (``--config k=v`` set, ``--delete-config k`` revert to default,
  incremental; ``--partitions N`` grows the topic). Topics are given with ``-t`` or as arguments.

groups
  ``list``; ``describe`` (state, type, assignor, members); ``offsets`` (committed offset, log-end
  offset and lag per partition); ``reset`` (``--to-earliest``, ``--to-latest``, ``--to-offset N``
  clamped to the watermarks, ``--shift-by N``, ``--to-datetime ISO-8601`` (local time unless it
  names a zone; a moment before 1970 is the earliest offsets), for ``-t`` topics (``-p``
  partitions) or ``--all-topics`` the group has committed).
  Like kafka-consumer-groups, ``reset`` prints the plan and only applies it with ``--execute``. The
  group must have no active members: that is checked first and a broker refusal is reported.

mock
  Starts a MockCluster (``--brokers N``, ``-t name[:partitions]`` to pre-create topics), prints its
  bootstrap servers as one line on stdout (flushed), and runs until SIGINT or SIGTERM (exit 0).

Exit codes: 0 success (Ctrl-C is the normal end of ``consume`` and ``mock``: 0), 1 a Kafka,
configuration or I/O error (one line ``ferrokafka: error: ...`` on stderr, no traceback), 2 a usage
error (argparse's message), 130 an interrupted ``produce`` or admin command. A closed stdout pipe
(``| head``) ends ``consume`` quietly with 0.

Progress: on long runs, ``produce`` and ``consume`` rewrite one line on stderr every second (messages,
elapsed time, msg/s) when stderr is a terminal, and print nothing of it otherwise (or with ``-q``).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import logging
import os
import re
import signal
import struct
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, TypeVar

import ferrokafka as fk

__all__ = ["demo", "main"]

_T = TypeVar("_T")
_Config = dict[str, str | int | float | bool]


class _UsageError(Exception):
    """A bad argument found after parsing: exit code 2, like argparse's own."""


class _CliError(Exception):
    """A user-facing failure: one line on stderr, exit code 1."""


class _Interrupted(Exception):
    """Ctrl-C ended the command, with something to say about it: one line on stderr, exit code 130."""


# --- shared helpers ------------------------------------------------------------------------------


def _unescape(text: str) -> bytes:
    """kcat's delimiter/format escapes: \\n \\r \\t \\0 \\\\ \\xHH; other bytes as given."""
    raw = os.fsencode(text)
    out = bytearray()
    i = 0
    simple = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("0"): b"\0", ord("\\"): b"\\"}
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in simple:
                out += simple[nxt]
                i += 2
                continue
            if nxt == ord("x"):
                digits = raw[i + 2 : i + 4]
                try:
                    if len(digits) == 2:
                        out.append(int(digits, 16))
                        i += 4
                        continue
                except ValueError:
                    pass
        out.append(c)
        i += 1
    return bytes(out)


def _delimiter(text: str) -> bytes:
    """produce's -D and -K: records are split at it, so it cannot be empty (kcat refuses it too)."""
    value = _unescape(text)
    if not value:
        raise argparse.ArgumentTypeError("a delimiter must not be empty when producing")
    return value


def _separator(text: str) -> bytes:
    """consume's -D and -K: printed as given; empty prints nothing between fields (raw output, as kcat)."""
    return _unescape(text)


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name.strip(), value


def _read_properties(path: str) -> dict[str, str]:
    """A kcat-style config file: ``prop=value`` per line, blank lines and #/! comments ignored."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError as err:
        raise _CliError(f"cannot read config file {path}: {err.strerror or err}") from None
    config: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise _CliError(f"{path}:{number}: expected property=value, got {line!r}")
        config[name.strip()] = value.strip()
    return config


def _client_config(args: argparse.Namespace, defaults: _Config | None = None) -> _Config:
    """defaults < $KAFKA_BOOTSTRAP_SERVERS < -F file < -X < -b."""
    config: _Config = dict(defaults or {})
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        config["bootstrap.servers"] = env
    if args.config_file:
        config.update(_read_properties(args.config_file))
    for name, value in args.property:
        config[name] = value
    if args.brokers:
        config["bootstrap.servers"] = args.brokers
    if not config.get("bootstrap.servers"):
        raise _UsageError("no brokers: give -b host:port (or bootstrap.servers in -X/-F, or $KAFKA_BOOTSTRAP_SERVERS)")
    return config


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _wait(future: Future[_T], timeout: float, what: str) -> _T:
    try:
        return future.result(timeout)
    except TimeoutError:
        raise _CliError(
            f"{what}: no answer within {timeout:g} s (is the broker reachable? "
            "librdkafka's mock cluster serves no admin requests)"
        ) from None
    except fk.KafkaError as err:
        raise _CliError(f"{what}: {err}") from None


def _topics_of(args: argparse.Namespace) -> list[str]:
    topics = list(args.topic or []) + list(getattr(args, "topics", None) or [])
    seen: list[str] = []
    for topic in topics:
        if topic not in seen:
            seen.append(topic)
    return seen


def _metadata_consumer(config: _Config) -> fk.Consumer:
    """A consumer for metadata and offset queries only: it never joins or commits (librdkafka wants
    a group.id for some calls; a throw-away one is used)."""
    extra: _Config = {"group.id": f"ferrokafka-cli-{uuid.uuid4().hex[:12]}", "enable.auto.commit": False}
    return fk.Consumer({**config, **{k: v for k, v in extra.items() if k not in config}})


def _partitions_of(consumer: fk.Consumer, topic: str, timeout: float) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=timeout)
    partitions = sorted(metadata["topics"].get(topic, {}))
    if not partitions:
        raise _CliError(f"topic {topic!r} not found (or has no partitions)")
    return partitions


def _table(rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells) + "\n"


class _Progress:
    """Counts and rate on stderr every second, only when enabled (stderr a terminal, not -q)."""

    def __init__(self, verb: str, enabled: bool) -> None:
        self.count = 0
        self._verb = verb
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._shown = False
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._run, name="ferrokafka-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._show("")

    def _show(self, end: str) -> None:
        elapsed = time.monotonic() - self._started
        rate = self.count / elapsed if elapsed > 0 else 0.0
        try:
            sys.stderr.write(
                f"\r\x1b[K% {self._verb} {self.count:,} messages in {elapsed:,.0f} s ({rate:,.0f} msg/s){end}"
            )
            sys.stderr.flush()
        except (OSError, ValueError):
            return
        self._shown = True

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self._shown:
                self._show("\n")


def _progress_enabled(args: argparse.Namespace) -> bool:
    try:
        return not args.quiet and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _setup_logging(args: argparse.Namespace) -> None:
    logger = logging.getLogger("ferrokafka")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%% %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    verbose = getattr(args, "verbose", 0)
    if getattr(args, "quiet", False):
        logger.setLevel(logging.CRITICAL + 1)
    elif verbose >= 2:
        logger.setLevel(logging.DEBUG)
    elif verbose == 1:
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.WARNING)


# --- produce -------------------------------------------------------------------------------------


def _records(stream: BinaryIO, delimiter: bytes) -> Iterator[bytes]:
    """Records of a byte stream split at `delimiter`, as soon as each is complete (interactive use)."""
    buffer = bytearray()
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(65536)
        if not chunk:
            break
        searched_from = max(0, len(buffer) - len(delimiter) + 1)
        buffer += chunk
        start = 0
        while True:
            end = buffer.find(delimiter, max(start, searched_from))
            if end < 0:
                break
            yield bytes(buffer[start:end])
            start = end + len(delimiter)
        if start:
            del buffer[:start]
    if buffer:
        yield bytes(buffer)


def _produce(args: argparse.Namespace) -> int:
    config = _client_config(args)
    if args.compression:
        config["compression.codec"] = args.compression
    topic: str = args.topic
    partition = None if args.partition is None or args.partition < 0 else args.partition
    headers: list[tuple[str, bytes | None]] = []
    for spec in args.header:
        name, sep, value = spec.partition("=")
        headers.append((name, os.fsencode(value) if sep else None))
    fixed_key = os.fsencode(args.key) if args.key is not None else None
    key_delimiter: bytes | None = args.key_delimiter

    def messages() -> Iterator[tuple[bytes | None, bytes | None]]:
        sources: list[str] = args.files or ["-"]
        for source in sources:
            if source == "-" or args.line_mode:
                if source == "-":
                    records = _records(sys.stdin.buffer, args.delimiter)
                else:
                    records = _read_file_records(source, args.delimiter)
                for record in records:
                    key = fixed_key
                    value: bytes | None = record
                    if key_delimiter is not None:
                        k, sep, v = record.partition(key_delimiter)
                        if sep:
                            key, value = k, v
                    if args.null_empty:
                        key = key or None
                        value = value or None
                    yield key, value
            else:
                try:
                    with open(source, "rb") as file:
                        yield fixed_key, file.read()
                except OSError as err:
                    raise _CliError(f"cannot read {source}: {err.strerror or err}") from None

    lock = threading.Lock()
    failures: list[fk.KafkaError] = []

    def on_delivery(error: fk.KafkaError | None, report: fk.DeliveryReport | None) -> None:
        if error is not None:
            with lock:
                failures.append(error)

    progress = _Progress("produced", _progress_enabled(args))
    sent = 0
    interrupted = False
    producer = fk.Producer(config)
    try:
        try:
            for key, value in messages():
                while True:
                    try:
                        producer.produce(
                            topic, value, key, partition=partition, headers=headers or None, on_delivery=on_delivery
                        )
                        break
                    except fk.QueueFullError:
                        producer.flush(0.1)  # librdkafka's queue is full: let deliveries catch up
                sent += 1
                progress.count = sent
                if sent == args.count:
                    break
        except KeyboardInterrupt:
            interrupted = True
        progress.close()
        unresolved, gave_up = _await_deliveries(producer, args.timeout, interrupted, quiet=args.quiet)
    finally:
        progress.close()
        producer.close()
    interrupted = interrupted or gave_up
    if unresolved or failures:
        first = f": first error: {failures[0]}" if failures else ""
        summary = f"{len(failures) + unresolved} of {sent} messages not delivered{first}"
        raise _Interrupted(summary) if interrupted else _CliError(summary)
    return 130 if interrupted else 0


def _notice(text: str, quiet: bool) -> None:
    if not quiet:
        # One write: a Ctrl-C between print()'s text and its newline would leave the line open.
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _await_deliveries(producer: fk.Producer, timeout: float, interrupted: bool, quiet: bool) -> tuple[int, bool]:
    """Waits for the messages sent: after a Ctrl-C, `timeout` (-m) seconds at most; otherwise until
    each is delivered or fails (librdkafka's message.timeout.ms), saying so once after `timeout`
    seconds. A Ctrl-C while waiting gives up at once: what is left is purged and counted as not
    delivered. Returns (messages without an outcome, whether it gave up)."""
    gave_up = False
    try:
        left = len(producer)
        if left and interrupted:
            _notice(
                f"% Interrupted: waiting up to {timeout:g} s for {left} message(s) (Ctrl-C again to give up)", quiet
            )
        left = producer.flush(timeout)
        if left and not interrupted:
            _notice(
                f"% {left} message(s) not delivered after {timeout:g} s: waiting until they are or "
                "message.timeout.ms passes (Ctrl-C to give up)",
                quiet,
            )
            left = producer.flush()
        if not left:
            return 0, False
    except KeyboardInterrupt:
        gave_up = True
    producer.purge()
    # Purged messages fail promptly, and their reports count them as not delivered; one whose
    # report does not come in even then is counted here.
    try:
        return producer.flush(1.0), gave_up
    except KeyboardInterrupt:
        return len(producer), True


def _read_file_records(path: str, delimiter: bytes) -> Iterator[bytes]:
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is done
    except OSError as err:
        raise _CliError(f"cannot read {path}: {err.strerror or err}") from None
    with file:
        yield from _records(file, delimiter)


# --- consume -------------------------------------------------------------------------------------


def _parse_offset(text: str) -> tuple[str, int]:
    """-o: beginning | end | N | -N | s@MS."""
    if text in ("beginning", "earliest", "smallest"):
        return "beginning", 0
    if text in ("end", "latest", "largest"):
        return "end", 0
    try:
        if text.startswith("s@"):
            timestamp = int(text[2:])
            if timestamp < 0:
                # Kafka reads -1 and -2 as "end" and "beginning": say so rather than print nothing.
                raise argparse.ArgumentTypeError(
                    f"invalid offset {text!r}: s@ takes a timestamp in ms since the epoch, >= 0 "
                    "(for the ends: -o beginning or -o end)"
                )
            return "timestamp", timestamp
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid offset {text!r}: expected beginning, end, N, -N or s@<timestamp ms>"
        ) from None
    return ("tail", -number) if number < 0 else ("absolute", number)


_Formatter = Callable[[fk.BorrowedMessage], bytes]


def _text_or_base64(data: memoryview | bytes | None) -> str | dict[str, str] | None:
    if data is None:
        return None
    raw = bytes(data)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


_TIMESTAMP_TYPES = {1: "create", 2: "logappend"}


def _json_formatter(null: bytes) -> _Formatter:
    def render(msg: fk.BorrowedMessage) -> bytes:
        record = {
            "topic": msg.topic,
            "partition": msg.partition,
            "offset": msg.offset,
            "timestamp": msg.timestamp,
            "timestamp_type": _TIMESTAMP_TYPES.get(int(msg.timestamp_type)),
            "key": _text_or_base64(msg.key),
            "value": _text_or_base64(msg.payload),
            "headers": [[name, _text_or_base64(value)] for name, value in msg.headers],
        }
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass") + b"\n"

    return render


def _raw_formatter(delimiter: bytes, key_delimiter: bytes | None, null: bytes) -> _Formatter:
    if key_delimiter is None:

        def value_only(msg: fk.BorrowedMessage) -> bytes:
            payload = msg.payload
            return b"".join((null if payload is None else payload, delimiter))

        return value_only

    def key_and_value(msg: fk.BorrowedMessage) -> bytes:
        key, payload = msg.key, msg.payload
        return b"".join((null if key is None else key, key_delimiter, null if payload is None else payload, delimiter))

    return key_and_value


def _headers_csv(msg: fk.BorrowedMessage) -> bytes:
    """kcat's %h: name=value joined by commas; a NULL value prints as NULL (with or without -Z)."""
    return b",".join(os.fsencode(name) + b"=" + (b"NULL" if value is None else value) for name, value in msg.headers)


def _length(data: memoryview | None) -> int:
    return -1 if data is None else data.nbytes


def _format_formatter(fmt: str, null: bytes) -> _Formatter:
    """kcat's -f: compiled once into literal bytes and field readers."""
    readers: dict[str, Callable[[fk.BorrowedMessage], bytes | memoryview]] = {
        "t": lambda m: m.topic.encode("utf-8"),
        "p": lambda m: b"%d" % m.partition,
        "o": lambda m: b"%d" % m.offset,
        "k": lambda m: null if (k := m.key) is None else k,
        "K": lambda m: b"%d" % _length(m.key),
        "s": lambda m: null if (p := m.payload) is None else p,
        "S": lambda m: b"%d" % _length(m.payload),
        "R": lambda m: struct.pack(">i", _length(m.payload)),
        "T": lambda m: b"%d" % (-1 if (ts := m.timestamp) is None else ts),
        "h": _headers_csv,
    }
    parts: list[bytes | Callable[[fk.BorrowedMessage], bytes | memoryview]] = []
    literal = bytearray()
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%":
            token = fmt[i + 1 : i + 2]
            if token == "%":
                literal += b"%"
            elif token in readers:
                if literal:
                    parts.append(bytes(literal))
                    literal.clear()
                parts.append(readers[token])
            else:
                raise _UsageError(f"-f: unknown format token %{token} (known: %t %p %o %k %K %s %S %R %T %h %%)")
            i += 2
            continue
        end = fmt.find("%", i)
        end = len(fmt) if end < 0 else end
        literal += _unescape(fmt[i:end])
        i = end
    if literal:
        parts.append(bytes(literal))

    def render(msg: fk.BorrowedMessage) -> bytes:
        return b"".join(part if isinstance(part, bytes) else part(msg) for part in parts)

    return render


class _EndTracker:
    """-e: which assigned partitions have not reached the high watermark they had when assigned."""

    def __init__(self) -> None:
        self.high: dict[tuple[str, int], int] = {}
        self.pending: set[tuple[str, int]] = set()
        self.assigned_once = False

    def add(self, topic: str, partition: int, start: int, high: int) -> None:
        self.assigned_once = True
        self.high[(topic, partition)] = high
        if start < high:
            self.pending.add((topic, partition))
        else:
            self.pending.discard((topic, partition))

    def remove(self, topic: str, partition: int) -> None:
        self.pending.discard((topic, partition))
        self.high.pop((topic, partition), None)

    def seen(self, topic: str, partition: int, offset: int) -> None:
        if offset + 1 >= self.high.get((topic, partition), 0):
            self.pending.discard((topic, partition))

    def check_positions(self, consumer: fk.Consumer) -> None:
        """When idle: a position past what messages showed (e.g. transaction markers) counts too."""
        if not self.pending:
            return
        for tp in consumer.position([fk.TopicPartition(t, p) for t, p in self.pending]):
            if tp.offset >= 0 and tp.offset >= self.high.get((tp.topic, tp.partition), 0):
                self.pending.discard((tp.topic, tp.partition))

    @property
    def done(self) -> bool:
        return self.assigned_once and not self.pending


def _start_positions(
    consumer: fk.Consumer,
    topics: list[str],
    partitions: list[int] | None,
    offset: tuple[str, int],
    timeout: float,
    tracker: _EndTracker | None,
) -> list[fk.TopicPartition]:
    kind, number = offset
    wanted: list[tuple[str, int]] = []
    for topic in topics:
        available = _partitions_of(consumer, topic, timeout)
        if partitions is None:
            wanted += [(topic, p) for p in available]
        else:
            missing = [p for p in partitions if p not in available]
            if missing:
                raise _CliError(f"topic {topic!r} has no partition {missing[0]} (it has {len(available)})")
            wanted += [(topic, p) for p in partitions]
    times: dict[tuple[str, int], int] = {}
    if kind == "timestamp":
        found = consumer.offsets_for_times([fk.TopicPartition(t, p, number) for t, p in wanted], timeout)
        times = {(tp.topic, tp.partition): tp.offset for tp in found}
    assignment = []
    for topic, partition in wanted:
        low, high = consumer.get_watermark_offsets(fk.TopicPartition(topic, partition), timeout)
        if kind == "beginning":
            start = low
        elif kind == "end":
            start = high
        elif kind == "absolute":
            start = min(max(number, low), high)
        elif kind == "tail":
            start = max(high - number, low)
        else:
            start = times.get((topic, partition), -1)
            start = high if start < 0 else start
        assignment.append(fk.TopicPartition(topic, partition, start))
        if tracker is not None:
            tracker.add(topic, partition, start, high)
    return assignment


def _consume(args: argparse.Namespace) -> int:
    topics = _topics_of(args)
    if not topics:
        raise _UsageError("consume: give at least one topic (-t topic)")
    group: str | None = args.group
    kind, _ = args.offset
    if group is not None and kind not in ("beginning", "end"):
        raise _UsageError("with -G, -o takes only beginning or end (where the group has no committed offset)")
    if group is not None and args.partition:
        raise _UsageError("-p and -G exclude each other: the group assigns partitions")
    null = b"NULL" if args.null_empty else b""
    formatter: _Formatter
    if args.format is not None:
        formatter = _format_formatter(args.format, null)
    elif args.json:
        formatter = _json_formatter(null)
    else:
        formatter = _raw_formatter(args.delimiter, args.key_delimiter, null)

    defaults: _Config = {"enable.partition.eof": False}
    if group is not None:
        defaults.update(
            {
                "group.id": group,
                "auto.offset.reset": "earliest" if kind == "beginning" else "latest",
                "enable.auto.offset.store": False,
            }
        )
    config = _client_config(args, defaults)
    if group is None:
        config["group.id"] = config.get("group.id") or f"ferrokafka-cli-{uuid.uuid4().hex[:12]}"
        config["enable.auto.commit"] = False
    manual_store = group is not None and not _truthy(config.get("enable.auto.offset.store", False))
    timeout: float = args.timeout
    tracker = _EndTracker() if args.exit_at_end else None
    out = sys.stdout.buffer
    progress = _Progress("consumed", _progress_enabled(args))
    written: dict[tuple[str, int], int] = {}
    consumer = fk.Consumer(config)
    count = 0

    def store_written() -> None:
        if manual_store and written:
            out.flush()
            consumer.store_offsets(offsets=[fk.TopicPartition(t, p, o + 1) for (t, p), o in written.items()])
        written.clear()

    def on_assign(c: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        if tracker is None:
            return
        tracker.assigned_once = True  # an empty assignment (more members than partitions) is done
        if not partitions:
            return
        committed = {(tp.topic, tp.partition): tp.offset for tp in c.committed(partitions, timeout)}
        reset = str(config.get("auto.offset.reset", "latest"))
        for tp in partitions:
            low, high = c.get_watermark_offsets(fk.TopicPartition(tp.topic, tp.partition), timeout)
            start = committed.get((tp.topic, tp.partition), -1)
            if start < 0:
                start = low if reset in ("earliest", "smallest", "beginning") else high
            tracker.add(tp.topic, tp.partition, start, high)

    def on_revoke(c: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        if tracker is not None:
            for tp in partitions:
                tracker.remove(tp.topic, tp.partition)

    # Ctrl-C and SIGTERM end the loop between batches (within the 0.5 s consume timeout), never in
    # the middle of writing one: what was printed and what is stored stay the same. A second one
    # interrupts close() as usual.
    stop: list[int] = []

    def request_stop(signum: int, frame: object) -> None:
        stop.append(signum)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM) if in_main_thread}
    try:
        if group is not None:
            if tracker is not None:
                # -e ends at the end of what exists now: the topics must exist, and a broker that
                # cannot be reached within -m is an error (not a wait for an assignment forever).
                patterns = [topic for topic in topics if topic.startswith("^")]
                for topic in topics:
                    if topic not in patterns:
                        _partitions_of(consumer, topic, timeout)
                if patterns and len(patterns) == len(topics):
                    names = consumer.list_topics(timeout=timeout)["topics"]
                    if not any(_matches(p, name) for p in patterns for name in names):
                        return 0  # no topic matches: nothing to read, and no assignment would come
            consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        else:
            consumer.assign(_start_positions(consumer, topics, args.partition, args.offset, timeout, tracker))
        limit: int = args.count
        while not stop and not (limit and count >= limit) and not (tracker is not None and tracker.done):
            wanted = 1000 if not limit else min(1000, limit - count)
            messages = consumer.consume(wanted, timeout=0.5)
            if not messages:
                out.flush()
                if tracker is not None:
                    tracker.check_positions(consumer)
                continue
            for msg in messages:
                out.write(formatter(msg))
                if args.unbuffered:
                    out.flush()
                written[(msg.topic, msg.partition)] = msg.offset
                if tracker is not None:
                    tracker.seen(msg.topic, msg.partition, msg.offset)
                count += 1
            del messages, msg
            progress.count = count
            out.flush()
            store_written()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        written.clear()  # not all of it reached the reader: store nothing more
        _silence_stdout()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        progress.close()
        try:
            store_written()
        except BrokenPipeError:
            _silence_stdout()
        finally:
            consumer.close()
    return 0


def _matches(pattern: str, topic: str) -> bool:
    """Whether a subscription regex may match `topic` (librdkafka's POSIX syntax is close to
    Python's; a pattern Python cannot read counts as matching)."""
    try:
        return re.search(pattern, topic) is not None
    except re.error:
        return True


def _silence_stdout() -> None:
    """After the reader of stdout went away: later flushes (at exit too) must not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# --- topics --------------------------------------------------------------------------------------


def _topics(args: argparse.Namespace) -> int:
    config = _client_config(args)
    timeout: float = args.timeout
    action: str = args.action
    topics = _topics_of(args)
    if action in ("describe", "create", "delete", "alter") and not topics:
        raise _UsageError(f"topics {action}: give at least one topic (-t topic)")
    out = sys.stdout
    if action == "list":
        with _metadata_consumer(config) as consumer:
            names = sorted(consumer.list_topics(timeout=timeout)["topics"])
        for name in names:
            if not (args.exclude_internal and name.startswith("__")):
                out.write(name + "\n")
        return 0
    if action == "describe":
        with _metadata_consumer(config) as consumer:
            metadata = consumer.list_topics(timeout=timeout)
        admin = None if args.no_configs else fk.AdminClient(config)
        try:
            for topic in topics:
                partitions = metadata["topics"].get(topic)
                if not partitions:
                    raise _CliError(f"topic {topic!r} not found")
                replication = max((len(p["replicas"]) for p in partitions.values()), default=0)
                out.write(f"Topic: {topic}\tPartitionCount: {len(partitions)}\tReplicationFactor: {replication}\n")
                for number in sorted(partitions):
                    info = partitions[number]
                    replicas = ",".join(map(str, info["replicas"]))
                    isrs = ",".join(map(str, info["isrs"]))
                    out.write(
                        f"\tTopic: {topic}\tPartition: {number}\tLeader: {info['leader']}\t"
                        f"Replicas: {replicas}\tIsr: {isrs}\n"
                    )
                if admin is not None:
                    configs = _wait(admin.describe_configs("topic", topic), timeout, f"configs of {topic}")
                    out.write("\tConfigs:\n")
                    for name in sorted(configs):
                        out.write(f"\t\t{name}={configs[name]}\n")
        finally:
            if admin is not None:
                admin.close()
        return 0
    with fk.AdminClient(config) as admin:
        if action == "create":
            new = [fk.NewTopic(t, args.partitions, args.replication_factor, dict(args.config)) for t in topics]
            for topic_obj in new:
                try:
                    _wait(
                        admin.create_topics([topic_obj], operation_timeout=timeout), timeout, f"create {topic_obj.name}"
                    )
                except _CliError:
                    if args.if_not_exists and _exists(config, topic_obj.name, timeout):
                        continue
                    raise
                print(f"Created topic {topic_obj.name}.", file=sys.stderr)
        elif action == "delete":
            for topic in topics:
                try:
                    _wait(admin.delete_topics([topic], operation_timeout=timeout), timeout, f"delete {topic}")
                except _CliError:
                    if args.if_exists and not _exists(config, topic, timeout):
                        continue
                    raise
                print(f"Deleted topic {topic}.", file=sys.stderr)
        else:  # alter
            changes: dict[str, str | None] = dict(args.config)
            changes.update({name: None for name in args.delete_config})
            if not changes and args.partitions is None:
                raise _UsageError("topics alter: nothing to do (give --config, --delete-config or --partitions)")
            for topic in topics:
                if args.partitions is not None:
                    _wait(
                        admin.create_partitions(topic, args.partitions, operation_timeout=timeout),
                        timeout,
                        f"partitions of {topic}",
                    )
                if changes:
                    _wait(admin.alter_configs("topic", topic, changes), timeout, f"alter configs of {topic}")
                print(f"Altered topic {topic}.", file=sys.stderr)
    return 0


def _exists(config: _Config, topic: str, timeout: float) -> bool:
    consumer = _metadata_consumer(config)
    try:
        return bool(consumer.list_topics(topic, timeout=timeout)["topics"].get(topic))
    finally:
        consumer.close()


# --- groups --------------------------------------------------------------------------------------


def _groups(args: argparse.Namespace) -> int:
    config = _client_config(args)
    timeout: float = args.timeout
    action: str = args.action
    groups: list[str] = list(args.group or []) + list(args.groups or [])
    if action != "list" and not groups:
        raise _UsageError(f"groups {action}: give a group (-G group)")
    admin = fk.AdminClient(config)
    try:
        return _group_action(args, config, admin, groups, timeout)
    finally:
        admin.close()


def _group_action(
    args: argparse.Namespace, config: _Config, admin: fk.AdminClient, groups: list[str], timeout: float
) -> int:
    action: str = args.action
    out = sys.stdout
    if action == "list":
        for name in _wait(admin.list_groups(), timeout, "list groups"):
            out.write(name + "\n")
        return 0
    if action == "describe":
        descriptions = _wait(admin.describe_groups(groups), timeout, "describe groups")
        for name in groups:
            d = descriptions[name]
            out.write(
                f"Group: {name}\tState: {d['state']}\tType: {d['type']}\tProtocol: {d['protocol'] or '-'}\t"
                f"Members: {len(d['members'])}\n"
            )
            for m in d["members"]:
                instance = f"\tInstance: {m['group_instance_id']}" if m["group_instance_id"] else ""
                out.write(f"\tMember: {m['member_id']}\tClient: {m['client_id']}\tHost: {m['host']}{instance}\n")
        return 0
    if action == "offsets":
        rows: list[list[object]] = [["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"]]
        for name in groups:
            committed = _wait(admin.list_consumer_group_offsets(name), timeout, f"offsets of {name}")
            if args.topic:
                committed = [tp for tp in committed if tp.topic in args.topic]
            ends: dict[tuple[str, int], int] = {}
            if committed:
                latest = admin.list_offsets([fk.TopicPartition(tp.topic, tp.partition) for tp in committed])
                ends = {(tp.topic, tp.partition): tp.offset for tp in _wait(latest, timeout, "log-end offsets")}
            for tp in committed:
                end = ends.get((tp.topic, tp.partition), -1)
                current = tp.offset if tp.offset >= 0 else None
                lag = max(end - current, 0) if current is not None and end >= 0 else "-"
                rows.append([name, tp.topic, tp.partition, "-" if current is None else current, end, lag])
        out.write(_table(rows))
        return 0
    return _reset(args, config, admin, groups, timeout)


def _reset(args: argparse.Namespace, config: _Config, admin: fk.AdminClient, groups: list[str], timeout: float) -> int:
    if len(groups) != 1:
        raise _UsageError("groups reset: give exactly one group")
    group = groups[0]
    topics = _topics_of(args)
    if bool(topics) == bool(args.all_topics):
        raise _UsageError("groups reset: give -t topic (repeatable) or --all-topics")
    description = _wait(admin.describe_groups([group]), timeout, f"describe {group}")[group]
    if description["members"]:
        raise _CliError(
            f"group {group} has {len(description['members'])} active member(s) (state {description['state']}): "
            "stop its consumers before resetting its offsets"
        )
    committed_list = _wait(admin.list_consumer_group_offsets(group), timeout, f"offsets of {group}")
    committed = {(tp.topic, tp.partition): tp.offset for tp in committed_list}
    with _metadata_consumer(config) as consumer:
        if args.all_topics:
            wanted = sorted(committed)
            if not wanted:
                raise _CliError(f"group {group} has no committed offsets (name the topics with -t)")
        else:
            wanted = []
            for topic in topics:
                available = _partitions_of(consumer, topic, timeout)
                chosen = args.partition or available
                for p in chosen:
                    if p not in available:
                        raise _CliError(f"topic {topic!r} has no partition {p}")
                wanted += [(topic, p) for p in chosen]
        bare = [fk.TopicPartition(t, p) for t, p in wanted]
        lows = {
            (tp.topic, tp.partition): tp.offset
            for tp in _wait(admin.list_offsets(bare, "earliest"), timeout, "earliest offsets")
        }
        highs = {
            (tp.topic, tp.partition): tp.offset
            for tp in _wait(admin.list_offsets(bare, "latest"), timeout, "latest offsets")
        }
        times: dict[tuple[str, int], int] = {}
        if args.to_datetime is not None:
            ms = _parse_datetime(args.to_datetime)
            found = consumer.offsets_for_times([fk.TopicPartition(t, p, ms) for t, p in wanted], timeout)
            times = {(tp.topic, tp.partition): tp.offset for tp in found}
    plan: list[fk.TopicPartition] = []
    for key in wanted:
        low, high = lows[key], highs[key]
        if args.to_earliest:
            new = low
        elif args.to_latest:
            new = high
        elif args.to_offset is not None:
            new = args.to_offset
        elif args.shift_by is not None:
            current = committed.get(key, -1)
            if current < 0:
                raise _CliError(f"--shift-by: {key[0]} [{key[1]}] has no committed offset in group {group}")
            new = current + args.shift_by
        else:
            new = times.get(key, -1)
            new = high if new < 0 else new
        plan.append(fk.TopicPartition(key[0], key[1], min(max(new, low), high)))
    rows: list[list[object]] = [["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]]
    rows += [[group, tp.topic, tp.partition, tp.offset] for tp in plan]
    sys.stdout.write(_table(rows))
    if not args.execute:
        print("% Dry run: nothing changed (add --execute to apply)", file=sys.stderr)
        return 0
    try:
        admin.alter_consumer_group_offsets(group, plan).result(timeout)
    except TimeoutError:
        raise _CliError(f"reset offsets of {group}: no answer within {timeout:g} s") from None
    except fk.KafkaError as err:
        hint = " (the group must have no active members)" if err.code() == fk.KafkaError.UNKNOWN_MEMBER_ID else ""
        raise _CliError(f"cannot reset offsets of group {group}: {err}{hint}") from None
    return 0


def _parse_datetime(text: str) -> int:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise _UsageError(f"--to-datetime: invalid ISO 8601 date-time {text!r} (e.g. 2026-12-01T08:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, like kafka-consumer-groups
    # Before 1970 every message is after it: the earliest offsets. (Kafka reads the negative
    # timestamps -1 and -2 as "latest" and "earliest", so they must not reach it.)
    return max(0, int(moment.timestamp() * 1000))


# --- mock ----------------------------------------------------------------------------------------


def _mock(args: argparse.Namespace) -> int:
    # Block the signals before the cluster's threads exist (they inherit the mask): sigwait() below
    # then receives them on this thread, whichever thread the kernel picks.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        with fk.MockCluster(num_brokers=args.brokers) as cluster:
            for spec in args.topic:
                name, _, count = spec.rpartition(":") if ":" in spec else (spec, "", "")
                cluster.create_topic(name, int(count) if count else args.partitions)
            print(cluster.bootstrap_servers, flush=True)
            if not args.quiet:
                print(
                    f"% Mock cluster with {args.brokers} broker(s) running; Ctrl-C or SIGTERM stops it",
                    file=sys.stderr,
                    flush=True,
                )
            signal.sigwait(stop_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return 0


def _topic_spec(text: str) -> str:
    name, sep, count = text.rpartition(":")
    if sep and (not name or not count.isdigit() or int(count) < 1):
        raise argparse.ArgumentTypeError(f"expected name or name:partitions, got {text!r}")
    return text


# --- demo ----------------------------------------------------------------------------------------


def _summarise(message: fk.OwnedMessage) -> tuple[int, int]:
    """Work done on the thread pool: runs on another thread, which only an OwnedMessage may do."""
    payload = message.payload
    assert payload is not None
    return message.offset, zlib.crc32(payload)


def demo(messages: int, size: int, partitions: int, sample_every: int) -> int:
    """``demo``: the borrowed/owned message model end to end, with no broker.

    Starts an embedded MockCluster, produces N messages, consumes them zero-copy through the lending
    iterator, detaches a sample and processes it on a thread pool, and prints a short report.
    """
    topic = "ferrokafka-demo"
    # The mock cluster keeps only about 5 MiB per partition: spread larger runs over more partitions.
    partitions = max(partitions, -(-messages * (size + 80) // (4 << 20)))
    with fk.MockCluster(num_brokers=1) as cluster:
        cluster.create_topic(topic, partitions=partitions)
        bootstrap = cluster.bootstrap_servers
        value = os.urandom(size)

        started = time.perf_counter()
        with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1_000_000}) as producer:
            last = None
            for i in range(messages):
                while True:
                    try:
                        last = producer.produce(topic, value, key=b"%d" % i)
                        break
                    except fk.KafkaError as err:  # local queue full: let deliveries catch up
                        if not err.retriable():
                            raise
                        producer.flush(0.1)
            unresolved = producer.flush(60)
        produce_seconds = time.perf_counter() - started
        if unresolved or last is None or last.exception(0) is not None:
            print(f"produce failed: {unresolved} undelivered, last error {last and last.exception(0)}")
            return 1

        config: dict[str, str | int | float | bool] = {
            "bootstrap.servers": bootstrap,
            "group.id": "ferrokafka-demo",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # librdkafka's default (1000 ms) idles a fast consumer of small messages: see README.
            "fetch.queue.backoff.ms": 10,
        }
        consumed = payload_bytes = checksum = 0
        detached: list[fk.OwnedMessage] = []
        started = time.perf_counter()
        with fk.Consumer(config) as consumer:
            consumer.subscribe([topic])
            # A safety net: closing the consumer from another thread ends the iteration.
            watchdog = threading.Timer(120, consumer.close)
            watchdog.start()
            for msg in consumer:  # lending iterator: each message is valid until the next one
                payload = msg.payload  # a read-only memoryview into librdkafka's buffer, no copy
                assert payload is not None
                payload_bytes += payload.nbytes
                checksum ^= payload[0]
                if consumed % sample_every == 0:
                    detached.append(msg.detach())  # the one explicit copy: it crosses a thread
                consumed += 1
                if consumed == messages:
                    break
            watchdog.cancel()
            consumer.commit(asynchronous=False)
            consume_seconds = time.perf_counter() - started
            msg.release()  # the last message would otherwise stay valid until the next iteration
            del payload  # a memoryview keeps its message's memory alive
            live_at_end = consumer.live_message_count

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(_summarise, detached))

    mb = payload_bytes / 1e6
    print("ferrokafka demo (embedded MockCluster, no broker)")
    print(f"  librdkafka {fk.librdkafka_version}, ferrokafka {fk.__version__}")
    print(f"  topic with {partitions} partitions")
    print(
        f"  produced  {messages:>9,} messages of {size} B in {produce_seconds:6.2f} s "
        f"({messages / produce_seconds:,.0f} msg/s, {messages * size / 1e6 / produce_seconds:,.1f} MB/s)"
    )
    print(
        f"  consumed  {consumed:>9,} messages zero-copy in {consume_seconds:6.2f} s "
        f"({consumed / consume_seconds:,.0f} msg/s, {mb / consume_seconds:,.1f} MB/s)"
    )
    print(
        f"  detached  {len(detached):>9,} sampled messages, checksummed on a thread pool "
        f"(first: offset {results[0][0]}, crc32 {results[0][1]:#010x})"
    )
    print(f"  live borrowed messages at the end: {live_at_end}")
    return 0 if consumed == messages and live_at_end == 0 else 1


# --- the parser ----------------------------------------------------------------------------------


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _connection_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("-b", "--brokers", metavar="BROKERS", help="bootstrap servers, host:port[,host:port...]")
    group.add_argument(
        "-X",
        dest="property",
        metavar="PROP=VALUE",
        type=_key_value,
        action="append",
        default=[],
        help="a librdkafka configuration property (repeatable)",
    )
    group.add_argument("-F", "--config-file", metavar="FILE", help="properties file: prop=value lines")
    group.add_argument(
        "-m", "--timeout", metavar="SECONDS", type=_seconds, default=10.0, help="metadata/admin timeout (10)"
    )
    group.add_argument("-q", "--quiet", action="store_true", help="no librdkafka warnings, no progress")
    group.add_argument("-v", "--verbose", action="count", default=0, help="librdkafka info (-vv: debug) logs")
    return common


def _build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Kafka from the command line (kcat-style flags), on ferrokafka.",
        epilog="See `%(prog)s COMMAND --help`; the module docstring of ferrokafka.cli has the details.",
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"ferrokafka {fk.__version__} (librdkafka {fk.librdkafka_version})"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _connection_parser()

    produce = commands.add_parser("produce", parents=[common], help="produce stdin (or files) to a topic")
    produce.add_argument("-t", "--topic", required=True, help="topic to produce to")
    produce.add_argument("-p", "--partition", type=int, help="partition (default, or -1: the partitioner)")
    produce.add_argument("-K", dest="key_delimiter", type=_delimiter, metavar="SEP", help="key delimiter")
    produce.add_argument("-k", "--key", help="a fixed key for every message")
    produce.add_argument("-H", "--header", action="append", default=[], metavar="NAME=VALUE", help="header")
    produce.add_argument(
        "-D", dest="delimiter", type=_delimiter, default=b"\n", metavar="DELIM", help="message delimiter"
    )
    produce.add_argument("-Z", dest="null_empty", action="store_true", help="send empty keys/values as NULL")
    produce.add_argument("-c", "--count", type=_non_negative, default=0, help="stop after this many messages")
    produce.add_argument("-l", dest="line_mode", action="store_true", help="split files like stdin")
    produce.add_argument("-z", "--compression", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    produce.add_argument("files", nargs="*", metavar="FILE", help="files, each one message (- is stdin)")
    produce.set_defaults(run=_produce)

    consume = commands.add_parser("consume", parents=[common], help="consume topics to stdout")
    consume.add_argument("-t", "--topic", action="append", default=[], help="topic (repeatable)")
    consume.add_argument("topics", nargs="*", metavar="TOPIC", help="more topics")
    consume.add_argument("-p", "--partition", type=_non_negative, action="append", help="partition (repeatable)")
    consume.add_argument(
        "-o", "--offset", type=_parse_offset, default=("beginning", 0), help="beginning|end|N|-N|s@MS (beginning)"
    )
    consume.add_argument("-e", dest="exit_at_end", action="store_true", help="exit at the end of every partition")
    consume.add_argument("-c", "--count", type=_non_negative, default=0, help="exit after this many messages")
    consume.add_argument("-G", "--group", help="consumer group: subscribe and commit")
    output = consume.add_mutually_exclusive_group()
    output.add_argument("-J", "--json", action="store_true", help="JSON lines")
    output.add_argument("-f", "--format", metavar="FMT", help="kcat format string (%%t %%p %%o %%k %%s ...)")
    consume.add_argument("-K", dest="key_delimiter", type=_separator, metavar="SEP", help="print keys, then SEP")
    consume.add_argument(
        "-D", dest="delimiter", type=_separator, default=b"\n", metavar="DELIM", help="after each message ('': none)"
    )
    consume.add_argument("-Z", dest="null_empty", action="store_true", help="print NULL keys/values as NULL")
    consume.add_argument("-u", dest="unbuffered", action="store_true", help="flush after every message")
    consume.set_defaults(run=_consume)

    topics = commands.add_parser("topics", help="list, describe, create, delete, alter topics")
    topic_actions = topics.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in [
        ("list", "topic names"),
        ("describe", "partitions and configs"),
        ("create", "create topics"),
        ("delete", "delete topics"),
        ("alter", "change configs or grow partitions"),
    ]:
        sub = topic_actions.add_parser(name, parents=[common], help=text)
        sub.set_defaults(run=_topics)
        if name == "list":
            sub.add_argument("--exclude-internal", action="store_true", help="leave out __* topics")
            sub.set_defaults(topic=[], topics=[])
            continue
        sub.add_argument("-t", "--topic", action="append", default=[], help="topic (repeatable)")
        sub.add_argument("topics", nargs="*", metavar="TOPIC")
        if name == "describe":
            sub.add_argument("--no-configs", action="store_true", help="partitions only")
        if name in ("create", "alter"):
            sub.add_argument(
                "--config", type=_key_value, action="append", default=[], metavar="NAME=VALUE", help="topic config"
            )
        if name == "create":
            sub.add_argument("--partitions", type=int, default=-1, help="default: the broker's")
            sub.add_argument("--replication-factor", type=int, default=-1, help="default: the broker's")
            sub.add_argument("--if-not-exists", action="store_true")
        if name == "delete":
            sub.add_argument("--if-exists", action="store_true")
        if name == "alter":
            sub.add_argument("--delete-config", action="append", default=[], metavar="NAME", help="revert to default")
            sub.add_argument("--partitions", type=int, help="grow to this many partitions")

    groups = commands.add_parser("groups", help="list, describe, show offsets of, reset consumer groups")
    group_actions = groups.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in [
        ("list", "group ids"),
        ("describe", "state and members"),
        ("offsets", "committed offsets and lag"),
        ("reset", "move committed offsets (the group must be empty)"),
    ]:
        sub = group_actions.add_parser(name, parents=[common], help=text)
        sub.set_defaults(run=_groups)
        if name == "list":
            sub.set_defaults(group=[], groups=[])
            continue
        sub.add_argument("-G", "--group", action="append", default=[], help="group (repeatable)")
        sub.add_argument("groups", nargs="*", metavar="GROUP")
        if name in ("offsets", "reset"):
            sub.add_argument("-t", "--topic", action="append", default=[], help="topic (repeatable)")
        if name == "reset":
            sub.add_argument("-p", "--partition", type=_non_negative, action="append", help="partition (repeatable)")
            sub.add_argument("--all-topics", action="store_true", help="every topic the group has committed")
            to = sub.add_mutually_exclusive_group(required=True)
            to.add_argument("--to-earliest", action="store_true")
            to.add_argument("--to-latest", action="store_true")
            to.add_argument("--to-offset", type=_non_negative, metavar="N")
            to.add_argument("--shift-by", type=int, metavar="N")
            to.add_argument("--to-datetime", metavar="ISO8601", help="e.g. 2026-12-01T08:00:00Z")
            mode = sub.add_mutually_exclusive_group()
            mode.add_argument("--execute", action="store_true", help="apply the plan")
            mode.add_argument("--dry-run", action="store_true", help="only print the plan (the default)")

    mock = commands.add_parser("mock", help="run an embedded mock cluster for other processes until Ctrl-C")
    mock.add_argument("--brokers", type=int, default=1, help="number of brokers (1)")
    mock.add_argument(
        "-t", "--topic", type=_topic_spec, action="append", default=[], metavar="NAME[:PARTITIONS]", help="create"
    )
    mock.add_argument("--partitions", type=int, default=1, help="partitions of -t topics without a count (1)")
    mock.add_argument("-q", "--quiet", action="store_true", help="print only the bootstrap servers")
    mock.set_defaults(run=_mock)

    run = commands.add_parser("demo", help="produce and consume on an embedded mock cluster")
    run.add_argument("--messages", type=int, default=200_000)
    run.add_argument("--size", type=int, default=100, help="payload bytes per message")
    run.add_argument("--partitions", type=int, default=3)
    run.add_argument("--sample-every", type=int, default=1000, help="detach every Nth message")
    run.set_defaults(run=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code (argparse exits with 2 on usage errors)."""
    prog = "python -m ferrokafka" if os.path.basename(sys.argv[0]) == "__main__.py" else "ferrokafka"
    parser = _build_parser(prog)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "demo":
        if args.messages < 1 or args.size < 1 or args.sample_every < 1:
            parser.error("--messages, --size and --sample-every must be positive")
        return demo(args.messages, args.size, args.partitions, args.sample_every)
    _setup_logging(args)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except _UsageError as err:
        parser.error(str(err))  # exits with 2
    except (_CliError, fk.Error, ValueError, OSError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 1
    except _Interrupted as interrupted:
        print(f"{prog}: interrupted: {interrupted}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        return 0 if args.command in ("consume", "mock") else 130
