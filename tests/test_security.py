"""Secure connections to a real broker (`secure_broker`, tests/realkafka/security.py): every client
(Producer, Consumer, AdminClient) against every listener (SSL, MTLS, SASL_SSL, SASL_PLAINTEXT and the
PLAINTEXT one), with right and wrong credentials, certificates and protocols.

A success row is a real round trip: the producer's message is read back, the consumer (in a group)
reads a message, the admin client creates a topic and lists groups. A failure row checks what the
user sees: the `error_cb` KafkaError (name, and a message naming the cause), the same cause in the
log, the exception of the producer's future (`_MSG_TIMED_OUT` naming the last client error, after a
3 s `message.timeout.ms`), of the admin future (`_TIMED_OUT` after a 3 s `socket.timeout.ms`) or of
the constructor, and that a consumer's `poll()` keeps returning None (these errors are not fatal);
and how many seconds until the first sign of it.

The rows run concurrently when the first test asks for its row's outcome (a failing producer or admin
request waits out its timeout, which would add up to minutes in a serial run); each test then checks
its own row. With FERROKAFKA_SECURITY_TABLE=path the outcomes are written there as a markdown table.

The system CA store (`test_system_ca_*`): a client given no CA at all trusts the system's bundle. Each
runs a client in a subprocess in a private mount namespace, where a bundle holding the test CA is
mounted over the system's (the real store is never touched).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import ferrokafka as fk
from conftest import produce_n
from realkafka.security import SecureBroker

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]

MESSAGE_TIMEOUT_MS = 3000  # a failing producer's future fails after this
ADMIN_TIMEOUT_MS = 3000  # socket.timeout.ms: a failing admin request's future fails after this
CONSUMER_WAIT = 10.0  # how long a failing consumer polls for the error to show
WORKERS = 8  # rows running at once

Config = dict[str, object]


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """What the user sees when a row fails.

    `via`: "error_cb" (error_cb hears `name`, the log says it too, the producer's and the admin's
    futures fail naming it) or "constructor" (the client's constructor raises `raises`).
    """

    name: str  # KafkaError name that error_cb hears ("" for via="constructor")
    says: str  # regex that the error (or the log line, or the constructor's exception) matches
    via: str = "error_cb"
    within: float = 5.0  # seconds from the client's creation to the first sign of it
    raises: type[Exception] = fk.KafkaError
    logged: bool = True  # via="error_cb": librdkafka logs it too (a token it cannot get, it does not)


@dataclass(frozen=True)
class Case:
    listener: str
    name: str
    config: Callable[[SecureBroker], Config]
    fails: Failure | None = None  # None: a success row
    xfail: str | None = None  # why ferrokafka does not do this yet
    xfail_clients: tuple[str, ...] = ("Producer", "Consumer", "AdminClient")  # the clients it concerns


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsecured_jwt(subject: str, lifetime: float) -> tuple[str, float]:
    """A token Kafka's unsecured validator accepts (alg none), and its expiry (epoch seconds)."""
    now = time.time()
    return f"{_b64({'alg': 'none'})}.{_b64({'sub': subject, 'iat': now, 'exp': now + lifetime})}.", now + lifetime


def _settings(s: SecureBroker, extra: dict[str, object]) -> Config:
    """Keyword arguments as config entries: ssl_ca_location=... is "ssl.ca.location" (oauth_cb stays);
    a callable value is called with the broker (oauth_cb's value is a callable returning the callback)."""
    return {(k if k == "oauth_cb" else k.replace("_", ".")): v(s) if callable(v) else v for k, v in extra.items()}


def tls(listener: str = "SSL", **extra: object) -> Callable[[SecureBroker], Config]:
    def config(s: SecureBroker) -> Config:
        c: Config = {
            "bootstrap.servers": s.address(listener),
            "security.protocol": "SSL",
            "ssl.ca.location": str(s.tls.ca_cert),
        }
        return c | _settings(s, extra)

    return config


def mtls(**extra: object) -> Callable[[SecureBroker], Config]:
    return tls("MTLS", **extra)


def sasl(
    mechanism: str, user: str = "alice", password: str | None = None, listener: str = "SASL_SSL", **extra: object
) -> Callable[[SecureBroker], Config]:
    def config(s: SecureBroker) -> Config:
        c: Config = {
            "bootstrap.servers": s.address(listener),
            "security.protocol": listener,
            "sasl.mechanism": mechanism,
        }
        if mechanism != "OAUTHBEARER":
            c["sasl.username"] = user
            c["sasl.password"] = s.users.get(user, "no-such-user") if password is None else password
        if listener == "SASL_SSL":
            c["ssl.ca.location"] = str(s.tls.ca_cert)
        return c | _settings(s, extra)

    return config


def by_ip(listener: str) -> Callable[[SecureBroker], object]:
    return lambda s: "127.0.0.1:" + s.address(listener).rsplit(":", 1)[1]


def path(attr: str) -> Callable[[SecureBroker], object]:
    return lambda s: str(getattr(s.tls, attr))


def text(attr: str) -> Callable[[SecureBroker], object]:
    return lambda s: Path(getattr(s.tls, attr)).read_text()


def secret(attr: str) -> Callable[[SecureBroker], object]:
    return lambda s: getattr(s.tls, attr)


def oauth(**extra: object) -> Callable[[SecureBroker], Config]:
    return sasl("OAUTHBEARER", **extra)


UNSECURED_JWT = {"enable_sasl_oauthbearer_unsecure_jwt": True, "sasl_oauthbearer_config": "principal=alice"}
AUTH_FAILED = r"SASL authentication error: Authentication failed"
SCRAM_FAILED = AUTH_FAILED + r" during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-"
VERIFY_FAILED = r"certificate verify failed"


CASES = [
    # -- SSL: server certificate only
    Case("SSL", "CA file", tls()),
    Case("SSL", "CA as PEM text", tls(ssl_ca_location=None, ssl_ca_pem=text("ca_cert"))),
    Case("SSL", "by IP, hostname check off", tls(bootstrap_servers=by_ip("SSL"), ssl_endpoint_identification_algorithm="none")),
    Case("SSL", "by IP: hostname mismatch", tls(bootstrap_servers=by_ip("SSL")), Failure("_SSL", VERIFY_FAILED)),
    Case("SSL", "untrusted CA", tls(ssl_ca_location=path("other_ca_cert")), Failure("_SSL", VERIFY_FAILED)),
    Case("SSL", "CA file missing", tls(ssl_ca_location="/nonexistent/ca.pem"),
         Failure("", r"\"ssl\.ca\.location\": no such file", via="constructor", raises=fk.ConfigError)),
    # librdkafka only logs (at INFO) a broker hanging up; ferrokafka reports it with the likely cause
    Case("SSL", "PLAINTEXT client", lambda s: {"bootstrap.servers": s.address("SSL")},
         Failure("_TRANSPORT", r"in state APIVERSION_QUERY.*probably expects TLS: check security\.protocol")),
    Case("SSL", "SASL_SSL client", sasl("PLAIN", bootstrap_servers=lambda s: s.address("SSL")),
         Failure("_AUTHENTICATION", r"SASL PLAIN mechanism handshake failed.*supported mechanisms")),
    # -- MTLS: ssl.client.auth=required
    Case("MTLS", "PEM files", mtls(ssl_certificate_location=path("client_cert"), ssl_key_location=path("client_key"))),
    Case("MTLS", "PEM text", mtls(ssl_certificate_pem=text("client_cert"), ssl_key_pem=text("client_key"))),
    Case("MTLS", "encrypted PEM key", mtls(ssl_certificate_location=path("client_cert"),
         ssl_key_location=path("client_key_encrypted"), ssl_key_password=secret("client_key_password"))),
    Case("MTLS", "PKCS12", mtls(ssl_keystore_location=path("client_p12"), ssl_keystore_password=secret("client_p12_password"))),
    Case("MTLS", "no client certificate", mtls(), Failure("_TRANSPORT", r"alert bad certificate")),
    Case("MTLS", "certificate of an untrusted CA", mtls(ssl_certificate_location=path("rogue_client_cert"),
         ssl_key_location=path("rogue_client_key")), Failure("_TRANSPORT", r"alert bad certificate")),
    Case("MTLS", "encrypted PEM key, wrong password", mtls(ssl_certificate_location=path("client_cert"),
         ssl_key_location=path("client_key_encrypted"), ssl_key_password="wrong"),
         Failure("", r"ssl\.key\.location failed.*a wrong ssl\.key\.password", via="constructor", raises=fk.ConfigError)),
    Case("MTLS", "PKCS12, wrong password", mtls(ssl_keystore_location=path("client_p12"), ssl_keystore_password="wrong"),
         Failure("", r"PKCS#12 .*mac verify failure.*a wrong ssl\.keystore\.password", via="constructor",
                 raises=fk.ConfigError)),
    # -- SASL_SSL
    Case("SASL_SSL", "SCRAM-SHA-256", sasl("SCRAM-SHA-256")),
    Case("SASL_SSL", "SCRAM-SHA-512", sasl("SCRAM-SHA-512", user="bob")),
    Case("SASL_SSL", "PLAIN", sasl("PLAIN")),
    Case("SASL_SSL", "OAUTHBEARER unsecured JWT", oauth(**UNSECURED_JWT)),
    Case("SASL_SSL", "OAUTHBEARER oauth_cb", oauth(oauth_cb=lambda s: lambda _cfg: unsecured_jwt("alice", 300))),
    Case("SASL_SSL", "SCRAM-SHA-256 wrong password", sasl("SCRAM-SHA-256", password="wrong"),
         Failure("_AUTHENTICATION", SCRAM_FAILED + "256")),
    Case("SASL_SSL", "SCRAM-SHA-512 wrong password", sasl("SCRAM-SHA-512", password="wrong"),
         Failure("_AUTHENTICATION", SCRAM_FAILED + "512")),
    Case("SASL_SSL", "PLAIN wrong password", sasl("PLAIN", password="wrong"),
         Failure("_AUTHENTICATION", AUTH_FAILED + r": Invalid username or password")),
    Case("SASL_SSL", "SCRAM-SHA-256 unknown user", sasl("SCRAM-SHA-256", user="eve"),
         Failure("_AUTHENTICATION", SCRAM_FAILED + "256")),
    Case("SASL_SSL", "PLAIN unknown user", sasl("PLAIN", user="eve"),
         Failure("_AUTHENTICATION", AUTH_FAILED + r": Invalid username or password")),
    Case("SASL_SSL", "SCRAM untrusted CA", sasl("SCRAM-SHA-256", ssl_ca_location=path("other_ca_cert")),
         Failure("_SSL", VERIFY_FAILED)),
    # librdkafka refuses a lifeSeconds that is not positive (no token in the past), when it connects
    Case("SASL_SSL", "OAUTHBEARER lifeSeconds in the past", oauth(enable_sasl_oauthbearer_unsecure_jwt=True,
         sasl_oauthbearer_config="principal=alice lifeSeconds=-60"),
         Failure("_AUTHENTICATION", r"Failed to acquire SASL OAUTHBEARER token: .*lifeSeconds", logged=False)),
    # an expired token from oauth_cb: librdkafka refuses it when it is set, in the constructor
    Case("SASL_SSL", "OAUTHBEARER oauth_cb expired token", oauth(oauth_cb=lambda s: lambda _cfg: unsecured_jwt("alice", -60)),
         Failure("", r"unexpired", via="constructor")),
    Case("SASL_SSL", "OAUTHBEARER token the broker refuses", oauth(oauth_cb=lambda s: lambda _cfg: ("not-a-jwt", time.time() + 300)),
         Failure("_AUTHENTICATION", r"SASL authentication error: .*invalid_token")),
    # librdkafka would wait, silently, for a token that nothing provides
    Case("SASL_SSL", "OAUTHBEARER without a token source", oauth(),
         Failure("", r"needs a token source: oauth_cb", via="constructor", raises=fk.ConfigError)),
    # -- SASL_PLAINTEXT
    Case("SASL_PLAINTEXT", "PLAIN", sasl("PLAIN", listener="SASL_PLAINTEXT")),
    Case("SASL_PLAINTEXT", "SCRAM-SHA-512", sasl("SCRAM-SHA-512", listener="SASL_PLAINTEXT")),
    Case("SASL_PLAINTEXT", "OAUTHBEARER unsecured JWT", oauth(listener="SASL_PLAINTEXT", **UNSECURED_JWT)),
    Case("SASL_PLAINTEXT", "SCRAM-SHA-256 wrong password", sasl("SCRAM-SHA-256", password="wrong", listener="SASL_PLAINTEXT"),
         Failure("_AUTHENTICATION", SCRAM_FAILED + "256")),
    Case("SASL_PLAINTEXT", "PLAINTEXT client", lambda s: {"bootstrap.servers": s.address("SASL_PLAINTEXT")},
         Failure("_TRANSPORT", r"in state UP.*may require SASL: check security\.protocol")),
    Case("SASL_PLAINTEXT", "SASL_SSL client", sasl("PLAIN", bootstrap_servers=lambda s: s.address("SASL_PLAINTEXT")),
         Failure("_TRANSPORT", r"SSL connection closed by peer")),
    # -- PLAINTEXT (the harness's own listener, inter-broker)
    Case("PLAINTEXT", "SSL client", tls(bootstrap_servers=lambda s: "localhost:" + s.address("PLAINTEXT").rsplit(":", 1)[1]),
         Failure("_TRANSPORT", r"SSL connection closed by peer")),
]  # fmt: skip

CLIENTS = ("Producer", "Consumer", "AdminClient")


@dataclass(frozen=True)
class Row:
    case: Case
    client: str

    @property
    def id(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.case.name).strip("-")
        return f"{self.case.listener}-{slug}-{self.client}"


ROWS = [Row(case, client) for case in CASES for client in CLIENTS]


# --- running a row --------------------------------------------------------------------------------


@dataclass
class Observed:
    """What happened to one client, in seconds since it was made."""

    errors: list[tuple[float, fk.KafkaError]] = field(default_factory=list)  # error_cb
    logs: list[tuple[float, int, str]] = field(default_factory=list)  # (seconds, level, message)
    raised: BaseException | None = None  # by the constructor, the future or poll()
    raised_at: float | None = None
    result: str | None = None  # a success row's round trip
    seconds: float = 0.0  # until the row was done

    def first_sign(self, regex: str) -> float | None:
        """When an error_cb error or a log line first matched `regex`."""
        times = [t for t, e in self.errors if re.search(regex, str(e))]
        times += [t for t, _, msg in self.logs if re.search(regex, msg)]
        return min(times, default=None)


class _Capture(logging.Handler):
    def __init__(self, sink: list[tuple[float, int, str]], t0: float) -> None:
        super().__init__(logging.DEBUG)
        self.sink, self.t0 = sink, t0

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append((time.monotonic() - self.t0, record.levelno, record.getMessage()))


def _read_back(secure: SecureBroker, topic: str) -> list[bytes]:
    """The topic's messages, read over the PLAINTEXT listener."""
    config = {"bootstrap.servers": secure.address("PLAINTEXT"), "group.id": f"g-{uuid.uuid4().hex[:8]}"}
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic, 0, fk.OFFSET_BEGINNING)])
        batch = consumer.consume(10, timeout=20)
        return [bytes(m.payload or b"") for m in batch]


