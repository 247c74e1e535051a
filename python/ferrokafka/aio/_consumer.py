"""``AIOConsumer``: the asyncio consumer (how it waits: see the package's docstring)."""

from __future__ import annotations

import asyncio
import enum
import inspect
import os
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from ferrokafka._native import (
    OFFSET_INVALID,
    BorrowedMessage,
    Consumer,
    ConsumerGroupMetadata,
    Error,
    KafkaError,
    MessageBatch,
    OwnedMessage,
    TopicPartition,
    _LoopRequest,
)

if TYPE_CHECKING:
    from ferrokafka._native import _ClusterMetadata

from ferrokafka._platform import wake_pipe
from ferrokafka.aio._loop import _AsyncClient, _deadline, _in_thread, _resolve, _running_loop, _wrong_loop
from ferrokafka.aio._tasks import _Owners, _Tasks, _wrap_config_callbacks

_T = TypeVar("_T")

RebalanceCallback = Callable[["AIOConsumer", list[TopicPartition]], object]
"""``on_assign``/``on_revoke``/``on_lost``: ``(consumer, partitions)``; may return an awaitable."""


# The longest a waiting consumer goes without serving librdkafka (max.poll.interval.ms, callbacks,
# logs of librdkafka's threads).
_SERVE_EVERY = 1.0
# How long a request that got no answer from a partition's leader waits before asking again.
_REASK_PAUSE = 0.1
# How long close() lets the consumer leave its group through the rebalance callbacks.
_LEAVE_BUDGET = 10.0
# How long a rebalance callback cut short by close() is given to end once cancelled.
_CANCEL_GRACE = 0.2


class _Phase(enum.Enum):
    """Where an AIOConsumer is in its life. OPEN is the only phase in which messages are taken
    without looking further (the fast lane); REBALANCING while a task serves a kept rebalance
    (on_assign/on_revoke/on_lost); CLOSING from close() on, also while a rebalance is settled;
    CLOSED once the synchronous consumer is closed (and before it exists)."""

    OPEN = "open"
    REBALANCING = "rebalancing"
    CLOSING = "closing"
    CLOSED = "closed"


_OPEN = _Phase.OPEN  # the fast lane compares against it: one global read, no attribute of _Phase


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
        self._phase = _Phase.CLOSED  # until the native consumer exists: nothing for __del__ to warn about
        config: dict[str, Any] = dict(consumer_conf)
        _wrap_config_callbacks(config, self._tasks, ("error_cb", "stats_cb", "on_commit"))
        group_id = config.get("group.id")
        self._group_id = str(group_id) if group_id is not None else None
        self._read_committed = str(config.get("isolation.level", "read_committed")) == "read_committed"
        self._native = Consumer(config)
        self._rfd, self._wfd = wake_pipe()
        try:
            self._native._defer_rebalances(True)
            self._native._io_event_enable(self._wfd)
        except BaseException:
            self._native.close()
            os.close(self._rfd)
            os.close(self._wfd)
            raise
        self._phase = _Phase.OPEN
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

    @property
    def _closing(self) -> bool:
        """close() has begun (or ended)."""
        return self._phase is _Phase.CLOSING or self._phase is _Phase.CLOSED

    def _start_closing(self) -> None:
        """close() begins: nothing more is lent, no rebalance is started."""
        if self._phase is not _Phase.CLOSED:
            self._phase = _Phase.CLOSING

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
        if self._phase is _OPEN:
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
        if self._phase is _OPEN and consumer._pending_rebalance() is None:
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
            if self._phase is _OPEN:
                self._phase = _Phase.REBALANCING
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
                if self._phase is _Phase.REBALANCING:
                    self._phase = _OPEN

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
        if self._phase is _Phase.CLOSED:
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
        if self._phase is _Phase.CLOSED or not self._fds_open:
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
        return self._phase is _Phase.CLOSED or self._native.closed

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
        self._start_closing()
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
                self._phase = _Phase.CLOSED
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
        self._start_closing()
        # Futures of that loop: nobody can wait for them any more (resolving one would schedule its
        # callbacks on the dead loop).
        self._waiters = []
        self._teardown_fd()
        try:
            await _in_thread(partial(self._native.close, timeout), "close")
        finally:
            self._phase = _Phase.CLOSED

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
        if getattr(self, "_phase", _Phase.CLOSED) is _Phase.CLOSED:
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
