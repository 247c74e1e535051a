"""What every subcommand shares: errors, config from flags, escapes, tables, progress, logging and
the connection flags."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TypeVar

import ferrokafka as fk

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
