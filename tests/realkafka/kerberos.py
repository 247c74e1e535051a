"""A throw-away MIT Kerberos KDC for tests, and the broker settings of a GSSAPI listener.

Stdlib only.  Needs Debian's ``krb5-kdc`` (``krb5kdc``), ``krb5-admin-server`` (``kadmin.local``,
``kdb5_util``) and ``krb5-user`` (``kinit``, which librdkafka runs itself through
``sasl.kerberos.kinit.cmd``); ``scripts/bootstrap`` installs them.

Usage::

    from realkafka.kerberos import KerberosKDC, gssapi_broker_kwargs
    from realkafka.harness import KafkaBroker

    with KerberosKDC() as kdc, KafkaBroker(**gssapi_broker_kwargs(kdc)) as broker:
        broker.listener_address("GSSAPI")          # "localhost:<port>"
        kdc.client.principal, kdc.client.keytab    # "client@FERROKAFKA.TEST", Path(...)
        kdc.client_env(ccache_dir)                 # KRB5_CONFIG + a private KRB5CCNAME

Everything (database, stash, keytabs, krb5.conf, kdc.conf, logs) lives in a fresh
``/tmp/ferrokafka-kdc-*`` removed by ``stop()``; nothing is written into the repository and no
system file (``/etc/krb5.conf``, ``/etc/krb5kdc``) is read or changed: every tool gets
``KRB5_CONFIG`` and ``KRB5_KDC_PROFILE`` pointing into that directory.

Principals (realm ``FERROKAFKA.TEST``):

- ``kafka/localhost``: the broker's service principal (keytab ``broker.keytab``).  Clients name
  the broker ``localhost`` (its advertised host) and librdkafka asks for ``<service>/<host>``, so
  ``krb5.conf`` turns off DNS canonicalisation and reverse DNS (``localhost`` must stay
  ``localhost``, not become ``localhost.localdomain`` or ``ip6-localhost``);
- ``client``: a client with a good keytab;
- ``ghost``: a keytab whose principal was deleted from the KDC afterwards (unknown principal);
- ``stale``: a keytab of key version 2, while the KDC has re-keyed the principal to version 3
  (a stale keytab, as after a password/key rotation).

``down_krb5_conf`` is a second client configuration naming a KDC port where nothing listens:
"KDC down" for a client without stopping the shared KDC.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

try:
    from realkafka.service import ProcessService, owned_workdir
except ImportError:  # run as a script: python tests/realkafka/kerberos.py
    from service import ProcessService, owned_workdir  # type: ignore[no-redef]

__all__ = [
    "REALM",
    "SERVICE_NAME",
    "KerberosKDC",
    "KerberosUnavailable",
    "KeytabPrincipal",
    "gssapi_broker_kwargs",
    "kerberos_tools",
]

REALM = "FERROKAFKA.TEST"
SERVICE_NAME = "kafka"
SERVICE_HOST = "localhost"  # the host the broker's GSSAPI listener is advertised as
_WORKDIR_PREFIX = "ferrokafka-kdc-"
_TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")
_PACKAGES = {"krb5kdc": "krb5-kdc", "kdb5_util": "krb5-kdc", "kadmin.local": "krb5-admin-server", "kinit": "krb5-user"}


class KerberosUnavailable(Exception):
    """The KDC cannot be provided (tools missing, database creation or startup failed)."""


class _PortClash(KerberosUnavailable):
    """The port chosen was taken (by another process) before krb5kdc bound it."""


@dataclass(frozen=True)
class KeytabPrincipal:
    principal: str  # with the realm
    keytab: Path


def kerberos_tools() -> dict[str, str]:
    """Paths of krb5kdc, kdb5_util, kadmin.local and kinit (the first three live in /usr/sbin,
    which is not on every user's PATH); raises KerberosUnavailable naming the missing packages."""
    found: dict[str, str] = {}
    missing: list[str] = []
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
    for tool in _TOOLS:
        where = shutil.which(tool, path=path)
        if where:
            found[tool] = where
        else:
            missing.append(f"{tool} ({_PACKAGES[tool]})")
    if missing:
        raise KerberosUnavailable(f"MIT Kerberos tools not found: {', '.join(missing)}; run scripts/bootstrap")
    return found


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (the KDC listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise KerberosUnavailable("no free TCP+UDP port for the KDC")


def _closed_port() -> tuple[int, list[socket.socket]]:
    """A port on 127.0.0.1 where no KDC answers while the socket returned stays open: bound for TCP
    (no other process can take it) but not listening, so a connection is refused at once, and free
    for UDP when chosen. UDP is not held: a bound UDP socket would swallow the client's datagrams
    (a 3 s timeout per try) where a free port answers "port unreachable" at once."""
    for _ in range(50):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = int(tcp.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                tcp.close()
                continue
        return port, [tcp]
    raise KerberosUnavailable("no free TCP+UDP port for the KDC that is down")


def _krb5_conf(realm: str, kdc_port: int) -> str:
    # udp_preference_limit = 1: TCP first (Java and MIT both honour it); "kdc = host:port" without
    # the MIT-only "tcp/" prefix, which Java's parser does not know.
    return f"""\
[libdefaults]
    default_realm = {realm}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = false
    udp_preference_limit = 1
    ticket_lifetime = 1h
    renew_lifetime = 2h
    forwardable = false
    kdc_timeout = 3000
    max_retries = 1

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{kdc_port}
        admin_server = 127.0.0.1:{kdc_port}
    }}

[domain_realm]
    localhost = {realm}
    .localhost = {realm}
"""


def _kdc_conf(realm: str, port: int, workdir: Path) -> str:
    return f"""\
[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {workdir}/db/principal
        key_stash_file = {workdir}/db/stash
        acl_file = {workdir}/db/kadm5.acl
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        max_life = 1h
        max_renewable_life = 2h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{workdir}/logs/kdc.log
    admin_server = FILE:{workdir}/logs/kadmin.log
    default = FILE:{workdir}/logs/krb5lib.log
"""


class KerberosKDC(ProcessService):
    """A throw-away MIT KDC (``krb5kdc -n``) with its own realm, config and database."""

    def __init__(self, *, realm: str = REALM, service_host: str = SERVICE_HOST, startup_timeout: float = 30.0):
        self.realm = realm
        self.service_host = service_host
        self.startup_timeout = startup_timeout
        self.workdir: Path | None = None
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None
        self._tools: dict[str, str] = {}
        self._down_port_held: list[socket.socket] = []  # down_krb5_conf's port, kept closed

    # -- paths ----------------------------------------------------------------------

    def _path(self, *parts: str) -> Path:
        if self.workdir is None:
            raise RuntimeError("KDC not started")
        return self.workdir.joinpath(*parts)

    @property
    def krb5_conf(self) -> Path:
        """The clients' and the broker's krb5.conf (KRB5_CONFIG / -Djava.security.krb5.conf)."""
        return self._path("krb5.conf")

    @property
    def down_krb5_conf(self) -> Path:
        """Same realm, but its KDC is a port where nothing listens: a KDC that is down."""
        return self._path("krb5-kdc-down.conf")

    @property
    def kdc_conf(self) -> Path:
        return self._path("kdc.conf")

    @property
    def log_path(self) -> Path:
        return self._path("logs", "kdc.log")

    @property
    def service(self) -> KeytabPrincipal:
        return KeytabPrincipal(
            f"{SERVICE_NAME}/{self.service_host}@{self.realm}", self._path("keytabs", "broker.keytab")
        )

    @property
    def client(self) -> KeytabPrincipal:
        return KeytabPrincipal(f"client@{self.realm}", self._path("keytabs", "client.keytab"))

    @property
    def ghost(self) -> KeytabPrincipal:
        """A keytab for a principal the KDC no longer knows."""
        return KeytabPrincipal(f"ghost@{self.realm}", self._path("keytabs", "ghost.keytab"))

    @property
    def stale(self) -> KeytabPrincipal:
        """A keytab holding an older key version of a principal the KDC has re-keyed since."""
        return KeytabPrincipal(f"stale@{self.realm}", self._path("keytabs", "stale.keytab"))

    def tool_env(self) -> dict[str, str]:
        """Environment of the MIT tools run here: our configs, never /etc's."""
        env = dict(os.environ)
        env["KRB5_CONFIG"] = str(self.krb5_conf)
        env["KRB5_KDC_PROFILE"] = str(self.kdc_conf)
        env["KRB5CCNAME"] = f"FILE:{self._path('admin.ccache')}"
        env.pop("KRB5_KTNAME", None)
        env.pop("KRB5_CLIENT_KTNAME", None)
        env.pop("KRB5_TRACE", None)
        return env

    def client_env(self, ccache_dir: str | os.PathLike[str], *, kdc_down: bool = False) -> dict[str, str]:
        """Environment for a client process: KRB5_CONFIG (or the KDC-down variant) and a private
        credential cache in ``ccache_dir`` (librdkafka's kinit writes it, GSSAPI reads it)."""
        env = dict(os.environ)
        for key in ("KRB5_KDC_PROFILE", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME", "KRB5_TRACE", "KRB5RCACHEDIR"):
            env.pop(key, None)
        env["KRB5_CONFIG"] = str(self.down_krb5_conf if kdc_down else self.krb5_conf)
        env["KRB5CCNAME"] = f"FILE:{Path(ccache_dir) / 'krb5cc'}"
        return env

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> KerberosKDC:
        if self._proc is not None:
            raise RuntimeError("KDC already started")
        self._tools = kerberos_tools()
        t0 = time.monotonic()
        self.workdir = owned_workdir(_WORKDIR_PREFIX)
        try:
            for sub in ("db", "logs", "keytabs"):
                (self.workdir / sub).mkdir(mode=0o700)
            self._choose_port()
            self._path("db", "kadm5.acl").write_text("")
            self._create_database()
            for attempt in range(3):  # again only when the port chosen got taken meanwhile
                self._launch()
                try:
                    self._wait_ready(t0)
                    break
                except _PortClash:
                    if attempt == 2:
                        raise
                    self._stop_process(grace=5.0, kill_wait=10)
                    self._choose_port()
            self.startup_seconds = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, args: list[str], *, what: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            args,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.tool_env(),
            timeout=60,
        )
        if proc.returncode != 0:
            raise KerberosUnavailable(f"{what} failed (exit {proc.returncode}): {proc.stdout.strip()}")
        return proc.stdout

    def kadmin(self, query: str) -> str:
        """Runs one kadmin.local query on the database; raises on any error it prints."""
        out = self._run([self._tools["kadmin.local"], "-r", self.realm, "-q", query], what=f"kadmin.local -q {query!r}")
        # kadmin.local exits 0 even when the query fails; its errors read "... while ...".
        bad = [ln for ln in out.splitlines() if " while " in ln or ln.startswith(("kadmin.local:", "usage"))]
        bad = [ln for ln in bad if not ln.startswith("Authenticating as")]
        if bad:
            raise KerberosUnavailable(f"kadmin.local -q {query!r}: {' / '.join(bad)}")
        return out

    def _create_database(self) -> None:
        master = secrets.token_urlsafe(24)  # only in the stash file of this temp dir
        self._run(
            [self._tools["kdb5_util"], "-r", self.realm, "create", "-s", "-P", master],
            what="kdb5_util create -s",
        )
        svc, client, ghost, stale = self.service, self.client, self.ghost, self.stale
        for p in (svc, client, ghost, stale):
            self.kadmin(f"addprinc -randkey {p.principal}")
            self.kadmin(f"ktadd -k {p.keytab} {p.principal}")  # kvno 1 (addprinc) -> 2 (ktadd randomises)
        # unknown principal: the keytab stays, the principal goes
        self.kadmin(f"delprinc -force {ghost.principal}")
        # stale keytab: the KDC moves on to a new random key; the keytab keeps the old one
        self.kadmin(f"cpw -randkey {stale.principal}")
        for p in (svc, client, ghost, stale):
            os.chmod(p.keytab, 0o600)

    def _choose_port(self) -> None:
        """A free port, written into the configuration files (the database does not depend on it).
        Free when chosen only: another process may take it before krb5kdc binds it (a clash)."""
        self.port = _free_port()
        self.krb5_conf.write_text(_krb5_conf(self.realm, self.port))
        self._release_down_port()
        down_port, self._down_port_held = _closed_port()
        self.down_krb5_conf.write_text(_krb5_conf(self.realm, down_port))
        self.kdc_conf.write_text(_kdc_conf(self.realm, self.port, self.workdir))
        self.log_path.unlink(missing_ok=True)  # a clash is read from this attempt's log only

    def _release_down_port(self) -> None:
        for sock in self._down_port_held:
            sock.close()
        self._down_port_held = []

    def _launch(self) -> None:
        if self._stdout is not None:
            self._stdout.close()
        self._stdout = open(self._path("logs", "krb5kdc.stdout.log"), "wb")
        self._spawn(
            [self._tools["krb5kdc"], "-n", "-r", self.realm, "-P", str(self._path("krb5kdc.pid"))],
            env=self.tool_env(),
        )

    def _wait_ready(self, t0: float) -> None:
        """Until kinit with the client keytab gets a TGT (a real AS exchange over TCP)."""
        assert self._proc is not None
        deadline = t0 + self.startup_timeout
        probe_cc = self._path("probe.ccache")
        last = "no attempt yet"
        while True:
            rc = self._proc.poll()
            with contextlib.suppress(OSError):
                if "Address already in use" in self.log_path.read_text(errors="replace"):
                    # krb5kdc exits, or (seen once) stays up without its socket until kinit gives up.
                    raise _PortClash(f"port {self.port} taken: {self.log_tail()}")
            if rc is not None:
                raise KerberosUnavailable(f"krb5kdc exited with code {rc}: {self.log_tail()}")
            env = self.tool_env()
            env["KRB5CCNAME"] = f"FILE:{probe_cc}"
            proc = subprocess.run(
                [self._tools["kinit"], "-k", "-t", str(self.client.keytab), self.client.principal],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                timeout=30,
            )
            if proc.returncode == 0:
                probe_cc.unlink(missing_ok=True)
                return
            last = proc.stdout.strip()
            if time.monotonic() >= deadline:
                raise KerberosUnavailable(
                    f"KDC not ready after {self.startup_timeout:.0f} s (kinit: {last}): {self.log_tail()}"
                )
            time.sleep(0.2)

    def log_tail(self, n: int = 20) -> str:
        if self.workdir is None:
            return ""
        lines: list[str] = []
        for name in ("krb5kdc.stdout.log", "kdc.log"):
            with contextlib.suppress(OSError):
                lines += [
                    f"[{name}] {ln}" for ln in self._path("logs", name).read_text(errors="replace").splitlines()[-n:]
                ]
        return "\n".join(lines)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, SIGKILL after ``grace`` seconds; removes the temp dir unless
        ``FERROKAFKA_KEEP_BROKER_DIR`` is set (not marked KEEP: a run after this process ends reaps it)."""
        self._stop_process(grace, kill_wait=10)
        self._release_down_port()
        self._discard_workdir(keep=os.environ.get("FERROKAFKA_KEEP_BROKER_DIR", "") not in ("", "0"))


def gssapi_broker_kwargs(kdc: KerberosKDC, listener: str = "GSSAPI") -> dict[str, Any]:
    """``KafkaBroker(**kwargs)`` for a broker with a SASL_PLAINTEXT listener ``listener`` that takes
    only GSSAPI, with the service principal ``kafka/localhost`` from ``kdc``'s keytab."""
    prefix = f"listener.name.{listener.lower()}"
    svc = kdc.service
    jaas = (
        "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true "
        f'keyTab="{svc.keytab}" principal="{svc.principal}";'
    )
    return {
        "extra_listeners": {listener: "SASL_PLAINTEXT"},
        "extra_properties": {
            f"{prefix}.sasl.enabled.mechanisms": "GSSAPI",
            f"{prefix}.gssapi.sasl.jaas.config": jaas,
            "sasl.kerberos.service.name": SERVICE_NAME,
        },
        "jvm_args": [f"-Djava.security.krb5.conf={kdc.krb5_conf}"],
    }


if __name__ == "__main__":  # python tests/realkafka/kerberos.py: start a KDC, print its files, wait
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with KerberosKDC() as _kdc:
        print(f"KRB5_CONFIG={_kdc.krb5_conf} port={_kdc.port} started in {_kdc.startup_seconds:.2f} s", flush=True)
        for _p in (_kdc.service, _kdc.client, _kdc.ghost, _kdc.stale):
            print(f"{_p.principal}: {_p.keytab}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while _kdc.is_running():
                time.sleep(0.5)
