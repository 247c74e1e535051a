"""The bad-input table: every row of tests/bad_inputs_table.py is one test, its documented outcome
asserted here.

Run it with pytest-xdist (``scripts/test`` does: ``pytest -n 2 tests/test_bad_inputs.py
tests/test_arrow_bad_inputs.py``): each worker process holds one mock cluster for its rows, and a
row that aborts or segfaults kills only its worker, which xdist reports as that row's failure
("worker 'gw0' crashed while running ...") and replaces. A row that takes longer than ``ROW_LIMIT``
is stopped by pytest-timeout's thread method (stacks of every thread dumped, then the worker exits:
the same crash report). Without ``-n`` the rows run in the pytest process itself, where a crash or a
hang ends the run.

A Rust panic fails its row even when the exception class is the expected one: a
``pyo3_runtime.PanicException`` (a ``BaseException``), a ``RuntimeError`` reporting a panic on a
worker thread (raised, reported as unraisable, or raised while closing the row's clients), or a
panic message on stderr during the row. Rows marked ``xfail`` in the table (a wrong exception, none
at the moment) expect ``WrongOutcome`` strictly: a panic still fails them, and so does a pass.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bad_inputs_table import EXCEPTIONS, ROWS, Boom, Env, Row

ROW_LIMIT = 10.0  # seconds a row may take (the worker's mock cluster, made by its first row, included)


class WrongOutcome(AssertionError):
    """The row raised another exception than documented, or none (the only failure `xfail` covers)."""


def _describe(err: BaseException) -> str:
    cls = type(err)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    text = str(err)
    if len(text) > 300:
        text = text[:300] + f"... ({len(text)} chars)"
    return f"{name}: {text}"


def _is_panic(err: BaseException | None) -> bool:
    seen = 0
    while err is not None and seen < 5:
        if type(err).__name__ == "PanicException":
            return True
        if isinstance(err, RuntimeError) and "panic" in str(err).lower():
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


def _panic_location(stderr: str) -> str | None:
    """'panicked at <file:line>: <message>' from a Rust panic message on stderr, if there is one."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if " panicked at " in line:
            where = line.split(" panicked at ", 1)[1].rstrip(":")
            message = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"panicked at {where}: {message[:200]}"
    return None


def _expected_text(row: Row) -> str:
    text = row.expected or "no exception"
    if row.match:
        text += f" matching {row.match!r}"
    if row.check is not None:
        text += f" ({row.check.__qualname__.split('.')[0]})"
    return text


@pytest.fixture(scope="session")
def env() -> Iterator[Env]:
    """One mock cluster (with the rows' topics and messages) per test process."""
    logger = logging.getLogger("ferrokafka")
    level = logger.level
    logger.setLevel(logging.ERROR)
    environment = Env()
    # The gc.collect() after each row then skips what exists now (pytest's items above all): ~10 ms a row.
    gc.collect()
    gc.freeze()
    yield environment
    gc.unfreeze()
    environment.close_quietly(environment.cluster)
    logger.setLevel(level)


def _param(row: Row) -> Any:
    marks = [pytest.mark.xfail(strict=True, raises=WrongOutcome, reason=row.xfail)] if row.xfail else []
    return pytest.param(row, id=row.id, marks=marks)


