"""``confluent_kafka.aio._common``: the one helper the drop-in's asyncio clients share with
confluent-kafka's by name: :func:`async_call` runs a blocking call on the client's ``executor``.

The drop-in's clients wait on the loop itself (no thread) for everything ``ferrokafka.aio`` can
wait on; only a call with no loop-native form (``cluster_id()`` when the broker must be asked)
runs on ``executor``, as every blocking call does in confluent-kafka's clients.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["async_call"]


async def async_call(
    executor: concurrent.futures.Executor, blocking_task: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """``blocking_task(*args, **kwargs)`` on ``executor``, awaited on the running loop."""
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(blocking_task, *args, **kwargs))
