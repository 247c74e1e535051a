"""A real schema registry for the tests: Apicurio Registry, which speaks the Confluent Schema
Registry API (``/apis/ccompat/v7``) that confluent-kafka's ``SchemaRegistryClient`` talks to.

Stdlib only.  No Docker: the registry is the release distribution that Apicurio publishes on Maven
Central (``io.apicurio:apicurio-registry-app:<version>:tar.gz:all``, a Quarkus "legacy-jar":
``apicurio-registry-app-<version>-runner.jar`` and ``lib/``), fetched once with
``mvn dependency:get`` (see the comment in ``registry-pom.xml``) on ``registry-pom.xml`` (beside this file) and unpacked under
``$XDG_CACHE_HOME/ferrokafka/apicurio-registry-<version>/`` (default ``~/.cache/...``); ``~/.m2``
is the second-level cache.  Version 3.0.9 is the newest whose classes run on Java 17 (3.1 and later
are compiled for Java 21: ``UnsupportedClassVersionError``, class file version 65).

Storage is Apicurio's default in-memory H2 database: every start is an empty registry.

Usage::

    from realkafka.registry import SchemaRegistry

    with SchemaRegistry() as registry:
        registry.url            # "http://127.0.0.1:<port>/apis/ccompat/v7": SchemaRegistryClient's url
        registry.base_url       # "http://127.0.0.1:<port>"

Command line::

    python tests/realkafka/registry.py            # run until Ctrl-C
    python tests/realkafka/registry.py --check    # start, print the startup time, stop
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path

try:
    from realkafka.harness import _free_ports
    from realkafka.maven import cache_dir, fetch_once, java_or_none
    from realkafka.service import ProcessService, listens_on, owned_workdir
except ImportError:  # run as a script: python tests/realkafka/registry.py
    from harness import _free_ports  # type: ignore[no-redef]
    from maven import cache_dir, fetch_once, java_or_none  # type: ignore[no-redef]
    from service import ProcessService, listens_on, owned_workdir  # type: ignore[no-redef]

__all__ = ["APICURIO_VERSION", "RegistryUnavailable", "SchemaRegistry", "ensure_distribution", "java_or_none"]

APICURIO_VERSION = "3.0.9"
HERE = Path(__file__).resolve().parent
POM = HERE / "registry-pom.xml"
_RUNNER = f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"


class RegistryUnavailable(Exception):
    """The registry cannot be provided (no java/mvn, resolution failed, startup failed)."""


class _PortClash(Exception):
    """The port chosen was taken (by another process) before the registry bound it."""


def cache_root() -> Path:
    return cache_dir(f"apicurio-registry-{APICURIO_VERSION}")


def _unpack(out: Path) -> Path:
    """The registry's tar.gz (what ``dependency:get`` wrote into `out`) unpacked beside it."""
    archives = list(out.glob("*.tar.gz"))
    if len(archives) != 1:
        raise RegistryUnavailable(f"expected one tar.gz from mvn, got {[a.name for a in archives]}")
    unpacked = out.parent / "dist"
    with tarfile.open(archives[0]) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked


def ensure_distribution() -> Path:
    """The directory holding the unpacked registry (runner jar + lib/), fetched on first use."""
    return fetch_once(
        cache_root() / "dist",
        POM,
        lambda out: [
            "org.apache.maven.plugins:maven-dependency-plugin:2.8:get",
            f"-Ddest.file={out / 'registry.tar.gz'}",
        ],
        complete=lambda dist: (dist / _RUNNER).is_file(),
        unavailable=RegistryUnavailable,
        what=f"Apicurio Registry {APICURIO_VERSION}",
        unpack=_unpack,
    )


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


