"""GSSAPI (Kerberos) against a real MIT KDC and a broker with a GSSAPI listener.

`kerberos_broker` (conftest.py) starts a throw-away KDC (realm FERROKAFKA.TEST, tests/realkafka/
kerberos.py) and a broker whose SASL_PLAINTEXT listener "GSSAPI" takes only GSSAPI with the service
principal kafka/localhost. Each client runs in a subprocess of its own: librdkafka runs `kinit`
itself (`sasl.kerberos.kinit.cmd`, with `sasl.kerberos.keytab` and `sasl.kerberos.principal`) and
the MIT krb5 built into ferrokafka reads the same credential cache, so every process gets
KRB5_CONFIG (our krb5.conf; the built-in default is /etc/krb5.conf) and a private KRB5CCNAME.

Failure cases, each asserting what the user sees and how soon:

- unknown principal: a keytab whose principal the KDC has deleted;
- stale keytab: the KDC re-keyed the principal after the keytab was written;
- wrong keytab: the keytab holds another principal's keys;
- KDC down: the client's krb5.conf names a KDC port where nothing listens;
- wrong service name: `sasl.kerberos.service.name=nokafka` (no such principal in the KDC).

In the first three kinit fails: the KDC's reason ("Client ... not found in Kerberos database",
"Password incorrect", "Cannot contact any KDC") is written by kinit to the process's stderr only;
the logger hears "Kerberos ticket refresh failed: <command>: exited with code 1" and `error_cb`
hears librdkafka's GSSAPI error "No Kerberos credentials available (default cache: ...)".

Rows (listener, client, case, outcome, seconds) are appended as markdown to
$FERROKAFKA_SECURITY_TABLE when it is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import ferrokafka as fk

if TYPE_CHECKING:
    from realkafka.harness import KafkaBroker
    from realkafka.kerberos import KerberosKDC

pytestmark = pytest.mark.broker

LISTENER = "GSSAPI"
PRODUCER_TIMEOUT_MS = 3000  # message.timeout.ms of the failing producers
ADMIN_TIMEOUT_MS = 5000  # socket.timeout.ms of the failing admin clients: their request timeout
SLACK = 6.0  # seconds of scheduling slack on a busy 2-core machine

# One client in a fresh interpreter; prints one JSON line. Callbacks and logs are timed from just
# before the client is created.
_CHILD = r"""
import json, logging, sys, time
import ferrokafka as fk

spec = json.loads(sys.argv[1])
cfg = dict(spec["config"])
kind = spec["client"]
errors, logs = [], []
t0 = time.monotonic()


def since():
    return round(time.monotonic() - t0, 2)


def error_cb(e):
    errors.append({"name": e.name(), "message": str(e), "fatal": e.fatal(), "seconds": since()})


class Collect(logging.Handler):
    def emit(self, record):
        logs.append({"level": record.levelname, "message": record.getMessage(), "seconds": since()})


logger = logging.getLogger("kerberos-child")
logger.setLevel(logging.INFO)
logger.propagate = False
logger.addHandler(Collect())
default_logger = logging.getLogger("ferrokafka")
default_logger.setLevel(logging.INFO)
default_logger.propagate = False
default_logger.addHandler(Collect())

out = {"client": kind, "callbacks": True}


def make(factory):
    global t0
    t0 = time.monotonic()
    try:
        return factory({**cfg, "error_cb": error_cb, "logger": logger})
    except fk.ConfigError as e:
        if "does not apply" not in str(e):
            raise
    out["callbacks"] = False  # this build's admin client takes neither error_cb nor a logger
    t0 = time.monotonic()
    return factory(cfg)


