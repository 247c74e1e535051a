"""The hand-written stubs match the runtime module (mypy.stubtest) and type-check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ALLOWLIST = Path(__file__).with_name("stubtest-allowlist.txt")


def test_stubtest_agrees_with_runtime():
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "ferrokafka", "--allowlist", str(ALLOWLIST)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_type_checks():
    package = Path(__file__).resolve().parent.parent / "python" / "ferrokafka"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(package)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kafka_error_constants_match_librdkafka():
    """Every code librdkafka knows is a KafkaError constant, and the class declares exactly those
    for type checkers (python/ferrokafka/_errors.py)."""
    import ferrokafka as fk
    from ferrokafka import _errors

    runtime = {name for name, value in vars(fk.KafkaError).items() if type(value) is int}
    # The annotations as written (the module uses `from __future__ import annotations`).
    declared = {name for name, hint in vars(_errors.KafkaError)["__annotations__"].items() if hint == "ClassVar[int]"}
    assert runtime == declared, (sorted(runtime - declared), sorted(declared - runtime))
    assert fk.KafkaError.UNKNOWN_TOPIC_OR_PART == 3 and fk.KafkaError._MSG_TIMED_OUT == -192
