"""What the tests of ferrokafka.confluent (tests/test_confluent_dropin_*.py) share: confluent-kafka
itself, the marks that run a test once with it and once with the drop-in, a handler that records
log records, and a way to run a script in a fresh interpreter."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading

import pytest

import ferrokafka.confluent as fc
from ferrokafka.confluent import admin as fc_admin

# Skips the module that imports this one where confluent-kafka is not installed.
ck = pytest.importorskip("confluent_kafka")
ck_admin = pytest.importorskip("confluent_kafka.admin")

# Runs a test with confluent-kafka's module as `mod`, then with the drop-in's.
BOTH = pytest.mark.parametrize("mod", [ck, fc], ids=["confluent_kafka", "dropin"])
# The same for the admin modules, as `admin_mod`.
BOTH_ADMIN = pytest.mark.parametrize("admin_mod", [ck_admin, fc_admin], ids=["confluent_kafka", "dropin"])


def run_script(code: str) -> subprocess.CompletedProcess[str]:
    """Runs `code` (dedented) in a fresh interpreter; returns what it printed and its exit code."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )


class LogRecords(logging.Handler):
    """Keeps each record's message and whether the main thread logged it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), threading.current_thread() is threading.main_thread()))
