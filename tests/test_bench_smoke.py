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
    for row in result["consume"] + result["arrow"] + result["produce"] + result["produce_batch"]:
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
