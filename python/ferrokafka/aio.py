"""asyncio clients: ``AIOConsumer``, ``AIOProducer`` and ``AIOAdminClient``.

A thin layer over the synchronous clients, named like ``confluent_kafka.aio`` so that moving from it
is a change of import. Every method that can wait is a coroutine and every client works with
``async with``. Clients must be created inside a running event loop (the default one or uvloop)
and used from that loop only.

How waiting works, per client:

- **Consumer**: no executor and no thread. librdkafka writes a byte to a non-blocking pipe the
  first time its queue gets something after the consumer last served it
  (``Consumer._io_event_enable``); the loop watches the pipe with ``loop.add_reader``. A
  ``poll()``/``consume()``/``async for`` takes what is ready with the synchronous calls and a zero
  timeout; only if nothing is, it drains the pipe, looks once more (a byte written after the drain
  keeps the pipe readable) and waits for it, with a timeout of one second at most, so librdkafka
  is served at least every second while a consumer waits (``max.poll.interval.ms``, callbacks).
  Logs that librdkafka's own threads emit do not wake the pipe: they are dispatched by the next
  call that serves the consumer (within a second while one waits). A pipe, not an eventfd:
  librdkafka writes a one-byte payload, and an eventfd only takes writes of eight bytes.
- **Producer**: deliveries reach the loop in batches, without the GIL on the way: librdkafka's
  delivery thread files each finished message natively (``_LoopDeliveries``) and writes to an
  eventfd the loop watches only when nothing was filed since the loop last looked; the loop then
  resolves every ``asyncio.Future`` filed at once (one wake-up for many reports). The
  transactional calls init/begin/abort are librdkafka's resumable calls, stepped on the loop's
  thread (at most 1 ms each, GIL released) with growing pauses between steps; commit runs on a
  thread of its own (see below).
- **Admin client**: each call wraps the client's ``concurrent.futures.Future`` with
  ``asyncio.wrap_future``.

Rebalances are applied by the loop: the consumer keeps each rebalance librdkafka serves
(``Consumer._defer_rebalances``) and the next ``poll()``/``consume()``/``async for`` runs
``on_assign``/``on_revoke``/``on_lost`` — plain functions or coroutine functions, which are
awaited — before it takes messages. As with confluent-kafka (and the synchronous consumer), each
runs before the rebalance is applied: ``on_revoke`` (and ``on_lost``) before the partitions go, so
it may ``await consumer.commit()``; ``on_assign`` before they are assigned, so it may set their
offsets and ``await consumer.assign(partitions)`` (``incremental_assign`` with a cooperative
assignor) itself. What a callback did not apply itself is applied as librdkafka gave it once the
callback returns. No message is lent while a rebalance callback runs.

``async for`` lends like the synchronous iterator: taking the next message supersedes the previous
one (reason ``"superseded"``), through ``Consumer._next_nowait``, the iterator's step without a
wait (the loop does the waiting).

Cancelling an ``await`` of ``poll()``, ``consume()``, ``consume_batch()`` or ``anext()`` never
loses a message: a call only waits while it holds none, and once it took messages it returns them
without waiting again (a rebalance found with them is served by the next call).

What still uses a thread, or blocks the loop briefly (all documented on the methods):

- ``list_topics()`` (librdkafka's metadata request has no form that answers on a queue),
  ``send_offsets_to_transaction()`` (librdkafka's call is not resumable),
  ``AIOProducer.commit_transaction()`` (librdkafka's commit is not safely resumable in short
  steps: see the method) and the final
  ``close()`` of a consumer or producer run the synchronous call on a daemon thread of their own
  (not the loop's default executor, whose shutdown would wait for them); the synchronous call
  itself may use a short-lived worker thread, as it does without asyncio. ``commit()``,
  ``committed()``, ``get_watermark_offsets()`` and ``offsets_for_times()`` need no thread: each is a
  request whose answer comes on a queue of its own, which wakes the consumer's pipe;
- ``AIOConsumer.seek()`` starts librdkafka's asynchronous seek; ferrokafka's synchronous ``seek``
  does that on a short-lived worker thread, which the loop waits for (microseconds);
- ``AIOProducer.produce_batch()`` waits on the loop's thread while librdkafka's queue is full.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, cast

from ferrokafka._native import (
    OFFSET_INVALID,
    AclBinding,
    AclBindingFilter,
    AdminClient,
    BorrowedMessage,
    Consumer,
    ConsumerGroupMetadata,
    DeliveryReport,
    DeliveryResults,
    DescribeClusterResult,
    Error,
    KafkaError,
    ListConsumerGroupsResult,
    MessageBatch,
    NewTopic,
    OwnedMessage,
    Producer,
    QueueFullError,
    TopicDescription,
    TopicPartition,
    UserScramCredentialDeletion,
    UserScramCredentialsDescription,
    UserScramCredentialUpsertion,
    _LoopDeliveries,
    _LoopRequest,
)

if TYPE_CHECKING:
    from concurrent.futures import Future as ConcurrentFuture

    from ferrokafka._native import _BatchMessages, _Bytesish, _ClusterMetadata, _GroupDescription, _HeaderPairs

__all__ = ["AIOAdminClient", "AIOConsumer", "AIOProducer", "AsyncDeserializingConsumer", "AsyncSerializingProducer"]

_T = TypeVar("_T")

RebalanceCallback = Callable[["AIOConsumer", list[TopicPartition]], object]
"""``on_assign``/``on_revoke``/``on_lost``: ``(consumer, partitions)``; may return an awaitable."""

DeliveryCallback = Callable[[KafkaError | None, DeliveryReport | None], object]
"""``on_delivery(error, report)`` (error first, as confluent-kafka's), run on the loop; may return an
awaitable (run as a task)."""

# The longest a waiting consumer goes without serving librdkafka (max.poll.interval.ms, callbacks,
# logs of librdkafka's threads).
_SERVE_EVERY = 1.0
# Transactional calls on the loop: each step waits at most this long inside librdkafka (the loop's
# thread is held that long), with pauses between steps growing from the first to the longest.
_TXN_STEP_MS = 1
_TXN_FIRST_PAUSE = 0.001
_TXN_MAX_PAUSE = 0.02
# How long a request that got no answer from a partition's leader waits before asking again.
_REASK_PAUSE = 0.1
# How long close() lets the consumer leave its group through the rebalance callbacks.
_LEAVE_BUDGET = 10.0
# How long a rebalance callback cut short by close() is given to end once cancelled.
_CANCEL_GRACE = 0.2


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


# --- consumer --------------------------------------------------------------------------------------


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


class AIOConsumer(_AsyncClient):
    """An asyncio consumer over :class:`ferrokafka.Consumer`, lending zero-copy
    :class:`~ferrokafka.BorrowedMessage` objects that belong to the event loop's thread.

    ``AIOConsumer(config)`` takes the same config as ``Consumer``, created inside a running loop and
    used from that loop only (elsewhere every method but ``close()`` raises ``Error``, before it
    sends or takes anything). ``error_cb``, ``stats_cb`` and ``on_commit`` run on the loop, inside
    the call that serves the consumer (an exception raised there propagates from it); each may be a
    coroutine function (its coroutine then runs as a task). ``logger`` works as in ``Consumer``
    (logs of librdkafka's own threads are dispatched at the next call that serves the consumer). See
    the module's docs for how waiting works.

    Several tasks may take messages from one consumer: what a call hands out belongs to the task
    that made it (the one calling ``poll()``, ``consume()``, ``consume_batch()`` or ``__anext__()``,
    also when ``asyncio.wait_for`` runs the call in a task of its own), and no offset stored or
    committed without arguments passes a message some task still holds (see "Tasks sharing a
    consumer" in docs/asyncio.md).
    """

    def __init__(self, consumer_conf: Mapping[str, object]) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._tasks = _Tasks(loop)
        self._closing = False
        self._closed = True  # until the native consumer exists: nothing for __del__ to warn about
        config: dict[str, Any] = dict(consumer_conf)
        _wrap_config_callbacks(config, self._tasks, ("error_cb", "stats_cb", "on_commit"))
        group_id = config.get("group.id")
        self._group_id = str(group_id) if group_id is not None else None
        self._read_committed = str(config.get("isolation.level", "read_committed")) == "read_committed"
        self._native = Consumer(config)
        self._rfd, self._wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self._native._defer_rebalances(True)
            self._native._io_event_enable(self._wfd)
        except BaseException:
            self._native.close()
            os.close(self._rfd)
            os.close(self._wfd)
            raise
        self._closed = False
        # Open while nothing is due but taking messages: no close under way, no rebalance being
        # served (its task runs on_assign/on_revoke). Kept in step with _closing and
        # _rebalance_task, so that the fast lane reads one attribute.
        self._lane_open = True
        self._poll_for = self._native._poll_for
        self._move_on = self._native._move_on
        self._owners = _Owners(loop, self._native._task_ended)
        self._fds_open = True
        self._waiters: list[asyncio.Future[None]] = []
        self._reader_on = False
        self._fd_waiting = 0  # calls waiting for the pipe right now
        self._callbacks: tuple[RebalanceCallback | None, RebalanceCallback | None, RebalanceCallback | None] = (
            None,
            None,
            None,
        )
        self._subscribed = False
        self._rebalance_task: asyncio.Task[None] | None = None
        self._rebalance_error: BaseException | None = None
        self._close_task: asyncio.Task[None] | None = None

    def _check_loop(self) -> None:
        if _running_loop() is not self._loop:
            raise _wrong_loop(self, self._loop)

    @property
    def _consumer(self) -> Consumer:
        """The synchronous consumer, for a call from this consumer's loop (else ``Error``)."""
        self._check_loop()
        return self._native

    def _taker(self, iterating: bool = False) -> int:
        """At a call that takes messages or commits what was taken: the calling task's number
        (refused off this consumer's loop), which is done with what it was handed so far."""
        self._check_loop()
        task = self._owners.current()
        self._move_on(task, iterating)
        return task

    # --- context manager, iteration -----------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    def __anext__(self) -> Coroutine[Any, Any, BorrowedMessage]:
        """The lending iterator, as the synchronous one, per task: a task's message is superseded
        when that task asks for its next one (read ``detach()`` what you keep). Ends when the
        consumer is closed. (A plain method returning the coroutine: the task is the one that calls
        it, also under ``asyncio.wait_for``.)"""
        return self._anext(self._taker(True))

    async def _anext(self, task: int) -> BorrowedMessage:
        # The fast lane of _fetch in one native call and without its coroutine frame: a message
        # is ready and nothing else is due.
        if self._lane_open:
            ready = self._poll_for(task, True, True)
            if ready is not None:
                return ready
        try:
            message = await self._fetch(partial(self._poll_for, task, True, False), None)
        except _Closed:
            raise StopAsyncIteration from None
        if message is None:  # cannot happen without a timeout; keeps the type honest
            raise StopAsyncIteration
        return message

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Leaving on an exception (a failed or cancelled task), the task is not done with what it
        # holds: it is not stored, and the group delivers it again.
        await self._close_as(None, self._owners.current() if exc is None and self._on_loop() else None)

    def _on_loop(self) -> bool:
        return _running_loop() is self._loop

    # --- taking messages ------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> Coroutine[Any, Any, BorrowedMessage | None]:
        """The next message, or None if none arrived within `timeout` seconds (None: wait until
        one does). The message belongs to the loop's thread (others get ``WrongThreadError``) and
        to the calling task (a coroutine function in effect: the task is the one that calls it)."""
        return self._poll(self._taker(), timeout)

    async def _poll(self, task: int, timeout: float | None) -> BorrowedMessage | None:
        try:
            return await self._fetch(partial(self._poll_for, task, False, False), timeout)
        except _Closed:
            raise Error("the consumer is closed") from None

    def consume(
        self, num_messages: int = 1, timeout: float | None = None
    ) -> Coroutine[Any, Any, list[BorrowedMessage]]:
        """Waits up to `timeout` seconds (None: until one arrives) for a first message, then adds
        those already fetched, up to `num_messages` (confluent-kafka's name and default, as the
        synchronous ``consume``'s)."""
        return self._consume(self._taker(), num_messages, timeout)

    async def _consume(self, task: int, num_messages: int, timeout: float | None) -> list[BorrowedMessage]:
        if num_messages == 0:
            return []
        take = partial(self._native._consume_for, task, num_messages)
        try:
            return await self._fetch(take, timeout) or []
        except _Closed:
            raise Error("the consumer is closed") from None

    def consume_batch(
        self, max_messages: int = 10000, timeout: float | None = None
    ) -> Coroutine[Any, Any, MessageBatch]:
        """Like ``consume()``, into one owned ``MessageBatch`` of Arrow columns (see
        ``Consumer.consume_batch``); an empty batch on timeout. For offsets the batch is held by the
        calling task as a whole."""
        return self._consume_batch(self._taker(), max_messages, timeout)

    async def _consume_batch(self, task: int, max_messages: int, timeout: float | None) -> MessageBatch:
        if max_messages == 0:
            return self._native.consume_batch(0, 0)
        take = partial(self._native._consume_batch_for, task, max_messages)
        try:
            batch = await self._fetch(take, timeout)
        except _Closed:
            raise Error("the consumer is closed") from None
        return batch if batch is not None else self._native.consume_batch(0, 0)

    async def _fetch(self, take: Callable[[], _T], timeout: float | None) -> _T | None:
        """Takes what is ready with `take` (a synchronous call with a zero timeout); while nothing
        is, serves rebalances and waits for the pipe. Waits only while it holds nothing: cancelling
        it loses no message. Returns what `take` returned last (falsy on timeout)."""
        consumer = self._native
        deadline = _deadline(self._loop, timeout) if timeout is not None else None
        # The fast lane: nothing to serve, something ready.
        if self._lane_open and consumer._pending_rebalance() is None:
            got = self._take(take)
            if got:
                return got
        if self._rebalance_task is not None and asyncio.current_task() is self._rebalance_task:
            raise Error("poll(), consume() and iteration cannot be called from a rebalance callback")
        while True:
            if self._closing or consumer.closed:
                raise _Closed
            if self._rebalance_task is not None or consumer._pending_rebalance() is not None:
                await self._serve_rebalance()
                continue
            got = self._take(take)
            if got:
                return got
            if consumer._pending_rebalance() is not None:
                continue
            # Nothing: drain the pipe, then look again; a byte written after the drain keeps the
            # pipe readable, so the wait below cannot miss what arrives from now on.
            self._drain_fd()
            got = self._take(take)
            if got:
                return got
            if consumer._pending_rebalance() is not None:
                continue
            if deadline is None:
                wait = _SERVE_EVERY
            else:
                wait = min(deadline - self._loop.time(), _SERVE_EVERY)
                if wait <= 0:
                    return got
            await self._wait_readable(wait)

    def _take(self, take: Callable[[], _T]) -> _T:
        try:
            return take()
        except Error:
            if self._native.closed:
                raise _Closed from None
            raise

    def _drain_fd(self) -> None:
        try:
            while os.read(self._rfd, 4096):
                pass
        except BlockingIOError:
            pass

    async def _wait_readable(self, timeout: float) -> None:
        """Waits until the pipe is readable, `timeout` passes or the consumer closes."""
        loop = self._loop
        waiter: asyncio.Future[None] = loop.create_future()
        if not self._reader_on:
            loop.add_reader(self._rfd, self._readable)
            self._reader_on = True
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, _resolve, waiter)
        self._fd_waiting += 1
        try:
            await waiter
        finally:
            self._fd_waiting -= 1
            timer.cancel()
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass
            if not self._waiters:
                self._reader_off()

    def _readable(self) -> None:
        """The loop's reader callback: wakes every waiting call (the first to run drains the pipe)."""
        waiters, self._waiters = self._waiters, []
        self._reader_off()
        for waiter in waiters:
            _resolve(waiter)

    def _reader_off(self) -> None:
        if self._reader_on:
            self._reader_on = False
            if not self._loop.is_closed():
                self._loop.remove_reader(self._rfd)

    # --- rebalances ---------------------------------------------------------------------------

    def _rebalance_started(self) -> asyncio.Task[None]:
        """The task serving the kept rebalance (started if none runs)."""
        task = self._rebalance_task
        if task is None:
            task = self._rebalance_task = self._loop.create_task(self._rebalance())
            self._lane_open = False
        return task

    async def _serve_rebalance(self) -> None:
        """Runs the kept rebalance's callback and applies it, in a task of its own: cancelling the
        caller neither interrupts the callback nor loses the rebalance. Every call that would take
        messages waits for it; the first one raises what the callback raised. Raises `_Closed` if
        close() cut the callback short."""
        task = self._rebalance_started()
        await asyncio.wait((task,))
        if task.cancelled():
            if self._closing:
                raise _Closed
            return  # cancelled from outside (the loop shutting down): the rebalance was applied
        if task.exception() is not None:  # not an Exception (those are kept): KeyboardInterrupt...
            raise cast(BaseException, task.exception())
        error = self._rebalance_error
        if error is not None:
            self._rebalance_error = None
            raise error

    async def _rebalance(self) -> None:
        consumer = self._native
        try:
            pending = consumer._pending_rebalance()
            if pending is None:
                return
            kind, partitions = pending
            on_assign, on_revoke, on_lost = self._callbacks
            # As in the synchronous consumer (and confluent-kafka): the callback runs first and may
            # apply the rebalance itself (assign(partitions) with offsets it set); what it did not
            # is applied as librdkafka gave it. on_lost falls back to on_revoke.
            if kind == "assign":
                callback = on_assign
            else:
                callback = on_lost if kind == "lost" and on_lost is not None else on_revoke
            try:
                await self._call_rebalance(callback, partitions)
            finally:
                if not consumer.closed:
                    consumer._finish_rebalance()
        except Exception as error:
            self._rebalance_error = error
        finally:
            if self._rebalance_task is asyncio.current_task():
                self._rebalance_task = None
                self._lane_open = not self._closing

    async def _call_rebalance(self, callback: RebalanceCallback | None, partitions: list[TopicPartition]) -> None:
        if callback is None:
            return
        result = callback(self, partitions)
        if inspect.isawaitable(result):
            await result

    # --- commits --------------------------------------------------------------------------------

    def commit(
        self,
        message: BorrowedMessage | OwnedMessage | MessageBatch | None = None,
        offsets: list[TopicPartition] | None = None,
        asynchronous: bool = True,
    ) -> Coroutine[Any, Any, list[TopicPartition] | None]:
        """Commits offsets to the group: a message's offset + 1 (a ``MessageBatch``: its last offset
        + 1 per partition), exactly `offsets`, or with neither what was handed out: per assigned
        partition, the offset after the last message handed out, but never past a message another
        task still holds (the calling task is done with what it holds).

        As confluent-kafka's, asynchronous by default: sends the commit and returns None; the
        result goes to ``on_commit``. With ``asynchronous=False`` this returns the offsets committed
        once the broker answered (raising its ``KafkaError``), without a
        thread: librdkafka posts the result on a queue of this commit's own, which wakes the loop
        (``rd_kafka_commit_queue``), so it arrives whether or not another task polls the consumer,
        also from a rebalance callback. ``on_commit`` hears of it too, at the next call that serves
        the consumer. Cancelling the await leaves the commit to complete unobserved.
        """
        if message is None and offsets is None:
            task: int | None = self._taker()
        else:
            self._check_loop()
            task = None
        return self._commit(task, message, offsets, asynchronous)

    async def _commit(
        self,
        task: int | None,
        message: BorrowedMessage | OwnedMessage | MessageBatch | None,
        offsets: list[TopicPartition] | None,
        asynchronous: bool,
    ) -> list[TopicPartition] | None:
        if self._closed:
            raise Error("the consumer is closed")
        explicit = self._offsets_to_commit(task, message, offsets)
        if asynchronous:
            if explicit:
                self._native.commit(offsets=explicit, asynchronous=True)
            return None
        if not explicit:
            return []
        return await self._request(lambda fd: self._native._commit_to_loop(explicit, fd), None)

    def _offsets_to_commit(
        self,
        task: int | None,
        message: BorrowedMessage | OwnedMessage | MessageBatch | None,
        offsets: list[TopicPartition] | None,
    ) -> list[TopicPartition]:
        if isinstance(message, MessageBatch):
            return message.next_offsets
        if isinstance(message, BorrowedMessage | OwnedMessage):
            return [
                TopicPartition(message.topic, message.partition, message.offset + 1, leader_epoch=message.leader_epoch)
            ]
        if message is not None:
            raise TypeError("expected a BorrowedMessage, an OwnedMessage or a MessageBatch")
        if offsets is not None:
            return list(offsets)
        return [tp for tp in self._native._commit_offsets_for(task or 0) if tp.offset >= 0]

    async def store_offsets(
        self, message: BorrowedMessage | OwnedMessage | None = None, offsets: list[TopicPartition] | None = None
    ) -> None:
        """As ``Consumer.store_offsets`` (local, does not wait)."""
        self._consumer.store_offsets(message, offsets=offsets)

    # --- subscription and assignment (local calls: they do not wait) ----------------------------

    async def subscribe(
        self,
        topics: str | Iterable[str],
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
        on_lost: RebalanceCallback | None = None,
    ) -> None:
        """Subscribes to topics (a name or a list; ``^`` starts a regex), replacing any previous
        subscription. The callbacks get ``(this AIOConsumer, partitions)`` and may be coroutine
        functions, awaited before the rebalance is applied (as ``Consumer.subscribe()``'s):
        ``on_revoke`` (or ``on_lost``, which falls back to ``on_revoke``) before the partitions go,
        ``on_assign`` before they are assigned — it may set their offsets and ``await
        consumer.assign(partitions)`` itself, else they are assigned as they came once it returns.
        They run inside the next ``poll()``/``consume()``/iteration (or ``close()``), whose caller
        gets their exception."""
        for name, callback in (("on_assign", on_assign), ("on_revoke", on_revoke), ("on_lost", on_lost)):
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable")
        self._consumer.subscribe(topics)
        self._callbacks = (on_assign, on_revoke, on_lost)
        self._subscribed = True

    async def unsubscribe(self) -> None:
        """Leaves the subscription; the revocation (and its ``on_revoke``) is served by the next
        call that serves the consumer."""
        self._consumer.unsubscribe()

    async def assign(self, partitions: list[TopicPartition]) -> None:
        """Consumes exactly these partitions, from their given offsets (``Consumer.assign()``; from
        ``on_assign``, in place of the default assignment)."""
        self._consumer.assign(partitions)

    async def unassign(self) -> None:
        """Stops consuming every assigned partition (``Consumer.unassign()``)."""
        self._consumer.unassign()

    async def memberid(self) -> str | None:
        """The consumer's member id in its group, or None (``Consumer.memberid()``)."""
        return self._consumer.memberid()

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """New SASL credentials for new connections (``Consumer.set_sasl_credentials()``)."""
        self._native.set_sasl_credentials(username, password)

    async def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self._consumer.incremental_assign(partitions)

    async def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        self._consumer.incremental_unassign(partitions)

    async def assignment(self) -> list[TopicPartition]:
        return self._consumer.assignment()

    async def pause(self, partitions: list[TopicPartition]) -> None:
        self._consumer.pause(partitions)

    async def resume(self, partitions: list[TopicPartition]) -> None:
        self._consumer.resume(partitions)

    async def position(self, partitions: list[TopicPartition] | None = None) -> list[TopicPartition]:
        """The position (last message handed out + 1, or ``OFFSET_INVALID``); local."""
        return self._consumer.position(partitions)

    async def consumer_group_metadata(self) -> ConsumerGroupMetadata:
        """For ``AIOProducer.send_offsets_to_transaction()``."""
        return self._consumer.consumer_group_metadata()

    async def seek(self, partition: TopicPartition) -> None:
        """Moves the fetch position of an assigned partition to ``partition.offset``. Starts
        librdkafka's asynchronous seek (messages fetched before it are never lent after it);
        ferrokafka runs that call on a short-lived worker thread, which the loop waits for (it
        returns at once)."""
        self._consumer.seek(partition, 0)

    # --- broker requests (a thread each) --------------------------------------------------------

    async def committed(
        self, partitions: list[TopicPartition] | None = None, timeout: float | None = None
    ) -> list[TopicPartition]:
        """The group's committed offsets of `partitions` (default: the assignment), OFFSET_INVALID
        where there is none; asked of the coordinator with a request of its own (no thread)."""
        if self._group_id is None:
            raise Error("committed() needs a group.id")
        group_id = self._group_id
        return await self._request(lambda fd: self._consumer._committed_to_loop(partitions, group_id, fd), timeout)

    async def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None) -> tuple[int, int]:
        """(low, high) watermarks, asked of the broker (two requests of their own, no thread); the
        high one at the consumer's ``isolation.level`` (read_committed: the last stable offset)."""
        earliest = TopicPartition(partition.topic, partition.partition, -2)
        latest = TopicPartition(partition.topic, partition.partition, -1)
        low, high = await asyncio.gather(self._list_offsets([earliest], timeout), self._list_offsets([latest], timeout))
        return low[0].offset, high[0].offset

    async def offsets_for_times(
        self, partitions: list[TopicPartition], timeout: float | None = None
    ) -> list[TopicPartition]:
        """For each partition whose `offset` holds a timestamp (ms): the earliest offset whose
        timestamp is at least that (OFFSET_END when there is none); one request, no thread."""
        if any(tp.offset < 0 for tp in partitions):
            raise ValueError("offsets_for_times() takes timestamps (ms, >= 0) in the offsets")
        return await self._list_offsets(partitions, timeout)

    async def _list_offsets(self, partitions: list[TopicPartition], timeout: float | None) -> list[TopicPartition]:
        """ListOffsets until every partition has an answer: with its leader unreachable librdkafka
        answers OFFSET_INVALID without an error, then asked again (as the synchronous consumer's
        requests do) until `timeout`, which raises ``_TIMED_OUT``."""
        read_committed = self._read_committed
        deadline = _deadline(self._loop, timeout)
        while True:
            left = None if deadline is None else max(0.0, deadline - self._loop.time())
            offsets = await self._request(
                lambda fd: self._consumer._list_offsets_to_loop(partitions, read_committed, fd), left
            )
            if all(tp.offset != OFFSET_INVALID for tp in offsets):
                return offsets
            if deadline is not None and self._loop.time() + _REASK_PAUSE >= deadline:
                raise KafkaError(KafkaError._TIMED_OUT, "no answer from the partitions' leaders within the timeout")
            await asyncio.sleep(_REASK_PAUSE)

    async def _request(self, send: Callable[[int], _LoopRequest], timeout: float | None) -> list[TopicPartition]:
        """Sends a request whose result comes on a queue of its own, which wakes the consumer's
        pipe, and waits for it (up to `timeout`: then a ``_TIMED_OUT`` KafkaError)."""
        if self._closed or not self._fds_open:
            raise Error("the consumer is closed")
        request = send(self._wfd)
        deadline = _deadline(self._loop, timeout)
        while True:
            self._drain_fd()  # before looking: a result that comes later writes to it again
            result = request.result()  # raises the request's KafkaError
            if result is not None:
                return result
            if not self._fds_open:
                raise Error("the consumer was closed while a request waited for its answer")
            wait = _SERVE_EVERY
            if deadline is not None:
                wait = deadline - self._loop.time()
                if wait <= 0:
                    raise KafkaError(KafkaError._TIMED_OUT, "no answer from the broker within the timeout")
            await self._wait_readable(min(wait, _SERVE_EVERY))

    async def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """Cluster metadata (asks the broker: runs on a thread of its own)."""
        consumer = self._consumer
        return await _in_thread(partial(consumer.list_topics, topic, timeout), "list_topics")

    # --- state, closing -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed or self._native.closed

    @property
    def live_message_count(self) -> int:
        return self._native.live_message_count

    def close(self, timeout: float | None = None) -> Coroutine[Any, Any, None]:
        """Leaves the group properly, then closes: pauses what is assigned (nothing more is lent),
        unsubscribes and serves the revocation through ``on_revoke`` (awaited; it may commit), then
        closes the synchronous consumer on a thread of its own. Serving the revocation takes 10 s
        at most (or `timeout`, if shorter): a rebalance callback still running then is cancelled
        (reported to the loop's exception handler) and the revocation applied without it.
        `timeout` bounds the whole close (None: the synchronous ``close()`` waits until librdkafka
        is done). The calling task is done with the messages it holds (stored for auto-commit, as
        a synchronous close from the receiving thread does; not when ``async with`` is left by an
        exception). Every borrowed message is invalidated (``consumer_closed``). Idempotent;
        cancelling the await does not stop the close, which always completes. Raises what a
        rebalance callback raised while leaving, after closing. Not from a rebalance callback.

        After this consumer's loop ended (or from another loop) it still closes, on the loop it is
        awaited in, leaving the group without the rebalance callbacks (they belong to that loop)."""
        return self._close_as(timeout, self._owners.current() if self._on_loop() else None)

    async def _close_as(self, timeout: float | None, task: int | None) -> None:
        """close(), for `task` (None: finishing nothing)."""
        if not self._on_loop():
            await self._close_elsewhere(timeout)
            return
        if self._close_task is None:
            if self._rebalance_task is not None and asyncio.current_task() is self._rebalance_task:
                raise Error("close() cannot be called from a rebalance callback")
            _deadline(self._loop, timeout)  # a bad timeout raises before anything closes
            if task is not None:
                self._move_on(task, False)
            self._close_task = self._loop.create_task(self._close(timeout))
        await asyncio.shield(self._close_task)

    async def _close(self, timeout: float | None) -> None:
        loop = self._loop
        deadline = _deadline(loop, timeout)
        self._closing = True
        self._lane_open = False
        self._readable()  # wake the waiting calls: they end
        error: BaseException | None = None
        try:
            if not self._native.closed:
                budget = _LEAVE_BUDGET if deadline is None else min(_LEAVE_BUDGET, deadline - loop.time())
                await self._leave(loop.time() + budget)
        except Exception as exc:
            error = exc
        finally:
            self._teardown_fd()
            consumer = self._native
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                await _in_thread(partial(consumer.close, left), "close")
            finally:
                self._closed = True
        if error is not None:
            raise error

    async def _leave(self, deadline: float) -> None:
        """Pauses the assignment (librdkafka and the messages fetched but not lent hold),
        unsubscribes and serves the revocation, until the loop time `deadline`: a rebalance
        callback still running then is cut short."""
        consumer = self._native
        if self._rebalance_task is not None and not await self._settle_rebalance(self._rebalance_task, deadline):
            return
        self._hold_assignment()
        error: BaseException | None = None
        if self._subscribed:
            consumer.unsubscribe()
        # Messages still taken here go to no task: never finished, so never stored.
        nobody = self._owners.new()
        while True:
            if self._rebalance_task is not None or consumer._pending_rebalance() is not None:
                task = self._rebalance_started()
                if not await self._settle_rebalance(task, deadline):
                    break
                if self._rebalance_error is not None:
                    error = error or self._rebalance_error
                    self._rebalance_error = None
                self._hold_assignment()
                continue
            self._drain_fd()
            leftover = consumer._poll_for(nobody, False, False)
            if leftover is not None:
                # Not expected (everything is paused): stop serving, so that its offset is never
                # stored; the synchronous close then finishes the rebalance without callbacks.
                break
            if consumer._pending_rebalance() is not None:
                continue
            if not self._subscribed or not consumer.assignment():
                break
            left = deadline - self._loop.time()
            if left <= 0:
                break
            await self._wait_readable(min(left, 0.2))
        if error is not None:
            raise error

    async def _settle_rebalance(self, task: asyncio.Task[None], deadline: float) -> bool:
        """Waits for the rebalance `task` until the loop time `deadline`; then cancels it and gives
        it a moment to end (a callback may ignore the cancellation: close() goes on without it).
        True if it ended in time."""
        done, _ = await asyncio.wait((task,), timeout=max(0.0, deadline - self._loop.time()))
        if done:
            return True
        task.cancel()
        await asyncio.wait((task,), timeout=_CANCEL_GRACE)
        self._loop.call_exception_handler(
            {
                "message": "ferrokafka.aio: a rebalance callback was still running when close() had to go on: "
                "cancelled, and the rebalance applied without it",
                "task": task,
            }
        )
        return False

    def _hold_assignment(self) -> None:
        try:
            assigned = self._native.assignment()
            if assigned:
                self._native.pause(assigned)
        except Error:
            pass

    async def _close_elsewhere(self, timeout: float | None) -> None:
        """close() awaited outside this consumer's loop. That loop running in another thread closes
        it there; ended (or stopped), it cannot run anything any more: the consumer closes here,
        on a thread of its own, leaving the group without the rebalance callbacks."""
        loop = self._loop
        if loop.is_running():
            closing = asyncio.run_coroutine_threadsafe(self._close_as(timeout, None), loop)
            waiting = asyncio.wrap_future(closing)
            while not waiting.done() and loop.is_running():
                await asyncio.wait((waiting,), timeout=0.1)
            if waiting.done():
                return waiting.result()
            closing.cancel()  # the loop stopped before it ran: close here
        self._closing = True
        self._lane_open = False
        # Futures of that loop: nobody can wait for them any more (resolving one would schedule its
        # callbacks on the dead loop).
        self._waiters = []
        self._teardown_fd()
        try:
            await _in_thread(partial(self._native.close, timeout), "close")
        finally:
            self._closed = True

    def _teardown_fd(self) -> None:
        if not self._fds_open:
            return
        self._fds_open = False
        try:
            self._native._io_event_enable(None)
        except Error:
            pass  # closed: it wrote its last byte
        if threading.get_ident() == self._tasks.thread:
            if self._loop.is_closed():
                self._waiters, self._reader_on = [], False  # nothing can wait on a closed loop
            else:
                self._readable()  # wakes the waiting calls, stops watching the pipe
        os.close(self._rfd)
        os.close(self._wfd)

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        warnings.warn(
            "ferrokafka.aio.AIOConsumer was not closed; await close() or use `async with`",
            ResourceWarning,
            stacklevel=1,
            source=self,
        )
        try:
            self._teardown_fd()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<AIOConsumer {'closed' if self.closed else 'open'}>"


class _Closed(Exception):
    """Internal: the consumer was closed while a call waited."""


# --- producer --------------------------------------------------------------------------------------


class _Deliveries:
    """Delivery reports on their way to the loop. A message of ``produce()`` is filed natively (no
    GIL) in ``sink``, which writes to an eventfd the loop watches only when it was empty; the loop
    then resolves everything filed at once. ``produce_batch()`` batches come through ``report``
    (one ``call_soon_threadsafe`` per batch). Kept apart from the AIOProducer so that messages in
    flight do not keep that alive."""

    def __init__(self, loop: asyncio.AbstractEventLoop, tasks: _Tasks) -> None:
        self.loop = loop
        self.tasks = tasks
        self.lock = threading.Lock()
        self.ready: list[tuple[asyncio.Future[Any] | None, DeliveryCallback | None, Any, BaseException | None]] = []
        self.scheduled = False
        self.in_flight = 0  # futures not resolved yet
        self.served = 0  # outcomes served on the loop so far
        self.progress: list[asyncio.Future[None]] = []  # woken at every drain
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.sink = _LoopDeliveries(self.wake_fd)
        loop.add_reader(self.wake_fd, self.woken)

    def woken(self) -> None:
        try:
            os.eventfd_read(self.wake_fd)
        except BlockingIOError:
            pass
        self.drain()

    def close(self) -> None:
        """Stops watching the eventfd and closes it (the sink keeps its own duplicate for messages
        still in flight). Any thread; idempotent."""
        if self.wake_fd < 0:
            return
        if self.loop.is_running() and threading.get_ident() != self.tasks.thread:
            try:
                self.loop.call_soon_threadsafe(self.close)
                return
            except RuntimeError:
                pass  # closed meanwhile
        fd, self.wake_fd = self.wake_fd, -1
        if not self.loop.is_closed():
            self.loop.remove_reader(fd)
        os.close(fd)
        self.sink.close()  # and the sink's duplicate: nobody listens any more

    def report(
        self,
        future: asyncio.Future[Any] | None,
        callback: DeliveryCallback | None,
        value: Any,
        error: BaseException | None,
    ) -> None:
        """Any thread: queues an outcome for the loop."""
        with self.lock:
            self.ready.append((future, callback, value, error))
            if self.scheduled:
                return
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.drain)
        except RuntimeError:  # the loop is closed: nobody waits for these any more
            pass

    def drain(self) -> int:
        """On the loop: resolves what arrived; returns how many futures and callbacks it served."""
        resolved, calls = self.sink.resolve()
        self.in_flight -= resolved
        with self.lock:
            ready, self.ready = self.ready, []
            self.scheduled = False
        if calls is not None:
            for on_delivery, failure, report in calls:
                self._call(on_delivery, failure, report)
        for future, callback, value, error in ready:
            if future is not None:
                self.in_flight -= 1
                if not future.done():
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(value)
            if callback is not None:
                self._call(callback, error, value)
        served = resolved + len(ready)
        if served:
            self.served += served
            waiters, self.progress = self.progress, []
            for waiter in waiters:
                _resolve(waiter)
        return served

    def _call(self, callback: DeliveryCallback, error: BaseException | None, report: Any) -> None:
        try:
            self.tasks.call(callback, error, report)
        except Exception as exc:
            self.loop.call_exception_handler({"message": "exception in on_delivery", "exception": exc})

    async def wait_progress(self, timeout: float | None) -> None:
        waiter: asyncio.Future[None] = self.loop.create_future()
        self.progress.append(waiter)
        timer = self.loop.call_later(timeout, _resolve, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            try:
                self.progress.remove(waiter)
            except ValueError:
                pass


class AIOProducer(_AsyncClient):
    """An asyncio producer over :class:`ferrokafka.Producer`.

    ``AIOProducer(config)`` takes the same config as ``Producer``, created inside a running loop.
    ``on_delivery`` (config or per message), ``error_cb`` and ``stats_cb`` run on the loop (they may
    be coroutine functions: their coroutines run as tasks); the logger runs on the delivery thread,
    as in ``Producer``. Delivery reports reach the loop in batches (one wake-up for many).
    """

    def __init__(self, producer_conf: Mapping[str, object]) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._closed = True  # until the native producer exists
        self._tasks = _Tasks(loop)
        config: dict[str, Any] = dict(producer_conf)
        self._on_delivery: DeliveryCallback | None = None
        on_delivery = config.get("on_delivery")
        if on_delivery is not None and callable(on_delivery):
            self._on_delivery = cast(DeliveryCallback, config.pop("on_delivery"))
        _wrap_config_callbacks(config, self._tasks, ("error_cb", "stats_cb"))
        self._native = Producer(config)
        self._deliveries = _Deliveries(loop, self._tasks)
        self._closed = False
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None

    def _check_loop(self) -> None:
        if _running_loop() is not self._loop:
            raise _wrong_loop(self, self._loop)

    @property
    def _producer(self) -> Producer:
        """The synchronous producer, for a call from this producer's loop (else ``Error``)."""
        self._check_loop()
        return self._native

    async def produce(
        self,
        topic: str,
        value: _Bytesish | None = None,
        key: _Bytesish | None = None,
        *,
        partition: int | None = None,
        timestamp: int | None = None,
        headers: _HeaderPairs | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> asyncio.Future[DeliveryReport]:
        """Queues a message and returns an ``asyncio.Future`` resolving (on the loop) to its
        ``DeliveryReport``, or raising its ``KafkaError``: ``report = await (await
        producer.produce(...))``, as with confluent-kafka. `on_delivery(error, report)` (or the
        config's; error first, as confluent-kafka's) runs on the loop. While librdkafka's queue is
        full, waits for deliveries instead of raising ``QueueFullError``. Cancelling the returned
        future does not cancel the delivery. Off the producer's loop (after it ended, say) raises
        ``Error`` and sends nothing."""
        self._check_loop()
        if self._closing:
            raise Error("the producer is closed")
        future: asyncio.Future[DeliveryReport] = self._loop.create_future()
        deliveries = self._deliveries
        producer = self._native
        while True:
            try:
                producer._produce_to_loop(
                    deliveries.sink,
                    future,
                    topic,
                    value,
                    key,
                    partition,
                    timestamp,
                    headers,
                    on_delivery or self._on_delivery,
                )
                break
            except QueueFullError:
                pass
            await deliveries.wait_progress(0.1)
        self._deliveries.in_flight += 1
        return future

    async def produce_batch(
        self,
        topic: str,
        messages: _BatchMessages,
        *,
        partition: int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> asyncio.Future[DeliveryResults]:
        """``Producer.produce_batch`` (one future for the batch, resolving to ``DeliveryResults``);
        `on_delivery` runs on the loop once per message. Note: the synchronous call sends the whole
        batch before returning and waits, on the loop's thread, while librdkafka's queue is full
        (size ``queue.buffering.max.messages`` to your batches)."""
        self._check_loop()
        if self._closing:
            raise Error("the producer is closed")
        deliveries = self._deliveries
        future: asyncio.Future[DeliveryResults] = self._loop.create_future()
        callback = on_delivery or self._on_delivery
        per_message = None
        if callback is not None:

            def per_message(error: KafkaError | None, report: DeliveryReport | None) -> None:
                deliveries.report(None, callback, report, error)

        batch = self._producer.produce_batch(topic, messages, partition=partition, on_delivery=per_message)
        deliveries.in_flight += 1

        def done(finished: ConcurrentFuture[DeliveryResults]) -> None:
            error = finished.exception()
            deliveries.report(future, None, None if error is not None else finished.result(), error)

        batch.add_done_callback(done)
        return future

    async def poll(self, timeout: float = 0.0) -> int:
        """Resolves, now, the futures (and runs the ``on_delivery`` callbacks) of deliveries that
        reached the loop, waiting up to `timeout` seconds for some if none did; returns how many.
        Deliveries reach the loop on their own: this is only for code written for confluent-kafka."""
        self._check_loop()
        deliveries = self._deliveries
        before = deliveries.served
        deadline = _deadline(self._loop, timeout)
        if deliveries.drain() == 0 and timeout != 0:
            await deliveries.wait_progress(None if deadline is None else max(0.0, deadline - self._loop.time()))
            deliveries.drain()
        return deliveries.served - before

    async def flush(self, timeout: float | None = None) -> int:
        """Waits, without blocking the loop, until every produced message is delivered or failed and
        its future resolved, or `timeout` seconds pass; returns how many are not (0: all done).
        Cancelling it leaves the deliveries in flight. Messages still wait up to ``linger.ms``
        (librdkafka's flush would send them at once)."""
        self._check_loop()
        deliveries = self._deliveries
        deadline = _deadline(self._loop, timeout)
        while deliveries.in_flight > 0:
            if deadline is None:
                await deliveries.wait_progress(None)
            else:
                left = deadline - self._loop.time()
                if left <= 0:
                    break
                await deliveries.wait_progress(left)
        return deliveries.in_flight

    async def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """Cluster metadata (asks the broker: runs on a thread of its own)."""
        producer = self._producer
        return await _in_thread(partial(producer.list_topics, topic, timeout), "list_topics")

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """New SASL credentials for new connections (``Producer.set_sasl_credentials()``)."""
        self._native.set_sasl_credentials(username, password)

    async def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        """Fails messages not delivered yet (see ``Producer.purge``); their futures raise
        ``_PURGE_QUEUE`` / ``_PURGE_INFLIGHT`` shortly after."""
        self._producer.purge(in_queue, in_flight)

    # --- transactions: librdkafka's resumable calls, stepped on the loop ------------------------

    async def _transaction(self, call: Literal["init", "begin", "abort"], timeout: float) -> None:
        """Runs a transactional call in steps of at most _TXN_STEP_MS on the loop's thread (GIL
        released), sleeping between them: librdkafka goes on in the background and resumes where it
        was at the next step. Past `timeout`, raises the retriable ``_TIMED_OUT`` of the synchronous
        call; a cancelled await leaves the call in progress, resumed by calling it again."""
        producer, loop = self._producer, self._loop
        if self._closing:
            raise Error("the producer is closed")
        deadline = loop.time() + timeout
        pause = _TXN_FIRST_PAUSE
        while not producer._transaction_step(call, _TXN_STEP_MS):
            if loop.time() >= deadline:
                producer._transaction_step(call, 0, last=True)  # raises its _TIMED_OUT
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, _TXN_MAX_PAUSE)

    async def init_transactions(self, timeout: float = 30.0) -> None:
        """``Producer.init_transactions``, stepped on the loop (no thread)."""
        await self._transaction("init", timeout)

    async def begin_transaction(self) -> None:
        """``Producer.begin_transaction`` (librdkafka only changes local state: no wait)."""
        await self._transaction("begin", 0.0)

    async def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], group_metadata: ConsumerGroupMetadata, timeout: float = 30.0
    ) -> None:
        """``Producer.send_offsets_to_transaction`` on a thread of its own: librdkafka's call is not
        resumable (asking again sends a new request), so it cannot be stepped on the loop."""
        producer = self._producer
        await _in_thread(
            partial(producer.send_offsets_to_transaction, offsets, group_metadata, timeout), "send_offsets"
        )

    async def commit_transaction(self, timeout: float = 60.0) -> None:
        """``Producer.commit_transaction``: waits for the transaction's deliveries (as ``flush()``,
        on the loop), then commits on a thread of its own; the messages' futures are resolved when
        it returns. Not stepped on the loop like the other transactional calls: a resumed
        librdkafka commit whose first phase times out forgets that it is a commit, and the
        coordinator's answer is then taken for an abort's (a "BUG: Invalid transaction state
        transition" that fails the next call), so it runs as one call."""
        producer = self._producer
        if self._closing:
            raise Error("the producer is closed")
        deadline = self._loop.time() + timeout
        try:
            await self.flush(timeout)
            left = max(0.0, deadline - self._loop.time())
            await _in_thread(partial(producer.commit_transaction, left), "commit_transaction")
        finally:
            await self._settle()

    async def abort_transaction(self, timeout: float = 60.0) -> None:
        """``Producer.abort_transaction``, stepped on the loop (no thread); the aborted messages'
        futures are resolved (failed) when it returns."""
        try:
            await self._transaction("abort", timeout)
        finally:
            await self._settle()

    async def _settle(self) -> None:
        """Lets the reports of messages the synchronous call resolved reach the loop (bounded)."""
        self._deliveries.drain()
        if self._deliveries.in_flight > 0:
            await self.flush(1.0)

    # --- state, closing -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Messages (and ``produce_batch`` batches) whose futures are not resolved yet."""
        return self._deliveries.in_flight

    @property
    def closed(self) -> bool:
        return self._closed or self._native.closed

    async def close(self, timeout: float | None = None) -> None:
        """Flushes (up to `timeout` seconds; None: until librdkafka's ``message.timeout.ms``),
        then closes the synchronous producer on a thread of its own, which fails what is left with a
        purge error. Every future is resolved when it returns. Idempotent; cancelling the await does
        not stop the close. After the producer's loop ended (or from another loop) it still closes,
        on the loop it is awaited in (the futures of the ended loop stay unresolved: nothing can
        await them any more)."""
        if _running_loop() is not self._loop:
            await self._close_elsewhere(timeout)
            return
        if self._close_task is None:
            _deadline(self._loop, timeout)  # a bad timeout raises before anything closes
            self._close_task = self._loop.create_task(self._close(timeout))
        await asyncio.shield(self._close_task)

    async def _close(self, timeout: float | None) -> None:
        self._closing = True
        try:
            await self.flush(timeout)
        finally:
            producer = self._native
            try:
                await _in_thread(partial(producer.close, 0), "close")
            finally:
                self._closed = True
                # Every message is resolved natively now; their reports may still be on their way.
                self._deliveries.drain()
                if self._deliveries.in_flight > 0:
                    await self.flush(5.0)
                self._deliveries.close()

    async def _close_elsewhere(self, timeout: float | None) -> None:
        """close() awaited outside this producer's loop. That loop running in another thread closes
        it there; ended (or stopped), it cannot run anything any more: the synchronous producer
        closes (flushing up to `timeout`) on a thread of its own, here."""
        loop = self._loop
        if loop.is_running():
            closing = asyncio.run_coroutine_threadsafe(self.close(timeout), loop)
            waiting = asyncio.wrap_future(closing)
            while not waiting.done() and loop.is_running():
                await asyncio.wait((waiting,), timeout=0.1)
            if waiting.done():
                return waiting.result()
            closing.cancel()  # the loop stopped before it ran: close here
        self._closing = True
        try:
            await _in_thread(partial(self._native.close, timeout), "close")
        finally:
            self._closed = True
            self._deliveries.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        warnings.warn(
            "ferrokafka.aio.AIOProducer was not closed; await close() or use `async with`",
            ResourceWarning,
            stacklevel=1,
            source=self,
        )
        try:
            self._deliveries.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<AIOProducer {'closed' if self.closed else 'open'}, {len(self)} unresolved>"