@pytest.mark.timeout(ROW_LIMIT, method="thread")
@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
def test_bad_input(row: Row, env: Env, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    check_row(row, env, capfd, monkeypatch)


def check_row(row: Row, env: Env, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs the row and asserts its documented outcome (a panic fails it whatever it raised)."""
    env.unraisable.clear()
    env.cleanup_errors.clear()

    def hook(unraisable: Any) -> None:
        if unraisable.exc_value is not None:
            env.unraisable.append(unraisable.exc_value)

    monkeypatch.setattr(sys, "unraisablehook", hook)
    error: BaseException | None = None
    try:
        row.fn(env)
    except BaseException as err:  # noqa: B036 - PanicException is a BaseException: judged below
        error = err
    gc.collect()
    monkeypatch.undo()
    stderr = capfd.readouterr().err
    sys.stderr.write(stderr)  # shown with the report of a failing row
    notes = [f"unraisable {_describe(u)}" for u in env.unraisable if not isinstance(u, Boom | TypeError)]
    notes += [f"cleanup raised {_describe(c)}" for c in env.cleanup_errors]
    panics = [e for e in [error, *env.unraisable, *env.cleanup_errors] if _is_panic(e)]
    env.unraisable.clear()
    env.cleanup_errors.clear()
    observed = "no exception" if error is None else _describe(error)
    if notes:
        observed += "; " + "; ".join(notes)
    expected = f"{row.input} -> expected {_expected_text(row)}"
    where = _panic_location(stderr)
    if panics or where:
        pytest.fail(f"[panic] {expected}, observed {observed}" + (f" [{where}]" if where else ""), pytrace=False)
    wanted = EXCEPTIONS[row.expected] if row.expected else None
    if wanted is None:
        if error is not None:
            raise WrongOutcome(f"{expected}, observed {observed}") from error
        return
    if error is None or not isinstance(error, wanted):
        raise WrongOutcome(f"{expected}, observed {observed}") from error
    if row.match is not None and row.match not in str(error):
        raise WrongOutcome(f"{expected}, observed {observed} (message lacks {row.match!r})") from error
    if row.check is not None:
        try:
            row.check(error)
        except Exception as failed:
            raise WrongOutcome(f"{expected}, observed {observed} (check failed: {_describe(failed)})") from error


def test_bad_input_table_size() -> None:
    assert len(ROWS) >= 170, f"the table has {len(ROWS)} rows, fewer than the 170 it had"


# --- the harness itself: a crash, a hang or a panic fails its row alone ---------------------------

_SELFTEST = """
import os, sys, time
import pytest
import bad_inputs_table as table
from test_bad_inputs import _param, check_row, env  # noqa: F401 - env: the fixture

class PanicException(TypeError):  # pyo3_runtime's is a BaseException: this one even matches the row
    pass

def _panic(e):
    raise PanicException("boom")

def _panic_message(e):
    os.write(2, b"thread 'x' panicked at src/x.rs:1:1:\\nboom\\n")
    raise TypeError("right class")

def _raise_type_error(e):
    raise TypeError("right class")

OK = [row for row in table.ROWS if row.id in ("producer.config.none", "consumer.config.mappingproxy")]
SELF = [
    table.Row("self.abort", "os.abort()", None, lambda e: os.abort()),
    table.Row("self.hang", "time.sleep(1e9)", None, lambda e: time.sleep(1e9)),
    table.Row("self.panic_exception", "PanicException", "TypeError", _panic),
    table.Row("self.panic_message", "panic on stderr", "TypeError", _panic_message),
    table.Row("self.xfail_passes", "TypeError", "TypeError", _raise_type_error, xfail="open"),
    table.Row("self.xfail_panics", "PanicException", "TypeError", _panic, xfail="open"),
    table.Row("self.xfail_wrong", "TypeError", "ValueError", _raise_type_error, xfail="open"),
]

@pytest.mark.timeout(3, method="thread")
@pytest.mark.parametrize("row", [_param(row) for row in OK[:1] + SELF + OK[1:]])
def test_row(row, env, capfd, monkeypatch):
    check_row(row, env, capfd, monkeypatch)
"""


@pytest.mark.timeout(120)
def test_a_crash_a_hang_or_a_panic_fails_its_row_alone(tmp_path: Path) -> None:
    """Under ``-n 2``, as scripts/test runs the table: rows that abort, hang or panic each fail alone and
    the rows after them pass; a strict xfail row fails if it passes or panics."""
    pytest.importorskip("xdist")
    (tmp_path / "test_selftest.py").write_text(_SELFTEST)
    tests = Path(__file__).parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-rA", "--max-worker-restart", "4"]
        + ["-o", "timeout=60", "--rootdir", str(tmp_path), str(tmp_path / "test_selftest.py")],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])},
    )
    outcomes = {}
    for line in done.stdout.splitlines():
        for word in ("PASSED", "FAILED", "XFAIL", "XPASS"):
            if line.startswith(word + " ") and "::test_row[" in line:
                outcomes[line.split("[", 1)[1].split("]", 1)[0]] = word
    assert outcomes == {
        "producer.config.none": "PASSED",
        "consumer.config.mappingproxy": "PASSED",
        "self.abort": "FAILED",
        "self.hang": "FAILED",
        "self.panic_exception": "FAILED",
        "self.panic_message": "FAILED",
        "self.xfail_passes": "FAILED",
        "self.xfail_panics": "FAILED",
        "self.xfail_wrong": "XFAIL",
    }, done.stdout[-4000:] + done.stderr[-2000:]
    assert "crashed while running" in done.stdout, done.stdout[-4000:]
