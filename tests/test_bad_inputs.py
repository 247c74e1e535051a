"""The bad-input table: every row is a bad or boundary input with its documented outcome.

The rows live in tests/bad_inputs_runner.py and run in subprocesses (two runners in parallel, each
with its own mock cluster), so that an abort, a segfault or a hang is the failure of one row, not a
dead test run: a runner that dies on a row fails that row as ``crash`` (with the signal and its last
words on stderr) and the rows after it go on in a fresh runner; a row that takes longer than
``ROW_LIMIT`` seconds is a ``hang`` (the runner is killed and replaced). A Rust panic that reaches
Python (``pyo3_runtime.PanicException``, a ``BaseException``), a ``RuntimeError`` reporting a panic
on a worker thread, or a panic message on stderr during the row is a ``panic``, distinct from a
``wrong`` outcome (another exception, or none). ``test_bad_input_summary`` prints the counts by
outcome and the failing rows (set ``BAD_INPUTS_REPORT=<path>`` to also get them as JSON).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from bad_inputs_runner import ROWS

RUNNER = Path(__file__).with_name("bad_inputs_runner.py")
ROW_LIMIT = 10.0  # seconds a row may take, set-up and clean-up included
STARTUP_LIMIT = 30.0  # seconds a runner may take to import ferrokafka and fill its mock cluster
SHARDS = 2  # runners in parallel (the machine has 2 cores)
BUDGET = 150.0  # seconds for the whole table (pytest's timeout is 180 s): rows left then are "not run"
OUTCOMES = ["ok", "wrong", "panic", "crash", "hang", "not run"]
BY_ID = {row.id: row for row in ROWS}

_results: dict[str, dict[str, Any]] = {}
_ran: list[str] = []
_elapsed: list[float] = []


def _signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"{signal.Signals(-returncode).name} (exit {returncode})"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _sections(stderr_text: str) -> dict[str, str]:
    """The runner's stderr split by its '@@ROW <id>' markers."""
    sections: dict[str, str] = {}
    current = "<startup>"
    for line in stderr_text.splitlines():
        if line.startswith("@@ROW "):
            current = line[len("@@ROW ") :].strip()
            sections.setdefault(current, "")
        else:
            sections[current] = sections.get(current, "") + line + "\n"
    return sections


_KEY_LINES = ("Assertion", "Fatal Python error", "panicked at", "abort", "Segmentation", "Error")


def _last_words(text: str, lines: int = 3) -> str:
    """The telling lines of a stderr section: C assertions, fatal errors, panics, then its last lines."""
    all_lines = [line.strip()[:300] for line in text.strip().splitlines() if line.strip()]
    key = [line for line in all_lines if any(word in line for word in _KEY_LINES)][:3]
    kept = key + [line for line in all_lines[-lines:] if line not in key]
    return " | ".join(kept) or "(nothing)"


