"""What every asyncio client shares: timeouts as loop deadlines, the loop check, a blocking call
on a thread of its own, and the ``async with`` base."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from ferrokafka._native import Error

_T = TypeVar("_T")


def _deadline(loop: asyncio.AbstractEventLoop, timeout: float | None) -> float | None:
    """A timeout in seconds as a loop time; None (and inf) is forever. Negative or NaN: ValueError,
    like every timeout of ferrokafka."""
    if timeout is None:
        return None
    timeout = float(timeout)
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be None or a non-negative number of seconds, not {timeout}")
    if math.isinf(timeout):
        return None
    return loop.time() + timeout


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _wrong_loop(client: object, loop: asyncio.AbstractEventLoop) -> Error:
    """The error for a client used outside `loop`, the one it was created in."""
    if loop.is_closed():
        state = "which is closed"
    elif loop.is_running():
        state = "which runs in another thread"
    else:
        state = "which is not running"
    return Error(
        f"this {type(client).__name__} belongs to the event loop {loop!r}, {state}: it works only on that "
        "loop (close() works anywhere)"
    )


async def _in_thread(call: Callable[[], _T], what: str) -> _T:
    """Runs a blocking call on a daemon thread of its own and awaits its result. Cancelling the
    await leaves the call to finish unobserved. Not the loop's default executor: its shutdown
    (``asyncio.run``'s end) would wait for a call that waits for a broker."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(value: _T, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def run() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = call()
        except BaseException as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:  # the loop is closed
            pass

    thread = threading.Thread(target=run, name=f"ferrokafka-aio-{what}", daemon=True)
    thread.start()
    result = await future
    while thread.is_alive():  # it has handed over its result and is ending: gone when we return
        await asyncio.sleep(0.001)
    return result


class _AsyncClient:
    """``async with client:`` closes the client at the end."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