class SchemaRegistry(ProcessService):
    """A throw-away Apicurio Registry on 127.0.0.1 (in-memory storage), Confluent API at ``url``."""

    def __init__(self, *, startup_timeout: float = 90.0, heap_max: str = "512m", keep_dir: bool = False) -> None:
        self.startup_timeout = startup_timeout
        self.heap_max = heap_max
        self.keep_dir = keep_dir
        self.port: int | None = None
        self.workdir: Path | None = None
        self.startup_seconds: float | None = None  # JVM start until the Confluent API answers
        self.dist_seconds: float | None = None  # ensure_distribution() (download on a cold cache)
        self._proc = None
        self._stdout = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("registry not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The Confluent-compatible API: what ``SchemaRegistryClient({"url": ...})`` takes."""
        return self.base_url + "/apis/ccompat/v7"

    def log_tail(self, n: int = 30) -> str:
        if self.workdir is None:
            return ""
        try:
            with open(self.workdir / "stdout.log", errors="replace") as f:
                return "".join(deque(f, maxlen=n))
        except OSError:
            return ""

    def start(self) -> SchemaRegistry:
        java = java_or_none()
        if java is None:
            raise RegistryUnavailable("`java` not found on PATH (Apicurio Registry needs Java 17+)")
        t0 = time.monotonic()
        dist = ensure_distribution()
        self.dist_seconds = time.monotonic() - t0
        self.workdir = owned_workdir("ferrokafka-registry-", keep=self.keep_dir)
        start = time.monotonic()
        for attempt in range(3):  # again only when the port chosen got taken before the JVM bound it
            (self.port,) = _free_ports(1)
            if self._stdout is not None:
                self._stdout.close()
            self._stdout = open(self.workdir / "stdout.log", "wb")
            self._spawn(self._command(java, dist))
            try:
                self._wait_ready(start + self.startup_timeout)
                break
            except _PortClash:
                self._stop_process(grace=5.0, kill_wait=5.0)
                if attempt == 2:
                    tail = self.log_tail()
                    self.stop()
                    raise RegistryUnavailable(f"Apicurio Registry: ports taken three times:\n{tail}") from None
        self.startup_seconds = time.monotonic() - start
        return self

    def _command(self, java: str, dist: Path) -> list[str]:
        return [
            java,
            f"-Xmx{self.heap_max}",
            "-XX:TieredStopAtLevel=1",  # C1 only: starts faster on 2 cores
            "-XX:+UseSerialGC",
            f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.http.host=127.0.0.1",
            "-Dquarkus.log.console.color=false",
            # Access logs of every request would flood stdout.log.
            "-Dapicurio.logconfig.access-log.enabled=false",
            "-Dquarkus.http.access-log.enabled=false",
            "-jar",
            str(dist / _RUNNER),
        ]

    def _wait_ready(self, deadline: float) -> None:
        """Until our registry answers on its port. Raises _PortClash when the port was taken by
        another process (ours exits, or the answer comes from a process that is not ours)."""
        while True:
            assert self._proc is not None and self.port is not None
            code = self._proc.poll()
            if code is not None:
                tail = self.log_tail()
                if "already in use" in tail or "BindException" in tail:
                    raise _PortClash(tail)
                self.stop()
                raise RegistryUnavailable(f"Apicurio Registry exited with {code}:\n{tail}")
            with contextlib.suppress(OSError):
                status, body = _get(self.url + "/subjects", timeout=2.0)
                if status == 200 and isinstance(json.loads(body), list):
                    if listens_on(self._proc.pid, self.port) is False:
                        raise _PortClash(f"port {self.port} answered by another process")
                    return
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise RegistryUnavailable(f"Apicurio Registry not ready after {self.startup_timeout:.0f} s:\n{tail}")
            time.sleep(0.1)

    def stop(self, grace: float = 5.0) -> None:
        self._stop_process(grace, kill_wait=5.0)
        self._discard_workdir(keep=self.keep_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="start, print the startup time, stop")
    args = parser.parse_args(argv)
    registry = SchemaRegistry()
    try:
        registry.start()
    except RegistryUnavailable as err:
        print(f"unavailable: {err}", file=sys.stderr)
        return 1
    print(f"{registry.url}  (started in {registry.startup_seconds:.1f} s)", flush=True)
    try:
        if not args.check:
            while registry.is_running():
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