def _list_groups(admin: fk.AdminClient) -> list[str]:
    """list_groups(), retried while the broker is still loading its group coordinator (it raises
    COORDINATOR_LOAD_IN_PROGRESS for a moment after the broker starts)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return admin.list_groups().result(30)
        except fk.KafkaError as err:
            if not err.retriable() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _run(secure: SecureBroker, row: Row) -> Observed:
    case, fails = row.case, row.case.fails
    obs = Observed()
    t0 = time.monotonic()
    logger = logging.getLogger(f"ferrokafka.test_security.{row.id}")
    logger.propagate = False  # the log lines are checked, not printed
    logger.setLevel(logging.DEBUG)
    logger.handlers[:] = [_Capture(obs.logs, t0)]
    config = {k: v for k, v in case.config(secure).items() if v is not None}
    config["error_cb"] = lambda err: obs.errors.append((time.monotonic() - t0, err))
    config["logger"] = logger
    topic = f"sec-{uuid.uuid4().hex[:10]}"

    def failed(exc: BaseException) -> None:
        obs.raised, obs.raised_at = exc, time.monotonic() - t0

    def seen() -> bool:
        return fails is not None and obs.first_sign(fails.says) is not None

    try:
        if row.client == "Producer":
            config["message.timeout.ms"] = MESSAGE_TIMEOUT_MS if fails else 30000
            with fk.Producer(config) as producer:
                future = producer.produce(topic, b"secure:" + row.id.encode(), key=b"k")
                exc = future.exception(timeout=MESSAGE_TIMEOUT_MS / 1000 + 30)
                if exc is not None:
                    failed(exc)
                else:
                    report = future.result(0)
                    back = _read_back(secure, topic)
                    assert back == [b"secure:" + row.id.encode()], back
                    obs.result = f"delivered (offset {report.offset}), read back"
        elif row.client == "Consumer":
            config |= {"group.id": f"g-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"}
            if fails is None:
                produce_n(secure.address("PLAINTEXT"), topic, 1)
            with fk.Consumer(config) as consumer:
                consumer.subscribe([topic])
                deadline = time.monotonic() + (CONSUMER_WAIT if fails else 30)
                try:
                    while time.monotonic() < deadline and not seen():
                        msg = consumer.poll(0.2)
                        if msg is not None:
                            obs.result = f"consumed {bytes(msg.payload or b'')!r} in a group"
                            break
                    if fails is not None:
                        assert consumer.poll(0.3) is None  # and polling on does not raise
                except fk.Error as exc:
                    failed(exc)
        else:
            config["socket.timeout.ms"] = ADMIN_TIMEOUT_MS if fails else 30000
            with fk.AdminClient(config) as admin:
                if fails is None:
                    admin.create_topics([fk.NewTopic(topic, 1, 1)]).result(30)
                    groups = _list_groups(admin)
                    obs.result = f"created a topic, listed {len(groups)} groups"
                else:
                    exc = admin.list_groups().exception(timeout=ADMIN_TIMEOUT_MS / 1000 + 30)
                    if exc is not None:
                        failed(exc)
    except fk.Error as exc:  # the constructor
        failed(exc)
    obs.seconds = time.monotonic() - t0
    return obs


# --- the tests ------------------------------------------------------------------------------------

_TABLE: dict[str, tuple[str, str, str, str, float]] = {}  # row id -> (listener, client, case, outcome, s)


@pytest.fixture(scope="module")
def outcomes(secure_broker: SecureBroker, request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Observed]]]:
    """Starts every selected row at once (at most WORKERS running), slowest first."""
    wanted = {item.callspec.params["row"].id for item in request.session.items if _is_row_item(item)}
    rows = sorted((r for r in ROWS if r.id in wanted), key=_expected_seconds, reverse=True)
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="security-row") as pool:
        yield {row.id: pool.submit(_run, secure_broker, row) for row in rows}
    path_ = os.environ.get("FERROKAFKA_SECURITY_TABLE")
    if path_ and _TABLE:
        lines = ["| listener | client | case | outcome | seconds |", "| --- | --- | --- | --- | ---: |"]
        for row in ROWS:
            if row.id in _TABLE:
                listener, client, case, outcome, seconds = _TABLE[row.id]
                lines.append(f"| {listener} | {client} | {case} | {outcome} | {seconds:.2f} |")
        Path(path_).write_text("\n".join(lines) + "\n")


def _is_row_item(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and isinstance(callspec.params.get("row"), Row)


def _expected_seconds(row: Row) -> float:
    fails = row.case.fails
    if fails is None or fails.via == "constructor":
        return 1.0
    if row.client == "Consumer":
        return CONSUMER_WAIT if _xfails(row) else 1.0
    return {"Producer": MESSAGE_TIMEOUT_MS, "AdminClient": ADMIN_TIMEOUT_MS}.get(row.client, 2000) / 1000


def _params() -> list[Any]:
    return [
        pytest.param(row, id=row.id, marks=[pytest.mark.xfail(reason=row.case.xfail)] if _xfails(row) else [])
        for row in ROWS
    ]


def _xfails(row: Row) -> bool:
    return row.case.xfail is not None and row.client in row.case.xfail_clients


def _short(exc: BaseException) -> str:
    return exc.name() if isinstance(exc, fk.KafkaError) else type(exc).__name__


@pytest.mark.parametrize("row", _params())
def _describe(row: Row, obs: Observed) -> tuple[str, float]:
    """What the user saw, in a few words, and when (the round trip, or the first sign of failure)."""
    if obs.result is not None:
        return obs.result, obs.seconds
    parts = []
    if obs.errors:
        names = "/".join(sorted({e.name() for _, e in obs.errors}))
        parts.append(f"error_cb {names} ×{len(obs.errors)}")
    elif row.case.fails and any(re.search(row.case.fails.says, msg) for _, _, msg in obs.logs):
        parts.append("log only")
    if obs.raised is not None:
        says = row.case.fails.says if row.case.fails else ""
        named = " naming it" if "last client error" in str(obs.raised) and re.search(says, str(obs.raised)) else ""
        if obs.raised_at is not None and obs.raised_at < 0.5 and not obs.errors:
            parts.append(f"constructor raises {_short(obs.raised)}")
        else:
            parts.append(
                f"{'future' if row.client != 'Consumer' else 'poll()'} {_short(obs.raised)} at {obs.raised_at:.1f} s{named}"
            )
    elif row.client == "Consumer":
        parts.append(f"poll() returns None for {obs.seconds:.1f} s")
    first = obs.first_sign(row.case.fails.says) if row.case.fails else None
    candidates = [t for t in (first, obs.errors[0][0] if obs.errors else None, obs.raised_at) if t is not None]
    return "; ".join(parts) or "nothing", min(candidates, default=obs.seconds)


@pytest.mark.parametrize("row", _params())
def test_client_on_listener(row: Row, outcomes: dict[str, Future[Observed]]) -> None:
    obs = outcomes[row.id].result(timeout=240)
    case, fails = row.case, row.case.fails
    _TABLE[row.id] = (case.listener, row.client, case.name, *_describe(row, obs))
    where = f"{row.id}: errors={[str(e) for _, e in obs.errors]} raised={obs.raised!r} logs={obs.logs[-5:]}"
    if fails is None:
        assert obs.raised is None and obs.result is not None, where
        assert not obs.errors, f"a working connection reports no error: {where}"
        return

    if fails.via == "constructor":
        assert isinstance(obs.raised, fails.raises), where
        assert re.search(fails.says, str(obs.raised)), where
        assert obs.raised_at is not None and obs.raised_at < 1.0, where
        return

    first = obs.first_sign(fails.says)
    assert first is not None, f"nothing said {fails.says!r}: {where}"
    assert first <= fails.within, f"first sign after {first:.1f} s: {where}"
    for _, err in obs.errors:  # every error_cb call is a KafkaError saying what happened
        assert isinstance(err, fk.KafkaError) and not err.fatal(), where
        if fails.via == "error_cb":
            assert re.search(fails.says, str(err)), where
    if fails.via == "error_cb":
        # librdkafka reports a failed handshake now and then as _TRANSPORT rather than _SSL
        assert any(err.name() == fails.name for _, err in obs.errors), where
        assert obs.errors and obs.errors[0][0] <= fails.within, f"error_cb did not hear it in time: {where}"
        if fails.logged:
            assert any(re.search(fails.says, msg) for _, lvl, msg in obs.logs if lvl >= logging.WARNING), where

    if row.client == "Consumer":
        assert obs.raised is None, f"poll() raised a non-fatal error: {where}"
    else:
        expected, timeout_ms = (
            ("_MSG_TIMED_OUT", MESSAGE_TIMEOUT_MS) if row.client == "Producer" else ("_TIMED_OUT", ADMIN_TIMEOUT_MS)
        )
        exc = obs.raised
        assert isinstance(exc, fk.KafkaError) and exc.name() == expected, where
        assert obs.raised_at is not None and obs.raised_at < timeout_ms / 1000 + 5, where
        if fails.via == "error_cb":  # the future's error names the cause
            assert "last client error" in str(exc) and re.search(fails.says, str(exc)), where


def test_listeners_accept_ipv6_loopback(secure_broker: SecureBroker) -> None:
    """The secure listeners bind every interface: a client that resolves localhost to ::1 first
    reaches them too (the harness's PLAINTEXT listener stays on 127.0.0.1)."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    for listener in ("SSL", "MTLS", "SASL_SSL", "SASL_PLAINTEXT"):
        port = int(secure_broker.address(listener).rsplit(":", 1)[1])
        try:
            socket.create_connection(("::1", port), timeout=5).close()
        except OSError as err:
            if err.errno in (97, 99, 101):  # EAFNOSUPPORT, EADDRNOTAVAIL, ENETUNREACH: no ::1 here
                pytest.skip(f"no IPv6 loopback: {err}")
            raise
    config = tls(bootstrap_servers=lambda s: "[::1]:" + s.address("SSL").rsplit(":", 1)[1],
                 ssl_endpoint_identification_algorithm="none")(secure_broker)  # fmt: skip
    with fk.Producer(config | {"message.timeout.ms": 20000}) as producer:
        producer.produce(f"sec-{uuid.uuid4().hex[:10]}", b"over ::1").result(30)


# --- the system CA store --------------------------------------------------------------------------

_CLIENT = r"""
import json, sys, time
import ferrokafka as fk
config = json.loads(sys.argv[1])
errors = []
config["error_cb"] = lambda e: errors.append(str(e))
config["message.timeout.ms"] = 4000
try:
    with fk.Producer(config) as producer:
        producer.produce("system-ca", b"v").result(30)
    print(json.dumps({"ok": True, "errors": errors}))
except fk.Error as e:
    print(json.dumps({"ok": False, "error": str(e), "errors": errors}))
"""

DEBIAN_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class Namespace:
    """Runs the client in `unshare --mount`, after shell commands that mount files there."""

    secure: SecureBroker
    tmp: Path

    def bundle(self) -> Path:
        """A copy of the system's bundle (if any), plus the test CA."""
        system = DEBIAN_BUNDLE.read_text() if DEBIAN_BUNDLE.exists() else ""
        out = self.tmp / "bundle-with-test-ca.pem"
        out.write_text(system + self.secure.tls.ca_cert.read_text())
        return out

    def run(self, mounts: list[str], env: dict[str, str] | None = None, **config: object) -> dict[str, Any]:
        client_env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
        client_env |= env or {}
        client_config = {"bootstrap.servers": self.secure.address("SSL"), "security.protocol": "SSL"} | config
        script = "set -e\n" + "".join(f"{m} || exit 97\n" for m in mounts) + 'exec "$@"\n'
        proc = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", sys.executable, "-c", _CLIENT]
            + [json.dumps(client_config)],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode == 97:
            pytest.skip(f"cannot mount in a private mount namespace: {proc.stderr.strip()}")
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.fixture
def namespace(secure_broker: SecureBroker, tmp_path: Path) -> Namespace:
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs Linux with unshare and mount")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], stderr=subprocess.PIPE, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"unshare --mount not permitted here: {probe.stderr.strip()}")
    return Namespace(secure_broker, tmp_path)


def _overlay_etc(tmp: Path) -> list[str]:
    """Commands giving the namespace a writable /etc (an overlay whose changes live in a tmpfs) without
    the Debian bundle or anything else of /etc/ssl."""
    upper = tmp / "overlay"
    upper.mkdir(exist_ok=True)
    return [
        f"mount -t tmpfs tmpfs {upper}",
        f"mkdir {upper}/upper {upper}/work",
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper}/upper,workdir={upper}/work /etc",
        "rm -rf /etc/ssl",
    ]


