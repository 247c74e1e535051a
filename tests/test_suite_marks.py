"""The suite's own contract: `-m "not broker"` (the wheel's smoke run, a machine without Java)
selects no test that starts a real broker, whether or not the test's author wrote the mark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_not_broker_selects_no_test_that_needs_the_broker() -> None:
    # test_message_data.py holds a broker test without a written mark (the one that broke a CI run).
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only"]
    target = "tests/test_message_data.py"
    selected = subprocess.run(
        [*args, "-m", "not broker", target], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    everything = subprocess.run([*args, target], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert selected.returncode == 0 and everything.returncode == 0, selected.stdout + everything.stdout
    name = "test_a_years_old_create_time_stays_readable"
    assert name in everything.stdout
    assert name not in selected.stdout
