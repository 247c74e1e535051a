"""What the Java test services share before they start: finding `java`, and fetching their jars
from Maven Central once into the user's cache.

Stdlib only.  ``fetch_once(dest, pom, goal, ...)`` runs ``mvn -f pom <goal>`` into a temporary
directory beside ``dest``, marks it with the pom's digest and renames it into place, under a file
lock: concurrent callers wait for one download, a reader never sees half a directory, and a changed
pom fetches again.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["cache_dir", "fetch_once", "java_or_none", "mvn_error", "replace_dir"]

_MARKER = ".complete"


def cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/ferrokafka/<name>`` (``~/.cache`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ferrokafka" / name


def java_or_none() -> str | None:
    """The `java` to run (``$JAVA_HOME/bin/java`` first), or None if there is none."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        cand = Path(java_home) / "bin" / "java"
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which("java")


def mvn_error(output: str) -> str:
    """The line of Maven's output that says what went wrong (its first ERROR, else its last line)."""
    lines = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines() if ln.strip()]
    return next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else "").strip()


def replace_dir(new: Path, dest: Path) -> None:
    """Puts the finished directory `new` in place of `dest` (renames, so a reader never sees half of
    one); the old `dest`, if any, is removed afterwards."""
    old = None
    if dest.exists():
        old = dest.with_name(f"{dest.name}.old.{os.getpid()}")
        os.rename(dest, old)
    os.rename(new, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _marked(directory: Path, digest: str) -> bool:
    try:
        return (directory / _MARKER).read_text().strip() == digest
    except OSError:
        return False


def fetch_once(
    dest: Path,
    pom: Path,
    goal: Callable[[Path], list[str]],
    *,
    complete: Callable[[Path], bool],
    unavailable: type[Exception],
    what: str,
    unpack: Callable[[Path], Path] | None = None,
) -> Path:
    """`dest`, holding what ``mvn -f pom *goal(out)`` put into ``out`` (then ``unpack(out)``'s
    directory, if given), fetched unless a complete copy for this pom is there already.

    ``complete(directory)`` says whether a fetched directory has what the caller needs; `what` names
    the download in the `unavailable` errors (no mvn, a timeout, Maven's error, an incomplete result).
    """
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _marked(dest, digest) and complete(dest):
        return dest
    mvn = shutil.which("mvn")
    if not mvn:
        raise unavailable(f"`mvn` not found on PATH (needed once to fetch {what})")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / ".lock", "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if _marked(dest, digest) and complete(dest):  # another process fetched it while we waited
            return dest
        tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}.tmp.", dir=dest.parent))
        try:
            out = tmp / "out"
            out.mkdir()
            cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), *goal(out)]
            try:
                proc = subprocess.run(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, cwd=str(pom.parent)
                )
            except subprocess.TimeoutExpired:
                raise unavailable(f"mvn timed out after 900 s fetching {what}") from None
            if proc.returncode != 0:
                raise unavailable(
                    f"mvn could not fetch {what} (exit {proc.returncode}; is Maven Central reachable?): "
                    f"{mvn_error(proc.stdout)}"
                )
            result = unpack(out) if unpack is not None else out
            if not complete(result):
                raise unavailable(f"mvn fetched an incomplete {what} into {result}")
            (result / _MARKER).write_text(digest + "\n")
            replace_dir(result, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
