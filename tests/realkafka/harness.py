"""Start a real Apache Kafka broker (KRaft, single combined broker+controller) for tests.

Stdlib only.  No Docker: the broker's jars come from Maven Central through ``mvn``
(see ``pom.xml`` beside this file) and are cached under
``$XDG_CACHE_HOME/ferrokafka/kafka-<version>/libs`` (default ``~/.cache/...``);
``~/.m2`` is the second-level cache.

Usage::

    from realkafka.harness import KafkaBroker, BrokerUnavailable

    with KafkaBroker() as broker:
        print(broker.bootstrap_servers)      # "127.0.0.1:<port>"

Broker faults: ``broker.kill()`` SIGKILLs the JVM and keeps its data; ``broker.restart()``
brings the same broker (node id, cluster id, ports, log dirs) back and returns how long that
took.  Pass ``extra_properties=FAST_RESTART_PROPERTIES`` for ~5 s restarts instead of ~12 s.

Command line::

    python tests/realkafka/harness.py            # run until Ctrl-C
    python tests/realkafka/harness.py --check    # start, report timing, stop

Readiness is judged by a successful Kafka Metadata request (a tiny protocol client
below: ApiVersions v0, then Metadata v4..v8 without flexible encoding) that lists
broker node 1, not by an open port.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import IO, Any

try:
    from realkafka.maven import cache_dir, fetch_once, java_or_none
    from realkafka.service import ProcessService, owned_workdir
except ImportError:  # run as a script: python tests/realkafka/harness.py
    from maven import cache_dir, fetch_once, java_or_none  # type: ignore[no-redef]
    from service import ProcessService, owned_workdir  # type: ignore[no-redef]

__all__ = [
    "KAFKA_VERSION",
    "BrokerUnavailable",
    "FAST_RESTART_PROPERTIES",
    "KafkaBroker",
    "cache_root",
    "ensure_jars",
    "probe_metadata",
]

KAFKA_VERSION = "4.4.0"
NODE_ID = 1
HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"

# Jars that must be present for kafka.Kafka / kafka.tools.StorageTool to run with logging.
_REQUIRED_JAR_PREFIXES = (
    f"kafka_2.13-{KAFKA_VERSION}",
    f"kafka-clients-{KAFKA_VERSION}",
    f"kafka-server-{KAFKA_VERSION}",
    f"kafka-storage-{KAFKA_VERSION}",
    f"kafka-raft-{KAFKA_VERSION}",
    f"kafka-metadata-{KAFKA_VERSION}",
    "scala-library-",
    "log4j-core-",
    "log4j-slf4j-impl-",
    "slf4j-api-",
)

# 12 MiB: lets tests send 5-10 MB records (the record batch overhead fits too).
BIG_MESSAGE_BYTES = 12 * 1024 * 1024

# For a broker that a test SIGKILLs and restart()s.  After an unclean stop the controller refuses the
# new incarnation (DUPLICATE_BROKER_REGISTRATION) until the old one's session expires
# (broker.session.timeout.ms, default 9 s): with these a restart takes ~5 s instead of ~12 s.
# Not the default: a 3 s session is short for a busy 2-core machine that never restarts its broker.
FAST_RESTART_PROPERTIES: dict[str, object] = {
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
}


class BrokerUnavailable(Exception):
    """The real broker cannot be provided (no java/mvn, resolution failed, startup failed)."""


# --------------------------------------------------------------------------- jars


def cache_root() -> Path:
    return cache_dir(f"kafka-{KAFKA_VERSION}")


def _java() -> str:
    java = java_or_none()
    if not java:
        raise BrokerUnavailable("`java` not found on PATH (Kafka 4.x needs Java 17+)")
    return java


def _libs_complete(libs: Path) -> bool:
    names = [p.name for p in libs.glob("*.jar")]
    return all(any(n.startswith(pref) for n in names) for pref in _REQUIRED_JAR_PREFIXES)


def ensure_jars() -> Path:
    """A directory holding the complete runtime classpath of the broker, fetched with
    ``mvn dependency:copy-dependencies`` on first use (or when pom.xml changed)."""
    _java()  # fail early and clearly if java is missing too
    return fetch_once(
        cache_root() / "libs",
        POM,
        lambda out: ["dependency:copy-dependencies", f"-DoutputDirectory={out}", "-DincludeScope=runtime"],
        complete=_libs_complete,
        unavailable=BrokerUnavailable,
        what=f"the Kafka {KAFKA_VERSION} jars",
    )


# --------------------------------------------------------------------------- protocol

_API_METADATA = 3
_API_API_VERSIONS = 18
# Kafka 4.4 still accepts Metadata v0..v13 and ApiVersions v0..v5 (KIP-896 removed
# other old versions, e.g. Fetch < v4, and Produce < v3 although v0 is still advertised).
_METADATA_MIN_OURS = 4  # we encode the v4+ request (allow_auto_topic_creation)
_METADATA_MAX_OURS = 8  # v9+ uses the flexible (tagged-field) encoding


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def _take(self, fmt: str) -> int:
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(v)

    def i8(self) -> int:
        return self._take(">b")

    def i16(self) -> int:
        return self._take(">h")

    def i32(self) -> int:
        return self._take(">i")

    def string(self) -> str | None:
        n = self.i16()
        if n < 0:
            return None
        s = self.buf[self.pos : self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def i32_array(self) -> list[int]:
        n = self.i32()
        return [self.i32() for _ in range(max(n, 0))]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> _Reader:
    client_id = b"ferrokafka-harness"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    r = _Reader(_recv_exact(sock, size))
    got = r.i32()  # response header v0: correlation id
    if got != corr:
        raise ConnectionError(f"correlation id mismatch: sent {corr}, got {got}")
    return r


def probe_metadata(host: str, port: int, timeout: float = 3.0) -> dict[str, Any]:
    """ApiVersions v0 + Metadata (v4..v8, no topics) against host:port.

    Returns {"metadata_version", "api_versions", "brokers": {id: (host, port)},
    "cluster_id", "controller_id"}; raises OSError/ConnectionError/ValueError.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        r = _request(sock, _API_API_VERSIONS, 0, 1, b"")
        err = r.i16()
        apis = {}
        for _ in range(r.i32()):
            key, lo, hi = r.i16(), r.i16(), r.i16()
            apis[key] = (lo, hi)
        if err != 0:
            raise ValueError(f"ApiVersions error_code={err}")
        if _API_METADATA not in apis:
            raise ValueError("broker does not advertise Metadata")
        lo, hi = apis[_API_METADATA]
        version = min(hi, _METADATA_MAX_OURS)
        if version < max(lo, _METADATA_MIN_OURS):
            raise ValueError(
                f"no common Metadata version (broker {lo}..{hi}, ours {_METADATA_MIN_OURS}..{_METADATA_MAX_OURS})"
            )
        body = struct.pack(">ib", 0, 0)  # topics: empty array (none), allow_auto_topic_creation=false
        if version >= 8:
            body += struct.pack(">bb", 0, 0)  # include cluster/topic authorized operations
        r = _request(sock, _API_METADATA, version, 2, body)
        r.i32()  # throttle_time_ms
        brokers = {}
        for _ in range(r.i32()):
            node_id, bhost, bport = r.i32(), r.string(), r.i32()
            r.string()  # rack
            brokers[node_id] = (bhost, bport)
        cluster_id = r.string()
        controller_id = r.i32()
        for _ in range(r.i32()):  # topics (we asked for none, parse anyway)
            terr, tname = r.i16(), r.string()
            r.i8()  # is_internal
            for _ in range(r.i32()):
                r.i16()  # error
                r.i32()  # index
                r.i32()  # leader
                if version >= 7:
                    r.i32()  # leader_epoch
                r.i32_array()  # replicas
                r.i32_array()  # isrs
                if version >= 5:
                    r.i32_array()
            if version >= 8:
                r.i32()
            if terr != 0:
                raise ValueError(f"Metadata topic {tname!r} error_code={terr}")
        return {
            "metadata_version": version,
            "api_versions": apis,
            "brokers": brokers,
            "cluster_id": cluster_id,
            "controller_id": controller_id,
        }