try:
    topic, n, wait = spec["topic"], spec["n"], spec["wait"]
    if kind == "producer":
        with make(fk.Producer) as p:
            futures = [p.produce(topic, b"v%d" % i, key=b"k%d" % i) for i in range(n)]
            out["delivered"] = [[r.partition, r.offset] for r in (f.result(wait) for f in futures)]
    elif kind == "admin":
        with make(fk.AdminClient) as a:
            a.create_topics([fk.NewTopic(topic, 1, 1)]).result(wait)
            out["configs"] = len(a.describe_configs("topic", topic).result(wait))
    else:
        with make(fk.Consumer) as c:
            c.subscribe([topic])
            got = []
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and len(got) < n and not (spec["stop_on_error"] and errors):
                m = c.poll(0.2)
                if m is not None:
                    got.append([bytes(m.key).decode(), bytes(m.payload).decode()])
            out["received"] = got
            if got:
                out["topics"] = sorted(c.list_topics(timeout=wait)["topics"])
    out["outcome"] = "ok"
except Exception as e:
    out["outcome"] = "raised"
    name = e.name() if isinstance(e, fk.KafkaError) else None
    out["exception"] = {"type": type(e).__name__, "name": name, "message": str(e)}
out["seconds"] = since()
out["errors"] = errors
out["logs"] = [r for r in logs if r["level"] in ("WARNING", "ERROR", "CRITICAL")]
print(json.dumps(out), flush=True)
"""


@dataclass
class ChildResult:
    client: str
    outcome: str  # "ok" or "raised"
    seconds: float  # from client creation to the end of the scenario
    exception: dict[str, Any] | None
    errors: list[dict[str, Any]]  # error_cb calls
    logs: list[dict[str, Any]]  # WARNING and above
    callbacks: bool  # whether the client took error_cb and logger
    stderr: str  # the process's own stderr: where kinit's messages go
    data: dict[str, Any] = field(default_factory=dict)

    def first_error(self) -> dict[str, Any]:
        assert self.errors, f"no error_cb call; logs: {self.logs}; stderr: {self.stderr}"
        return self.errors[0]


@dataclass
class Row:
    listener: str
    client: str
    case: str
    outcome: str
    seconds: float


@pytest.fixture(scope="module")
def table() -> Iterator[list[Row]]:
    rows: list[Row] = []
    yield rows
    path = os.environ.get("FERROKAFKA_SECURITY_TABLE")
    if path and rows:
        lines = [
            "",
            "### GSSAPI (Kerberos, MIT KDC) — tests/test_kerberos.py",
            "",
            "| listener | client | case | outcome | seconds |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in rows:
            outcome = r.outcome.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.listener} | {r.client} | {r.case} | {outcome} | {r.seconds:.1f} |")
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def gssapi_config(
    kdc: KerberosKDC, broker: KafkaBroker, *, principal: str | None, keytab: Path | None, service: str = "kafka"
) -> dict[str, object]:
    config: dict[str, object] = {
        "bootstrap.servers": broker.listener_address(LISTENER),
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "GSSAPI",
        "sasl.kerberos.service.name": service,
    }
    if principal is not None:
        config["sasl.kerberos.principal"] = principal
    if keytab is not None:
        config["sasl.kerberos.keytab"] = str(keytab)
    return config


def run_client(
    kdc: KerberosKDC,
    client: str,
    config: dict[str, object],
    ccache_dir: Path,
    *,
    topic: str,
    n: int = 1,
    wait: float = 30.0,
    kdc_down: bool = False,
    stop_on_error: bool = False,
) -> ChildResult:
    ccache_dir.mkdir(parents=True, exist_ok=True)
    spec = {"client": client, "config": config, "topic": topic, "n": n, "wait": wait, "stop_on_error": stop_on_error}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(spec)],
        env=kdc.client_env(ccache_dir, kdc_down=kdc_down),
        capture_output=True,
        text=True,
        timeout=wait + 60,
    )
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, f"child exited {proc.returncode}: {proc.stdout}\n{proc.stderr}"
    out = json.loads(lines[-1])
    return ChildResult(
        client=client,
        outcome=out.pop("outcome"),
        seconds=out.pop("seconds"),
        exception=out.pop("exception", None),
        errors=out.pop("errors"),
        logs=out.pop("logs"),
        callbacks=out.pop("callbacks"),
        stderr=proc.stderr,
        data=out,
    )


def _topic() -> str:
    return f"krb-{uuid.uuid4().hex[:10]}"


# --- success ------------------------------------------------------------------------------------


def test_round_trip_admin_producer_consumer(
    kerberos_broker: tuple[KerberosKDC, KafkaBroker], tmp_path: Path, table: list[Row]
) -> None:
    """AdminClient creates a topic, Producer writes 5 records, Consumer reads them back and lists
    the topic: every connection authenticated as client@FERROKAFKA.TEST with GSSAPI. The three
    processes share one credential cache, as one user's processes do (the 2nd and 3rd renew)."""
    kdc, broker = kerberos_broker
    config = gssapi_config(kdc, broker, principal=kdc.client.principal, keytab=kdc.client.keytab)
    topic, ccache = _topic(), tmp_path / "cc"

    admin = run_client(kdc, "admin", config, ccache, topic=topic)
    assert admin.outcome == "ok", admin
    assert admin.data["configs"] > 0
    producer = run_client(kdc, "producer", {**config, "linger.ms": 5}, ccache, topic=topic, n=5)
    assert producer.outcome == "ok", producer
    assert producer.data["delivered"] == [[0, i] for i in range(5)]
    group = f"krb-g-{uuid.uuid4().hex[:8]}"
    consumer_cfg = {**config, "group.id": group, "auto.offset.reset": "earliest", "session.timeout.ms": 6000}
    consumer = run_client(kdc, "consumer", consumer_cfg, ccache, topic=topic, n=5)
    assert consumer.outcome == "ok", consumer
    assert consumer.data["received"] == [[f"k{i}", f"v{i}"] for i in range(5)]
    assert topic in consumer.data["topics"]
    for r in (admin, producer, consumer):
        assert not r.errors, r.errors
        assert not r.logs, r.logs
    # the broker's side: the listener authenticated our principal
    assert broker.log_path is not None
    assert f"authenticationID={kdc.client.principal}" in broker.log_path.read_text(errors="replace")

    table.append(Row(LISTENER, "admin", "keytab: create topic + describe configs", "ok", admin.seconds))
    table.append(Row(LISTENER, "producer", "keytab: produce 5", "ok: 5 delivered", producer.seconds))
    table.append(Row(LISTENER, "consumer", "keytab: consume 5 + list topics", "ok: 5 read back", consumer.seconds))


