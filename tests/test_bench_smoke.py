"""A tiny run of the benchmark harness (benches/), so that it keeps working. Not a speed test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))


def test_every_contender_runs_and_reads_everything(kafka_bootstrap):
    from smoke import run_smoke

    result = run_smoke(kafka_bootstrap, messages=2000, size=100)
    consumed = {row["contender"]: row for row in result["consume"]}
    assert {
        "ferro-poll",
        "ferro-iter",
        "ferro-consume",
        "ferro-consume-detach",
        "confluent-poll",
        "confluent-consume",
    } <= set(consumed)
    # Kafka -> Arrow table: every Python contender's table holds every message (run_smoke also
    # checks that the tables agree with each other and with the Rust consumers).
    arrow = {row["contender"]: row for row in result["arrow"]}
    assert set(arrow) == {"ferro-arrow", "ferro-arrow-10k", "confluent-arrow"}
    assert all(row["schema_matches"] for row in result["arrow"]), result["notes"]
    assert {row["contender"] for row in result["produce_batch"]} == {
        "ferro-produce-batch",
        "ferro-produce-batch-arrow",
        "confluent-produce-batch",
    }
    # The asyncio clients: every contender of the aio section ran (the sync ones above).
    import benchlib as bl

    aio_consumed = {row["contender"] for row in result["aio_consume"]} | set(consumed)
    assert set(bl.AIO_CONSUME_CONTENDERS) <= aio_consumed
    aio_produced = {row["contender"] for row in result["aio_produce"] + result["produce"]}
    assert set(bl.AIO_PRODUCE_CONTENDERS) <= aio_produced
    assert [row["contender"] for row in result["aio_latency"]] == bl.AIO_LATENCY_CONTENDERS
    for row in result["aio_latency"]:
        assert row["count"] == bl.AIO_LATENCY_RATE // 2 and 0 < row["p50_ms"] <= row["p99_ms"], row
    rows = result["consume"] + result["arrow"] + result["produce"] + result["produce_batch"]
    for row in rows + result["aio_consume"] + result["aio_produce"]:
        assert row["count"] == 2000 and row["bytes"] == 2000 * 100, row
    assert "rust-rdkafka" in consumed, result["skipped"]


def test_arrow_and_produce_batch_sections_in_quick_mode(kafka_bootstrap, tmp_path):
    """benches/run.py --quick with the Arrow ingest and produce_batch sections only: the sections
    run, the report has their tables and targets."""
    import benchlib as bl
    import run

    argv = ["--quick", "--bootstrap", kafka_bootstrap, "--only", "arrow,produce-batch"]
    assert run.main([*argv, "--out", str(tmp_path)]) == 0
    report = run.load_report(tmp_path / "latest.json")
    assert set(report["arrow"]["plain"]) == {100, 1024}
    for size, rows in report["arrow"]["plain"].items():
        assert list(rows) == bl.ARROW_CONTENDERS, size
        assert all(
            r["count"] == rows["confluent-arrow"]["raw"][0]["count"] for row in rows.values() for r in row["raw"]
        )
        assert rows["confluent-arrow"]["x_confluent_best"] == 1.0
        assert rows[bl.ARROW_CEILING]["x_rust"] == 1.0
    assert report["arrow_notes"] == []
    assert set(report["produce-batch"]) == {100, 1024}
    for rows in report["produce-batch"].values():
        assert list(rows) == bl.PRODUCE_BATCH_CONTENDERS
        assert rows["confluent-produce-batch"]["x_confluent_best"] == 1.0
    targets = [name for name, _, _ in run.targets(report)]
    assert any(t.startswith("Arrow ingest 100 B: ferrokafka best ≥ 3×") for t in targets), targets
    assert any(t.startswith("Arrow ingest 100 B: ferrokafka best ≥ 80% of the pure-Rust batch") for t in targets)
    assert any(t.startswith("produce_batch 100 B: ferrokafka best ≥ 1.5×") for t in targets), targets
    markdown = (tmp_path / "latest.md").read_text()
    assert "## Kafka → Arrow table (plain)" in markdown and "## produce_batch" in markdown
    assert "| 100 B | 20,000 | ferro-arrow |" in markdown


def test_aio_section_in_quick_mode(kafka_bootstrap, tmp_path):
    """benches/run.py --quick --only aio: the asyncio clients' consume, produce and latency tables,
    side by side with the synchronous reference rows, and their targets."""
    import benchlib as bl
    import run

    argv = ["--quick", "--bootstrap", kafka_bootstrap, "--only", "aio"]
    assert run.main([*argv, "--out", str(tmp_path)]) == 0
    report = run.load_report(tmp_path / "latest.json")
    assert set(report) >= {"aio"} and not set(report) & {"consume", "arrow", "produce", "memory"}
    aio = report["aio"]
    assert set(aio["consume"]) == {100, 1024}
    for size, rows in aio["consume"].items():
        assert list(rows) == bl.AIO_CONSUME_CONTENDERS, size
        count = rows[bl.AIO_SYNC_CONSUME]["raw"][0]["count"]
        assert all(r["count"] == count for row in rows.values() for r in row["raw"])
        assert rows[bl.AIO_SYNC_CONSUME]["x_sync"] == 1.0
        assert max(rows[c]["x_confluent_best"] for c in bl.CONFLUENT_AIO_CONSUME) == 1.0
        assert max(rows[c]["x_aiokafka"] for c in bl.AIOKAFKA_CONSUME) == 1.0
    assert set(aio["produce"]) == {100, 1024}
    for rows in aio["produce"].values():
        assert list(rows) == bl.AIO_PRODUCE_CONTENDERS
        assert rows["confluent-aio-produce"]["x_confluent_best"] == 1.0
        assert rows[bl.AIO_SYNC_PRODUCE]["x_sync"] == 1.0
    latency = aio["latency"]
    assert list(latency["rows"]) == bl.AIO_LATENCY_CONTENDERS
    for row in latency["rows"].values():
        assert row["messages"] == bl.AIO_LATENCY_RATE * bl.AIO_LATENCY_QUICK_SECONDS
        assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"], row
    targets = [name for name, _, _ in run.targets(report)]
    for size in ("100 B", "1 KB"):
        assert any(t.startswith(f"aio consume {size} (ferrokafka.aio): ferrokafka best ≥ 0.8×") for t in targets)
        assert any(t.startswith(f"aio consume {size} (ferrokafka.aio): ferrokafka best ≥ 3×") for t in targets)
        assert any(t.startswith(f"aio produce {size} (ferrokafka.aio): ferrokafka best ≥ 2×") for t in targets)
    markdown = (tmp_path / "latest.md").read_text()
    assert "## asyncio clients" in markdown and "**Produce → consume latency**" in markdown
    assert "| 100 B | 20,000 | ferro-aio-iter |" in markdown


def test_parallel_prosody_contender_runs_against_a_real_cassandra(kafka_bootstrap):
    """The parallel section's prosody-events contender end to end: a throw-away Cassandra node
    (tests/realkafka/cassandra.py), the rivals' Python 3.12 virtualenv, prosody in its default
    pipeline mode consuming a real topic until its handler has run for every message asked for.
    ~30-40 s (Cassandra start-up, prosody's first schema migration); skipped, with the reason, where
    no Cassandra can be started (no java/mvn) or there is no Python 3.12."""
    import run

    from realkafka.cassandra import CassandraNode, CassandraUnavailable

    try:
        python = run.parallel_python()
    except (RuntimeError, OSError) as err:
        pytest.skip(f"no rivals' virtualenv for the parallel section: {err}")
    node = CassandraNode(jvm_args=("-XX:TieredStopAtLevel=1",))  # C1 only: starts faster
    try:
        node.start()
    except CassandraUnavailable as err:
        pytest.skip(f"no Cassandra node for prosody-events: {str(err).splitlines()[0]}")
    try:
        topic = run.parallel_topic(kafka_bootstrap, 300)
        args = {
            "bootstrap": kafka_bootstrap,
            "topic": topic,
            "expected": 200,
            "workload": "io",
            "concurrency": 16,
            "io_seconds": 0.001,
            "iterations": 10,
            "prosody_max_uncommitted": run.PARALLEL_PROSODY_MAX_UNCOMMITTED,
        }
        env = {"PROSODY_CASSANDRA_NODES": node.contact_point}
        result = run.run_parallel_contender(python, run.parallel_pythonpath(), "prosody", args, 120, env)
    finally:
        node.stop()
    assert result["contender"] == "prosody" and result["count"] == 200, result
    assert result["seconds"] > 0 and result["msgs_per_s"] > 0, result


def test_parallel_section_names_why_prosody_did_not_run(monkeypatch):
    """Without PROSODY_CASSANDRA_NODES and without a Cassandra node to start (no java here), the
    parallel section skips prosody and says why, in the report, instead of failing or leaving it out."""
    import run

    from realkafka import cassandra

    monkeypatch.delenv("PROSODY_CASSANDRA_NODES", raising=False)
    monkeypatch.setattr(cassandra, "java_or_none", lambda: None)
    out: dict = {"skipped": {}}
    node, env = run.parallel_cassandra(out)
    assert node is None and env == {}
    assert "PROSODY_CASSANDRA_NODES is not set" in out["skipped"]["prosody"]
    assert "`java` not found" in out["skipped"]["prosody"]
    # Given a cluster, it is used as is (nothing started).
    monkeypatch.setenv("PROSODY_CASSANDRA_NODES", "10.0.0.1:9042")
    out = {"skipped": {}}
    assert run.parallel_cassandra(out) == (None, {"PROSODY_CASSANDRA_NODES": "10.0.0.1:9042"})
    assert out == {"skipped": {}, "cassandra": "external: 10.0.0.1:9042"}