# --------------------------------------------------------------------------- broker


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def new_cluster_id() -> str:
    """Same shape as Kafka's Uuid.randomUuid().toString(): 22 chars base64url."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


_WORKDIR_PREFIX = "ferrokafka-broker-"


_LOG4J2 = """\
status = warn
name = ferrokafka-test-broker
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


class KafkaBroker(ProcessService):
    """A throw-away single-node KRaft Kafka broker on 127.0.0.1.

    ``extra_properties`` override/extend server.properties.  ``keep_dir`` keeps the
    temp dir (logs, data) after stop for post-mortems; ``FERROKAFKA_KEEP_BROKER_DIR=1``
    does the same.  ``die_with_parent`` (Linux) makes the JVM get SIGTERM if the
    thread that started it dies - start brokers from the main thread (pytest
    fixtures do) or pass ``die_with_parent=False``.
    """

    def __init__(
        self,
        *,
        startup_timeout: float = 90.0,
        heap_min: str = "256m",
        heap_max: str = "1g",
        extra_properties: dict[str, object] | None = None,
        keep_dir: bool | None = None,
        die_with_parent: bool = True,
        jvm_args: list[str] | None = None,
        extra_listeners: dict[str, str] | None = None,
        format_args: list[str] | None = None,
    ) -> None:
        self.startup_timeout = startup_timeout
        self.heap_min = heap_min
        self.heap_max = heap_max
        self.extra_properties = dict(extra_properties or {})
        if keep_dir is None:
            keep_dir = os.environ.get("FERROKAFKA_KEEP_BROKER_DIR", "") not in ("", "0")
        self.keep_dir = keep_dir
        self.die_with_parent = die_with_parent
        self.jvm_args = list(jvm_args or [])
        # Listener name -> security protocol (e.g. {"SASL_SSL": "SASL_SSL", "MTLS": "SSL"}): each gets
        # a port of its own, listens on every interface and is advertised as "localhost" (what test
        # certificates name). Their settings (listener.name.<name>.*) go in extra_properties.
        self.extra_listeners = dict(extra_listeners or {})
        # Extra arguments of `kafka-storage format`, e.g. ["--add-scram", "SCRAM-SHA-256=[...]"].
        self.format_args = list(format_args or [])
        self.listener_ports: dict[str, int] = {}
        self.port: int | None = None
        self.controller_port: int | None = None
        self.workdir: Path | None = None
        self.cluster_id: str | None = None
        self.startup_seconds: float | None = None  # format + JVM start + first good Metadata
        self.jars_seconds: float | None = None  # ensure_jars() (download on a cold cache)
        self.restart_seconds: float | None = None  # last restart(): JVM start + recovery + first good Metadata
        self.last_exit_code: int | None = None  # of the JVM that kill() reaped
        self.metadata: dict[str, Any] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None

    # -- properties -----------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise RuntimeError("broker not started")
        return f"127.0.0.1:{self.port}"

    def listener_address(self, name: str) -> str:
        """`host:port` of an extra listener, as clients should name it (its certificate's name)."""
        return f"localhost:{self.listener_ports[name]}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def log_path(self) -> Path | None:
        return self.workdir / "logs" / "server.log" if self.workdir else None

    def server_properties(self) -> dict[str, object]:
        assert self.workdir is not None
        p, q = self.port, self.controller_port
        listeners = [f"PLAINTEXT://127.0.0.1:{p}", f"CONTROLLER://127.0.0.1:{q}"]
        advertised = list(listeners)
        protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        for name, protocol in self.extra_listeners.items():
            port = self.listener_ports[name]
            listeners.append(f"{name}://:{port}")
            advertised.append(f"{name}://localhost:{port}")
            protocols.append(f"{name}:{protocol}")
        props: dict[str, object] = {
            "process.roles": "broker,controller",
            "node.id": NODE_ID,
            # KRaft 4.x dynamic quorum (formatted with --standalone): no controller.quorum.voters
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{q}",
            "controller.listener.names": "CONTROLLER",
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(protocols),
            "log.dirs": str(self.workdir / "data"),
            "metadata.log.dir": str(self.workdir / "metadata"),
            # single node: every internal topic must have RF 1 / min ISR 1
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 5,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 5,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "default.replication.factor": 1,
            "min.insync.replicas": 1,
            "num.partitions": 1,
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            "group.initial.rebalance.delay.ms": 0,
            # large messages (5-10 MB in tests)
            "message.max.bytes": BIG_MESSAGE_BYTES,
            "replica.fetch.max.bytes": BIG_MESSAGE_BYTES,
            "replica.fetch.response.max.bytes": BIG_MESSAGE_BYTES * 2,
            "socket.request.max.bytes": 104857600,
            # small machine: few threads, small buffers
            "num.network.threads": 2,
            "num.io.threads": 4,
            "background.threads": 4,
            "num.recovery.threads.per.data.dir": 1,
            "log.cleaner.threads": 1,
            "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
            "log.segment.bytes": 64 * 1024 * 1024,
            # No time retention: tests produce with fixed CreateTimes years old (TS in the Arrow tests),
            # which a time limit deletes at the next retention check, racing the consumer.
            "log.retention.ms": -1,
            "log.retention.check.interval.ms": 60000,
            "log.initial.task.delay.ms": 1000,
        }
        props.update(self.extra_properties)
        return props

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> KafkaBroker:
        if self._proc is not None:
            raise RuntimeError("broker already started")
        t_jars = time.monotonic()
        libs = ensure_jars()
        java = _java()
        self.jars_seconds = time.monotonic() - t_jars
        t0 = time.monotonic()
        last_err: BrokerUnavailable | None = None
        for _attempt in range(3):  # retry only when our chosen ports got taken
            try:
                self._start_once(java, libs, t0)
                return self
            except _PortClash as e:
                last_err = BrokerUnavailable(str(e))
        assert last_err is not None
        raise last_err

    def _start_once(self, java: str, libs: Path, t0: float) -> None:
        self.workdir = owned_workdir(_WORKDIR_PREFIX, keep=self.keep_dir)
        try:
            (self.workdir / "logs").mkdir()
            self.port, self.controller_port, *extra_ports = _free_ports(2 + len(self.extra_listeners))
            self.listener_ports = dict(zip(self.extra_listeners, extra_ports, strict=True))
            self.cluster_id = new_cluster_id()
            props_file = self.workdir / "server.properties"
            props_file.write_text("".join(f"{k}={v}\n" for k, v in self.server_properties().items()))
            log4j = self.workdir / "log4j2.properties"
            log4j.write_text(_LOG4J2.format(log=self.log_path))
            log4j_fmt = self.workdir / "log4j2-format.properties"
            log4j_fmt.write_text(_LOG4J2.format(log=self.workdir / "logs" / "storage-format.log"))
            cp = f"{libs}/*"
            common = self._common_jvm_args(java)
            fmt = subprocess.run(
                common
                + [
                    f"-Dlog4j2.configurationFile={log4j_fmt}",
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-cp",
                    cp,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    self.cluster_id,
                    "-c",
                    str(props_file),
                    *self.format_args,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=120,
            )
            if fmt.returncode != 0:
                tail = "\n".join(fmt.stdout.splitlines()[-30:])
                raise BrokerUnavailable(f"kafka-storage format failed (exit {fmt.returncode}):\n{tail}")
            self._stdout = open(self.workdir / "logs" / "stdout.log", "wb")
            self._launch(java, libs)
            self.startup_seconds = self._wait_ready(t0)
        except BaseException:
            self.stop()
            raise

    def _common_jvm_args(self, java: str) -> list[str]:
        assert self.workdir is not None
        return [
            java,
            "-Djava.awt.headless=true",
            # keep logging to the file through JVM shutdown (no "Using SimpleLogger" fallback)
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Dkafka.logs.dir={self.workdir / 'logs'}",
            # C1 only: ~2 s faster startup on 2 cores; plenty fast for tests
            "-XX:TieredStopAtLevel=1",
        ]

    def _launch(self, java: str, libs: Path) -> None:
        """Start the broker JVM on the already formatted workdir (start() and restart())."""
        assert self.workdir is not None and self._stdout is not None
        own_gc = any(a.startswith("-XX:+Use") and a.endswith("GC") for a in self.jvm_args)
        gc = [] if own_gc else ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExplicitGCInvokesConcurrent"]
        cmd = self._common_jvm_args(java) + [
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            f"-Xms{self.heap_min}",
            f"-Xmx{self.heap_max}",
            *gc,
            *self.jvm_args,  # last wins, e.g. "-XX:TieredStopAtLevel=4" re-enables C2
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(self.workdir / "server.properties"),
        ]
        self._spawn(cmd, die_with_parent=self.die_with_parent)

    # -- faults ---------------------------------------------------------------------

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        """Send ``sig`` (default SIGKILL: no shutdown hook, no flush, no clean close) to the JVM
        and reap it; returns its exit code (``-9`` for SIGKILL).

        Keeps the temp dir (data, metadata, logs), the ports and the cluster id, so that
        ``restart()`` brings the *same* broker back and clients reconnect to the same address.
        """
        proc = self._proc
        if proc is None:
            raise RuntimeError("broker not running")
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)  # the JVM itself (the Popen child), not a wrapper script
        rc = proc.wait(timeout=timeout)
        self._proc = None
        self.last_exit_code = rc
        return rc

    def restart(self, timeout: float | None = None) -> float:
        """Start the broker again after ``kill()`` (or a crash): same node id, cluster id, ports,
        log and metadata dirs; no format.  Returns the seconds from launch to the first good
        Metadata (also kept in ``restart_seconds``); after a SIGKILL this includes the broker's
        log recovery.  A port taken meanwhile (a lingering socket) is retried until ``timeout``
        (default ``startup_timeout``); on failure the new JVM is killed, the workdir kept for
        ``log_tail()`` and ``stop()``.
        """
        if self.workdir is None or self.port is None:
            raise RuntimeError("broker was never started, or was stopped: nothing to restart")
        if self._proc is not None:
            if self._proc.poll() is None:
                raise RuntimeError("broker still running: kill() it first")
            self.last_exit_code = self._proc.returncode
            self._proc = None
        libs = ensure_jars()
        java = _java()
        if self._stdout is None:
            self._stdout = open(self.workdir / "logs" / "stdout.log", "ab")
        t0 = time.monotonic()
        deadline = t0 + (self.startup_timeout if timeout is None else timeout)
        while True:
            try:
                self._launch(java, libs)
                self.restart_seconds = self._wait_ready(t0, deadline)
                return self.restart_seconds
            except _PortClash:
                self._proc = None  # it exited (that is how the clash was seen)
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)
            except BaseException:
                proc, self._proc = self._proc, None
                if proc is not None and proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                raise

    def _wait_ready(self, t0: float, deadline: float | None = None) -> float:
        """Wait for a Metadata response listing our node; returns the seconds since ``t0``."""
        assert self._proc is not None and self.port is not None
        if deadline is None:
            deadline = time.monotonic() + self.startup_timeout
        last = "no attempt yet"
        while True:
            rc = self._proc.poll()
            if rc is not None:
                tail = self.log_tail()
                if "Address already in use" in tail or "BindException" in tail:
                    raise _PortClash(f"port clash on {self.port}/{self.controller_port}:\n{tail}")
                raise BrokerUnavailable(f"Kafka broker exited with code {rc} during startup; last log lines:\n{tail}")
            try:
                md = probe_metadata("127.0.0.1", self.port, timeout=2.0)
                if md["cluster_id"] != self.cluster_id:
                    # Another broker (another test run's) took the port between _free_ports() and
                    # our JVM's bind: ours then exits with a BindException, seen above as a clash.
                    last = f"a broker of another cluster ({md['cluster_id']}) answers on port {self.port}"
                elif NODE_ID in md["brokers"]:
                    self.metadata = md
                    return time.monotonic() - t0
                else:
                    last = f"metadata lists brokers {sorted(md['brokers'])}, not node {NODE_ID}"
            except (OSError, ValueError, struct.error) as e:
                last = f"{type(e).__name__}: {e}"
            if time.monotonic() >= deadline:
                tail = self.log_tail()
                raise BrokerUnavailable(
                    f"Kafka broker not ready after {self.startup_timeout:.0f} s ({last}); last log lines:\n{tail}"
                )
            time.sleep(0.2)

    def log_tail(self, n: int = 30) -> str:
        """Last ``n`` lines of the broker log, preceded by the JVM's own stdout/stderr if any."""
        if self.workdir is None:
            return ""
        out: list[str] = []
        for name, keep in (("stdout.log", 10), ("server.log", n)):
            lines: deque[str] = deque(maxlen=keep)
            with contextlib.suppress(OSError):
                with open(self.workdir / "logs" / name, errors="replace") as f:
                    for ln in f:
                        if ln.strip():
                            lines.append(ln.rstrip())
            if name == "stdout.log":
                out.extend(f"[jvm] {ln}" for ln in lines)
            else:
                out.extend(lines)
        return "\n".join(out)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, SIGKILL after ``grace`` seconds; removes the temp dir unless ``keep_dir``."""
        self._stop_process(grace, kill_wait=30)
        self._discard_workdir(keep=self.keep_dir)


class _PortClash(BrokerUnavailable):
    pass


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=f"Run a throw-away Apache Kafka {KAFKA_VERSION} broker (KRaft).")
    ap.add_argument("--check", action="store_true", help="start, print startup time, stop")
    ap.add_argument("--timeout", type=float, default=90.0, help="startup timeout in seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs/data) after stop")
    args = ap.parse_args(argv)

    # SIGTERM -> normal exit path so the broker is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    try:
        libs = ensure_jars()
    except BrokerUnavailable as e:
        print(f"broker unavailable: {e}", file=sys.stderr)
        return 2
    jar_s = time.monotonic() - t0
    broker = KafkaBroker(startup_timeout=args.timeout, keep_dir=args.keep)
    try:
        broker.start()
    except BrokerUnavailable as e:
        print(f"broker unavailable: {e}", file=sys.stderr)
        return 2
    try:
        md = broker.metadata or {}
        print(f"bootstrap_servers={broker.bootstrap_servers}", flush=True)
        print(
            f"startup_seconds={broker.startup_seconds:.2f} (jars ready in {jar_s:.2f} s: {libs}); "
            f"Metadata v{md.get('metadata_version')} cluster_id={md.get('cluster_id')} "
            f"pid={broker.pid} log={broker.log_path}",
            flush=True,
        )
        if args.check:
            return 0
        print("Broker running; Ctrl-C to stop.", flush=True)
        while broker.is_running():
            time.sleep(0.5)
        print(f"broker exited unexpectedly:\n{broker.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        t1 = time.monotonic()
        broker.stop()
        print(f"stopped in {time.monotonic() - t1:.2f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
