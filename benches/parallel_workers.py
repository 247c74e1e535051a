"""The `parallel` section's contenders, one run per process:
``python benches/parallel_workers.py CONTENDER '{json args}'``; the last stdout line is the result.

Every contender runs the same handler on the same topic (JSON payloads, string keys, per-key
order where the library offers it) until `expected` messages are done:

- workload ``io``: a 5 ms wait per message (``time.sleep`` in synchronous handlers, ``await
  asyncio.sleep`` in coroutine handlers): an HTTP call or a database query;
- workload ``cpu``: ``cpu_work(iterations)``, pure Python that holds the GIL.

After its work each handler appends one byte to a marker file (``os.write`` on an ``O_APPEND``
descriptor, opened once per process): the same completion signal for threads, tasks and worker
processes of any library. A watcher thread polls the file's size every 2 ms; the clock runs from
the first completed message to the `expected`-th (group join, worker start-up and the first fetch
are not timed).

This file runs under the rivals' virtualenv too (pyrallel-consumer needs Python >= 3.12), with
ferrokafka on PYTHONPATH: every contender of a run uses the same interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid

DEADLINE_SECONDS = 300.0
POLL_SECONDS = 0.002

# --- the handlers' work (module level: worker processes import it) ---------------------------

_marker: dict[str, int] = {}  # pid -> fd


def _done(marker: str) -> None:
    fd = _marker.get(str(os.getpid()))
    if fd is None:
        fd = os.open(marker, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _marker[str(os.getpid())] = fd
    os.write(fd, b"x")


def cpu_work(iterations: int) -> int:
    x = 0
    for i in range(iterations):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


def sync_handle(workload: str, io_seconds: float, iterations: int, marker: str) -> None:
    if workload == "io":
        time.sleep(io_seconds)
    else:
        cpu_work(iterations)
    _done(marker)


async def async_handle(workload: str, io_seconds: float, iterations: int, marker: str) -> None:
    if workload == "io":
        await asyncio.sleep(io_seconds)
    else:
        cpu_work(iterations)
    _done(marker)


# ferrokafka.parallel's process mode pickles the handler: a module-level function with its
# arguments bound by functools.partial.
def ferro_process_handler(workload: str, io_seconds: float, iterations: int, marker: str, message: object) -> None:
    sync_handle(workload, io_seconds, iterations, marker)


def pyrallel_process_worker(workload: str, io_seconds: float, iterations: int, marker: str, item: object) -> None:
    sync_handle(workload, io_seconds, iterations, marker)


# --- timing ------------------------------------------------------------------------------------


class Watch:
    """Watches the marker file: first completion, `expected`-th completion."""

    def __init__(self, marker: str, expected: int) -> None:
        self.marker, self.expected = marker, expected
        self.t_first: float | None = None
        self.t_end: float | None = None
        self.finished = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                size = os.stat(self.marker).st_size
            except FileNotFoundError:
                size = 0
            now = time.perf_counter()
            if size and self.t_first is None:
                self.t_first = now
            if size >= self.expected:
                self.t_end = now
                self.count = size
                break
            time.sleep(POLL_SECONDS)
        self.finished.set()

    def result(self, setup_started: float) -> dict:
        if self.t_end is None or self.t_first is None:
            raise TimeoutError(f"not {self.expected} messages done in {DEADLINE_SECONDS} s")
        seconds = self.t_end - self.t_first
        return {
            "count": self.expected,
            "timed_count": self.expected - 1,
            "seconds": seconds,
            "msgs_per_s": (self.expected - 1) / seconds if seconds > 0 else 0.0,
            "setup_seconds": self.t_first - setup_started,
        }


def wait(watch: Watch) -> None:
    if not watch.finished.wait(DEADLINE_SECONDS + 5):
        raise TimeoutError("watcher did not finish")


# --- contenders --------------------------------------------------------------------------------


def sequential(a: dict, watch: Watch) -> None:
    """The plain loop: poll one message, handle it, next (ferrokafka's Consumer, auto-commit on)."""
    import ferrokafka as fk

    consumer = fk.Consumer(
        {"bootstrap.servers": a["bootstrap"], "group.id": a["group"], "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([a["topic"]])
    while not watch.finished.is_set():
        msg = consumer.poll(0.1)
        if msg is not None:
            sync_handle(a["workload"], a["io_seconds"], a["iterations"], a["marker"])


def _ferro_config(a: dict) -> dict:
    return {"bootstrap.servers": a["bootstrap"], "group.id": a["group"], "auto.offset.reset": "earliest"}


def ferro_parallel(a: dict, watch: Watch, mode: str) -> None:
    import functools

    from ferrokafka.parallel import ParallelProcessor

    args = (a["workload"], a["io_seconds"], a["iterations"], a["marker"])
    handler = (
        functools.partial(ferro_process_handler, *args) if mode == "process" else (lambda message: sync_handle(*args))
    )
    processor = ParallelProcessor(
        _ferro_config(a), a["topic"], handler, mode=mode, concurrency=a["concurrency"], handle_sigterm=False
    )
    threading.Thread(target=lambda: (wait(watch), processor.stop()), daemon=True).start()
    processor.run()


def ferro_aio(a: dict, watch: Watch) -> None:
    from ferrokafka.parallel import AsyncParallelProcessor

    async def main() -> None:
        args = (a["workload"], a["io_seconds"], a["iterations"], a["marker"])

        async def handler(message: object) -> None:
            await async_handle(*args)

        processor = AsyncParallelProcessor(_ferro_config(a), a["topic"], handler, concurrency=a["concurrency"])
        loop = asyncio.get_running_loop()
        threading.Thread(target=lambda: (wait(watch), loop.call_soon_threadsafe(processor.stop)), daemon=True).start()
        await processor.run()

    asyncio.run(main())


def pyrallel(a: dict, watch: Watch, mode: str) -> None:
    import functools

    from pyrallel_consumer.config import KafkaConfig
    from pyrallel_consumer.consumer import PyrallelConsumer
    from pyrallel_consumer.dto import ExecutionMode, OrderingMode

    config = KafkaConfig(BOOTSTRAP_SERVERS=a["bootstrap"], CONSUMER_GROUP=a["group"])
    config.dlq_enabled = False
    pc = config.parallel_consumer
    pc.ordering_mode = OrderingMode.KEY_HASH
    # key_hash runs one message at a time per bucket of hash(key) % worker_pool_size: as many
    # buckets as the concurrency, or it would be capped at the default 8.
    pc.worker_pool_size = max(a["concurrency"], 8)
    args = (a["workload"], a["io_seconds"], a["iterations"], a["marker"])
    if mode == "process":
        pc.execution.mode = ExecutionMode.PROCESS
        pc.execution.process_config.process_count = a["concurrency"]
        worker = functools.partial(pyrallel_process_worker, *args)
    else:
        pc.execution.mode = ExecutionMode.ASYNC
        pc.execution.max_in_flight = a["concurrency"]

        async def worker(item: object) -> None:
            await async_handle(*args)

    async def main() -> None:
        consumer = PyrallelConsumer(config=config, worker=worker, topic=a["topic"])
        await consumer.start()
        await asyncio.get_running_loop().run_in_executor(None, wait, watch)

    asyncio.run(main())


def prosody(a: dict, watch: Watch) -> None:
    from prosody import EventHandler, ProsodyClient

    args = (a["workload"], a["io_seconds"], a["iterations"], a["marker"])

    class Handler(EventHandler):  # type: ignore[misc]
        async def on_message(self, context, message):  # type: ignore[no-untyped-def]
            await async_handle(*args)

        async def on_excise(self, context, message):  # type: ignore[no-untyped-def]
            return None

        async def on_timer(self, context, timer):  # type: ignore[no-untyped-def]
            return None

    async def main() -> None:
        client = await ProsodyClient.create(
            bootstrap_servers=a["bootstrap"],
            group_id=a["group"],
            source_system=f"bench-{a['group']}",
            subscribed_topics=a["topic"],
            max_concurrency=a["concurrency"],
            max_uncommitted=max(a.get("prosody_max_uncommitted", 64), a["concurrency"]),
            mode="pipeline",  # its default: retries, deferral to Cassandra, deduplication
            probe_port=None,
            mock=False,
        )
        await client.subscribe(Handler())
        await asyncio.get_running_loop().run_in_executor(None, wait, watch)
        # Never let `client` go: dropping a subscribed ProsodyClient (prosody-events 0.6.1) blocks
        # in its consumer's drop while holding the GIL that the consumer's tasks wait for, a
        # deadlock (seen with gdb); main() prints the result and os._exit()s meanwhile.
        await asyncio.get_running_loop().create_future()

    asyncio.run(main())


CONTENDERS = {
    "sequential": sequential,
    "ferro-thread": lambda a, w: ferro_parallel(a, w, "thread"),
    "ferro-process": lambda a, w: ferro_parallel(a, w, "process"),
    "ferro-aio": ferro_aio,
    "pyrallel-async": lambda a, w: pyrallel(a, w, "async"),
    "pyrallel-process": lambda a, w: pyrallel(a, w, "process"),
    "prosody": prosody,
}


def peak_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _run(contender, a: dict, watch: Watch) -> None:  # type: ignore[no-untyped-def]
    """The contender; if it fails (e.g. prosody without a reachable Cassandra), the process exits
    at once with its traceback instead of waiting DEADLINE_SECONDS for messages that never come."""
    try:
        contender(a, watch)
    except BaseException:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def main(argv: list[str]) -> int:
    contender, a = argv[0], json.loads(argv[1])
    a.setdefault("group", f"bench-par-{uuid.uuid4().hex[:10]}")
    workdir = tempfile.mkdtemp(prefix="ferrokafka-bench-parallel-")
    os.chdir(workdir)  # pydantic-settings (pyrallel-consumer) reads a .env from the working directory
    a["marker"] = os.path.join(workdir, "done")
    started = time.perf_counter()
    watch = Watch(a["marker"], a["expected"])
    runner = threading.Thread(target=_run, args=(CONTENDERS[contender], a, watch), daemon=True)
    runner.start()
    wait(watch)
    result = {"contender": contender, **watch.result(started), "maxrss_kb": peak_rss_kb(), "python": sys.version}
    print(json.dumps(result), flush=True)
    # Skip the clients' shutdown (group leave): the result is out, the group is throw-away. Worker
    # processes go (os._exit runs no atexit hook that would); run.py also kills the process group.
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
