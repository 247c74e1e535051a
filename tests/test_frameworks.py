"""Frameworks built on confluent-kafka run unchanged on the drop-in: a publish/subscribe round
trip through faststream's confluent broker and a quixstreams Application, against the real broker.

Each framework gets a virtualenv of its own (quixstreams pins an older confluent-kafka), built
once from PyPI with pinned versions and cached under ~/.cache/ferrokafka/framework-venvs/, keyed
by those versions and the interpreter. ferrokafka is not installed there: the script's
PYTHONPATH is this checkout's python/ directory (the one this test process imports, with its
built abi3 native library), so the framework always runs on the code under test. The scripts in
tests/frameworks/ call ferrokafka.confluent.install() first and assert that confluent_kafka is
the drop-in; the "real" runs do the same round trip on confluent-kafka itself, to show the
scripts are right. A framework that cannot be installed (no network, no wheel) makes its tests
skip with pip's reason; nothing else does.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import ferrokafka as fk

pytestmark = pytest.mark.timeout(900)  # a first run installs the frameworks from PyPI

HERE = Path(__file__).parent
SOURCE = Path(fk.__file__).resolve().parent.parent  # the python/ directory this test imports
CACHE = Path.home() / ".cache" / "ferrokafka" / "framework-venvs"

# The pinned versions that were tested (docs/migration.md, "Frameworks", lists them too).
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "faststream": ("faststream[confluent]==0.7.8", "confluent-kafka==2.16.2"),
    "quixstreams": ("quixstreams==3.28.1", "confluent-kafka==2.12.2"),
}


def _base_python() -> str:
    """The CPython this venv (if any) was made from: the framework venv must be the same
    interpreter so that the abi3 native library built for it loads."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _framework_venv(name: str) -> Path:
    """The framework's cached virtualenv, built on first use; skips the test if pip cannot
    install the pinned requirements."""
    requirements = FRAMEWORKS[name]
    key = hashlib.sha256("\n".join([_base_python(), sys.version, *requirements]).encode()).hexdigest()[:16]
    venv = CACHE / f"{name}-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process may be building it
        if (venv / ".complete").exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=CACHE))
        try:
            subprocess.run([_base_python(), "-m", "venv", str(building)], check=True, capture_output=True, timeout=300)
            pip = subprocess.run(
                [
                    str(_venv_python(building)),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    *requirements,
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if pip.returncode != 0:
                tail = " | ".join((pip.stderr or pip.stdout).strip().splitlines()[-3:])
                pytest.skip(f"{name} cannot be installed ({' '.join(requirements)}): {tail}")
            # A venv is tied to its path: build it under its final name. Its scripts are not
            # used (only bin/python -m ...), so the move is harmless.
            building.rename(venv)
            (venv / ".complete").write_text("\n".join(requirements) + "\n")
        except subprocess.TimeoutExpired as err:
            pytest.skip(f"{name} cannot be installed: {err}")
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(building)
    return venv


def _run(
    name: str, script: str, bootstrap: str, topic: str, group: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    venv = _framework_venv(name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(SOURCE)
    return subprocess.run(
        [str(_venv_python(venv)), str(HERE / "frameworks" / script), bootstrap, topic, group, *extra],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )


@pytest.mark.broker
@pytest.mark.parametrize("confluent", ["dropin", "real"])
@pytest.mark.parametrize(
    ("name", "script"), [("faststream", "faststream_roundtrip.py"), ("quixstreams", "quixstreams_roundtrip.py")]
)
def test_framework_round_trip(kafka_bootstrap, topic_name, group_id, name, script, confluent):
    extra = ("--real",) if confluent == "real" else ()
    done = _run(name, script, kafka_bootstrap, topic_name, group_id, *extra)
    assert done.returncode == 0, (
        f"exit {done.returncode}\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-8000:]}"
    )
    assert done.stdout.splitlines()[-1].startswith("OK "), done.stdout


def test_a_framework_that_cannot_be_installed_skips_with_pips_reason(monkeypatch, tmp_path):
    # A local path that does not exist: pip fails at once, without asking PyPI.
    missing = tmp_path / "no-such-framework"
    monkeypatch.setattr(sys.modules[__name__], "CACHE", tmp_path / "venvs")
    monkeypatch.setitem(FRAMEWORKS, "nothing", (str(missing),))
    with pytest.raises(pytest.skip.Exception, match="nothing cannot be installed .*no-such-framework"):
        _framework_venv("nothing")
    # Nothing half-built is left to be taken for a cached venv next time.
    assert [p.name for p in (tmp_path / "venvs").iterdir() if p.is_dir()] == []
