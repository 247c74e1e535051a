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
import os
import sys
from collections.abc import Callable, Sequence

import ferrokafka as fk
from ferrokafka.cli import _consume, _groups, _mock, _produce, _topics
from ferrokafka.cli._common import (
    _CliError,
    _connection_parser,
    _delimiter,
    _Interrupted,
    _key_value,
    _non_negative,
    _separator,
    _setup_logging,
    _UsageError,
)
from ferrokafka.cli._consume import _parse_offset
from ferrokafka.cli._demo import demo
from ferrokafka.cli._mock import _topic_spec

__all__ = ["demo", "main"]


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
    produce.set_defaults(run=_produce.run)

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
    consume.set_defaults(run=_consume.run)

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
        sub.set_defaults(run=_topics.run)
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
        sub.set_defaults(run=_groups.run)
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
    mock.set_defaults(run=_mock.run)

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
