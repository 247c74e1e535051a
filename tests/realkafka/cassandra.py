"""A real single-node Apache Cassandra 5.0, for the prosody-events contender of the parallel
benchmark (benches/run.py): prosody keeps its timers, deferrals and deduplication records in
Cassandra, and without ``PROSODY_CASSANDRA_NODES`` its consumer does not start against a real
broker (only ``mock=True``, which replaces Kafka by an in-process mock cluster, uses its in-memory
stores).

Stdlib only.  No Docker: the node is ``org.apache.cassandra:cassandra-all`` and its runtime
dependencies from Maven Central, fetched once with ``mvn dependency:copy-dependencies`` on
``cassandra-pom.xml`` (beside this file) into ``$XDG_CACHE_HOME/ferrokafka/cassandra-<version>/libs``
(default ``~/.cache/...``; ``~/.m2`` is the second-level cache), and run as
``org.apache.cassandra.service.CassandraDaemon`` on Java 17 with the module flags of Cassandra's own
``conf/jvm17-server.options``.  Each start writes a ``cassandra.yaml`` into a fresh
``/tmp/ferrokafka-cassandra-*`` (data, commit log and logs there too), on free ports of 127.0.0.1,
with one token and no gossip wait, so a node is up in ~10 s on 2 cores.

Usage::

    from realkafka.cassandra import CassandraNode

    with CassandraNode() as node:
        node.contact_point      # "127.0.0.1:<native port>": PROSODY_CASSANDRA_NODES

Command line::

    python tests/realkafka/cassandra.py            # run until Ctrl-C
    python tests/realkafka/cassandra.py --check    # start, print the startup time, stop
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import sys
import time
from collections import deque
from pathlib import Path

try:
    from realkafka.harness import _free_ports
    from realkafka.maven import cache_dir, fetch_once, java_or_none
    from realkafka.service import ProcessService, listens_on, owned_workdir
except ImportError:  # run as a script: python tests/realkafka/cassandra.py
    from harness import _free_ports  # type: ignore[no-redef]
    from maven import cache_dir, fetch_once, java_or_none  # type: ignore[no-redef]
    from service import ProcessService, listens_on, owned_workdir  # type: ignore[no-redef]

__all__ = ["CASSANDRA_VERSION", "CassandraNode", "CassandraUnavailable", "ensure_jars", "java_or_none"]

CASSANDRA_VERSION = "5.0.9"  # keep in step with cassandra-pom.xml
HERE = Path(__file__).resolve().parent
POM = HERE / "cassandra-pom.xml"
_WORKDIR_PREFIX = "ferrokafka-cassandra-"

# Cassandra's conf/jvm17-server.options (JPMS and Netty): without them it fails on Java 17.
_JVM17 = [
    "-Djdk.attach.allowAttachSelf=true",
    *(
        f"--add-exports={m}=ALL-UNNAMED"
        for m in (
            "java.base/jdk.internal.misc",
            "java.management.rmi/com.sun.jmx.remote.internal.rmi",
            "java.rmi/sun.rmi.registry",
            "java.rmi/sun.rmi.server",
            "java.sql/java.sql",
            "java.base/java.lang.ref",
            "jdk.unsupported/sun.misc",
            "jdk.compiler/com.sun.tools.javac.file",
            "jdk.attach/sun.tools.attach",
        )
    ),
    *(
        f"--add-opens={m}=ALL-UNNAMED"
        for m in (
            "java.base/java.lang.module",
            "java.base/jdk.internal.loader",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.reflect",
            "java.base/jdk.internal.math",
            "java.base/jdk.internal.module",
            "java.base/jdk.internal.util.jar",
            "jdk.management/com.sun.management.internal",
            "java.base/sun.nio.ch",
            "java.base/java.io",
            "java.base/java.lang.reflect",
            "jdk.compiler/com.sun.tools.javac",
            "java.base/java.lang",
            "java.base/java.util",
        )
    ),
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
]

_YAML = """\
cluster_name: ferrokafka-test
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
auto_bootstrap: false
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [{data}/data]
commitlog_directory: {data}/commitlog
saved_caches_directory: {data}/saved_caches
hints_directory: {data}/hints
cdc_raw_directory: {data}/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:{storage_port}"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: {storage_port}
native_transport_port: {native_port}
start_native_transport: true
endpoint_snitch: SimpleSnitch
disk_failure_policy: stop
commit_failure_policy: stop
"""

_LOGBACK = """\
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>{log}</file>
    <encoder><pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
"""


class CassandraUnavailable(Exception):
    """The node cannot be provided (no java/mvn, resolution failed, startup failed)."""


class _PortClash(Exception):
    """A port chosen was taken (by another process) before Cassandra bound it."""


def cache_root() -> Path:
    return cache_dir(f"cassandra-{CASSANDRA_VERSION}")


def ensure_jars() -> Path:
    """The directory holding Cassandra's complete runtime classpath, fetched on first use (or when
    cassandra-pom.xml changed)."""
    return fetch_once(
        cache_root() / "libs",
        POM,
        lambda out: ["dependency:copy-dependencies", f"-DoutputDirectory={out}", "-DincludeScope=runtime"],
        complete=lambda libs: (libs / f"cassandra-all-{CASSANDRA_VERSION}.jar").is_file(),
        unavailable=CassandraUnavailable,
        what=f"the Cassandra {CASSANDRA_VERSION} jars",
    )


def cql_ready(port: int, timeout: float = 2.0) -> bool:
    """Whether a CQL server answers OPTIONS (protocol v4) with SUPPORTED on 127.0.0.1:port."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">BBhBi", 0x04, 0, 0, 0x05, 0))  # version, flags, stream, OPTIONS, length
        header = b""
        while len(header) < 9:
            chunk = sock.recv(9 - len(header))
            if not chunk:
                return False
            header += chunk
    version, _flags, _stream, opcode, _length = struct.unpack(">BBhBi", header)
    return version == 0x84 and opcode == 0x06  # a v4 response, SUPPORTED


