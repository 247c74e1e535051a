"""AsyncParallelProcessor: the same scheduler and commits, with handlers as asyncio tasks."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from ferrokafka import KafkaError, OwnedMessage, Producer, TopicPartition
from ferrokafka.aio import AIOConsumer
from ferrokafka.parallel._offsets import TP
from ferrokafka.parallel._policy import (
    DeadLetter,
    FailurePolicy,
    HandlerError,
    Stop,
    dead_letter_headers,
    decide,
)
from ferrokafka.parallel._processor import (
    PAUSED_POLL_TIMEOUT,
    STUCK_PAUSE_AFTER,
    batch_size,
    can_resume,
    consumer_settings,
    dead_letter_producer_config,
    plan_backpressure,
    stuck,
)
from ferrokafka.parallel._scheduler import Ordering, Scheduler, Stats, Work

__all__ = ["AsyncParallelProcessor"]

log = logging.getLogger("ferrokafka.parallel")


class AsyncParallelProcessor:
    """`ParallelProcessor` for asyncio: `await handler(message)` runs in up to `concurrency` tasks on
    the running loop (no threads), with the same ordering, commits, backpressure, failure policies
    and rebalance handling. Create it and `await run()` inside the loop.

    Work still running at the drain or revoke deadline is cancelled (and not committed).
    `stop()` may be called from the loop or, through `loop.call_soon_threadsafe`, another thread;
    SIGTERM stops it when `handle_sigterm` (the loop's signal handler, main thread only).
    Cancelling `run()` (e.g. Ctrl-C under `asyncio.run`) drains and commits too, then re-raises.
    """

    def __init__(
        self,
        config: Mapping[str, object],
        topics: str | Iterable[str],
        handler: Callable[[OwnedMessage], Awaitable[object]],
        *,
        concurrency: int = 64,
        ordering: Ordering = "key",
        max_in_flight: int = 1000,
        max_uncommitted: int = 1000,
        on_failure: FailurePolicy | None = None,
        commit_interval: float = 0.5,
        drain_timeout: float = 30.0,
        revoke_timeout: float | None = None,
        poll_timeout: float = 0.1,
        handle_sigterm: bool = True,
    ) -> None:
        if concurrency < 1 or max_in_flight < 1 or max_uncommitted < 1:
            raise ValueError("concurrency, max_in_flight and max_uncommitted must be at least 1")
        if commit_interval < 0 or drain_timeout < 0 or poll_timeout < 0:
            raise ValueError("commit_interval, drain_timeout and poll_timeout must not be negative")
        self._config = consumer_settings(config)
        self._topics = [topics] if isinstance(topics, str) else list(topics)
        self._handler = handler
        self._concurrency = concurrency
        self._max_in_flight = max_in_flight
        self._max_uncommitted = max_uncommitted
        self._policy: FailurePolicy = Stop() if on_failure is None else on_failure
        self._commit_interval = commit_interval
        self._drain_timeout = drain_timeout
        self._revoke_timeout = drain_timeout if revoke_timeout is None else revoke_timeout
        self._poll_timeout = poll_timeout
        self._handle_sigterm = handle_sigterm
        self._scheduler = Scheduler(ordering)
        self._fresh: list[TopicPartition] = []  # assigned, to resume once the assignment applies
        self._stopping = False
        self._failure: tuple[Work, BaseException] | None = None
        self._handlers: dict[Work, asyncio.Task[object]] = {}
        self._consumer: AIOConsumer | None = None
        self._producer: Producer | None = None
        self._changed: asyncio.Event | None = None  # work to take (the workers wait for it)
        self._finished: asyncio.Event | None = None  # a handler finished (the loop waits for it)
        self._started = False

    def stop(self) -> None:
        """Asks `run()` to finish (call it on the loop's thread)."""
        self._stopping = True
        if self._changed is not None:
            self._changed.set()

    def stats(self) -> Stats:
        """As `ParallelProcessor.stats()`."""
        return self._scheduler.stats()

    async def run(self) -> None:
        """Consumes and processes until stopped (see the class documentation)."""
        if self._started:
            raise RuntimeError("an AsyncParallelProcessor runs once")
        self._started = True
        loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._finished = asyncio.Event()
        sigterm = False
        if self._handle_sigterm:
            try:
                loop.add_signal_handler(signal.SIGTERM, self.stop)
                sigterm = True
            except (ValueError, RuntimeError, NotImplementedError):
                pass  # not the main thread, or no signals on this loop
        workers: list[asyncio.Task[None]] = []
        cancelled = False
        try:
            self._consumer = consumer = AIOConsumer(self._config)
            workers = [loop.create_task(self._work()) for _ in range(self._concurrency)]
            await consumer.subscribe(
                self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
            await self._loop(consumer)
        except asyncio.CancelledError:
            cancelled = True
        finally:
            try:
                await self._shutdown(workers)
            finally:
                if sigterm:
                    loop.remove_signal_handler(signal.SIGTERM)
        if cancelled:
            raise asyncio.CancelledError
        if self._failure is not None:
            work, error = self._failure
            raise HandlerError(
                f"handler failed on {work.tp[0]}[{work.tp[1]}]@{work.offset}: {error!r}", work.message
            ) from error

    def _notify(self) -> None:
        assert self._changed is not None and self._finished is not None
        self._changed.set()
        self._finished.set()

    def _stuck(self) -> bool:
        return stuck(self._scheduler, self._max_in_flight, self._max_uncommitted)

    async def _wait_for_handlers(self, until: Callable[[], bool]) -> None:
        """Waits up to `poll_timeout` for `until()`, checked whenever a handler finishes."""
        assert self._finished is not None
        deadline = time.monotonic() + self._poll_timeout
        while not until() and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._finished.clear()
            try:
                await asyncio.wait_for(self._finished.wait(), remaining)
            except TimeoutError:
                return

    async def _loop(self, consumer: AIOConsumer) -> None:
        # As ParallelProcessor._loop: stuck, it stops taking messages, and pauses only when stuck
        # for STUCK_PAUSE_AFTER; resumed partitions are sought to wake librdkafka's fetcher.
        last_commit = time.monotonic()
        stuck_since: float | None = None
        sched = self._scheduler
        while not self._stopping:
            now = time.monotonic()
            if now - last_commit >= self._commit_interval:
                await self._commit(consumer)
                last_commit = now
            if not self._stuck():
                stuck_since = None
            else:
                stuck_since = now if stuck_since is None else stuck_since
                if now - stuck_since < STUCK_PAUSE_AFTER:
                    await self._backpressure(consumer, False)
                    await self._wait_for_handlers(
                        lambda: not self._stuck() or can_resume(sched, self._max_in_flight, self._max_uncommitted)
                    )
                    continue
            timeout = self._poll_timeout
            if sched.paused:
                assigned = sched.assigned()
                if assigned and all(tp in sched.paused for tp in assigned):
                    await self._wait_for_handlers(
                        lambda: can_resume(sched, self._max_in_flight, self._max_uncommitted) or bool(self._fresh)
                    )
                    timeout = 0.0
                else:
                    timeout = min(timeout, PAUSED_POLL_TIMEOUT)
            size = batch_size(sched, self._max_in_flight, self._max_uncommitted)
            messages = await consumer.consume(size, timeout)
            if messages:
                owned = [message.detach() for message in messages]
                for borrowed in messages:
                    borrowed.release()
                for message in owned:
                    sched.add(message)
                self._notify()
            await self._backpressure(consumer, stuck_since is not None)

    async def _backpressure(self, consumer: AIOConsumer, stuck_too_long: bool) -> None:
        fresh, self._fresh = self._fresh, []
        pause, resume = plan_backpressure(self._scheduler, self._max_in_flight, self._max_uncommitted, stuck_too_long)
        # as ParallelProcessor._backpressure: each step on its own
        for step, partitions in ((consumer.pause, pause), (consumer.resume, fresh + resume)):
            if partitions:
                try:
                    await step(partitions)
                except KafkaError as error:
                    log.debug("pause/resume: %s", error)

    async def _commit(self, consumer: AIOConsumer, tps: list[TP] | None = None) -> None:
        offsets = self._scheduler.to_commit(tps)
        if not offsets:
            return
        try:
            await consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
            )
        except KafkaError as error:
            log.warning("ferrokafka.parallel: commit failed (retried at the next commit): %s", error)
            return
        known = set(self._scheduler.tracker.partitions())
        for tp, offset in offsets.items():
            if tp in known:
                self._scheduler.committed[tp] = offset

    async def _on_assign(self, consumer: AIOConsumer, partitions: list[TopicPartition]) -> None:
        self._scheduler.assign([(tp.topic, tp.partition) for tp in partitions])
        # Paused before it moved away, a partition comes back paused: the loop resumes it once the
        # assignment is applied (on_assign runs before).
        self._fresh.extend(partitions)

    async def _wait_running(self, tps: list[TP] | None, timeout: float) -> None:
        """Waits for running handlers (of `tps`, or all) up to `timeout`, then cancels them."""
        deadline = time.monotonic() + timeout
        while True:
            tasks = [task for work, task in self._handlers.items() if tps is None or work.tp in tps and not task.done()]
            tasks = [task for task in tasks if not task.done()]
            remaining = deadline - time.monotonic()
            if not tasks:
                return
            if remaining <= 0:
                log.warning("ferrokafka.parallel: cancelling %d running handlers (uncommitted)", len(tasks))
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=5)
                return
            await asyncio.wait(tasks, timeout=remaining)

    async def _on_revoke(self, consumer: AIOConsumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        try:
            self._scheduler.stop_taking(tps)
            self._notify()
            await self._wait_running(tps, self._revoke_timeout)
            await self._commit(consumer, tps)
        finally:
            self._scheduler.forget(tps)
            self._notify()

    async def _on_lost(self, consumer: AIOConsumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        self._scheduler.stop_taking(tps)
        self._scheduler.forget(tps)
        for work, task in list(self._handlers.items()):
            if work.tp in tps:
                task.cancel()
        self._notify()

    async def _shutdown(self, workers: list[asyncio.Task[None]]) -> None:
        self._stopping = True
        consumer = self._consumer
        self._scheduler.drop_waiting()
        self._notify()
        try:
            await self._wait_running(None, self._drain_timeout)
            if consumer is not None:
                await self._commit(consumer)
        finally:
            for worker in workers:
                worker.cancel()
            if workers:
                await asyncio.wait(workers, timeout=5)
            if self._producer is not None:
                self._producer.close(5)
            if consumer is not None:
                await consumer.close()

    # --- workers --------------------------------------------------------------------------------

    async def _next(self) -> Work:
        assert self._changed is not None
        while True:
            now = time.monotonic()
            work = self._scheduler.take(now)
            if work is not None:
                return work
            ready_at = self._scheduler.next_ready_at()
            self._changed.clear()
            timeout = 0.5 if ready_at is None else min(0.5, max(0.0, ready_at - now))
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                pass

    async def _work(self) -> None:
        while True:
            work = await self._next()
            task: asyncio.Task[object] = asyncio.ensure_future(self._handler(work.message))
            self._handlers[work] = task
            try:
                await asyncio.wait([task])
            finally:
                del self._handlers[work]
            if task.cancelled():  # abandoned at a deadline
                self._scheduler.fail(work)
            elif (error := task.exception()) is not None:
                await self._failed(work, error)
            else:
                self._scheduler.done(work)
            self._notify()

    async def _failed(self, work: Work, error: BaseException) -> None:
        work.attempts += 1
        decision = decide(self._policy, work.attempts, self._stopping)
        if decision.action == "retry":
            log.info("handler failed on %s[%d]@%d (%r): retry %d", *work.tp, work.offset, error, work.attempts)
            self._scheduler.retry(work, time.monotonic() + decision.delay)
            return
        if decision.action == "skip":
            log.warning("handler failed on %s[%d]@%d, skipped: %r", *work.tp, work.offset, error)
            self._scheduler.done(work)
            return
        if decision.action == "abandon":
            self._scheduler.fail(work)
            return
        if decision.dead_letter is not None:
            try:
                await self._dead_letter(decision.dead_letter, work, error)
            except Exception as produce_error:
                log.error("dead-letter topic %r failed: %r", decision.dead_letter.topic, produce_error)
            else:
                self._scheduler.done(work)
                return
        self._scheduler.fail(work)
        if self._failure is None and not work.dropped:
            self._failure = (work, error)
        self.stop()

    async def _dead_letter(self, policy: DeadLetter, work: Work, error: BaseException) -> None:
        if self._producer is None:
            self._producer = Producer(dead_letter_producer_config(policy, self._config))  # type: ignore[arg-type]
        message = work.message
        future = self._producer.produce(
            policy.topic, message.payload, message.key, headers=dead_letter_headers(message, error, work.attempts)
        )
        await asyncio.wait_for(asyncio.wrap_future(future), policy.timeout)
        log.warning("handler failed on %s[%d]@%d, sent to %s: %r", *work.tp, work.offset, policy.topic, error)
