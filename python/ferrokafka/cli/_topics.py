"""``topics``: list, describe, create, delete, alter topics."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import ferrokafka as fk
from ferrokafka.cli._common import (
    _client_config,
    _CliError,
    _Config,
    _metadata_consumer,
    _topics_of,
    _UsageError,
    _wait,
)


def run(args: argparse.Namespace) -> int:
    config = _client_config(args)
    action: str = args.action
    topics = _topics_of(args)
    if action in ("describe", "create", "delete", "alter") and not topics:
        raise _UsageError(f"topics {action}: give at least one topic (-t topic)")
    if action == "list":
        _list(args, config)
    elif action == "describe":
        _describe(args, config, topics)
    else:
        with fk.AdminClient(config) as admin:
            _CHANGES[action](args, config, admin, topics)
    return 0


def _list(args: argparse.Namespace, config: _Config) -> None:
    with _metadata_consumer(config) as consumer:
        names = sorted(consumer.list_topics(timeout=args.timeout)["topics"])
    for name in names:
        if not (args.exclude_internal and name.startswith("__")):
            sys.stdout.write(name + "\n")


def _describe(args: argparse.Namespace, config: _Config, topics: list[str]) -> None:
    timeout: float = args.timeout
    with _metadata_consumer(config) as consumer:
        metadata = consumer.list_topics(timeout=timeout)
    admin = None if args.no_configs else fk.AdminClient(config)
    try:
        for topic in topics:
            partitions = metadata["topics"].get(topic)
            if not partitions:
                raise _CliError(f"topic {topic!r} not found")
            _write_partitions(topic, partitions)
            if admin is not None:
                configs = _wait(admin.describe_configs("topic", topic), timeout, f"configs of {topic}")
                sys.stdout.write("\tConfigs:\n")
                for name in sorted(configs):
                    sys.stdout.write(f"\t\t{name}={configs[name]}\n")
    finally:
        if admin is not None:
            admin.close()


def _write_partitions(topic: str, partitions: dict[int, Any]) -> None:
    out = sys.stdout
    replication = max((len(p["replicas"]) for p in partitions.values()), default=0)
    out.write(f"Topic: {topic}\tPartitionCount: {len(partitions)}\tReplicationFactor: {replication}\n")
    for number in sorted(partitions):
        info = partitions[number]
        replicas = ",".join(map(str, info["replicas"]))
        isrs = ",".join(map(str, info["isrs"]))
        out.write(
            f"\tTopic: {topic}\tPartition: {number}\tLeader: {info['leader']}\tReplicas: {replicas}\tIsr: {isrs}\n"
        )


def _create(args: argparse.Namespace, config: _Config, admin: fk.AdminClient, topics: list[str]) -> None:
    timeout: float = args.timeout
    new = [fk.NewTopic(t, args.partitions, args.replication_factor, dict(args.config)) for t in topics]
    for topic_obj in new:
        try:
            _wait(admin.create_topics([topic_obj], operation_timeout=timeout), timeout, f"create {topic_obj.name}")
        except _CliError:
            if args.if_not_exists and _exists(config, topic_obj.name, timeout):
                continue
            raise
        print(f"Created topic {topic_obj.name}.", file=sys.stderr)


def _delete(args: argparse.Namespace, config: _Config, admin: fk.AdminClient, topics: list[str]) -> None:
    timeout: float = args.timeout
    for topic in topics:
        try:
            _wait(admin.delete_topics([topic], operation_timeout=timeout), timeout, f"delete {topic}")
        except _CliError:
            if args.if_exists and not _exists(config, topic, timeout):
                continue
            raise
        print(f"Deleted topic {topic}.", file=sys.stderr)


def _alter(args: argparse.Namespace, config: _Config, admin: fk.AdminClient, topics: list[str]) -> None:
    timeout: float = args.timeout
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


_CHANGES: dict[str, Callable[[argparse.Namespace, _Config, fk.AdminClient, list[str]], None]] = {
    "create": _create,
    "delete": _delete,
    "alter": _alter,
}


def _exists(config: _Config, topic: str, timeout: float) -> bool:
    consumer = _metadata_consumer(config)
    try:
        return bool(consumer.list_topics(topic, timeout=timeout)["topics"].get(topic))
    finally:
        consumer.close()