def test_ticket_cache_without_keytab(
    kerberos_broker: tuple[KerberosKDC, KafkaBroker], tmp_path: Path, table: list[Row]
) -> None:
    """A user who ran `kinit` beforehand: no keytab, `sasl.kerberos.min.time.before.relogin=0`
    (librdkafka then runs no kinit and only reads the credential cache)."""
    kdc, broker = kerberos_broker
    ccache = tmp_path / "cc"
    ccache.mkdir()
    kinit = subprocess.run(
        ["kinit", "-k", "-t", str(kdc.client.keytab), kdc.client.principal],
        env=kdc.client_env(ccache),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert kinit.returncode == 0, kinit.stderr
    config = gssapi_config(kdc, broker, principal=None, keytab=None)
    config["sasl.kerberos.min.time.before.relogin"] = 0
    producer = run_client(kdc, "producer", config, ccache, topic=_topic())
    assert producer.outcome == "ok", producer
    assert not producer.errors
    table.append(Row(LISTENER, "producer", "ticket cache from an earlier kinit, no keytab", "ok", producer.seconds))


def test_default_kinit_command_needs_a_keytab() -> None:
    """With the default `sasl.kerberos.kinit.cmd` (it names the keytab) and no keytab, librdkafka
    refuses the configuration at once; a ticket cache alone needs min.time.before.relogin=0."""
    config = {"bootstrap.servers": "localhost:1", "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"}
    with pytest.raises(
        fk.ConfigError, match='Invalid sasl.kerberos.kinit.cmd value: Property not available: "sasl.kerberos.keytab"'
    ):
        fk.Producer(config)


# --- failures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    reason: str  # what the KDC answered, as the user finds it
    in_error_cb: str  # in error_cb's message and the producer's timed-out error
    kinit_fails: bool  # the reason is then only on the process's stderr (kinit's own)


NO_CREDENTIALS = "No Kerberos credentials available"
CASES = [
    Case("unknown principal", "Client 'ghost@FERROKAFKA.TEST' not found in Kerberos database", NO_CREDENTIALS, True),
    Case("stale keytab", "Password incorrect", NO_CREDENTIALS, True),
    Case("wrong keytab", "Keytab contains no suitable keys for client@FERROKAFKA.TEST", NO_CREDENTIALS, True),
    Case("KDC down", "Cannot contact any KDC for realm 'FERROKAFKA.TEST'", NO_CREDENTIALS, True),
    Case(
        "wrong service name",
        "Server nokafka/localhost@FERROKAFKA.TEST not found in Kerberos database",
        "Server nokafka/localhost@FERROKAFKA.TEST not found in Kerberos database",
        False,
    ),
]


def _failing_client(kdc: KerberosKDC, broker: KafkaBroker, case: Case) -> tuple[dict[str, object], bool]:
    """The client config of `case` and whether its krb5.conf names the dead KDC."""
    principal = {"unknown principal": kdc.ghost, "stale keytab": kdc.stale}.get(case.name, kdc.client)
    keytab = kdc.stale.keytab if case.name == "wrong keytab" else principal.keytab  # another principal's
    service = "nokafka" if case.name == "wrong service name" else "kafka"
    config = gssapi_config(kdc, broker, principal=principal.principal, keytab=keytab, service=service)
    return config, case.name == "KDC down"


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _check_kinit_reason(case: Case, result: ChildResult) -> str:
    """Where the KDC's reason shows up; asserts it does."""
    if case.kinit_fails:
        assert case.reason in result.stderr, f"kinit's reason not on stderr: {result.stderr!r}"
        if result.callbacks:
            refresh = [r["message"] for r in result.logs if "Kerberos ticket refresh failed" in r["message"]]
            assert refresh and "exited with code 1" in refresh[0], result.logs
        return f"kinit on stderr: {case.reason}"
    assert "kinit" not in result.stderr, result.stderr
    return "kinit succeeded"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "-"))
