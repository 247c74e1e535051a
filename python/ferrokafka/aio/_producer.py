"""``AIOProducer``: the asyncio producer, and ``_Deliveries``, which brings its delivery reports
to the loop."""

from __future__ import annotations

import asyncio
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast

from ferrokafka._native import (
    ConsumerGroupMetadata,
    DeliveryReport,
    DeliveryResults,
    Error,
    KafkaError,
    Producer,
    QueueFullError,
    TopicPartition,
    _LoopDeliveries,
)

if TYPE_CHECKING:
    from concurrent.futures import Future as ConcurrentFuture

    from ferrokafka._native import _BatchMessages, _Bytesish, _ClusterMetadata, _HeaderPairs

from ferrokafka._platform import clear_eventfd, new_eventfd
from ferrokafka.aio._loop import _AsyncClient, _deadline, _in_thread, _resolve, _running_loop, _wrong_loop
from ferrokafka.aio._tasks import _Tasks, _wrap_config_callbacks

DeliveryCallback = Callable[[KafkaError | None, DeliveryReport | None], object]
"""``on_delivery(error, report)`` (error first, as confluent-kafka's), run on the loop; may return an
awaitable (run as a task)."""

# Transactional calls on the loop: each step waits at most this long inside librdkafka (the loop's
# thread is held that long), with pauses between steps growing from the first to the longest.
_TXN_STEP_MS = 1
_TXN_FIRST_PAUSE = 0.001
_TXN_MAX_PAUSE = 0.02


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
        self.wake_fd = new_eventfd()
        self.sink = _LoopDeliveries(self.wake_fd)
        loop.add_reader(self.wake_fd, self.woken)

    def woken(self) -> None:
        clear_eventfd(self.wake_fd)
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
