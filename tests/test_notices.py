"""The licences of what the wheel links statically (scripts/notices): the committed
THIRD_PARTY_NOTICES.txt is what the script writes from today's dependencies, no crate that builds
or links a C library is missing from it, and the wheel (tests/test_wheel.py) and the sdist carry it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ROOT / "THIRD_PARTY_NOTICES.txt"
_loader = SourceFileLoader("notices", str(ROOT / "scripts" / "notices"))
notices = importlib.util.module_from_spec(importlib.util.spec_from_loader("notices", _loader))
_loader.exec_module(notices)

needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo metadata needs cargo")


@needs_cargo
def test_the_committed_notices_are_what_the_dependencies_need():
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "notices"), "--check"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


@needs_cargo
def test_every_statically_linked_c_library_has_its_own_licence_text():
    text = NOTICES.read_text()
    for library, _licence, files in notices.C_LIBRARIES.values():
        assert f"### {library} (built by the crate" in text
        for name in files:
            assert f"--- {name}\n" in text, name
    assert "OpenSSL" in text and "librdkafka" in text and "Kerberos" in text and "Cyrus SASL" in text


def test_a_new_crate_building_a_c_library_is_caught():
    """The guard itself: a crate with `links` (or a `-src` crate) that the table does not know is
    reported, one the table knows or one known to build nothing is not."""
    root = "root 0.1.0"
    packages = [
        {"id": root, "name": "ferrokafka", "version": "1", "links": None},
        {"id": "a", "name": "newlib-sys", "version": "1", "links": "newlib"},
        {"id": "b", "name": "zstd-sys", "version": "1", "links": "zstd"},
        {"id": "c", "name": "pyo3-ffi", "version": "1", "links": "python"},
        {"id": "d", "name": "other-src", "version": "1", "links": None},
        {"id": "e", "name": "cc", "version": "1", "links": None},
    ]
    normal, build = [{"kind": None}], [{"kind": "build"}]
    nodes = [
        {"id": root, "deps": [{"pkg": "a", "dep_kinds": normal}, {"pkg": "b", "dep_kinds": normal}]},
        {"id": "a", "deps": [{"pkg": "d", "dep_kinds": build}, {"pkg": "e", "dep_kinds": build}]},
        {"id": "b", "deps": [{"pkg": "c", "dep_kinds": normal}]},
        *({"id": i, "deps": []} for i in "cde"),
    ]
    meta = {"packages": packages, "resolve": {"root": root, "nodes": nodes}}
    assert notices.unlisted_native_libraries(meta) == ["newlib-sys", "other-src"]
    assert [p["name"] for p in notices.linked_packages(meta)] == ["newlib-sys", "pyo3-ffi", "zstd-sys"]


def test_the_sdist_carries_the_licence_and_the_notices(tmp_path):
    maturin = Path(sys.executable).parent / "maturin"
    if not maturin.exists():
        pytest.skip("maturin is not installed in this environment")
    subprocess.run([str(maturin), "sdist", "-o", str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    (sdist,) = tmp_path.glob("ferrokafka-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "THIRD_PARTY_NOTICES.txt"} <= names