# --- admin client ----------------------------------------------------------------------------------


class AIOAdminClient(_AsyncClient):
    """An asyncio admin client over :class:`ferrokafka.AdminClient`: each method is a coroutine
    resolving to what the synchronous method's future resolves to (``asyncio.wrap_future``).
    ``error_cb`` runs on the loop (it may be a coroutine function). Cancelling an await does not
    cancel the request. Used off its loop (after it ended, say), every method but ``close()`` raises
    ``Error`` and sends nothing."""

    def __init__(self, conf: Mapping[str, object]) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._tasks = _Tasks(loop)
        config: dict[str, Any] = dict(conf)
        _wrap_config_callbacks(config, self._tasks, ("error_cb", "stats_cb"))
        self._native = AdminClient(config)

    @property
    def _admin(self) -> AdminClient:
        """The synchronous admin client, for a call from this client's loop (else ``Error``)."""
        if _running_loop() is not self._loop:
            raise _wrong_loop(self, self._loop)
        return self._native

    @staticmethod
    async def _result(future: ConcurrentFuture[_T]) -> _T:
        return await asyncio.wrap_future(future)

    async def create_topics(self, topics: list[NewTopic], *, operation_timeout: float | None = None) -> None:
        await self._result(self._admin.create_topics(topics, operation_timeout=operation_timeout))

    async def delete_topics(self, names: list[str], *, operation_timeout: float | None = None) -> None:
        await self._result(self._admin.delete_topics(names, operation_timeout=operation_timeout))

    async def create_partitions(
        self, topic: str, new_total_count: int, *, operation_timeout: float | None = None
    ) -> None:
        await self._result(self._admin.create_partitions(topic, new_total_count, operation_timeout=operation_timeout))

    async def describe_configs(
        self, resource_type: Literal["topic", "broker"], name: str, *, detailed: bool = False
    ) -> Any:
        """{name: value}, or with ``detailed=True`` {name: ConfigEntry} (see ``AdminClient``)."""
        if detailed:
            return await self._result(self._admin.describe_configs(resource_type, name, detailed=True))
        return await self._result(self._admin.describe_configs(resource_type, name))

    async def alter_configs(
        self, resource_type: Literal["topic", "broker"], name: str, config: Mapping[str, str | None]
    ) -> None:
        await self._result(self._admin.alter_configs(resource_type, name, config))

    async def list_groups(self) -> list[str]:
        return await self._result(self._admin.list_groups())

    async def describe_groups(self, group_ids: list[str]) -> dict[str, _GroupDescription]:
        return await self._result(self._admin.describe_groups(group_ids))

    async def delete_groups(self, group_ids: list[str]) -> None:
        await self._result(self._admin.delete_groups(group_ids))

    async def list_consumer_group_offsets(
        self, group_id: str, partitions: list[TopicPartition] | None = None
    ) -> list[TopicPartition]:
        return await self._result(self._admin.list_consumer_group_offsets(group_id, partitions))

    async def alter_consumer_group_offsets(self, group_id: str, offsets: list[TopicPartition]) -> None:
        await self._result(self._admin.alter_consumer_group_offsets(group_id, offsets))

    async def list_offsets(self, partitions: Any, spec: Any = None) -> Any:
        """See ``AdminClient.list_offsets``: a list of partitions and a spec, or confluent-kafka's
        dict {TopicPartition: OffsetSpec} (then {TopicPartition: ListOffsetsResultInfo})."""
        return await self._result(self._admin.list_offsets(partitions, spec))

    async def list_consumer_groups(
        self, *, states: Iterable[Any] | None = None, types: Iterable[Any] | None = None
    ) -> ListConsumerGroupsResult:
        return await self._result(self._admin.list_consumer_groups(states=states, types=types))

    async def describe_topics(
        self, topics: Any, *, include_authorized_operations: bool = False
    ) -> dict[str, TopicDescription]:
        return await self._result(
            self._admin.describe_topics(topics, include_authorized_operations=include_authorized_operations)
        )

    async def describe_cluster(self, *, include_authorized_operations: bool = False) -> DescribeClusterResult:
        return await self._result(
            self._admin.describe_cluster(include_authorized_operations=include_authorized_operations)
        )

    async def create_acls(self, acls: list[AclBinding]) -> None:
        await self._result(self._admin.create_acls(acls))

    async def describe_acls(self, acl_binding_filter: AclBindingFilter) -> list[AclBinding]:
        return await self._result(self._admin.describe_acls(acl_binding_filter))

    async def delete_acls(self, acl_binding_filters: list[AclBindingFilter]) -> list[list[AclBinding]]:
        return await self._result(self._admin.delete_acls(acl_binding_filters))

    async def describe_user_scram_credentials(
        self, users: list[str] | None = None
    ) -> dict[str, UserScramCredentialsDescription]:
        return await self._result(self._admin.describe_user_scram_credentials(users))

    async def alter_user_scram_credentials(
        self, alterations: Iterable[UserScramCredentialUpsertion | UserScramCredentialDeletion]
    ) -> None:
        await self._result(self._admin.alter_user_scram_credentials(alterations))

    async def elect_leaders(
        self, election_type: Any, partitions: list[TopicPartition] | None = None
    ) -> dict[TopicPartition, KafkaError | None]:
        return await self._result(self._admin.elect_leaders(election_type, partitions))

    def set_sasl_credentials(self, username: str, password: str) -> None:
        self._native.set_sasl_credentials(username, password)

    async def delete_records(self, offsets: list[TopicPartition]) -> None:
        await self._result(self._admin.delete_records(offsets))

    @property
    def closed(self) -> bool:
        return self._native.closed

    async def close(self) -> None:
        """Closes (does not wait: requests already made complete). Works on any loop."""
        self._native.close()


from ferrokafka._aio_serialization import AsyncDeserializingConsumer, AsyncSerializingProducer  # noqa: E402
