"""ParallelProcessor: a consumer loop feeding N workers (threads or processes), committing safely."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from multiprocessing.context import BaseContext
from types import FrameType
from typing import Literal

from ferrokafka import Consumer, KafkaError, OwnedMessage, Producer, TopicPartition
from ferrokafka.parallel._offsets import TP
from ferrokafka.parallel._policy import (
    DeadLetter,
    FailurePolicy,
    HandlerError,
    Stop,
    WorkerDied,
    dead_letter_headers,
    decide,
)
from ferrokafka.parallel._processes import WorkerProcess, default_context, pipeline_size
from ferrokafka.parallel._scheduler import Ordering, Scheduler, Stats, Work

__all__ = ["ParallelProcessor"]

log = logging.getLogger("ferrokafka.parallel")

Mode = Literal["thread", "process"]
MAX_WORKER_DEATHS = 3  # a message that kills its worker this often goes to the failure policy
PAUSED_POLL_TIMEOUT = 0.005  # consume()'s timeout while some partitions are paused
PIPELINE_MAX_BYTES = 16 * 1024  # a message sent to a busy worker process must fit the pipe's buffer
STUCK_PAUSE_AFTER = 1.0  # seconds unable to take messages in before it pauses partitions

_PRODUCER_KEYS = ("bootstrap.servers", "security.protocol", "client.id", "oauth_cb", "error_cb", "logger")
_PRODUCER_PREFIXES = ("sasl.", "ssl.", "https.")


def consumer_settings(config: Mapping[str, object]) -> dict[str, object]:
    """The consumer's config with the processor's commit settings: it commits explicit offsets itself."""
    settings = dict(config)
    for name in ("enable.auto.commit", "enable.auto.offset.store"):
        if str(settings.get(name, "false")).lower() not in ("false", "0"):
            log.info("ferrokafka.parallel sets %s=false: it commits only what its handlers finished", name)
        settings[name] = False
    return settings


def dead_letter_producer_config(policy: DeadLetter, consumer_config: Mapping[str, object]) -> dict[str, object]:
    if policy.producer_config is not None:
        return dict(policy.producer_config)
    return {
        name: value
        for name, value in consumer_config.items()
        if name in _PRODUCER_KEYS or name.startswith(_PRODUCER_PREFIXES)
    }


def stuck(sched: Scheduler, max_in_flight: int, max_uncommitted: int) -> bool:
    """Nothing may be taken in now: `max_in_flight` reached, or every assigned partition paused or
    at its `max_uncommitted` window."""
    if sched.in_flight >= max_in_flight:
        return True
    assigned = sched.assigned()
    return bool(assigned) and all(tp in sched.paused or sched.tracker.window(tp) >= max_uncommitted for tp in assigned)


def batch_size(sched: Scheduler, max_in_flight: int, max_uncommitted: int) -> int:
    """How many messages the next consume() may take: within `max_in_flight`, and within the
    `max_uncommitted` window of every partition it may read (one batch could be all of one
    partition). At least 1."""
    room = min(500, max_in_flight - sched.in_flight)
    for tp in sched.assigned():
        if tp not in sched.paused:
            room = min(room, max_uncommitted - sched.tracker.window(tp))
    return max(1, room)


def can_resume(sched: Scheduler, max_in_flight: int, max_uncommitted: int) -> bool:
    """Whether `plan_backpressure` would resume a paused partition now."""
    if sched.in_flight >= max_in_flight:
        return False
    return any(sched.tracker.window(tp) <= max_uncommitted * 3 // 4 for tp in sched.paused)


def plan_backpressure(
    sched: Scheduler, max_in_flight: int, max_uncommitted: int, stuck_too_long: bool
) -> tuple[list[TopicPartition], list[TopicPartition]]:
    """The partitions to pause — at their window while others can still take messages, all of
    them when stuck for STUCK_PAUSE_AFTER — and those to resume: at three quarters of their
    window, when there is room in flight. (Not at three quarters of `max_in_flight`: partitions
    still read would keep it above that, and the paused ones would starve; the intake is bounded
    by `batch_size` anyway.) Updates `sched.paused`."""
    pause: list[TopicPartition] = []
    resume: list[TopicPartition] = []
    full = stuck_too_long and sched.in_flight >= max_in_flight
    pause_full_windows = stuck_too_long or not stuck(sched, max_in_flight, max_uncommitted)
    low = sched.in_flight < max_in_flight
    for tp in sched.assigned():
        window = sched.tracker.window(tp)
        if tp in sched.paused:
            if low and window <= max_uncommitted * 3 // 4:
                sched.paused.discard(tp)
                resume.append(TopicPartition(*tp))
        elif full or (pause_full_windows and window >= max_uncommitted):
            sched.paused.add(tp)
            pause.append(TopicPartition(*tp))
    return pause, resume


class ParallelProcessor:
    """Runs `handler(message)` on the messages of `topics` with `concurrency` workers, threads
    (`mode="thread"`) or processes (`mode="process"`: the handler must be picklable, e.g. a
    module-level function), keeping order per `ordering`:

    - `"key"`: messages with the same key (in the same partition) strictly one after another, in
      offset order; different keys concurrently. Messages without a key are ordered with each other.
    - `"partition"`: one message at a time per partition.
    - `"none"`: any message at any time.

    Commits are gap-aware: for each partition the processor commits the lowest offset not yet
    finished (or the last one + 1 when all are), whatever order handlers finish in. A crash
    delivers again at most each partition's window of handed-out, uncommitted messages
    (`max_uncommitted`) plus what finished since the last commit (`commit_interval`).
    It owns its consumer, made from `config` with `enable.auto.commit` and
    `enable.auto.offset.store` set to false.

    Backpressure: at `max_in_flight` messages taken in and not finished it takes no more until a
    handler finishes (librdkafka's bounded prefetch holds the next ones); it takes at most what
    every partition's `max_uncommitted` window allows at once; it pauses a partition whose window
    is full while others can go on, and all of them when it could take nothing for
    STUCK_PAUSE_AFTER seconds; it resumes a partition at three quarters of its window, when there
    is room in flight.

    `run()` blocks until `stop()` (from any thread or a signal handler), SIGTERM (when run from the
    main thread with `handle_sigterm`), Ctrl-C (then re-raised) or a failure whose policy is
    `Stop` (then `HandlerError`). On the way out it drops what did not start, gives running work
    `drain_timeout` seconds, commits what finished and closes the consumer; work still running
    then is abandoned uncommitted (a thread cannot be interrupted: its result is ignored; a
    process is killed). Revoked partitions get the same treatment within `revoke_timeout`
    before the revocation completes.
    """

    def __init__(
        self,
        config: Mapping[str, object],
        topics: str | Iterable[str],
        handler: Callable[[OwnedMessage], object],
        *,
        mode: Mode = "thread",
        concurrency: int = 8,
        ordering: Ordering = "key",
        max_in_flight: int = 1000,
        max_uncommitted: int = 1000,
        on_failure: FailurePolicy | None = None,
        commit_interval: float = 0.5,
        drain_timeout: float = 30.0,
        revoke_timeout: float | None = None,
        poll_timeout: float = 0.1,
        handle_sigterm: bool = True,
        mp_context: BaseContext | None = None,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process' (asyncio: AsyncParallelProcessor), not {mode!r}")
        if concurrency < 1 or max_in_flight < 1 or max_uncommitted < 1:
            raise ValueError("concurrency, max_in_flight and max_uncommitted must be at least 1")
        if commit_interval < 0 or drain_timeout < 0 or poll_timeout < 0:
            raise ValueError("commit_interval, drain_timeout and poll_timeout must not be negative")
        self._config = consumer_settings(config)
        self._topics = [topics] if isinstance(topics, str) else list(topics)
        self._handler = handler
        self._mode = mode
        self._concurrency = concurrency
        self._max_in_flight = max_in_flight
        self._max_uncommitted = max_uncommitted
        self._policy: FailurePolicy = Stop() if on_failure is None else on_failure
        self._commit_interval = commit_interval
        self._drain_timeout = drain_timeout
        self._revoke_timeout = drain_timeout if revoke_timeout is None else revoke_timeout
        self._poll_timeout = poll_timeout
        self._handle_sigterm = handle_sigterm
        self._mp_context = mp_context
        self._scheduler = Scheduler(ordering)
        self._fresh: list[TopicPartition] = []  # assigned, to resume once the assignment applies
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._abandon = False  # set when the drain deadline passed: running work is given up
        self._workers_exit = False
        self._failure: tuple[Work, BaseException] | None = None
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._producer_lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._processes: list[WorkerProcess] = []
        self._started = False

    # --- public ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Asks `run()` to finish: safe from any thread and from signal handlers."""
        self._stopping.set()

    def stats(self) -> Stats:
        """In-flight and running counts, per-partition offsets (handed out, committable, committed)
        and the depth of each key's queue."""
        with self._cond:
            return self._scheduler.stats()

    def run(self) -> None:
        """Consumes and processes until stopped (see the class documentation)."""
        if self._started:
            raise RuntimeError("a ParallelProcessor runs once")
        self._started = True
        previous_sigterm = self._install_sigterm()
        interrupted = False
        try:
            self._consumer = Consumer(self._config)  # type: ignore[arg-type]  # callbacks are objects too
            self._start_workers()
            self._consumer.subscribe(
                self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
            self._loop(self._consumer)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                self._shutdown()
            finally:
                if previous_sigterm is not None:
                    signal.signal(signal.SIGTERM, previous_sigterm)
        if interrupted:
            raise KeyboardInterrupt
        if self._failure is not None:
            work, error = self._failure
            raise HandlerError(
                f"handler failed on {work.tp[0]}[{work.tp[1]}]@{work.offset}: {error!r}", work.message
            ) from error

    # --- the consumer's thread ------------------------------------------------------------------

    def _install_sigterm(self) -> Callable[[int, FrameType | None], object] | int | None:
        if not self._handle_sigterm or threading.current_thread() is not threading.main_thread():
            return None

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self.stop()

        return signal.signal(signal.SIGTERM, on_sigterm)

    def _can_resume(self) -> bool:
        return can_resume(self._scheduler, self._max_in_flight, self._max_uncommitted)

    def _stuck(self) -> bool:
        return stuck(self._scheduler, self._max_in_flight, self._max_uncommitted)

    def _poll_timeout_now(self) -> float:
        """How long the next consume() may block. Blocked in consume(), the loop would notice only
        after `poll_timeout` that handlers made room for a paused partition, and the workers would
        starve meanwhile: with every assigned partition paused, it waits for that room here (woken
        by the handlers), then polls without blocking (for callbacks); with some paused, it polls
        in short steps."""
        with self._cond:
            sched = self._scheduler
            if not sched.paused:
                return self._poll_timeout
            assigned = sched.assigned()
            if assigned and all(tp in sched.paused for tp in assigned):
                self._cond.wait_for(
                    lambda: self._can_resume() or self._stopping.is_set() or bool(self._fresh),
                    self._poll_timeout,
                )
                return 0.0
            return min(self._poll_timeout, PAUSED_POLL_TIMEOUT)

    def _loop(self, consumer: Consumer) -> None:
        last_commit = time.monotonic()
        stuck_since: float | None = None
        while not self._stopping.is_set():
            now = time.monotonic()
            if now - last_commit >= self._commit_interval:
                self._commit(consumer)
                last_commit = now
            with self._cond:
                is_stuck = self._stuck()
            if not is_stuck:
                stuck_since = None
            else:
                # Stuck: stop taking messages; librdkafka's own bounded prefetch holds the next
                # ones (nothing dropped or fetched again). Pausing would drop that prefetch, and
                # after each resume librdkafka fetches again (and may first wait out a long poll
                # of `fetch.wait.max.ms`): it pauses only when stuck for longer. Rebalance
                # callbacks, served by consume(), wait meanwhile.
                stuck_since = now if stuck_since is None else stuck_since
                if now - stuck_since < STUCK_PAUSE_AFTER:
                    self._backpressure(consumer, False)  # resumes what may be resumed
                    with self._cond:
                        self._cond.wait_for(
                            lambda: not self._stuck() or self._can_resume() or self._stopping.is_set(),
                            self._poll_timeout,
                        )
                    continue
            timeout = self._poll_timeout_now()
            with self._cond:
                size = batch_size(self._scheduler, self._max_in_flight, self._max_uncommitted)
            messages = consumer.consume(size, timeout)
            if messages:
                owned = [message.detach() for message in messages]
                for borrowed in messages:
                    borrowed.release()
                with self._cond:
                    for message in owned:
                        self._scheduler.add(message)
                    self._cond.notify_all()
            self._backpressure(consumer, stuck_since is not None)

    def _backpressure(self, consumer: Consumer, stuck_too_long: bool) -> None:
        with self._cond:
            fresh, self._fresh = self._fresh, []
            pause, resume = plan_backpressure(
                self._scheduler, self._max_in_flight, self._max_uncommitted, stuck_too_long
            )
        # Each step on its own: one failing (a partition revoked meanwhile) must not keep the next
        # from running, or a partition could stay paused with nothing left to resume it. resume()
        # wakes librdkafka's fetcher itself (Consumer.resume), so a resumed partition is fetched at once.
        for step, partitions in ((consumer.pause, pause), (consumer.resume, fresh + resume)):
            if partitions:
                try:
                    step(partitions)
                except KafkaError as error:
                    log.debug("pause/resume: %s", error)

    def _commit(self, consumer: Consumer, tps: list[TP] | None = None) -> None:
        with self._cond:
            offsets = self._scheduler.to_commit(tps)
        if not offsets:
            return
        try:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
        except KafkaError as error:
            log.warning(
                "ferrokafka.parallel: commit of %s failed (retried at the next commit%s): %s",
                ", ".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(offsets.items())),
                ""
                if tps is None
                else "; the partitions are being revoked: what finished since the last commit "
                "will be processed again by their next owner",
                error,
            )
            return
        with self._cond:
            for tp, offset in offsets.items():
                if tp in self._scheduler.tracker.partitions():
                    self._scheduler.committed[tp] = offset

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with self._cond:
            self._scheduler.assign([(tp.topic, tp.partition) for tp in partitions])
            # librdkafka keeps a partition's pause across its revocation: one this processor paused
            # before it moved away would come back paused, and nothing would resume it. on_assign
            # runs before the assignment is applied, so the loop resumes them right after.
            self._fresh.extend(partitions)

    def _wait_running(self, tps: list[TP] | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if tps is None:
                    running = self._scheduler.running
                else:
                    running = self._scheduler.running_in(tps)
                remaining = deadline - time.monotonic()
                if not running or remaining <= 0 or self._abandon:
                    if running:
                        log.warning("ferrokafka.parallel: abandoning %d running messages (uncommitted)", running)
                    return
                self._cond.wait(min(remaining, 0.1))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        try:
            with self._cond:
                self._scheduler.stop_taking(tps)
                self._cond.notify_all()
            self._wait_running(tps, self._revoke_timeout)
            self._commit(consumer, tps)
        finally:
            with self._cond:
                self._scheduler.forget(tps)
                self._cond.notify_all()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        with self._cond:
            self._scheduler.stop_taking(tps)
            self._scheduler.forget(tps)
            self._cond.notify_all()

    def _shutdown(self) -> None:
        self._stopping.set()
        consumer = self._consumer
        with self._cond:
            self._scheduler.drop_waiting()
            self._cond.notify_all()
        try:
            try:
                self._wait_running(None, self._drain_timeout)
            except KeyboardInterrupt:
                log.warning("ferrokafka.parallel: interrupted while draining: abandoning running work")
            with self._cond:
                self._abandon = True
                self._workers_exit = True
                self._cond.notify_all()
            if consumer is not None:
                self._commit(consumer)
        finally:
            # A process-mode worker thread notices the abandon flag within 50 ms and kills its
            # worker itself; a thread stuck in a handler cannot be interrupted (daemon thread).
            deadline = time.monotonic() + (5.0 if self._processes else 0.5)
            for worker in self._workers:
                worker.join(max(0.0, deadline - time.monotonic()))
            for process in self._processes:
                process.close()
            with self._producer_lock:
                if self._producer is not None:
                    self._producer.close(5)
            if consumer is not None:
                consumer.close()

    # --- workers --------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        context = self._mp_context or default_context() if self._mode == "process" else None
        for index in range(self._concurrency):
            process = WorkerProcess(context, self._handler) if context is not None else None
            if process is not None:
                self._processes.append(process)
            worker = threading.Thread(
                target=self._work, args=(process,), name=f"ferrokafka-parallel-{index}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def _next(self) -> Work | None:
        with self._cond:
            while not self._workers_exit:
                now = time.monotonic()
                work = self._scheduler.take(now)
                if work is not None:
                    return work
                ready_at = self._scheduler.next_ready_at()
                self._cond.wait(0.5 if ready_at is None else min(0.5, max(0.0, ready_at - now)))
        return None

    def _take_now(self) -> Work | None:
        with self._cond:
            return None if self._workers_exit else self._scheduler.take(time.monotonic())

    def _requeue(self, work: Work) -> None:
        """Sent to a worker process that died or was killed before it started `work`: run again."""
        with self._cond:
            self._scheduler.retry(work, time.monotonic())
            self._cond.notify_all()

    def _work(self, process: WorkerProcess | None) -> None:
        if process is not None:
            self._work_in_process(process)
            return
        while (work := self._next()) is not None:
            try:
                self._handler(work.message)
            except BaseException as error:  # SystemExit too: the worker thread goes on
                self._failed(work, error)
            else:
                self._done(work)

    def _work_in_process(self, process: WorkerProcess) -> None:
        """Feeds one worker process. While it runs a message, the next ready one (if small: it
        must fit the pipe's buffer) is already sent, so the process never waits for this thread
        between messages; the answers come back in order."""
        sent: deque[Work] = deque()  # sent to the process, not answered yet, oldest first
        held: Work | None = None  # taken for this process, too big to send ahead
        while True:
            if not sent:
                if held is not None and self._workers_exit:
                    with self._cond:
                        self._scheduler.fail(held)
                        self._cond.notify_all()
                    held = None
                work, held = (held, None) if held is not None else (self._next(), None)
                if work is None:
                    return
                if not process.send(work.message):
                    self._process_died(work)
                    continue
                sent.append(work)
            elif len(sent) == 1 and held is None and (extra := self._take_now()) is not None:
                if pipeline_size(extra.message) <= PIPELINE_MAX_BYTES and process.send(extra.message):
                    sent.append(extra)
                else:
                    held = extra  # sent when the process is idle (or again: it died)
            current = sent[0]
            outcome, raised, text = process.receive(lambda: current.dropped or self._abandon)
            sent.popleft()
            if outcome == "ok":
                self._done(current)
            elif outcome == "error":
                assert raised is not None
                log.debug("handler failed in a worker process:\n%s", text)
                self._failed(current, raised)
            else:
                # died (on `current`: it runs messages in order) or killed when `current` was
                # abandoned: what was sent after it never started
                for later in sent:
                    self._requeue(later)
                sent.clear()
                if outcome == "died":
                    self._process_died(current)
                else:
                    with self._cond:
                        self._scheduler.fail(current)
                        self._cond.notify_all()

    def _process_died(self, work: Work) -> None:
        work.worker_deaths += 1
        if work.worker_deaths < MAX_WORKER_DEATHS:
            log.warning("ferrokafka.parallel: a worker process died; its message runs again")
            self._requeue(work)
        else:
            self._failed(work, WorkerDied(f"worker process died {work.worker_deaths} times on this message"))

    def _done(self, work: Work) -> None:
        with self._cond:
            self._scheduler.done(work)
            self._cond.notify_all()

    def _failed(self, work: Work, error: BaseException) -> None:
        work.attempts += 1
        decision = decide(self._policy, work.attempts, self._stopping.is_set())
        if decision.action == "retry":
            log.info("handler failed on %s[%d]@%d (%r): retry %d", *work.tp, work.offset, error, work.attempts)
            with self._cond:
                self._scheduler.retry(work, time.monotonic() + decision.delay)
                self._cond.notify_all()
            return
        if decision.action == "skip":
            log.warning("handler failed on %s[%d]@%d, skipped: %r", *work.tp, work.offset, error)
            self._done(work)
            return
        if decision.action == "abandon":
            with self._cond:
                self._scheduler.fail(work)
                self._cond.notify_all()
            return
        if decision.dead_letter is not None:
            try:
                self._dead_letter(decision.dead_letter, work, error)
            except Exception as produce_error:
                log.error("dead-letter topic %r failed: %r", decision.dead_letter.topic, produce_error)
            else:
                self._done(work)
                return
        with self._cond:
            self._scheduler.fail(work)
            if self._failure is None and not work.dropped:
                self._failure = (work, error)
            self._cond.notify_all()
        self._stopping.set()

    def _dead_letter(self, policy: DeadLetter, work: Work, error: BaseException) -> None:
        with self._producer_lock:
            if self._producer is None:
                if self._workers_exit:
                    raise RuntimeError("the processor is closed")
                self._producer = Producer(dead_letter_producer_config(policy, self._config))  # type: ignore[arg-type]
            producer = self._producer
        message = work.message
        headers = dead_letter_headers(message, error, work.attempts)
        future = producer.produce(policy.topic, message.payload, message.key, headers=headers)
        future.result(policy.timeout)
        log.warning("handler failed on %s[%d]@%d, sent to %s: %r", *work.tp, work.offset, policy.topic, error)
