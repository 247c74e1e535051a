#!/usr/bin/env python3
"""ferrokafka benchmark harness: consume, Kafka -> Arrow table, produce, produce_batch, the asyncio
clients and memory against a real Kafka broker.

    python benches/run.py [--quick] [--rounds N] [--checksum] [--only SECTIONS] [--out benches/results]

See benches/README.md. Starts a throw-away Apache Kafka 4.4 broker with tests/realkafka/harness.py
unless KAFKA_BOOTSTRAP_SERVERS (or --bootstrap) names one, pre-produces one topic per message size
with confluent-kafka, then runs every contender in its own subprocess, alternating contenders over
several rounds, and writes <out>/latest.md, latest.png and latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- environment


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gb": round(mem_gb, 1),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }


def versions() -> dict:
    import confluent_kafka as ck

    import ferrokafka as fk

    v = {
        "ferrokafka": fk.__version__,
        "ferrokafka_librdkafka": fk.librdkafka_version,
        "confluent_kafka": ck.version() if isinstance(ck.version(), str) else ck.version()[0],
        "confluent_librdkafka": ck.libversion()[0],
        "python": platform.python_version(),
        "kafka_broker": "4.4.0",
    }
    try:
        from realkafka.harness import KAFKA_VERSION  # type: ignore

        v["kafka_broker"] = KAFKA_VERSION
    except Exception:  # noqa: BLE001
        pass
    try:
        lock = (bl.RUST_DIR / "Cargo.lock").read_text()
        for name in ("rdkafka", "rdkafka-sys"):
            marker = f'name = "{name}"\nversion = "'
            i = lock.index(marker) + len(marker)
            v[f"rust_{name}"] = lock[i : lock.index('"', i)]
    except (OSError, ValueError):
        pass
    try:
        head = subprocess.run(
            ["git", "-C", str(bl.REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(bl.REPO), "status", "--porcelain", "--", "src", "python"], capture_output=True, text=True
        ).stdout.strip()
        v["ferrokafka_git"] = head + (" (+ uncommitted changes in src/ or python/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return v


# ----------------------------------------------------------------------------- benchmark sections


def bench_consume(
    bootstrap: str,
    topics: dict[int, tuple[str, int]],
    rounds: int,
    checksum: bool,
    contenders: list[str],
    defaults: bool = False,
    confluent: list[str] = bl.CONFLUENT_CONSUME,
    ceiling: str = "rust-rdkafka",
    label: str = "consume",
) -> dict:
    """Returns {size: {contender: {"runs": [...], **summary}}}. `defaults`: every contender with its
    own default configuration (see benchlib.consumer_config). `confluent`, `ceiling`: what the
    × confluent and × rust ratios are against."""
    results: dict = {}
    for size, (topic, count) in topics.items():
        here = bl.consumers_for(size, contenders)
        per: dict[str, list[dict]] = {c: [] for c in here}
        for rnd in range(rounds):
            # Alternate: A B C ... each round, rotated so no contender is always first or last.
            order = here[rnd % len(here) :] + here[: rnd % len(here)]
            for contender in order:
                r = bl.run_consume(contender, bootstrap, topic, size, count, checksum, defaults)
                per[contender].append(r)
                log(
                    f"  {label} {'crc ' if checksum else 'dflt ' if defaults else ''}{bl.SIZES[size][0]:>6} "
                    f"round {rnd + 1} {contender:<22} "
                    f"{bl.rate(r):>12,.0f} msg/s {bl.rate(r, 'bytes') / 1e6:>9,.1f} MB/s "
                    f"rss {r['maxrss_kb'] / 1024:6.0f} MB"
                )
        results[size] = {c: {**bl.summarize(runs, size), "raw": runs} for c, runs in per.items()}
        add_ratios(results[size], confluent, ceiling)
    return results


def bench_arrow(bootstrap: str, topics: dict[int, tuple[str, int]], rounds: int, checksum: bool) -> tuple[dict, list]:
    """Kafka -> pyarrow Table: the ARROW_CONTENDERS, × confluent against confluent-arrow and × rust
    against the pure-Rust batch ceiling. Checks that every contender's table holds the same messages;
    returns the results and notes (unexpected schemas)."""
    results = bench_consume(
        bootstrap,
        topics,
        rounds,
        checksum,
        bl.ARROW_CONTENDERS,
        confluent=bl.CONFLUENT_ARROW,
        ceiling=bl.ARROW_CEILING,
        label="arrow",
    )
    notes = []
    for size, rows in results.items():
        notes += bl.check_arrow_agreement({c: row["raw"] for c, row in rows.items()}, topics[size][0])
    for note in sorted(set(notes)):
        log(f"  NOTE {note}")
    return results, sorted(set(notes))


def add_ratios(rows: dict, confluent: list[str], ceiling: str | None) -> None:
    conf_best = max((rows[c]["msgs_per_s"] for c in confluent if c in rows), default=0.0)
    ceil = rows[ceiling]["msgs_per_s"] if ceiling and ceiling in rows else 0.0
    for row in rows.values():
        row["x_confluent_best"] = row["msgs_per_s"] / conf_best if conf_best else None
        row["x_rust"] = row["msgs_per_s"] / ceil if ceil else None


def bench_produce(
    bootstrap: str, sizes: dict[int, int], rounds: int, contenders: list[str], reference: str = "confluent-produce"
) -> dict:
    """Produce (or produce_batch) contenders, each to a fresh topic per size; × confluent is against
    `reference`."""
    topics = {size: f"bench-produce-{size}-{uuid.uuid4().hex[:6]}" for size in sizes}
    bl.create_topics(bootstrap, {t: {} for t in topics.values()})
    results: dict = {}
    for size, count in sizes.items():
        per: dict[str, list[dict]] = {c: [] for c in contenders}
        for rnd in range(rounds):
            order = contenders[rnd % len(contenders) :] + contenders[: rnd % len(contenders)]
            for contender in order:
                r = bl.run_produce(contender, bootstrap, topics[size], size, count)
                per[contender].append(r)
                log(
                    f"  produce {bl.SIZES[size][0]:>6} round {rnd + 1} {contender:<26} "
                    f"{bl.rate(r):>12,.0f} msg/s {bl.rate(r, 'bytes') / 1e6:>9,.1f} MB/s "
                    f"rss {r['maxrss_kb'] / 1024:6.0f} MB"
                )
        results[size] = {c: {**bl.summarize(runs, size), "raw": runs} for c, runs in per.items()}
        add_ratios(results[size], [reference], None)
    return results


def add_aio_ratios(rows: dict, aiokafka: list[str], sync: str) -> None:
    """The aio tables' other two ratios: × the best aiokafka contender and × the synchronous
    ferrokafka reference (x_confluent_best, from add_ratios, is against confluent_kafka.aio)."""
    aio_best = max((rows[c]["msgs_per_s"] for c in aiokafka if c in rows), default=0.0)
    sync_rate = rows[sync]["msgs_per_s"] if sync in rows else 0.0
    for row in rows.values():
        row["x_aiokafka"] = row["msgs_per_s"] / aio_best if aio_best else None
        row["x_sync"] = row["msgs_per_s"] / sync_rate if sync_rate else None


def bench_latency(bootstrap: str, rounds: int, seconds: float) -> dict:
    """Produce -> consume latency of AIO_LATENCY_CONTENDERS, a fresh topic per run; the median of
    the rounds' p50 and p99, the largest max."""
    contenders = bl.AIO_LATENCY_CONTENDERS
    topics = {(c, rnd): f"bench-latency-{c}-{rnd}-{uuid.uuid4().hex[:6]}" for c in contenders for rnd in range(rounds)}
    bl.create_topics(bootstrap, {t: {} for t in topics.values()})
    per: dict[str, list[dict]] = {c: [] for c in contenders}
    for rnd in range(rounds):
        order = contenders[rnd % len(contenders) :] + contenders[: rnd % len(contenders)]
        for contender in order:
            r = bl.run_latency(
                contender, bootstrap, topics[contender, rnd], bl.AIO_LATENCY_RATE, seconds, bl.AIO_LATENCY_SIZE
            )
            per[contender].append(r)
            log(
                f"  aio latency round {rnd + 1} {contender:<22} p50 {r['p50_ms']:8.2f} ms p99 {r['p99_ms']:8.2f} ms "
                f"max {r['max_ms']:8.2f} ms ({r['count']:,} messages; sender at most "
                f"{r['send_lag_max_ms']:.1f} ms behind schedule)"
            )
    rows = {}
    for c, runs in per.items():
        rows[c] = {
            "runs": len(runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p90_ms": statistics.median(r["p90_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "max_ms": max(r["max_ms"] for r in runs),
            "messages": runs[0]["count"],
            "send_lag_max_ms": max(r["send_lag_max_ms"] for r in runs),
            "peak_rss_mb": max(r["maxrss_kb"] for r in runs) / 1024,
            "raw": runs,
        }
    return {"rate": bl.AIO_LATENCY_RATE, "seconds": seconds, "size": bl.AIO_LATENCY_SIZE, "rows": rows}


def bench_aio(
    bootstrap: str, topics: dict[int, tuple[str, int]], produce_sizes: dict[int, int], rounds: int, seconds: float
) -> dict:
    """The asyncio clients: consume and produce side by side with the synchronous ferrokafka
    reference rows, then produce -> consume latency."""
    consume = bench_consume(
        bootstrap,
        topics,
        rounds,
        False,
        bl.AIO_CONSUME_CONTENDERS,
        confluent=bl.CONFLUENT_AIO_CONSUME,
        ceiling=None,
        label="aio consume",
    )
    for rows in consume.values():
        add_aio_ratios(rows, bl.AIOKAFKA_CONSUME, bl.AIO_SYNC_CONSUME)
    produce = bench_produce(
        bootstrap, produce_sizes, rounds, bl.AIO_PRODUCE_CONTENDERS, reference="confluent-aio-produce"
    )
    for rows in produce.values():
        add_aio_ratios(rows, ["aiokafka-produce"], bl.AIO_SYNC_PRODUCE)
    latency = bench_latency(bootstrap, rounds, seconds)
    return {"consume": consume, "produce": produce, "latency": latency}


def bench_memory(
    bootstrap: str, stream_topic: tuple[str, int, int], hold_topic: tuple[str, int, int], scale: float
) -> dict:
    out: dict = {}
    topic, count, size = stream_topic
    config = bl.consumer_config(bootstrap, size)
    passes = 3
    result, samples = bl.run_sampled(
        "mem-stream", {"config": config, "topic": topic, "expected": count, "passes": passes}, interval=0.02
    )
    after = [rss for t, rss in samples if t >= 0] or [rss for _, rss in samples]
    half = len(after) // 2
    first_half = max(after[:half]) if half else 0
    second_half = max(after[half:]) if after[half:] else 0
    out["stream"] = {
        "topic": topic,
        "size": size,
        "passes": passes,
        **result,
        "samples": samples,
        "rss_first_half_max_mb": first_half / 1024,
        "rss_second_half_max_mb": second_half / 1024,
        "flat": second_half <= first_half * 1.10 + 8 * 1024,
    }
    log(
        f"  memory stream {count} x {bl.SIZES[size][0]} = {result['bytes'] / 1e6:,.0f} MB through the lending iterator: "
        f"RSS max {first_half / 1024:.0f} MB (1st half) / {second_half / 1024:.0f} MB (2nd half), "
        f"{len(samples)} samples"
    )

    topic, count, size = hold_topic
    # Bounded prefetch, so that what the held messages pin is what grows.
    config = dict(bl.consumer_config(bootstrap, size), **{"queued.max.messages.kbytes": 2048})
    hold_n = max(10, min(10_000, int(10_000 * scale), count // 2))
    sparse_every = 1000
    sparse_n = min(100, max(1, (count - 10) // sparse_every))
    scenarios = [("consecutive", hold_n, 1), ("sparse", sparse_n, sparse_every)]
    out["hold"] = []
    for name, n, every in scenarios:
        for detach in (False, True):
            args = {
                "config": dict(config, **{"group.id": f"bench-hold-{uuid.uuid4().hex[:8]}"}),
                "topic": topic,
                "hold": n,
                "every": every,
                "detach": detach,
            }
            r = bl.run_worker("mem-hold", args)
            r["scenario"] = name
            r["delta_mb"] = (r["held_rss_kb"] - r["base_rss_kb"]) / 1024
            r["per_message_kb"] = (r["held_rss_kb"] - r["base_rss_kb"]) / n
            out["hold"].append(r)
            log(
                f"  memory hold {name:<11} {n:>6} x {bl.SIZES[size][0]} {'detached' if detach else 'borrowed':<8}: "
                f"RSS +{r['delta_mb']:7.1f} MB ({r['per_message_kb']:8.1f} KB/message), "
                f"live native messages {r['live_native_messages']}, after release {r['released_rss_kb'] / 1024:.0f} MB"
            )
    return out


# ----------------------------------------------------------------------------- parallel processing

PARALLEL_RIVALS = bl.BENCHES / "parallel-rivals.txt"
PARALLEL_WORKERS = bl.BENCHES / "parallel_workers.py"
PARALLEL_PARTITIONS = 8
PARALLEL_KEYS = 1000
PARALLEL_IO_SECONDS = 0.005
PARALLEL_CPU_ITERATIONS = 40_000  # ~2 ms of pure Python per message here
# workload -> (concurrency, {contender: messages at scale 1})
PARALLEL_WORKLOADS = {
    "io": (
        64,
        {
            "sequential": 1_000,  # 5 ms each: 5 s
            "ferro-thread": 30_000,
            "ferro-aio": 30_000,
            "pyrallel-async": 30_000,
            "prosody": 30_000,
        },
    ),
    "cpu": (
        2,
        {
            "sequential": 3_000,
            "ferro-thread": 3_000,
            "ferro-process": 3_000,
            "pyrallel-process": 3_000,
            "prosody": 3_000,
        },
    ),
}
# prosody's `max_uncommitted` (messages taken from Kafka and not yet committed; its default is 64):
# ferrokafka.parallel's default bound for the same thing. At 64 prosody reads ~240 msg/s on the io
# workload whatever the handler's wait (5 ms or none): the cap, not the concurrency, sets its rate.
PARALLEL_PROSODY_MAX_UNCOMMITTED = 1000
PARALLEL_FERRO = ["ferro-thread", "ferro-process", "ferro-aio"]
PARALLEL_RIVAL_NAMES = ["pyrallel-async", "pyrallel-process", "prosody"]


def parallel_python() -> str:
    """The rivals' virtualenv (Python 3.12, benches/parallel-rivals.txt), made on first use under
    ~/.cache/ferrokafka/, one per version of that file."""
    import hashlib
    import shutil

    digest = hashlib.sha256(PARALLEL_RIVALS.read_bytes()).hexdigest()[:12]
    venv = Path.home() / ".cache" / "ferrokafka" / f"bench-parallel-{digest}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return str(python)
    candidates = []
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(root.glob("versions/3.12*/bin/python3.12"), reverse=True)
    if shutil.which("python3.12"):
        candidates.append(Path(shutil.which("python3.12")))  # type: ignore[arg-type]
    # (a pyenv shim on PATH may not run: check each candidate)
    base = next((str(c) for c in candidates if subprocess.run([str(c), "-c", ""]).returncode == 0), None)
    if base is None:
        raise RuntimeError("the parallel section needs Python 3.12 (pyenv, or python3.12 on PATH)")
    log(f"making the rivals' virtualenv {venv} with {base}")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(PARALLEL_RIVALS)],
        check=True,
    )
    (venv / ".complete").write_text(digest)
    return str(python)


def parallel_pythonpath() -> str:
    """A directory holding only a link to the ferrokafka package this harness imports: on the
    rivals' interpreter's PYTHONPATH it adds ferrokafka (abi3) and nothing else of this venv."""
    import tempfile

    import ferrokafka

    where = Path(tempfile.mkdtemp(prefix="ferrokafka-bench-path-"))
    (where / "ferrokafka").symlink_to(Path(ferrokafka.__file__).resolve().parent)
    return str(where)


def parallel_topic(bootstrap: str, count: int) -> str:
    """PARALLEL_PARTITIONS partitions of `count` JSON messages, keys k0..k999 (strings)."""
    import confluent_kafka as ck
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"bench-parallel-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(topic, PARALLEL_PARTITIONS, 1)], operation_timeout=30).values():
        fut.result(60)
    p = ck.Producer(bl.producer_config(bootstrap))
    for i in range(count):
        value = json.dumps({"i": i, "pad": "x" * 64}).encode()
        while True:
            try:
                p.produce(topic, value, key=b"k%d" % (i % PARALLEL_KEYS))
                break
            except BufferError:
                p.poll(0.05)
    if p.flush(120):
        raise RuntimeError(f"pre-produce of {topic} failed")
    return topic


def run_parallel_contender(
    python: str, pythonpath: str, contender: str, args: dict, timeout: float = 600, env_extra: dict | None = None
) -> dict:
    env = dict(os.environ, PYTHONPATH=pythonpath, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **(env_extra or {}))
    proc = subprocess.Popen(
        [python, str(PARALLEL_WORKERS), contender, json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a process group of its own (for the kill below), in the harness's session: on Linux with
        # autogroup scheduling a new session would be a scheduling group of its own too
        process_group=0,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # worker processes a contender left behind
        except ProcessLookupError:
            pass
        proc.wait()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"parallel {contender} failed (exit {proc.returncode}):\n{err[-3000:]}")
    return json.loads(lines[-1])


def bench_parallel(bootstrap: str, rounds: int, scale: float) -> dict:
    """ferrokafka.parallel against the plain sequential loop, pyrallel-consumer and prosody-events:
    an I/O-bound (5 ms wait) and a CPU-bound handler, every contender in its own process on the
    same interpreter (the rivals' Python 3.12 virtualenv)."""
    python = parallel_python()
    pythonpath = parallel_pythonpath()
    versions_out = subprocess.run(
        [
            python,
            "-c",
            "import importlib.metadata as m, platform; print(platform.python_version(), "
            "*(m.version(p) for p in ('pyrallel-consumer', 'prosody-events', 'confluent-kafka')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    most = max(max(int(n * scale) for n in counts.values()) for _, counts in PARALLEL_WORKLOADS.values())
    topic = parallel_topic(bootstrap, most + 1000)
    log(f"parallel: topic {topic} ({most + 1000:,} messages, {PARALLEL_PARTITIONS} partitions), python {python}")
    out: dict = {
        "python": versions_out[0],
        "pyrallel_consumer": versions_out[1],
        "prosody_events": versions_out[2],
        "confluent_kafka_rivals": versions_out[3],
        "io_seconds": PARALLEL_IO_SECONDS,
        "cpu_iterations": PARALLEL_CPU_ITERATIONS,
        "prosody_max_uncommitted": PARALLEL_PROSODY_MAX_UNCOMMITTED,
        "workloads": {},
        "skipped": {},
    }
    # prosody's consumer does not start without a Cassandra cluster (RuntimeError "value required and
    # fallback environment variable '$PROSODY_CASSANDRA_NODES' is not set"), in every mode: its
    # in-memory stores come only with mock=True, which replaces Kafka by an in-process mock cluster
    # that would not read this broker's topic. So a throw-away node, unless one is given.
    cassandra, prosody_env = parallel_cassandra(out)
    try:
        run_parallel_workloads(out, python, pythonpath, bootstrap, topic, rounds, scale, prosody_env)
    finally:
        if cassandra is not None:
            cassandra.stop()
    return out


def parallel_cassandra(out: dict) -> tuple[object | None, dict[str, str]]:
    """(the node started here, to stop, or None; prosody's environment). Notes what it used in
    out["cassandra"], or why prosody cannot run in out["skipped"]."""
    nodes = os.environ.get("PROSODY_CASSANDRA_NODES")
    if nodes:
        out["cassandra"] = f"external: {nodes}"
        return None, {"PROSODY_CASSANDRA_NODES": nodes}
    from realkafka.cassandra import CASSANDRA_VERSION, CassandraNode, CassandraUnavailable  # type: ignore

    node = CassandraNode()
    try:
        node.start()
    except CassandraUnavailable as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        out["skipped"]["prosody"] = (
            "needs a Cassandra cluster: PROSODY_CASSANDRA_NODES is not set and tests/realkafka/cassandra.py "
            f"could not start one ({first})"
        )
        log(f"parallel: no Cassandra for prosody: {err}")
        return None, {}
    out["cassandra"] = (
        f"Apache Cassandra {CASSANDRA_VERSION}, one node started by tests/realkafka/cassandra.py on "
        f"{node.contact_point} (-Xmx{node.heap}), up in {node.startup_seconds:.1f} s"
    )
    log(f"parallel: {out['cassandra']}")
    return node, {"PROSODY_CASSANDRA_NODES": node.contact_point}


def run_parallel_workloads(
    out: dict,
    python: str,
    pythonpath: str,
    bootstrap: str,
    topic: str,
    rounds: int,
    scale: float,
    prosody_env: dict[str, str],
) -> None:
    for workload, (concurrency, counts) in PARALLEL_WORKLOADS.items():
        names = [c for c in counts if c not in out["skipped"]]
        per: dict[str, list[dict]] = {c: [] for c in names}
        for rnd in range(rounds):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for contender in order:
                args = {
                    "bootstrap": bootstrap,
                    "topic": topic,
                    "expected": max(20, int(counts[contender] * scale)),
                    "workload": workload,
                    "concurrency": 1 if contender == "sequential" else concurrency,
                    "io_seconds": PARALLEL_IO_SECONDS,
                    "iterations": PARALLEL_CPU_ITERATIONS,
                    "prosody_max_uncommitted": PARALLEL_PROSODY_MAX_UNCOMMITTED,
                }
                env = prosody_env if contender == "prosody" else None
                r = run_parallel_contender(python, pythonpath, contender, args, env_extra=env)
                r["loadavg_1min_after"] = os.getloadavg()[0]  # other work on the machine shows here
                per[contender].append(r)
                log(
                    f"  parallel {workload} round {rnd + 1} {contender:<17} {r['msgs_per_s']:>10,.1f} msg/s "
                    f"({r['count']:,} messages in {r['seconds']:.2f} s, start-up {r['setup_seconds']:.1f} s, "
                    f"rss {r['maxrss_kb'] / 1024:.0f} MB)"
                )
        rows = {}
        for c, runs in per.items():
            rates = [r["msgs_per_s"] for r in runs]
            rows[c] = {
                "msgs_per_s": statistics.median(rates),
                "min_msgs_per_s": min(rates),
                "max_msgs_per_s": max(rates),
                "messages": runs[0]["count"],
                "concurrency": 1 if c == "sequential" else concurrency,
                "peak_rss_mb": max(r["maxrss_kb"] for r in runs) / 1024,
                "setup_s": statistics.median(r["setup_seconds"] for r in runs),
                "max_load": max(r["loadavg_1min_after"] for r in runs),
                "raw": runs,
            }
        base = rows["sequential"]["msgs_per_s"]
        for row in rows.values():
            row["x_sequential"] = row["msgs_per_s"] / base if base else None
        out["workloads"][workload] = rows


def parallel_targets(par: dict) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    io, cpu = par["workloads"].get("io", {}), par["workloads"].get("cpu", {})

    def rate(rows: dict, name: str) -> float:
        return rows.get(name, {}).get("msgs_per_s", 0.0)

    if io:
        r = rate(io, "ferro-thread") / rate(io, "sequential") if rate(io, "sequential") else 0.0
        out.append(
            (
                "parallel io (5 ms wait): ferrokafka.parallel threads, 64-way ≥ 50× the sequential loop",
                f"{rate(io, 'ferro-thread'):,.0f} msg/s = {r:.1f}× sequential ({rate(io, 'sequential'):,.1f})",
                r >= 50,
            )
        )
    if cpu:
        r = rate(cpu, "ferro-process") / rate(cpu, "ferro-thread") if rate(cpu, "ferro-thread") else 0.0
        out.append(
            (
                "parallel cpu: process mode ≥ 1.7× thread mode on 2 cores",
                f"{rate(cpu, 'ferro-process'):,.0f} msg/s = {r:.2f}× thread mode ({rate(cpu, 'ferro-thread'):,.0f})",
                r >= 1.7,
            )
        )
    for workload, rows in par["workloads"].items():
        ferro = max((rate(rows, c), c) for c in PARALLEL_FERRO if c in rows)
        rival = max(((rate(rows, c), c) for c in PARALLEL_RIVAL_NAMES if c in rows), default=(0.0, None))
        out.append(
            (
                f"parallel {workload}: ferrokafka.parallel ahead of every rival that ran (pyrallel-consumer, prosody-events)",
                f"{ferro[1]} {ferro[0]:,.0f} msg/s vs {rival[1]} {rival[0]:,.0f} msg/s ({ferro[0] / rival[0]:.2f}×)"
                if rival[0]
                else f"{ferro[1]} {ferro[0]:,.0f} msg/s, no rival ran",
                ferro[0] > rival[0] if rival[0] else None,
            )
        )
    return out


def parallel_markdown(report: dict) -> list[str]:
    par = report["parallel"]
    lines = [
        "",
        "## Parallel processing (`ferrokafka.parallel`)",
        "",
        f"Every contender in its own process on Python {par['python']} (the rivals' virtualenv; ferrokafka "
        f"from this checkout), pyrallel-consumer {par['pyrallel_consumer']} (confluent-kafka "
        f"{par['confluent_kafka_rivals']}), prosody-events {par['prosody_events']}; one topic of "
        f"{PARALLEL_PARTITIONS} partitions, JSON payloads (~90 B), {PARALLEL_KEYS} keys, per-key order "
        'for every contender (ferrokafka `ordering="key"`, pyrallel `key_hash` with as many buckets as '
        "the concurrency, prosody's own). Handlers: **io** waits "
        f"{par['io_seconds'] * 1000:.0f} ms (`time.sleep` in threads and processes, `await asyncio.sleep` in "
        f"coroutines); **cpu** runs {par['cpu_iterations']:,} iterations of a pure-Python loop (holds the "
        "GIL). Each handler then appends a byte to a marker file; the clock runs from the first completed "
        "message to the last (group join and worker start-up excluded). sequential: ferrokafka's "
        "`Consumer.poll()` loop calling the handler. ferro-thread / ferro-process: `ParallelProcessor` "
        '(`mode="thread"` / `"process"`); ferro-aio: `AsyncParallelProcessor`; pyrallel-async / '
        "pyrallel-process: `PyrallelConsumer` with `ExecutionMode.ASYNC` (`max_in_flight` = concurrency) / "
        "`PROCESS` (`process_count` = concurrency); prosody: `ProsodyClient` (`max_concurrency` = concurrency, "
        f"`max_uncommitted` = {par.get('prosody_max_uncommitted', PARALLEL_PROSODY_MAX_UNCOMMITTED):,} like "
        "ferrokafka.parallel's default (prosody's own, 64, caps it at ~240 msg/s), its default `pipeline` "
        "mode; coroutine handlers only, so its cpu handler runs on the event loop). prosody's store "
        f"(timers, deferrals, deduplication): {par.get('cassandra', 'none')}.",
        "",
        "The last column is the highest 1-minute load average seen right after the contender's runs: "
        "above ~3 (the contender's own processes, the broker) other work shared the 2 cores, and the cpu "
        "workload's numbers say little.",
        "",
        "| workload | contender | concurrency | messages | msgs/s | × sequential | min–max msgs/s | peak RSS MB | start-up s | load |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for workload, rows in par["workloads"].items():
        for name, row in rows.items():
            lines.append(
                f"| {workload} | {name} | {row['concurrency']} | {row['messages']:,} | {row['msgs_per_s']:,.1f} | "
                f"{fmt_ratio(row['x_sequential'])} | {row['min_msgs_per_s']:,.1f}–{row['max_msgs_per_s']:,.1f} | "
                f"{row['peak_rss_mb']:.0f} | {row['setup_s']:.1f} | {row.get('max_load', 0):.1f} |"
            )
    for name, why in par.get("skipped", {}).items():
        lines += ["", f"Not run: **{name}**: {why}."]
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    for name, measured, ok in parallel_targets(par):
        lines.append(f"| {name} | {measured} | {'—' if ok is None else 'yes' if ok else '**no**'} |")
    return lines


# ----------------------------------------------------------------------------- report


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def targets(report: dict) -> list[tuple[str, str, bool | None]]:
    out = []
    consume = report.get("consume", {}).get("plain", {})

    def best(rows, names):
        cands = [(rows[c]["msgs_per_s"], c) for c in names if c in rows]
        return max(cands) if cands else (0.0, None)

    def conf_best(rows):
        return best(rows, bl.CONFLUENT_CONSUME)[0]

    def versus_confluent(
        rows, name, at_least, note="", ferro=bl.FERRO_CONSUME, confluent=bl.CONFLUENT_CONSUME, against="confluent best"
    ):
        fb, fc = best(rows, ferro)
        cb = best(rows, confluent)[0]
        ratio = fb / cb if cb else 0
        measured = f"{fc} {fmt_rate(fb)} msg/s = {ratio:.2f}× {against} ({fmt_rate(cb)}){note}"
        return (f"{name}: ferrokafka best ≥ {at_least}× {against}", measured, ratio >= at_least)

    if 100 in consume:
        rows = consume[100]
        out.append(versus_confluent(rows, "consume 100 B", 1.5))
        batch = rows.get("ferro-consume", {}).get("msgs_per_s", 0.0)
        confluent_poll = rows.get("confluent-poll", {}).get("msgs_per_s", 0.0)
        for lender in ("ferro-iter", "ferro-poll"):
            rate = rows.get(lender, {}).get("msgs_per_s", 0.0)
            if rate and batch and confluent_poll:
                out.append(
                    (
                        f"{lender} 100 B ≥ 0.9× ferro-consume and ≥ 1.8× confluent-poll",
                        f"{fmt_rate(rate)} msg/s = {rate / batch:.2f}× ferro-consume, "
                        f"{rate / confluent_poll:.2f}× confluent-poll",
                        rate >= 0.9 * batch and rate >= 1.8 * confluent_poll,
                    )
                )
        dropin = rows.get("dropin-poll", {}).get("msgs_per_s", 0.0)
        if dropin and confluent_poll:
            out.append(
                (
                    "dropin-poll 100 B (the confluent drop-in's poll() + value()) ≥ 1.3× confluent-poll",
                    f"{fmt_rate(dropin)} msg/s = {dropin / confluent_poll:.2f}× confluent-poll",
                    dropin >= 1.3 * confluent_poll,
                )
            )
    if bl.MB in consume:
        rows = consume[bl.MB]
        fb, _ = best(rows, bl.FERRO_CONSUME)
        cb = conf_best(rows)
        rust = rows.get("rust-rdkafka", {}).get("msgs_per_s", 0.0)
        note = ""
        if rust and cb and rust / cb < 1.5:
            note = f"; the pure-Rust ceiling itself is only {rust / cb:.2f}× confluent here"
        out.append(versus_confluent(rows, "consume 1 MB", 1.5, note))
        rr = fb / rust if rust else 0
        out.append(
            (
                "consume 1 MB: ferrokafka best ≥ 80% of pure Rust",
                f"{rr:.0%} of rust-rdkafka ({fmt_rate(rust)} msg/s)",
                rr >= 0.8,
            )
        )
    defaults = report.get("consume", {}).get("default-config", {})
    if 100 in defaults:
        out.append(versus_confluent(defaults[100], "consume 100 B, every client with its default configuration", 3))
    produce = report.get("produce", {})
    if 100 in produce:
        rows = produce[100]
        fb, fc = best(rows, bl.FERRO_PRODUCE)
        cb = rows.get("confluent-produce", {}).get("msgs_per_s", 0.0)
        ratio = fb / cb if cb else 0
        out.append(
            (
                "produce 100 B: ferrokafka ≥ 1.0× confluent",
                f"{fc} {fmt_rate(fb)} msg/s = {ratio:.2f}× confluent-produce ({fmt_rate(cb)})",
                ratio >= 1.0,
            )
        )
        dropin = rows.get("dropin-produce", {}).get("msgs_per_s", 0.0)
        if dropin and cb:
            out.append(
                (
                    "produce 100 B: the confluent drop-in's produce() ≥ 1.0× confluent-kafka's",
                    f"dropin-produce {fmt_rate(dropin)} msg/s = {dropin / cb:.2f}× confluent-produce ({fmt_rate(cb)})",
                    dropin >= cb,
                )
            )
    arrow = report.get("arrow", {}).get("plain", {})
    if 100 in arrow:
        rows = arrow[100]
        out.append(
            versus_confluent(
                rows,
                "Arrow ingest 100 B",
                3,
                ferro=bl.FERRO_ARROW,
                confluent=bl.CONFLUENT_ARROW,
                against="confluent-kafka consume + pa.table",
            )
        )
        fb, fc = best(rows, bl.FERRO_ARROW)
        ceiling = rows.get(bl.ARROW_CEILING, {}).get("msgs_per_s", 0.0)
        rr = fb / ceiling if ceiling else 0
        out.append(
            (
                f"Arrow ingest 100 B: ferrokafka best ≥ 80% of the pure-Rust batch ceiling ({bl.ARROW_CEILING})",
                f"{fc} {fmt_rate(fb)} msg/s = {rr:.0%} of {bl.ARROW_CEILING} ({fmt_rate(ceiling)} msg/s)",
                rr >= 0.8,
            )
        )
    produce_batch = report.get("produce-batch", {})
    if 100 in produce_batch:
        out.append(
            versus_confluent(
                produce_batch[100],
                "produce_batch 100 B",
                1.5,
                ferro=bl.FERRO_PRODUCE_BATCH,
                confluent=bl.CONFLUENT_PRODUCE_BATCH,
                against="confluent-kafka produce_batch",
            )
        )
    aio = report.get("aio", {})
    for size, rows in aio.get("consume", {}).items():
        label = bl.SIZES[size][0]
        out.append(
            versus_confluent(
                rows,
                f"aio consume {label} (ferrokafka.aio)",
                0.8,
                ferro=bl.FERRO_AIO_CONSUME,
                confluent=[bl.AIO_SYNC_CONSUME],
                against="ferrokafka's synchronous consume(1000)",
            )
        )
        out.append(
            versus_confluent(
                rows,
                f"aio consume {label} (ferrokafka.aio)",
                3,
                ferro=bl.FERRO_AIO_CONSUME,
                confluent=bl.CONFLUENT_AIO_CONSUME + bl.AIOKAFKA_CONSUME,
                against="the better of confluent_kafka.aio and aiokafka",
            )
        )
    for size, rows in aio.get("produce", {}).items():
        out.append(
            versus_confluent(
                rows,
                f"aio produce {bl.SIZES[size][0]} (ferrokafka.aio)",
                2,
                ferro=bl.FERRO_AIO_PRODUCE,
                confluent=bl.AIO_PRODUCE_RIVALS,
                against="the better of confluent_kafka.aio and aiokafka",
            )
        )
    return out


CONSUME_TABLE_HEAD = [
    "| size | messages | contender | msgs/s | MB/s | × confluent | × rust | min–max msgs/s | peak RSS MB | join s |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
PRODUCE_TABLE_HEAD = [
    "| size | messages | contender | msgs/s | MB/s | × confluent | min–max msgs/s | peak RSS MB |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
]


def consume_rows(by_size: dict) -> list[str]:
    lines = []
    for size, rows in by_size.items():
        count = rows[next(iter(rows))]["raw"][0]["count"]
        for name, row in rows.items():
            lines.append(
                f"| {bl.SIZES[size][0]} | {count:,} | {name} | {fmt_rate(row['msgs_per_s'])} | {row['mb_per_s']:,.1f} | "
                f"{fmt_ratio(row['x_confluent_best'])} | {fmt_ratio(row['x_rust'])} | "
                f"{fmt_rate(row['min_msgs_per_s'])}–{fmt_rate(row['max_msgs_per_s'])} | {row['peak_rss_mb']:.0f} | "
                f"{row['setup_s']:.2f} |"
            )
    return lines


def produce_rows(by_size: dict) -> list[str]:
    lines = []
    for size, rows in by_size.items():
        for name, row in rows.items():
            count = row["raw"][0]["count"]
            lines.append(
                f"| {bl.SIZES[size][0]} | {count:,} | {name} | {fmt_rate(row['msgs_per_s'])} | "
                f"{row['mb_per_s']:,.1f} | {fmt_ratio(row['x_confluent_best'])} | "
                f"{fmt_rate(row['min_msgs_per_s'])}–{fmt_rate(row['max_msgs_per_s'])} | {row['peak_rss_mb']:.0f} |"
            )
    return lines


AIO_CONSUME_TABLE_HEAD = [
    "| size | messages | contender | msgs/s | MB/s | × confluent.aio | × aiokafka | × ferro sync | min–max msgs/s | peak RSS MB | join s |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
AIO_PRODUCE_TABLE_HEAD = [
    "| size | messages | contender | msgs/s | MB/s | × confluent.aio | × aiokafka | × ferro sync | min–max msgs/s | peak RSS MB |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def aio_rows(by_size: dict, join: bool) -> list[str]:
    lines = []
    for size, rows in by_size.items():
        for name, row in rows.items():
            count = row["raw"][0]["count"]
            lines.append(
                f"| {bl.SIZES[size][0]} | {count:,} | {name} | {fmt_rate(row['msgs_per_s'])} | {row['mb_per_s']:,.1f} | "
                f"{fmt_ratio(row['x_confluent_best'])} | {fmt_ratio(row.get('x_aiokafka'))} | "
                f"{fmt_ratio(row.get('x_sync'))} | "
                f"{fmt_rate(row['min_msgs_per_s'])}–{fmt_rate(row['max_msgs_per_s'])} | {row['peak_rss_mb']:.0f} |"
                + (f" {row['setup_s']:.2f} |" if join else "")
            )
    return lines


def aio_markdown(aio: dict) -> list[str]:
    lines = ["", "## asyncio clients", ""]
    if aio.get("consume"):
        lines += [
            "**Consume** (the consume section's topics, configuration, work per message and clock; each "
            "contender on `asyncio.run()`'s default loop). ferro-aio-iter: `async for msg in "
            "ferrokafka.aio.AIOConsumer` (lending iterator); ferro-aio-consume: `await "
            f"consumer.consume({bl.batch_size(100)}, 1.0)`; confluent-aio-consume: "
            f"`confluent_kafka.aio.AIOConsumer`'s `await consume({bl.batch_size(100)}, 1.0)` (each call "
            "runs the synchronous consume on its thread pool); confluent-aio-poll: its `await poll(1.0)`, "
            "one thread-pool call per message; aiokafka: `async for msg in consumer`; aiokafka-getmany: "
            f"`await consumer.getmany(timeout_ms=1000, max_records={bl.batch_size(100)})`; ferro-consume: "
            "the synchronous reference. `× confluent.aio` is against the better confluent_kafka.aio "
            "contender, `× aiokafka` against the better aiokafka one, `× ferro sync` against "
            "ferro-consume.",
            "",
            *AIO_CONSUME_TABLE_HEAD,
            *aio_rows(aio["consume"], join=True),
        ]
    if aio.get("produce"):
        lines += [
            "",
            "**Produce** (the produce section's message counts and producer settings). Every asyncio "
            "contender keeps every future: `futures.append(await producer.produce(topic, value, "
            "key=key))` per message (aiokafka: `await producer.send(...)`), then `await "
            "producer.flush()` and `await` of each future in turn (failures counted), all inside the "
            "clock. confluent_kafka.aio's `produce()` buffers messages and hands them to its thread pool "
            "1000 at a time (`produce_batch` + `poll(0)`). ferro-produce-bytes: the synchronous "
            "reference (futures dropped). `× confluent.aio` is against confluent-aio-produce, "
            "`× ferro sync` against ferro-produce-bytes.",
            "",
            *AIO_PRODUCE_TABLE_HEAD,
            *aio_rows(aio["produce"], join=False),
        ]
    lat = aio.get("latency")
    if lat:
        lines += [
            "",
            f"**Produce → consume latency**: {lat['rate']:,} messages/s of {lat['size']} B for "
            f"{lat['seconds']:g} s per run, a fresh topic per run. One process, one event loop: a producer "
            "task stamps each value with `time.perf_counter_ns()` just before its produce call, a consumer "
            "task (assigned partition 0 from offset 0: no group join; one warm-up message first) "
            "subtracts it when the message reaches it — what an asyncio service that produces and "
            "consumes does. Producer settings as in Produce (`linger.ms=5` for every client: most of "
            "the median). ferro-aio: `async for` + `await produce()`; confluent-aio: `await "
            "poll(1.0)` (its `consume(n, t)` waits for n messages or t) + `await produce()` with "
            "AIOProducer's default `batch_size=1000`, so a message waits in its buffer until 1000 are "
            "queued (a flush after 1 s of inactivity never comes at a steady rate); "
            "confluent-aio-batch1: the same with `batch_size=1`; aiokafka: `async for` + `await "
            "send()`. Median of the rounds' percentiles; max over all runs.",
            "",
            "| contender | messages | p50 ms | p90 ms | p99 ms | max ms | sender behind schedule, max ms | peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, row in lat["rows"].items():
            lines.append(
                f"| {name} | {row['messages']:,} | {row['p50_ms']:.2f} | {row['p90_ms']:.2f} | {row['p99_ms']:.2f} | "
                f"{row['max_ms']:.2f} | {row['send_lag_max_ms']:.1f} | {row['peak_rss_mb']:.0f} |"
            )
    return lines


def write_markdown(report: dict, path: Path) -> None:
    m, v = report["machine"], report["versions"]
    lines = [
        "# ferrokafka benchmark results",
        "",
        f"- **Date**: {report['date']}  (total wall time {report['wall_seconds'] / 60:.1f} min)",
        f"- **Command**: `{report['command']}`",
        f"- **Mode**: {'quick' if report['quick'] else 'full'} (message counts × {report['scale']:g}), {report['rounds']} round(s) per "
        "contender, contenders alternated within each round, each run in its own process, median reported",
        f"- **Machine**: {m['cpu']}, {m['cores']} cores, {m['mem_gb']} GB RAM, Linux {m['kernel']}; "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])} "
        "(broker, client and benchmark share the machine)",
        f"- **Versions**: ferrokafka {v['ferrokafka']} ({v.get('ferrokafka_git', '?')}) on librdkafka "
        f"{v['ferrokafka_librdkafka']}; confluent-kafka {v['confluent_kafka']} on librdkafka "
        f"{v['confluent_librdkafka']}; rust-rdkafka {v.get('rust_rdkafka', '?')} (rdkafka-sys "
        f"{v.get('rust_rdkafka-sys', '?')}); Python {v['python']}; Apache Kafka broker {v['kafka_broker']} "
        f"({report['broker']})",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
    ]
    for name, measured, ok in targets(report):
        lines.append(f"| {name} | {measured} | {'✅ yes' if ok else '❌ no'} |")
    if report.get("parallel"):
        lines += parallel_markdown(report)
    for mode, by_size in report.get("consume", {}).items():
        work = "offset + key + len(payload)" + (" + zlib.crc32(payload)" if mode == "checksum" else "")
        if mode == "default-config":
            config_text = (
                "Every contender with its own default configuration: only bootstrap.servers, group.id, "
                "auto.offset.reset=earliest and enable.auto.commit=false are set (ferrokafka's defaults "
                "differ from librdkafka's in fetch.queue.backoff.ms: 10 ms, not 1000 ms; see docs/configuration.md). "
            )
        else:
            config_text = (
                "All consumers run with fetch.queue.backoff.ms=10 (librdkafka's default of 1000 ms caps every "
                "Python client at ~100k msgs/s on small messages: see benches/README.md). "
            )
        lines += [
            "",
            f"## Consume ({mode}: {work} per message)",
            "",
            "Batch contenders ask for min(1000, 16 MB / size) messages per call (1000 up to 16 KB, 256 at "
            "64 KB, 16 at 1 MB). The clock starts after the first receive call returned and was processed "
            "(so the wait for the first fetch is excluded) and stops at the last expected message. "
            + config_text
            + "Median of the rounds; `× confluent` is against the best confluent-kafka contender of the same "
            "size in this run, `× rust` against the pure-Rust rdkafka consumer. dropin-poll is "
            "confluent-poll's loop (`poll()`, `error()`, `offset()`, `key()`, `value()`) on ferrokafka's "
            "drop-in (`ferrokafka.confluent.Consumer`). Peak RSS is the run's VmHWM.",
            "",
            *CONSUME_TABLE_HEAD,
            *consume_rows(by_size),
        ]
    for mode, by_size in report.get("arrow", {}).items():
        lines += [
            "",
            f"## Kafka → Arrow table ({mode}{': + zlib.crc32 of the value column, chunk by chunk' if mode == 'checksum' else ''})",
            "",
            "Every Python contender ends with one pyarrow Table holding every message (topic, partition, "
            "offset, timestamp, timestamp_type, key, value, headers; ferrokafka's MessageBatch schema): one "
            "table per receive call, `pa.concat_tables` at the end, inside the clock. ferro-arrow: "
            f"`pa.table(consumer.consume_batch({bl.batch_size(100)}, 1.0))` (the Arrow PyCapsule interface, no "
            "copy); ferro-arrow-10k: the same with consume_batch's default max_messages (10,000); "
            f"confluent-arrow: `consume({bl.batch_size(100)}, 1.0)`, one Python list per column, "
            "`pa.table({...}, schema=...)`. rust-rdkafka and rust-rdkafka-batch are the pure-Rust consumers "
            "of the consume section (offset + key + len(payload) per message, no table): the ceilings. "
            "Same consumer configuration and clock as the consume section. Every run's table is checked "
            "against the others (rows, value bytes, key bytes, offset sum, CRC-32 of the values, timestamp "
            "sum). `× confluent` is against confluent-arrow, `× rust` against rust-rdkafka-batch (the "
            "pure-Rust batch ceiling). Peak RSS includes the whole table.",
            "",
            *CONSUME_TABLE_HEAD,
            *consume_rows(by_size),
        ]
    for note in report.get("arrow_notes", []):
        lines += ["", f"**Note**: {note}"]
    if report.get("produce"):
        lines += [
            "",
            "## Produce (linger.ms=5, batch.num.messages=10000, batch.size=1000000, acks=all, no compression)",
            "",
            "From the first produce() to the end of flush(); ferrokafka's futures are dropped as they are "
            "returned (they still resolve on its delivery thread); confluent-produce has no delivery callback "
            "and polls every 1024 messages, confluent-produce-callback has a per-message callback "
            "(the closest equivalent of a future); dropin-produce is confluent-produce's loop on ferrokafka's "
            "drop-in (`ferrokafka.confluent.Producer`). `× confluent` is against confluent-produce.",
            "",
            *PRODUCE_TABLE_HEAD,
            *produce_rows(report["produce"]),
        ]
    if report.get("produce-batch"):
        lines += [
            "",
            f"## produce_batch ({bl.PRODUCE_BATCH:,} messages per call, no key; producer settings as in Produce)",
            "",
            "From the first produce_batch() to the last delivery, after one warm-up message; the values "
            "are distinct bytes objects prepared before the clock (one batch, sent count / batch times). "
            "ferro-produce-batch: `producer.produce_batch(topic, values)` (a list of bytes); "
            "ferro-produce-batch-arrow: `producer.produce_batch(topic, table)` (a pyarrow Table with a "
            "binary `value` column, built before the clock); both wait on the one future per call, "
            "whose lists are checked for failures. confluent-produce-batch: `producer.produce_batch(topic, "
            '[{"value": v} for v in values])` (the dicts are built inside the clock: they are what its '
            "API takes) + `poll(0)` per call, no delivery callback, `flush()` at the end. "
            "`× confluent` is against confluent-produce-batch.",
            "",
            *PRODUCE_TABLE_HEAD,
            *produce_rows(report["produce-batch"]),
        ]
    if report.get("aio"):
        lines += aio_markdown(report["aio"])
    mem = report.get("memory")
    if mem:
        s = mem["stream"]
        lines += [
            "",
            "## Memory",
            "",
            f"**Streaming** {s['count']:,} × {bl.SIZES[s['size']][0]} = {s['bytes'] / 1e6:,.0f} MB through the "
            f"lending iterator ({s['passes']} passes over the topic, seeking back to offset 0 after each) in "
            f"{s['seconds']:.1f} s: RSS sampled every 20 ms from outside — max "
            f"{s['rss_first_half_max_mb']:.0f} MB in the first half, {s['rss_second_half_max_mb']:.0f} MB in "
            f"the second half → {'**flat**' if s['flat'] else '**growing**'}; at most "
            f"{s['max_live_messages']} native message(s) alive. (Most of the RSS is librdkafka's prefetch "
            "queue, queued.max.messages.kbytes = 64 MB by default, plus the fetch buffers in flight.)",
            "",
            "**Holding messages** (1 KB topic, queued.max.messages.kbytes=2048 so the prefetch stays small; "
            "RSS measured after the first message and again while the messages are held):",
            "",
            "| scenario | held | kept 1 of | kind | RSS growth MB | per held message KB | live native messages | RSS after dropping them MB |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
        ]
        for r in mem["hold"]:
            lines.append(
                f"| {r['scenario']} | {r['held']:,} | {r['every']:,} | {'detached (OwnedMessage)' if r['detached'] else 'borrowed'} | "
                f"{r['delta_mb']:,.1f} | {r['per_message_kb']:,.1f} | {r['live_native_messages']:,} | "
                f"{r['released_rss_kb'] / 1024:,.0f} |"
            )
        lines += [
            "",
            "A BorrowedMessage is librdkafka's rd_kafka_message_t, whose payload points into the fetch "
            "response buffer it came from; that whole buffer (up to max.partition.fetch.bytes per partition, "
            "1 MB by default) stays allocated while any message or memoryview from it is alive. Consecutive "
            "borrowed messages share few buffers (cost ≈ the payloads plus librdkafka's per-message header "
            "and the Python objects); *sparse* ones each pin a buffer of their own. A detached OwnedMessage "
            "costs its own bytes only. Detach what you keep. (The last column is after `del` + gc: glibc "
            "keeps freed memory mapped, so RSS does not drop back to the baseline.)",
        ]
    chart = f" Chart: `{report['png_name']}`." if report.get("png_name") else ""
    lines += ["", f"Raw numbers: `{report['json_name']}`.{chart}", ""]
    path.write_text("\n".join(lines))


def write_chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # (kind, title, {size: {contender: row}}): the bar panels, then the memory curve.
    panels: list[tuple[str, str, dict]] = []
    for mode, by_size in report.get("consume", {}).items():
        panels.append(("bars", f"Consume ({mode})", by_size))
    for mode, by_size in report.get("arrow", {}).items():
        panels.append(("bars", f"Kafka → Arrow table ({mode}; 1.0 = confluent-kafka consume + pa.table)", by_size))
    if report.get("produce"):
        panels.append(("bars", "Produce", report["produce"]))
    if report.get("produce-batch"):
        panels.append(("bars", "produce_batch (1.0 = confluent-kafka produce_batch)", report["produce-batch"]))
    if report.get("aio", {}).get("consume"):
        panels.append(("bars", "asyncio consume (1.0 = confluent_kafka.aio consume)", report["aio"]["consume"]))
    if report.get("aio", {}).get("produce"):
        panels.append(("bars", "asyncio produce (1.0 = confluent_kafka.aio produce)", report["aio"]["produce"]))
    if report.get("memory"):
        panels.append(("memory", "", {}))
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 4.2 * len(panels)), squeeze=False)
    colors = {"ferro": "#d35400", "confluent": "#2980b9", "rust": "#7f8c8d"}

    def color(name, i):
        base = next((c for k, c in colors.items() if name.startswith(k)), "#555")
        return base

    for ax, (kind, panel_title, by_size) in zip(axes[:, 0], panels):
        if kind == "bars":
            sizes = list(by_size)
            names = list(by_size[sizes[0]])
            width = 0.8 / len(names)
            for j, name in enumerate(names):
                # A contender skipped at some size (kafka-python at 1 MB) has no bar there.
                vals = [by_size[s].get(name, {}).get("x_confluent_best") or 0 for s in sizes]
                xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(sizes))]
                hatch = ["", "//", "..", "xx", "\\\\", "oo", ""][j % 7]
                bars = ax.bar(
                    xs, vals, width, label=name, color=color(name, j), edgecolor="black", hatch=hatch, alpha=0.9
                )
                for b, s in zip(bars, sizes):
                    if name not in by_size[s]:
                        continue
                    ax.annotate(
                        f"{by_size[s][name]['mb_per_s']:,.0f}",
                        (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                    )
            ax.axhline(1.0, color="black", lw=0.8)
            ax.set_xticks(range(len(sizes)), [bl.SIZES[s][0] for s in sizes])
            ax.set_ylabel("throughput ÷ confluent best")
            ax.set_title(f"{panel_title} — msgs/s relative to confluent-kafka (bar labels: MB/s)")
            ax.legend(fontsize=7, ncol=4)
        else:
            s = report["memory"]["stream"]
            ts = [t for t, _ in s["samples"]]
            rss = [r / 1024 for _, r in s["samples"]]
            ax.plot(ts, rss, color=colors["ferro"])
            ax.axvline(0, color="gray", lw=0.8, ls="--")
            ax.set_xlabel("seconds since the first message")
            ax.set_ylabel("RSS MB")
            ax.set_ylim(bottom=0)
            ax.set_title(
                f"RSS while streaming {s['bytes'] / 1e6:,.0f} MB through the lending iterator "
                f"({bl.SIZES[s['size']][0]} messages)"
            )
    fig.suptitle(
        f"ferrokafka {report['versions']['ferrokafka']} vs confluent-kafka {report['versions']['confluent_kafka']} "
        f"— {report['machine']['cpu']}, {report['machine']['cores']} cores ({'quick' if report['quick'] else 'full'})",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_report(path: Path) -> dict:
    """A saved report with its size keys turned back into ints."""
    report = json.loads(path.read_text())
    for section in ("consume", "arrow"):  # {mode: {size: rows}}
        if section in report:
            report[section] = {mode: {int(k): v for k, v in by.items()} for mode, by in report[section].items()}
    for section in ("produce", "produce-batch"):  # {size: rows}
        if section in report:
            report[section] = {int(k): v for k, v in report[section].items()}
    for part in ("consume", "produce"):  # aio: {"consume": {size: rows}, "produce": ..., "latency": ...}
        if part in report.get("aio", {}):
            report["aio"][part] = {int(k): v for k, v in report["aio"][part].items()}
    return report


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(x) for x in obj]
    return obj


# ----------------------------------------------------------------------------- main


SECTIONS = ["consume", "defaults", "arrow", "produce", "produce-batch", "aio", "memory", "parallel"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"~{bl.QUICK_DIVISOR}x fewer messages, 1 round by default")
    ap.add_argument("--scale", type=float, help="multiply every message count by this (default 1, --quick 1/50)")
    ap.add_argument("--rounds", type=int, help="rounds per contender (default 3, --quick 1)")
    ap.add_argument(
        "--checksum", action="store_true", help="also run the consume benchmark with zlib.crc32 of every payload"
    )
    ap.add_argument("--out", default=str(bl.BENCHES / "results"), help="output directory (default benches/results)")
    ap.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        help="use this broker instead of starting one (default $KAFKA_BOOTSTRAP_SERVERS)",
    )
    ap.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    ap.add_argument(
        "--sizes",
        default=None,
        help="comma-separated consume sizes in bytes (default all: 100,1024,65536,1048576; "
        "the arrow and aio sections run those of 100 and 1024)",
    )
    ap.add_argument(
        "--contenders",
        default=None,
        help="comma-separated contenders to run in the consume, defaults and produce sections (default all); "
        "for quick side-by-side iterations, e.g. ferro-poll,ferro-iter,ferro-consume,confluent-poll",
    )
    ap.add_argument("--render", metavar="JSON", help="only re-write the .md and .png from a saved latest.json")
    args = ap.parse_args(argv)
    if args.render:
        report = load_report(Path(args.render))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_markdown(report, out / "latest.md")
        write_chart(report, out / "latest.png")
        return 0
    rounds = args.rounds or (1 if args.quick else 3)
    sections = set(args.only.split(","))
    if sections - set(SECTIONS):
        ap.error(f"unknown section(s) {', '.join(sorted(sections - set(SECTIONS)))}; known: {', '.join(SECTIONS)}")
    scale = args.scale if args.scale is not None else (1 / bl.QUICK_DIVISOR if args.quick else 1.0)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(bl.SIZES)
    chosen = set(args.contenders.split(",")) if args.contenders else None
    known = set(bl.CONSUME_CONTENDERS) | set(bl.PRODUCE_CONTENDERS)
    if chosen is not None and chosen - known:
        ap.error(f"unknown contender(s) {', '.join(sorted(chosen - known))}; known: {', '.join(sorted(known))}")

    def pick(contenders: list[str]) -> list[str]:
        return [c for c in contenders if chosen is None or c in chosen]

    arrow_sizes = [s for s in sizes if s in bl.ARROW_SIZES]
    aio_sizes = [s for s in sizes if s in bl.AIO_SIZES]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "parallel" if sections == {"parallel"} else "latest"
    t_start = time.monotonic()

    report: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(
            shlex.quote(a) for a in ["python", "benches/run.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "quick": args.quick,
        "scale": scale,
        "rounds": rounds,
        "machine": machine_info(),
        # Only the parallel section: its own parallel.* (latest.* stays the last full run's).
        "json_name": f"{stem}.json",
        "png_name": None if stem == "parallel" else f"{stem}.png",
    }
    sys.path.insert(0, str(bl.REPO / "tests"))
    report["versions"] = versions()
    log(f"machine: {report['machine']}")
    log(f"versions: {report['versions']}")

    if ("consume" in sections and pick(bl.RUST_CONSUME)) or "arrow" in sections:
        log("building benches/rust-consumer")
        bl.build_rust_consumer()

    broker = None
    if args.bootstrap:
        bootstrap = args.bootstrap
        report["broker"] = f"external: {bootstrap}"
    else:
        from realkafka.harness import KafkaBroker  # type: ignore

        # C2 enabled (the harness defaults to C1 only, for fast test startup): a benchmark wants the
        # broker's steady-state speed.
        broker = KafkaBroker(jvm_args=["-XX:TieredStopAtLevel=4"], heap_max="2g")
        broker.start()
        bootstrap = broker.bootstrap_servers
        report["broker"] = f"started by tests/realkafka/harness.py on {bootstrap}, C2 JIT, -Xmx2g"
        log(f"broker up at {bootstrap} in {broker.startup_seconds:.1f} s")
    try:
        run_id = uuid.uuid4().hex[:6]
        # Pre-produce only the topics the sections read.
        needed: set[int] = set()
        if "consume" in sections:
            needed |= set(sizes)
        if "defaults" in sections:
            needed |= {s for s in sizes if s <= bl.KB}
        if "arrow" in sections:
            needed |= set(arrow_sizes)
        if "aio" in sections:
            needed |= set(aio_sizes)
        if "memory" in sections:
            needed |= {bl.KB, bl.MB}
        topics: dict[int, tuple[str, int]] = {}
        report["preproduce"] = {}
        for size in sorted(needed):
            count = max(10, int(bl.SIZES[size][1] * scale))
            topic = f"bench-{size}-{run_id}"
            secs = bl.preproduce(bootstrap, topic, count, size)
            have = bl.topic_count(bootstrap, topic)
            if have != count:
                raise RuntimeError(f"{topic} holds {have} messages, expected {count}")
            topics[size] = (topic, count)
            report["preproduce"][size] = {"topic": topic, "count": count, "seconds": secs}
            log(f"pre-produced {count:,} x {bl.SIZES[size][0]} into {topic} in {secs:.1f} s")

        if "consume" in sections:
            report["consume"] = {}
            for checksum in [False, True] if args.checksum else [False]:
                mode = "checksum" if checksum else "plain"
                log(f"consume benchmark ({mode}), {rounds} round(s)")
                report["consume"][mode] = bench_consume(
                    bootstrap, {s: topics[s] for s in sizes}, rounds, checksum, pick(bl.CONSUME_CONTENDERS)
                )
        if "defaults" in sections:
            small = {s: topics[s] for s in sizes if s <= bl.KB}
            log(f"consume benchmark, every client with its default configuration, {rounds} round(s)")
            report.setdefault("consume", {})["default-config"] = bench_consume(
                bootstrap, small, rounds, False, pick(bl.CONSUME_CONTENDERS), defaults=True
            )
        if "arrow" in sections and arrow_sizes:
            report["arrow"] = {}
            report["arrow_notes"] = []
            for checksum in [False, True] if args.checksum else [False]:
                mode = "checksum" if checksum else "plain"
                log(f"Kafka -> Arrow table benchmark ({mode}), {rounds} round(s)")
                report["arrow"][mode], notes = bench_arrow(
                    bootstrap, {s: topics[s] for s in arrow_sizes}, rounds, checksum
                )
                report["arrow_notes"] = sorted(set(report["arrow_notes"]) | set(notes))
        if "produce" in sections:
            log(f"produce benchmark, {rounds} round(s)")
            report["produce"] = bench_produce(
                bootstrap,
                {s: max(100, int(n * scale)) for s, n in bl.PRODUCE_SIZES.items()},
                rounds,
                pick(bl.PRODUCE_CONTENDERS),
            )
        if "produce-batch" in sections:
            log(f"produce_batch benchmark, {rounds} round(s)")
            report["produce-batch"] = bench_produce(
                bootstrap,
                {s: max(100, int(n * scale)) for s, n in bl.PRODUCE_SIZES.items()},
                rounds,
                bl.PRODUCE_BATCH_CONTENDERS,
                reference=bl.CONFLUENT_PRODUCE_BATCH[0],
            )
        if "aio" in sections:
            seconds = bl.AIO_LATENCY_QUICK_SECONDS if args.quick else bl.AIO_LATENCY_SECONDS
            log(f"asyncio clients benchmark, {rounds} round(s)")
            report["aio"] = bench_aio(
                bootstrap,
                {s: topics[s] for s in aio_sizes},
                {s: max(100, int(n * scale)) for s, n in bl.PRODUCE_SIZES.items()},
                rounds,
                seconds,
            )
        if "memory" in sections:
            log("memory benchmark")
            report["memory"] = bench_memory(
                bootstrap,
                (topics[bl.MB][0], topics[bl.MB][1], bl.MB),
                (topics[bl.KB][0], topics[bl.KB][1], bl.KB),
                scale,
            )
        if "parallel" in sections:
            log(f"parallel processing benchmark, {rounds} round(s)")
            report["parallel"] = bench_parallel(bootstrap, rounds, scale)
    finally:
        if broker is not None:
            broker.stop()
    report["wall_seconds"] = time.monotonic() - t_start
    (out / f"{stem}.json").write_text(json.dumps(jsonable(report), indent=1))
    write_markdown(report, out / f"{stem}.md")
    try:
        import matplotlib  # noqa: F401 - scripts/bench installs it; the test suite does not need it
    except ImportError:
        log("matplotlib is not installed: no chart")
    else:
        if sections != {"parallel"}:  # the parallel section has a table, no chart
            write_chart(report, out / f"{stem}.png")
    log(f"wrote {out / f'{stem}.md'} and {out / f'{stem}.json'}")
    for name, measured, ok in targets(report) + (parallel_targets(report["parallel"]) if "parallel" in report else []):
        log(f"target {'MET' if ok else 'NOT MET' if ok is False else 'n/a'}: {name}: {measured}")
    return 0


if __name__ == "__main__":
    # Stop cleanly (main's finally stops the broker) on SIGTERM, and on Ctrl-C even when started in
    # the background by a shell that ignores SIGINT. (Here, not in main(): tests call main().)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