def _run_once(ids: list[str], results: dict[str, dict[str, Any]], budget_end: float) -> str | None:
    """One runner over `ids` (in order); fills `results`. Returns an error text if it could not start."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=str(RUNNER.parent),
            env={**os.environ, "RUST_BACKTRACE": "0"},
            start_new_session=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(ids) + "\n").encode())
        proc.stdin.close()
        fd = proc.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        buffer = b""
        current: str | None = None
        deadline = time.monotonic() + STARTUP_LIMIT
        started_any = False
        ended = "eof"
        try:
            while True:
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    event = json.loads(line)
                    if event["event"] == "start":
                        current = event["id"]
                        started_any = True
                        deadline = time.monotonic() + ROW_LIMIT
                    elif event["event"] == "result":
                        results[event["id"]] = event
                        current = None
                        deadline = time.monotonic() + ROW_LIMIT
                    elif event["event"] == "done":
                        ended = "done"
                if ended == "done":
                    break
                remaining = min(deadline, budget_end) - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    if time.monotonic() >= budget_end:
                        ended = "budget"
                        break
                    if time.monotonic() >= deadline:
                        ended = "timeout"
                        break
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buffer += chunk
        finally:
            selector.close()
            if ended != "done" or proc.poll() is None:
                if ended in ("timeout", "budget") or proc.poll() is None:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            returncode = proc.wait()
            proc.stdout.close()
        stderr.seek(0)
        text = stderr.read().decode("utf-8", "replace")
    sections = _sections(text)
    if ended == "timeout" and current is not None:
        results[current] = {
            "id": current,
            "outcome": "hang",
            "observed": f"no result within {ROW_LIMIT:.0f} s (runner killed); stderr: {_last_words(sections.get(current, ''))}",
            "seconds": ROW_LIMIT,
            "notes": [],
        }
    elif ended not in ("done", "budget") and current is not None:
        results[current] = {
            "id": current,
            "outcome": "crash",
            "observed": f"crashed: {_signal_name(returncode)}; stderr: {_last_words(sections.get(current, ''))}",
            "seconds": None,
            "notes": [],
        }
    elif ended not in ("done", "budget") and not started_any:
        why = "startup timed out" if ended == "timeout" else _signal_name(returncode)
        return f"runner did not start ({why}): {_last_words(text, 8)}"
    # A Rust panic message printed while a row ran makes the row a panic, whatever it raised; the
    # panic's location goes into the observation.
    for row_id, section in sections.items():
        result = results.get(row_id)
        where = _panic_location(section)
        if result is None or where is None:
            continue
        if result["outcome"] in ("ok", "wrong"):
            result["outcome"] = "panic"
        if result["outcome"] == "panic" and where not in result["observed"]:
            result["observed"] += f" [{where}]"
    return None


def _panic_location(section: str) -> str | None:
    """'panicked at <file:line>: <message>' from a Rust panic message on stderr, if there is one."""
    lines = section.splitlines()
    for i, line in enumerate(lines):
        if " panicked at " in line:
            where = line.split(" panicked at ", 1)[1].rstrip(":")
            message = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"panicked at {where}: {message[:200]}"
    return None


def _run_shard(ids: list[str], results: dict[str, dict[str, Any]], budget_end: float) -> None:
    pending = list(ids)
    failures_to_start = 0
    while pending:
        if time.monotonic() >= budget_end:
            for row_id in pending:
                results[row_id] = {
                    "id": row_id,
                    "outcome": "not run",
                    "seconds": None,
                    "notes": [],
                    "observed": f"the table's {BUDGET:.0f} s budget ran out (too many hangs?)",
                }
            return
        error = _run_once(pending, results, budget_end)
        if error is not None:
            # The lead may be replacing the native module right now: wait and retry, then give up.
            failures_to_start += 1
            if failures_to_start >= 3:
                for row_id in pending:
                    results[row_id] = {
                        "id": row_id,
                        "outcome": "crash",
                        "observed": error,
                        "seconds": None,
                        "notes": [],
                    }
                return
            time.sleep(15)
        pending = [row_id for row_id in pending if row_id not in results]


def _run_table(ids: list[str]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    shards = [ids[i::SHARDS] for i in range(SHARDS)]
    budget_end = time.monotonic() + BUDGET
    threads = [threading.Thread(target=_run_shard, args=(shard, results, budget_end)) for shard in shards if shard]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture(scope="module")
def table_results(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    if not _results:
        selected = [
            item.callspec.params["row_id"]
            for item in request.session.items
            if getattr(item, "originalname", None) == "test_bad_input"
            and hasattr(item, "callspec")
            and item.path == Path(__file__)
        ]
        ids = selected or [row.id for row in ROWS]
        started = time.monotonic()
        _results.update(_run_table(ids))
        _elapsed.append(time.monotonic() - started)
        _ran.extend(ids)
    return _results


def _expected_text(row_id: str) -> str:
    row = BY_ID[row_id]
    text = row.expected or "no exception"
    if row.match:
        text += f" matching {row.match!r}"
    if row.check is not None:
        text += f" ({row.check.__qualname__.split('.')[0]})"
    return text


# Rows still open (wrong exception class only): listed, so they are visible and cannot pass unnoticed.
OPEN_ROWS = {
    line.strip()
    for line in (Path(__file__).parent / "bad_inputs_open.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


@pytest.mark.parametrize("row_id", [row.id for row in ROWS])
def test_bad_input(row_id: str, table_results: dict[str, dict[str, Any]]) -> None:
    row = BY_ID[row_id]
    result = table_results.get(row_id)
    assert result is not None, f"{row_id} was not run"
    if row_id in OPEN_ROWS:
        if result["outcome"] == "ok":
            pytest.fail(f"{row_id} passes now: remove it from tests/bad_inputs_open.txt", pytrace=False)
        if result["outcome"] == "wrong":
            pytest.xfail(f"open: {row.input} -> expected {_expected_text(row_id)}, observed {result['observed']}")
    if result["outcome"] != "ok":
        pytest.fail(
            f"{result['outcome']}: {row.input} -> expected {_expected_text(row_id)}, observed {result['observed']}",
            pytrace=False,
        )


def test_bad_input_summary(table_results: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the outcome counts and the failing rows; fails only if the table is too small."""
    counts = Counter(table_results[row_id]["outcome"] for row_id in _ran if row_id in table_results)
    lines = [
        "",
        f"bad-input table: {len(_ran)} rows run ({len(ROWS)} defined) in {_elapsed[0] if _elapsed else 0:.1f} s: "
        + ", ".join(f"{outcome} {counts.get(outcome, 0)}" for outcome in OUTCOMES),
    ]
    failing = [row_id for row_id in _ran if table_results.get(row_id, {}).get("outcome") != "ok"]
    for row_id in failing:
        result = table_results.get(row_id, {"outcome": "missing", "observed": "not run"})
        lines.append(
            f"  [{result['outcome']}] {row_id}: {BY_ID[row_id].input} -> expected {_expected_text(row_id)}; "
            f"observed {result['observed']}"
        )
    with capsys.disabled():
        print("\n".join(lines))
    report = os.environ.get("BAD_INPUTS_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "counts": dict(counts),
                    "rows": [
                        {**table_results[row_id], "input": BY_ID[row_id].input, "expected": _expected_text(row_id)}
                        for row_id in _ran
                        if row_id in table_results
                    ],
                },
                indent=1,
            )
        )
    assert len(ROWS) >= 170, f"the table has {len(ROWS)} rows, fewer than the 170 it had"
