"""Running user callbacks on the loop (``_Tasks``) and numbering the tasks that take messages
from a consumer (``_Owners``)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any


class _Owners:
    """Numbers the tasks that take messages from a consumer, the owners of what they are handed
    (see "Tasks sharing a consumer" in docs/asyncio.md): a task is numbered the first time it asks,
    and each of `ended` is called with `(number, finished)` when it ends (`finished`: it returned;
    not when it raised or was cancelled)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ended: Callable[[int, bool], None]) -> None:
        self.loop = loop
        self.ended = [ended]
        self.numbers: dict[asyncio.Task[Any], int] = {}
        self.last = 0

    def current(self) -> int:
        """The number of the task running now (0 outside any task)."""
        task = asyncio.current_task(self.loop)
        if task is None:
            return 0
        number = self.numbers.get(task)
        if number is None:
            number = self.numbers[task] = self.new()
            task.add_done_callback(self._done)
        return number

    def new(self) -> int:
        """A number no task has."""
        self.last += 1
        return self.last

    def _done(self, task: asyncio.Task[Any]) -> None:
        number = self.numbers.pop(task, None)
        if number is None:
            return
        # Read without task.exception(), which would mark an exception retrieved and silence
        # asyncio's report of it.
        finished = not task.cancelled() and getattr(task, "_exception", None) is None
        for ended in self.ended:
            ended(number, finished)


class _Tasks:
    """Runs user callbacks on the loop; an awaitable they return becomes a task, kept alive here,
    whose exception goes to the loop's exception handler."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.running: set[asyncio.Future[Any]] = set()

    def call(self, fn: Callable[..., object], *args: object) -> None:
        """Calls `fn(*args)` on this thread (the loop's); exceptions propagate."""
        result = fn(*args)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result, loop=self.loop)
            self.running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self.running.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.loop.call_exception_handler(
                {"message": "exception in a ferrokafka.aio callback", "exception": error, "future": task}
            )

    def _call_reporting(self, fn: Callable[..., object], *args: object) -> None:
        try:
            self.call(fn, *args)
        except Exception as error:  # nobody to propagate to: a callback marshalled from a thread
            self.loop.call_exception_handler({"message": "exception in a ferrokafka.aio callback", "exception": error})

    def on_loop(self, fn: Callable[..., object]) -> Callable[..., None]:
        """`fn` as a callback that runs on the loop: directly when called on the loop's thread
        (inside a consumer's poll, whose caller then sees its exception), else scheduled there
        (dropped once the loop is closed)."""

        def callback(*args: object) -> None:
            if threading.get_ident() == self.thread:
                self.call(fn, *args)
                return
            try:
                self.loop.call_soon_threadsafe(self._call_reporting, fn, *args)
            except RuntimeError:  # the loop is closed
                pass

        return callback


def _wrap_config_callbacks(config: dict[str, Any], tasks: _Tasks, names: Iterable[str]) -> None:
    for name in names:
        fn = config.get(name)
        if fn is not None and callable(fn):  # not callable: the native constructor says so
            config[name] = tasks.on_loop(fn)
