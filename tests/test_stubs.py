"""The hand-written stubs match the runtime module (mypy.stubtest) and type-check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_stubtest_agrees_with_runtime():
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "ferrokafka", "--ignore-missing-stub"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_type_checks():
    package = Path(__file__).resolve().parent.parent / "python" / "ferrokafka"
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(package)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
