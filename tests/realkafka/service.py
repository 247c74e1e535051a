"""What the test services have in common: KafkaBroker (harness.py), KerberosKDC (kerberos.py) and
OidcServer (oidc.py).

Stdlib only.

- ``Service``: ``with service:`` starts it (unless it is started already) and stops it on the way
  out.  A subclass gives ``start()``, ``stop()`` and ``_started()``.
- ``ProcessService``: a Service that is one child process (``_proc``) writing to a file
  (``_stdout``) in a temp dir of its own (``workdir``).  ``_spawn()`` launches it, ``_stop_process()``
  ends it (SIGTERM, then SIGKILL), ``_discard_workdir()`` closes that file and removes the dir.
- ``owned_workdir(prefix)``: a fresh ``<tmp>/<prefix>*`` whose ``owner.pid`` names this process (and,
  once ``_spawn()`` ran, its child).

Safety nets for runs that never call ``stop()``: an ``atexit`` hook stops every ProcessService still
running (the last started first); on Linux the child gets SIGTERM when the thread that started it
dies (``PR_SET_PDEATHSIG``: a test run killed with SIGKILL, where atexit never runs); and
``owned_workdir`` first removes the dirs of earlier runs whose owners are all dead.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Self

__all__ = [
    "ProcessService",
    "Service",
    "listens_on",
    "owned_workdir",
    "pdeathsig_preexec",
    "pid_alive",
    "reap_stale_workdirs",
]


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on TCP ``127.0.0.1:port`` (or on every
    IPv4 address at that port); None where /proc cannot tell (not Linux). A port chosen free and
    handed to a child may be taken by another process before the child binds it: an answer on the
    port is then someone else's."""
    # As /proc/net/tcp{,6} write them: 127.0.0.1 and 0.0.0.0, also as IPv6 sockets (Java's).
    hosts = ["0100007F", "00000000", "0000000000000000FFFF00000100007F", "0" * 32]
    wanted = {f"{host}:{port:04X}" for host in hosts}
    inodes = set()
    try:
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(path) as table:
                next(table)
                inodes |= {f"socket:[{r[9]}]" for r in map(str.split, table) if r[1] in wanted and r[3] == "0A"}
        fds = os.listdir(f"/proc/{pid}/fd")
    except (OSError, StopIteration):
        return None
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
    return False


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_workdirs(prefix: str) -> None:
    """Removes the ``<tmp>/<prefix>*`` dirs of runs that were SIGKILLed (their atexit never ran):
    those whose ``owner.pid`` names no live process, and those without one that are an hour old
    (younger ones are being set up right now by someone else).  A dir holding ``KEEP`` stays."""
    for d in Path(tempfile.gettempdir()).glob(prefix + "*"):
        try:
            if (d / "KEEP").exists():
                continue
            owner = d / "owner.pid"
            if owner.exists():
                pids = [int(x) for x in owner.read_text().split()]
                if any(pid_alive(p) for p in pids):
                    continue
            elif time.time() - d.stat().st_mtime < 3600:
                continue
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):
            continue


def owned_workdir(prefix: str, *, keep: bool = False) -> Path:
    """A fresh ``<tmp>/<prefix>*`` holding ``owner.pid`` (this process), and ``KEEP`` if ``keep`` (no
    later run reaps it); first reaps the stale dirs of that prefix."""
    reap_stale_workdirs(prefix)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (workdir / "owner.pid").write_text(f"{os.getpid()}\n")
        if keep:
            (workdir / "KEEP").touch()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return workdir


def pdeathsig_preexec() -> Callable[[], None] | None:
    """preexec_fn asking Linux to SIGTERM the child when our (starting) thread dies.

    Covers a test run killed with SIGKILL / os._exit, where atexit never runs.
    libc is loaded here, in the parent: the child only makes the prctl call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    sig = int(signal.SIGTERM)

    def _preexec() -> None:
        prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG = 1

    return _preexec


class Service:
    """``with service:`` runs ``start()`` unless the service is started already, and ``stop()`` at
    the end."""

    def _started(self) -> bool:
        raise NotImplementedError

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if not self._started():
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Every ProcessService whose process was spawned and that was not stopped since (a dict: in order).
_LIVE: dict[ProcessService, None] = {}
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        services = list(_LIVE)
    for service in reversed(services):
        with contextlib.suppress(Exception):
            service.stop(grace=5.0)


class ProcessService(Service):
    """A Service that is one child process, in its own session, in a temp dir of its own."""

    workdir: Path | None
    _proc: subprocess.Popen[bytes] | None
    _stdout: IO[bytes] | None  # where the child's stdout and stderr go

    def stop(self, grace: float = 5.0) -> None:
        raise NotImplementedError

    def _started(self) -> bool:
        return self._proc is not None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self, cmd: list[str], *, env: dict[str, str] | None = None, die_with_parent: bool = True) -> None:
        """Launches ``cmd`` in ``workdir`` (its output to ``_stdout``) and notes it in ``owner.pid``."""
        assert self.workdir is not None and self._stdout is not None
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(self.workdir),
            start_new_session=True,  # Ctrl-C in a terminal goes to us, not the child
            preexec_fn=pdeathsig_preexec() if die_with_parent else None,
        )
        (self.workdir / "owner.pid").write_text(f"{os.getpid()} {self._proc.pid}\n")
        with _LIVE_LOCK:
            _LIVE[self] = None

    def _stop_process(self, grace: float, kill_wait: float) -> None:
        """SIGTERM, then after ``grace`` seconds SIGKILL (and ``kill_wait`` seconds to reap it)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # own session: kills only the child
                proc.wait(timeout=kill_wait)
        with _LIVE_LOCK:
            _LIVE.pop(self, None)

    def _discard_workdir(self, *, keep: bool) -> None:
        """Closes ``_stdout``; removes ``workdir`` unless ``keep``."""
        if self._stdout is not None:
            with contextlib.suppress(OSError):
                self._stdout.close()
            self._stdout = None
        if self.workdir is not None and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
