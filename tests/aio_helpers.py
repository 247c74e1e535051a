"""What the tests of ferrokafka.aio (tests/test_aio_*.py) share: running a coroutine on a new event
loop (the default one or uvloop), running a call on another thread, counting threads, waiting for
a condition on the loop, and reading a group's committed offsets."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

import ferrokafka as fk
from conftest import consumer_config

T = TypeVar("T")
# The event loops a test parametrized with `loop` runs on (uvloop is skipped where not installed).
LOOPS = ["asyncio", "uvloop"]


def run(main: Coroutine[Any, Any, T], loop: str = "asyncio") -> T:
    """Runs `main` on a new event loop of the given kind."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def on_other_thread(fn: Callable[[], object]) -> BaseException | None:
    """Runs `fn` on a new thread; returns what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return raised[0] if raised else None


def thread_counts() -> tuple[int, int]:
    """(Python threads, OS threads of this process)."""
    return threading.active_count(), len(os.listdir("/proc/self/task"))


def thread_names() -> list[str]:
    """The OS threads of this process by name (for failure messages)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:
            pass
    return sorted(names)


def recording_start(started: list[str]) -> Callable[[threading.Thread], None]:
    """A ``threading.Thread.start`` that records the thread's name, then starts it (a call that
    needed its thread still completes, and the test fails on the record, not on a hang)."""
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    return start


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Waits on the loop until `predicate()` holds; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def committed_offsets(bootstrap: str, group_id: str, topic: str, partitions: int) -> list[int]:
    """The offsets `group_id` committed for partitions 0 .. partitions-1 of `topic`."""
    with fk.Consumer(consumer_config(bootstrap, group_id)) as check:
        tps = [fk.TopicPartition(topic, p) for p in range(partitions)]
        return [tp.offset for tp in check.committed(tps, timeout=10)]
