"""``consume``: messages of topics to stdout, formatted."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import struct
import sys
import threading
import uuid
from collections.abc import Callable

import ferrokafka as fk
from ferrokafka._config import config_bool
from ferrokafka.cli._common import (
    _client_config,
    _CliError,
    _Config,
    _partitions_of,
    _Progress,
    _progress_enabled,
    _topics_of,
    _unescape,
    _UsageError,
)


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


def _check(args: argparse.Namespace) -> list[str]:
    """The topics to read; a usage error for flags that exclude each other."""
    topics = _topics_of(args)
    if not topics:
        raise _UsageError("consume: give at least one topic (-t topic)")
    kind, _ = args.offset
    if args.group is not None and kind not in ("beginning", "end"):
        raise _UsageError("with -G, -o takes only beginning or end (where the group has no committed offset)")
    if args.group is not None and args.partition:
        raise _UsageError("-p and -G exclude each other: the group assigns partitions")
    return topics


def _formatter(args: argparse.Namespace) -> _Formatter:
    null = b"NULL" if args.null_empty else b""
    if args.format is not None:
        return _format_formatter(args.format, null)
    if args.json:
        return _json_formatter(null)
    return _raw_formatter(args.delimiter, args.key_delimiter, null)


def _consumer_config(args: argparse.Namespace) -> tuple[_Config, bool]:
    """The consumer's config, and whether this command stores the offsets of what it wrote (with
    -G, unless the config lets librdkafka store them)."""
    group: str | None = args.group
    kind, _ = args.offset
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
    store = config.get("enable.auto.offset.store", False)
    manual_store = group is not None and not config_bool("enable.auto.offset.store", store)
    return config, manual_store


class _Session:
    """One run of ``consume``: the consumer, what was written per partition (stored after each
    batch with -G), the -e tracker and the progress line."""

    def __init__(self, args: argparse.Namespace, formatter: _Formatter, config: _Config, manual_store: bool) -> None:
        self.args = args
        self.config = config
        self.manual_store = manual_store
        self.timeout: float = args.timeout
        self.tracker = _EndTracker() if args.exit_at_end else None
        self.formatter = formatter
        self.out = sys.stdout.buffer
        self.progress = _Progress("consumed", _progress_enabled(args))
        self.written: dict[tuple[str, int], int] = {}
        self.count = 0
        self.consumer = fk.Consumer(config)

    def store_written(self) -> None:
        if self.manual_store and self.written:
            self.out.flush()
            offsets = [fk.TopicPartition(t, p, o + 1) for (t, p), o in self.written.items()]
            self.consumer.store_offsets(offsets=offsets)
        self.written.clear()

    def on_assign(self, c: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        tracker.assigned_once = True  # an empty assignment (more members than partitions) is done
        if not partitions:
            return
        committed = {(tp.topic, tp.partition): tp.offset for tp in c.committed(partitions, self.timeout)}
        reset = str(self.config.get("auto.offset.reset", "latest"))
        for tp in partitions:
            low, high = c.get_watermark_offsets(fk.TopicPartition(tp.topic, tp.partition), self.timeout)
            start = committed.get((tp.topic, tp.partition), -1)
            if start < 0:
                start = low if reset in ("earliest", "smallest", "beginning") else high
            tracker.add(tp.topic, tp.partition, start, high)

    def on_revoke(self, c: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        if self.tracker is not None:
            for tp in partitions:
                self.tracker.remove(tp.topic, tp.partition)

    def start(self, topics: list[str]) -> bool:
        """Subscribes (-G) or assigns; False if there is nothing to read (-e, no topic matches)."""
        consumer = self.consumer
        if self.args.group is None:
            args = self.args
            consumer.assign(_start_positions(consumer, topics, args.partition, args.offset, self.timeout, self.tracker))
            return True
        if self.tracker is not None and not self._topics_exist(topics):
            return False
        consumer.subscribe(topics, on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_revoke)
        return True

    def _topics_exist(self, topics: list[str]) -> bool:
        """-e ends at the end of what exists now: the topics must exist, and a broker that cannot be
        reached within -m is an error (not a wait for an assignment forever). False if only
        patterns are given and none matches (no assignment would come)."""
        patterns = [topic for topic in topics if topic.startswith("^")]
        for topic in topics:
            if topic not in patterns:
                _partitions_of(self.consumer, topic, self.timeout)
        if patterns and len(patterns) == len(topics):
            names = self.consumer.list_topics(timeout=self.timeout)["topics"]
            return any(_matches(p, name) for p in patterns for name in names)
        return True

    def finished(self, stop: list[int]) -> bool:
        limit: int = self.args.count
        return bool(stop) or bool(limit and self.count >= limit) or (self.tracker is not None and self.tracker.done)

    def step(self) -> None:
        """Takes one batch and writes it (then stores its offsets with -G)."""
        limit: int = self.args.count
        wanted = 1000 if not limit else min(1000, limit - self.count)
        messages = self.consumer.consume(wanted, timeout=0.5)
        if not messages:
            self.out.flush()
            if self.tracker is not None:
                self.tracker.check_positions(self.consumer)
            return
        self.write(messages)
        del messages
        self.progress.count = self.count
        self.out.flush()
        self.store_written()

    def write(self, messages: list[fk.BorrowedMessage]) -> None:
        out, tracker = self.out, self.tracker
        for msg in messages:
            out.write(self.formatter(msg))
            if self.args.unbuffered:
                out.flush()
            self.written[(msg.topic, msg.partition)] = msg.offset
            if tracker is not None:
                tracker.seen(msg.topic, msg.partition, msg.offset)
            self.count += 1
        del msg

    def close(self) -> None:
        self.progress.close()
        try:
            self.store_written()
        except BrokenPipeError:
            _silence_stdout()
        finally:
            self.consumer.close()


def run(args: argparse.Namespace) -> int:
    topics = _check(args)
    formatter = _formatter(args)
    config, manual_store = _consumer_config(args)
    session = _Session(args, formatter, config, manual_store)

    # Ctrl-C and SIGTERM end the loop between batches (within the 0.5 s consume timeout), never in
    # the middle of writing one: what was printed and what is stored stay the same. A second one
    # interrupts close() as usual.
    stop: list[int] = []

    def request_stop(signum: int, frame: object) -> None:
        stop.append(signum)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM) if in_main_thread}
    try:
        if session.start(topics):
            while not session.finished(stop):
                session.step()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        session.written.clear()  # not all of it reached the reader: store nothing more
        _silence_stdout()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        session.close()
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