def test_producer_failure(
    kerberos_broker: tuple[KerberosKDC, KafkaBroker], tmp_path: Path, table: list[Row], case: Case
) -> None:
    """The future fails with _MSG_TIMED_OUT after message.timeout.ms, naming the authentication
    failure; error_cb hears _AUTHENTICATION (not fatal) at once."""
    kdc, broker = kerberos_broker
    config, kdc_down = _failing_client(kdc, broker, case)
    config["message.timeout.ms"] = PRODUCER_TIMEOUT_MS
    t0 = time.monotonic()
    r = run_client(kdc, "producer", config, tmp_path / "cc", topic=_topic(), wait=30, kdc_down=kdc_down)
    assert r.outcome == "raised" and r.exception is not None, r
    assert r.exception["type"] == "KafkaError" and r.exception["name"] == "_MSG_TIMED_OUT", r.exception
    # The last client error, as error_cb got it (librdkafka's reason) and named by its code.
    assert "[_AUTHENTICATION]" in r.exception["message"] and case.in_error_cb in r.exception["message"]
    assert PRODUCER_TIMEOUT_MS / 1000 - 0.5 <= r.seconds <= PRODUCER_TIMEOUT_MS / 1000 + SLACK, r.seconds
    first = r.first_error()
    assert first["name"] == "_AUTHENTICATION" and not first["fatal"], first
    assert case.in_error_cb in first["message"], first
    assert first["seconds"] <= SLACK / 2, first
    where = _check_kinit_reason(case, r)
    outcome = (
        f"future _MSG_TIMED_OUT at {r.seconds:.1f} s; error_cb _AUTHENTICATION at {first['seconds']:.1f} s: "
        f"{case.in_error_cb}; {where}"
    )
    table.append(Row(LISTENER, "producer", case.name, outcome, r.seconds))
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "-"))
def test_consumer_failure(
    kerberos_broker: tuple[KerberosKDC, KafkaBroker], tmp_path: Path, table: list[Row], case: Case
) -> None:
    """poll() keeps returning nothing (the error is not fatal); error_cb hears _AUTHENTICATION."""
    kdc, broker = kerberos_broker
    config, kdc_down = _failing_client(kdc, broker, case)
    config.update({"group.id": f"krb-g-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"})
    r = run_client(
        kdc, "consumer", config, tmp_path / "cc", topic=_topic(), wait=20, kdc_down=kdc_down, stop_on_error=True
    )
    assert r.outcome == "ok", r  # nothing raised from poll()
    assert r.data["received"] == []
    first = r.first_error()
    assert first["name"] == "_AUTHENTICATION" and not first["fatal"], first
    assert case.in_error_cb in first["message"], first
    assert first["seconds"] <= SLACK / 2, first
    where = _check_kinit_reason(case, r)
    outcome = f"poll() returns None; error_cb _AUTHENTICATION: {case.in_error_cb}; {where}"
    table.append(Row(LISTENER, "consumer", case.name, outcome, first["seconds"]))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "-"))
