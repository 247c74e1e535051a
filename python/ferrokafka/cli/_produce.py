"""``produce``: records from stdin or files to a topic."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

import ferrokafka as fk
from ferrokafka.cli._common import _client_config, _CliError, _Interrupted, _Progress, _progress_enabled


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


def run(args: argparse.Namespace) -> int:
    config = _client_config(args)
    if args.compression:
        config["compression.codec"] = args.compression
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
            sent = _send(args, producer, on_delivery, progress)
        except _SendInterrupted as stopped:
            sent, interrupted = stopped.sent, True
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


class _SendInterrupted(Exception):
    """Ctrl-C while sending, after `sent` messages."""

    def __init__(self, sent: int) -> None:
        super().__init__(sent)
        self.sent = sent


def _send(
    args: argparse.Namespace,
    producer: fk.Producer,
    on_delivery: Callable[[fk.KafkaError | None, fk.DeliveryReport | None], None],
    progress: _Progress,
) -> int:
    """Produces every record (up to -c); returns how many. Ctrl-C: ``_SendInterrupted``."""
    topic: str = args.topic
    partition = None if args.partition is None or args.partition < 0 else args.partition
    headers = _headers(args)
    sent = 0
    try:
        for key, value in _messages(args):
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
        raise _SendInterrupted(sent) from None
    return sent


def _headers(args: argparse.Namespace) -> list[tuple[str, bytes | None]]:
    headers: list[tuple[str, bytes | None]] = []
    for spec in args.header:
        name, sep, value = spec.partition("=")
        headers.append((name, os.fsencode(value) if sep else None))
    return headers


def _messages(args: argparse.Namespace) -> Iterator[tuple[bytes | None, bytes | None]]:
    """(key, value) of every record: stdin and (with -l) files split at the delimiter, else a whole
    file per message."""
    fixed_key = os.fsencode(args.key) if args.key is not None else None
    sources: list[str] = args.files or ["-"]
    for source in sources:
        if source == "-" or args.line_mode:
            if source == "-":
                records = _records(sys.stdin.buffer, args.delimiter)
            else:
                records = _read_file_records(source, args.delimiter)
            for record in records:
                yield _split_record(args, fixed_key, record)
        else:
            try:
                with open(source, "rb") as file:
                    yield fixed_key, file.read()
            except OSError as err:
                raise _CliError(f"cannot read {source}: {err.strerror or err}") from None


def _split_record(
    args: argparse.Namespace, fixed_key: bytes | None, record: bytes
) -> tuple[bytes | None, bytes | None]:
    key_delimiter: bytes | None = args.key_delimiter
    key = fixed_key
    value: bytes | None = record
    if key_delimiter is not None:
        k, sep, v = record.partition(key_delimiter)
        if sep:
            key, value = k, v
    if args.null_empty:
        key = key or None
        value = value or None
    return key, value


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
