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
    for row in result["consume"] + result["produce"]:
        assert row["count"] == 2000 and row["bytes"] == 2000 * 100, row
    assert "rust-rdkafka" in consumed, result["skipped"]