def test_admin_failure(
    kerberos_broker: tuple[KerberosKDC, KafkaBroker], tmp_path: Path, table: list[Row], case: Case
) -> None:
    """The admin future fails after its request timeout (socket.timeout.ms) with "Timed out": the
    admin client's librdkafka events reach no callback, so the authentication failure is nowhere
    in Python (kinit's reason, when kinit fails, is still on stderr)."""
    kdc, broker = kerberos_broker
    config, kdc_down = _failing_client(kdc, broker, case)
    config["socket.timeout.ms"] = ADMIN_TIMEOUT_MS
    r = run_client(kdc, "admin", config, tmp_path / "cc", topic=_topic(), wait=30, kdc_down=kdc_down)
    assert r.outcome == "raised" and r.exception is not None, r
    assert r.exception["type"] == "KafkaError", r.exception
    assert r.exception["name"] in ("_TIMED_OUT", "_AUTHENTICATION"), r.exception
    assert r.seconds <= ADMIN_TIMEOUT_MS / 1000 + SLACK, r.seconds
    parts = [f"future {r.exception['name']} at {r.seconds:.1f} s: {_short(r.exception['message'], 80)}"]
    if r.errors:  # a build whose admin client passes librdkafka's errors to error_cb
        first = r.errors[0]
        assert first["name"] == "_AUTHENTICATION" and case.in_error_cb in first["message"], first
        parts.append(f"error_cb _AUTHENTICATION at {first['seconds']:.1f} s: {case.in_error_cb}")
    else:
        # The admin client's librdkafka events reach no callback: error_cb and logger (if this
        # build takes them at all) only carry ferrokafka's own OAuth errors.
        assert r.exception["name"] == "_TIMED_OUT", r.exception
        parts.append(f"error_cb {'silent' if r.callbacks else 'not accepted'}: the cause reaches no Python code")
    if case.kinit_fails:
        assert case.reason in r.stderr, r.stderr
        parts.append(f"kinit on stderr: {case.reason}")
    table.append(Row(LISTENER, "admin", case.name, "; ".join(parts), r.seconds))
