"""``groups``: list, describe, delete consumer groups and reset their offsets."""

from __future__ import annotations

import argparse
import datetime
import sys

import ferrokafka as fk
from ferrokafka.cli._common import (
    _client_config,
    _CliError,
    _Config,
    _metadata_consumer,
    _partitions_of,
    _table,
    _topics_of,
    _UsageError,
    _wait,
)


def run(args: argparse.Namespace) -> int:
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
        wanted = _wanted(args, consumer, group, topics, committed, timeout)
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
        new = _new_offset(args, group, key, low, high, committed, times)
        plan.append(fk.TopicPartition(key[0], key[1], min(max(new, low), high)))
    rows: list[list[object]] = [["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]]
    rows += [[group, tp.topic, tp.partition, tp.offset] for tp in plan]
    sys.stdout.write(_table(rows))
    if not args.execute:
        print("% Dry run: nothing changed (add --execute to apply)", file=sys.stderr)
        return 0
    _apply(admin, group, plan, timeout)
    return 0


def _wanted(
    args: argparse.Namespace,
    consumer: fk.Consumer,
    group: str,
    topics: list[str],
    committed: dict[tuple[str, int], int],
    timeout: float,
) -> list[tuple[str, int]]:
    """The partitions to reset: every one the group committed (--all-topics), or those of -t/-p."""
    if args.all_topics:
        wanted = sorted(committed)
        if not wanted:
            raise _CliError(f"group {group} has no committed offsets (name the topics with -t)")
        return wanted
    wanted = []
    for topic in topics:
        available = _partitions_of(consumer, topic, timeout)
        chosen = args.partition or available
        for p in chosen:
            if p not in available:
                raise _CliError(f"topic {topic!r} has no partition {p}")
        wanted += [(topic, p) for p in chosen]
    return wanted


def _new_offset(
    args: argparse.Namespace,
    group: str,
    key: tuple[str, int],
    low: int,
    high: int,
    committed: dict[tuple[str, int], int],
    times: dict[tuple[str, int], int],
) -> int:
    """Where --to-earliest/--to-latest/--to-offset/--shift-by/--to-datetime puts a partition
    (before clamping to its watermarks)."""
    if args.to_earliest:
        return low
    if args.to_latest:
        return high
    if args.to_offset is not None:
        return int(args.to_offset)
    if args.shift_by is not None:
        current = committed.get(key, -1)
        if current < 0:
            raise _CliError(f"--shift-by: {key[0]} [{key[1]}] has no committed offset in group {group}")
        return current + int(args.shift_by)
    new = times.get(key, -1)
    return high if new < 0 else new


def _apply(admin: fk.AdminClient, group: str, plan: list[fk.TopicPartition], timeout: float) -> None:
    try:
        admin.alter_consumer_group_offsets(group, plan).result(timeout)
    except TimeoutError:
        raise _CliError(f"reset offsets of {group}: no answer within {timeout:g} s") from None
    except fk.KafkaError as err:
        hint = " (the group must have no active members)" if err.code() == fk.KafkaError.UNKNOWN_MEMBER_ID else ""
        raise _CliError(f"cannot reset offsets of group {group}: {err}{hint}") from None


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