class CassandraNode(ProcessService):
    """A throw-away single-node Cassandra on 127.0.0.1 (CQL at ``contact_point``)."""

    def __init__(
        self,
        *,
        startup_timeout: float = 120.0,
        heap: str = "512m",
        jvm_args: tuple[str, ...] = (),
        keep_dir: bool = False,
    ) -> None:
        self.startup_timeout = startup_timeout
        self.heap = heap
        self.jvm_args = tuple(jvm_args)  # last wins, e.g. "-XX:TieredStopAtLevel=1" (C1 only)
        self.keep_dir = keep_dir
        self.native_port: int | None = None
        self.storage_port: int | None = None
        self.workdir: Path | None = None
        self.startup_seconds: float | None = None  # JVM start until CQL answers
        self.jars_seconds: float | None = None  # ensure_jars() (download on a cold cache)
        self._proc = None
        self._stdout = None

    @property
    def contact_point(self) -> str:
        if self.native_port is None:
            raise RuntimeError("Cassandra not started")
        return f"127.0.0.1:{self.native_port}"

    def log_tail(self, n: int = 30) -> str:
        if self.workdir is None:
            return ""
        out: list[str] = []
        for name, keep in (("stdout.log", 10), ("system.log", n)):
            with contextlib.suppress(OSError):
                with open(self.workdir / "logs" / name, errors="replace") as f:
                    out.extend(deque((ln.rstrip() for ln in f if ln.strip()), maxlen=keep))
        return "\n".join(out)

    def start(self) -> CassandraNode:
        java = java_or_none()
        if java is None:
            raise CassandraUnavailable("`java` not found on PATH (Cassandra 5.0 needs Java 11 or 17)")
        t0 = time.monotonic()
        libs = ensure_jars()
        self.jars_seconds = time.monotonic() - t0
        start = time.monotonic()
        for attempt in range(3):  # again only when a port chosen got taken before the JVM bound it
            self.workdir = owned_workdir(_WORKDIR_PREFIX, keep=self.keep_dir)
            (self.workdir / "logs").mkdir()
            self.storage_port, self.native_port = _free_ports(2)
            (self.workdir / "cassandra.yaml").write_text(
                _YAML.format(data=self.workdir / "data", storage_port=self.storage_port, native_port=self.native_port)
            )
            (self.workdir / "logback.xml").write_text(_LOGBACK.format(log=self.workdir / "logs" / "system.log"))
            self._stdout = open(self.workdir / "logs" / "stdout.log", "wb")
            self._spawn(self._command(java, libs))
            try:
                self._wait_ready(start + self.startup_timeout)
                break
            except _PortClash:
                tail = self.log_tail()
                self.stop()
                if attempt == 2:
                    raise CassandraUnavailable(f"Cassandra: ports taken three times:\n{tail}") from None
        self.startup_seconds = time.monotonic() - start
        return self

    def _command(self, java: str, libs: Path) -> list[str]:
        assert self.workdir is not None
        return [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-Xss256k",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.net.preferIPv4Stack=true",
            *_JVM17,
            f"-Dcassandra.config=file://{self.workdir / 'cassandra.yaml'}",
            f"-Dlogback.configurationFile={self.workdir / 'logback.xml'}",
            f"-Dcassandra.logdir={self.workdir / 'logs'}",
            f"-Dcassandra.storagedir={self.workdir / 'data'}",
            "-Dcassandra-foreground=yes",
            # one node: no gossip settling, no ring delay
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.ring_delay_ms=0",
            *self.jvm_args,
            "-cp",
            f"{libs}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]

    def _wait_ready(self, deadline: float) -> None:
        """Until our node answers CQL on its port; _PortClash when a port was taken by another
        process (ours exits with a bind error, or the answer comes from a process that is not ours)."""
        while True:
            assert self._proc is not None and self.native_port is not None
            code = self._proc.poll()
            if code is not None:
                tail = self.log_tail()
                if "Address already in use" in tail or "BindException" in tail:
                    raise _PortClash(tail)
                self.stop()
                raise CassandraUnavailable(f"Cassandra exited with {code} during startup; last log lines:\n{tail}")
            with contextlib.suppress(OSError, struct.error):
                if cql_ready(self.native_port):
                    if listens_on(self._proc.pid, self.native_port) is False:
                        raise _PortClash(f"port {self.native_port} answered by another process")
                    return
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise CassandraUnavailable(f"Cassandra not ready after {self.startup_timeout:.0f} s:\n{tail}")
            time.sleep(0.2)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM (Cassandra drains and exits), SIGKILL after ``grace`` seconds; removes the temp dir
        unless ``keep_dir``."""
        self._stop_process(grace, kill_wait=15.0)
        self._discard_workdir(keep=self.keep_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="start, print the startup time, stop")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs) after stopping")
    args = parser.parse_args(argv)
    node = CassandraNode(keep_dir=args.keep)
    try:
        node.start()
    except CassandraUnavailable as err:
        print(f"unavailable: {err}", file=sys.stderr)
        return 1
    print(
        f"contact_point={node.contact_point}\nstartup_seconds={node.startup_seconds:.2f} "
        f"(jars ready in {node.jars_seconds:.2f} s) workdir={node.workdir}",
        flush=True,
    )
    try:
        if not args.check:
            while node.is_running():
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