def _verify_failed(result: dict[str, Any]) -> bool:
    return not result["ok"] and any(VERIFY_FAILED in e for e in result["errors"]) and VERIFY_FAILED in result["error"]


def test_system_ca_debian_bundle_is_trusted_without_any_ca_setting(namespace: Namespace) -> None:
    if not DEBIAN_BUNDLE.exists():
        pytest.skip(f"no {DEBIAN_BUNDLE} to mount over (not a Debian-like system)")
    bundle = namespace.bundle()
    result = namespace.run([f"mount --bind {bundle} {DEBIAN_BUNDLE}"])
    assert result == {"ok": True, "errors": []}, result


def test_system_ca_without_the_test_ca_fails_verification(namespace: Namespace) -> None:
    result = namespace.run([])  # the real system store: it does not know the test CA
    assert _verify_failed(result), result


def test_system_ca_explicit_ca_location_wins(namespace: Namespace) -> None:
    mounts = [f"mount --bind {namespace.bundle()} {DEBIAN_BUNDLE}"] if DEBIAN_BUNDLE.exists() else []
    other_ca = str(namespace.secure.tls.other_ca_cert)
    assert _verify_failed(namespace.run(mounts, **{"ssl.ca.location": other_ca}))
    test_ca = str(namespace.secure.tls.ca_cert)
    assert namespace.run([], **{"ssl.ca.location": test_ca}) == {"ok": True, "errors": []}


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_system_ca_openssl_variables_are_honoured(namespace: Namespace, variable: str) -> None:
    def location(ca: Path, name: str) -> str:
        if variable == "SSL_CERT_FILE":
            return str(ca)
        directory = namespace.tmp / name
        directory.mkdir()
        shutil.copy(ca, directory / "ca.pem")
        subprocess.run(["openssl", "rehash", str(directory)], check=True, capture_output=True)
        return str(directory)

    tls = namespace.secure.tls
    assert not namespace.run([], env={variable: location(tls.ca_cert, "good")})["errors"]
    assert _verify_failed(namespace.run([], env={variable: location(tls.other_ca_cert, "other")}))


@pytest.mark.parametrize(
    "bundle_path",
    [
        pytest.param("/etc/pki/tls/certs/ca-bundle.crt", id="RHEL-Fedora"),
        pytest.param("/etc/ssl/cert.pem", id="Alpine"),
        pytest.param("/etc/ssl/ca-bundle.pem", id="SUSE"),
    ],
)
def test_system_ca_other_distributions(namespace: Namespace, bundle_path: str) -> None:
    """/etc/ssl is gone (no Debian bundle), the bundle sits where that distribution keeps it."""
    bundle = namespace.bundle()
    mounts = _overlay_etc(namespace.tmp) + [
        f"mkdir -p {Path(bundle_path).parent}",
        f"cp {bundle} {bundle_path}",
    ]
    assert namespace.run(mounts) == {"ok": True, "errors": []}
