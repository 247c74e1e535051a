"""Built-in OIDC (`sasl.oauthbearer.method=oidc`, librdkafka's client-credentials flow over libcurl)
against a token endpoint of our own and a broker that validates its tokens (the `oidc_broker`
fixture: `realkafka/oidc.py`).

- a real round trip with Producer, Consumer and AdminClient, and the same with confluent-kafka as a
  cross-check of the harness;
- refresh: tokens that live 10 s, a consumer that runs for ~22 s, a broker that ends each session
  when its token expires (`connections.max.reauth.ms`): it must fetch new tokens and keep consuming;
- what a user sees, and how soon, when the token endpoint refuses the secret, is down, or has a
  certificate the client does not trust, and when the broker rejects the token (wrong audience);
- ferrokafka's default trust for the token endpoint: the system's store, or OpenSSL's SSL_CERT_FILE.

Each case is a row (listener, client, case, outcome, seconds), appended as markdown to the file
named by $FERROKAFKA_SECURITY_TABLE, if set.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import ferrokafka as fk
from conftest import consumer_config
from realkafka.harness import KafkaBroker
from realkafka.oidc import LISTENER, OidcServer

pytestmark = pytest.mark.broker

LISTENER_ROW = "OIDC (SASL_PLAINTEXT, OAUTHBEARER oidc)"
SCOPE = "kafka"
_rows: list[tuple[str, str, str, str, float]] = []


def record(client: str, case: str, outcome: str, seconds: float) -> None:
    _rows.append((LISTENER_ROW, client, case, outcome.replace("|", "\\|").replace("\n", " "), seconds))


@pytest.fixture(scope="module", autouse=True)
def _security_table() -> Iterator[None]:
    yield
    path = os.environ.get("FERROKAFKA_SECURITY_TABLE")
    if not path or not _rows:
        return
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", encoding="utf-8") as table:
        if new:
            table.write("| listener | client | case | outcome | seconds |\n| --- | --- | --- | --- | --- |\n")
        for listener, client, case, outcome, seconds in _rows:
            table.write(f"| {listener} | {client} | {case} | {outcome} | {seconds:.1f} |\n")


@dataclass
class Oidc:
    """The token server and broker of the session, and a client registered for one test."""

    server: OidcServer
    broker: KafkaBroker
    client_id: str
    secret: str
    errors: list[tuple[float, fk.KafkaError]] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    @property
    def bootstrap(self) -> str:
        return self.broker.listener_address(LISTENER)

    def config(self, **extra: object) -> dict[str, Any]:
        """A client config for this test's client; `None` values remove a property."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            **self.server.client_config(self.client_id, self.secret, scope=SCOPE),
            "error_cb": self.on_error,
        }
        for key, value in extra.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        return config

    def on_error(self, error: fk.KafkaError) -> None:
        self.errors.append((time.monotonic() - self.t0, error))

    def start_clock(self) -> None:
        self.t0 = time.monotonic()
        self.errors.clear()


@pytest.fixture
def oidc(oidc_broker: tuple[OidcServer, KafkaBroker]) -> Oidc:
    server, broker = oidc_broker
    client_id, secret = f"app-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    server.add_client(client_id, secret)
    return Oidc(server, broker, client_id, secret)


def test_round_trip(oidc: Oidc, topic_name: str, group_id: str) -> None:
    t0 = time.monotonic()
    with fk.AdminClient(oidc.config()) as admin:
        admin.create_topics([fk.NewTopic(topic_name, 2, 1)]).result(30)
        assert admin.describe_configs("topic", topic_name).result(30)["cleanup.policy"] == "delete"
    record("AdminClient", "success (create topic, describe configs)", "ok", time.monotonic() - t0)

    t0 = time.monotonic()
    with fk.Producer(oidc.config(**{"linger.ms": 5})) as producer:
        futures = [producer.produce(topic_name, b"v%d" % i, key=b"k%d" % i) for i in range(20)]
        assert producer.flush(30) == 0
        reports = [f.result(0) for f in futures]
    assert {r.partition for r in reports} <= {0, 1}
    record("Producer", "success (20 messages)", "delivered", time.monotonic() - t0)

    t0 = time.monotonic()
    got: dict[bytes, bytes] = {}
    with fk.Consumer(oidc.config(**consumer_config(oidc.bootstrap, group_id))) as consumer:
        topics = consumer.list_topics(timeout=30)["topics"]
        assert topic_name in topics and len(topics[topic_name]) == 2
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + 60
        while len(got) < 20 and time.monotonic() < deadline:
            msg = consumer.poll(1)
            if msg is not None:
                assert msg.key is not None and msg.payload is not None
                got[bytes(msg.key)] = bytes(msg.payload)
        consumer.commit(asynchronous=False)
    assert got == {b"k%d" % i: b"v%d" % i for i in range(20)}
    record("Consumer", "success (consume 20, list topics, commit)", "consumed", time.monotonic() - t0)

    with fk.AdminClient(oidc.config()) as admin:
        assert group_id in admin.list_groups().result(30)
    assert oidc.errors == []
    # Every client fetched its own token, as librdkafka sends it: Basic auth, the scope, the grant.
    tokens = oidc.server.token_requests(oidc.client_id)
    assert len(tokens) >= 4 and all(r.status == 200 for r in tokens), tokens
    assert {(r.auth, r.grant_type, r.scope) for r in tokens} == {("basic", "client_credentials", SCOPE)}


def test_token_refresh(oidc: Oidc, topic_name: str, group_id: str) -> None:
    """Tokens that live 10 s: a consumer running ~22 s fetches new ones (librdkafka refreshes at 80 %
    of the lifetime) and re-authenticates before the broker ends its sessions (connections.max.reauth.ms
    caps a session at its token's expiry), so consumption never stops."""
    lifetime = 10
    short = f"short-{uuid.uuid4().hex[:8]}"
    oidc.server.add_client(short, oidc.secret, lifetime=lifetime)
    # librdkafka's security debug logs show the re-authentications (KIP-368) on live connections.
    logs: list[str] = []
    logger = logging.getLogger(f"ferrokafka.test.oidc.{short}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = _ListHandler(logs)
    logger.addHandler(handler)
    consumer_cfg = oidc.config(
        **consumer_config(oidc.bootstrap, group_id),
        **{"sasl.oauthbearer.client.id": short, "debug": "security", "logger": logger},
    )
    stop = threading.Event()
    produced: list[float] = []

    def produce_steadily() -> None:
        with fk.Producer(oidc.config(**{"linger.ms": 0})) as producer:
            i = 0
            while not stop.is_set():
                producer.produce(topic_name, b"m%d" % i).result(30)
                produced.append(time.monotonic())
                i += 1
                stop.wait(0.5)

    with fk.AdminClient(oidc.config()) as admin:
        admin.create_topics([fk.NewTopic(topic_name, 1, 1)]).result(30)
    producer_thread = threading.Thread(target=produce_steadily, daemon=True)
    received: list[float] = []
    t0 = time.monotonic()
    try:
        with fk.Consumer(consumer_cfg) as consumer:
            consumer.subscribe([topic_name])
            producer_thread.start()
            while time.monotonic() - t0 < 22:
                msg = consumer.poll(0.5)
                if msg is not None:
                    received.append(time.monotonic() - t0)
    finally:
        stop.set()
        producer_thread.join(30)
        logger.removeHandler(handler)
    elapsed = time.monotonic() - t0

    tokens = [r.at - t0 for r in oidc.server.token_requests(short, ok=True)]
    # Initial token, then one ~8 s later and one ~16 s later.
    assert len(tokens) >= 3, f"tokens fetched at {tokens} s"
    assert all(0 < b - a <= lifetime for a, b in zip(tokens, tokens[1:])), tokens
    assert oidc.server.token_requests(short, ok=False) == []
    # Consumption went on past two expiries of the first tokens (and the broker's session limits).
    assert received, "nothing consumed"
    for start in (5, 10, 15):
        assert any(start <= r < start + 5 for r in received), (
            f"nothing consumed in [{start}, {start + 5}) s: {received}"
        )
    assert any(r > 2 * lifetime for r in received), received
    assert [e for _, e in oidc.errors] == []
    # The broker capped each session at its token's expiry and the consumer re-authenticated in place.
    lifetimes = [line for line in logs if "Received session lifetime" in line]
    reauths = [line for line in logs if "Auth in state REAUTH" in line]
    assert lifetimes and reauths, "\n".join(logs[-20:])
    record(
        "Consumer",
        f"token refresh ({lifetime} s tokens, {elapsed:.0f} s run)",
        f"{len(tokens)} tokens at {', '.join(f'{t:.1f}' for t in tokens)} s; {len(reauths)} re-authentications; "
        f"{len(received)} messages, last at {received[-1]:.1f} s",
        elapsed,
    )


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# --- failures ------------------------------------------------------------------------------------


_HELD: list[socket.socket] = []


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens until the tests end: bound (no other process can
    take it) but not listening, so a connection is refused. Closing the socket once the port is
    chosen would leave it free for anyone to take before the client connects."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)  # kept open (and bound) until the test process exits
    return int(sock.getsockname()[1])


# case (as the table names it) -> (kind, what the messages the user sees must contain)
CASES: dict[str, tuple[str, list[str]]] = {
    "wrong client secret (token endpoint: 401)": (
        "wrong_secret",
        ["Failed to acquire SASL OAUTHBEARER token", "invalid_client"],
    ),
    "token endpoint down (connection refused)": (
        "endpoint_down",
        ["Failed to acquire SASL OAUTHBEARER token", "Could not connect to server"],
    ),
    "untrusted token endpoint certificate (no https.ca.location)": (
        "untrusted",
        ["Failed to acquire SASL OAUTHBEARER token", "SSL certificate", "unable to get local issuer certificate"],
    ),
    "broker rejects the token (wrong audience)": (
        "wrong_audience",
        ["SASL authentication error", "invalid_token"],
    ),
}


def _failing_config(oidc: Oidc, kind: str) -> dict[str, object]:
    if kind == "wrong_secret":
        return {"sasl.oauthbearer.client.secret": "not-" + oidc.secret}
    if kind == "endpoint_down":
        return {"sasl.oauthbearer.token.endpoint.url": f"https://127.0.0.1:{_closed_port()}/token"}
    if kind == "untrusted":
        return {"https.ca.location": None}  # ferrokafka's default: the system's CA certificates
    assert kind == "wrong_audience"
    oidc.server.add_client(oidc.client_id, oidc.secret, audience="some-other-cluster")
    return {}


def _check_server_side(oidc: Oidc, kind: str) -> None:
    """What the token server saw: the failure happened where the case says it does."""
    requests = oidc.server.token_requests(oidc.client_id)
    if kind == "wrong_secret":
        assert requests and all(r.status == 401 and r.error == "invalid_client" for r in requests), requests
    elif kind == "endpoint_down":
        assert requests == []
    elif kind == "untrusted":
        assert requests == []
        # The client connected, checked the certificate and hung up before sending its request.
        assert oidc.server.refused_connections(since=oidc.t0), oidc.server.requests[-5:]
    else:
        assert requests and all(r.status == 200 for r in requests), requests


def _assert_names(error: fk.KafkaError, snippets: list[str]) -> None:
    for snippet in snippets:
        assert snippet in str(error), f"{snippet!r} not in {str(error)!r}"


def _first_error(oidc: Oidc, snippets: list[str]) -> tuple[float, fk.KafkaError]:
    assert oidc.errors, "error_cb heard nothing"
    seconds, error = oidc.errors[0]
    assert error.code() == fk.KafkaError._AUTHENTICATION, error
    _assert_names(error, snippets)
    return seconds, error


def _short(error: fk.KafkaError) -> str:
    return f"{error.name()}: {error}"


@pytest.mark.parametrize("case", list(CASES))
def test_producer_failure(oidc: Oidc, case: str, topic_name: str) -> None:
    kind, snippets = CASES[case]
    config = oidc.config(**{"message.timeout.ms": 3000}, **_failing_config(oidc, kind))
    oidc.start_clock()
    with fk.Producer(config) as producer:
        future = producer.produce(topic_name, b"never")
        with pytest.raises(fk.KafkaError) as failed:
            future.result(30)
        failed_after = time.monotonic() - oidc.t0
        producer.purge()
    error = failed.value
    assert error.code() == fk.KafkaError._MSG_TIMED_OUT, error
    _assert_names(error, snippets)  # the timeout names the last client error
    assert 2.5 < failed_after < 10, failed_after
    seen_after, seen = _first_error(oidc, snippets)
    assert seen_after < 5, seen_after
    _check_server_side(oidc, kind)
    record("Producer", case + ": error_cb", _short(seen), seen_after)
    record("Producer", case + ": future (message.timeout.ms=3000)", _short(error), failed_after)


@pytest.mark.parametrize("case", list(CASES))
def test_consumer_failure(oidc: Oidc, case: str, topic_name: str, group_id: str) -> None:
    kind, snippets = CASES[case]
    config = oidc.config(**consumer_config(oidc.bootstrap, group_id), **_failing_config(oidc, kind))
    oidc.start_clock()
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        while not oidc.errors and time.monotonic() - oidc.t0 < 15:
            assert consumer.poll(0.2) is None
    seen_after, seen = _first_error(oidc, snippets)
    assert seen_after < 5, seen_after
    _check_server_side(oidc, kind)
    record("Consumer", case + ": error_cb (from poll)", _short(seen), seen_after)


@pytest.mark.parametrize("case", list(CASES))
def test_admin_failure(oidc: Oidc, case: str) -> None:
    kind, snippets = CASES[case]
    # socket.timeout.ms is the admin request timeout: fail in 5 s rather than 60.
    config = oidc.config(**{"socket.timeout.ms": 5000}, **_failing_config(oidc, kind))
    oidc.start_clock()
    with fk.AdminClient(config) as admin:
        with pytest.raises(fk.KafkaError) as failed:
            admin.list_groups().result(60)
        failed_after = time.monotonic() - oidc.t0
    error = failed.value
    assert error.code() == fk.KafkaError._TIMED_OUT, error
    assert 4 < failed_after < 20, failed_after
    _check_server_side(oidc, kind)
    _assert_names(error, snippets)  # the timeout names the last client error
    seen_after, seen = _first_error(oidc, snippets)
    assert seen_after < 5, seen_after
    record("AdminClient", case + ": error_cb", _short(seen), seen_after)
    record("AdminClient", case + ": list_groups future (socket.timeout.ms=5000)", _short(error), failed_after)


_DEFAULT_CA_CLIENT = """
import json, sys, time
import ferrokafka as fk
config = json.loads(sys.argv[1])
t0 = time.monotonic()
with fk.Producer(config) as producer:
    report = producer.produce(sys.argv[2], b"via SSL_CERT_FILE").result(30)
print(json.dumps({"offset": report.offset, "seconds": time.monotonic() - t0}))
"""


def test_default_ca_honours_ssl_cert_file(oidc: Oidc, topic_name: str) -> None:
    """Without https.ca.location ferrokafka probes the system's CA store (the untrusted cases above),
    unless OpenSSL's SSL_CERT_FILE/SSL_CERT_DIR name CAs: then those are trusted (a new process, as
    the variables are read when a client is created)."""
    config = {k: v for k, v in oidc.config(**{"https.ca.location": None}).items() if k != "error_cb"}
    config["message.timeout.ms"] = 20000
    env = {**os.environ, "SSL_CERT_FILE": oidc.server.ca_pem}
    env.pop("SSL_CERT_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-c", _DEFAULT_CA_CLIENT, json.dumps(config), topic_name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["offset"] == 0
    assert oidc.server.token_requests(oidc.client_id, ok=True)
    record("Producer", "no https.ca.location, SSL_CERT_FILE=test CA", "delivered", result["seconds"])


# --- the same success case with confluent-kafka: a cross-check of the harness --------------------


def test_confluent_kafka_round_trip(oidc: Oidc, topic_name: str, group_id: str) -> None:
    ck = pytest.importorskip("confluent_kafka")
    errors: list[object] = []
    config = {k: v for k, v in oidc.config().items() if k != "error_cb"}
    config["error_cb"] = errors.append
    t0 = time.monotonic()
    producer = ck.Producer(config)
    delivered: list[tuple[object, object]] = []
    for i in range(5):
        producer.produce(topic_name, b"c%d" % i, on_delivery=lambda err, msg: delivered.append((err, msg)))
    assert producer.flush(30) == 0
    assert [err for err, _ in delivered] == [None] * 5
    consumer = ck.Consumer({**config, **consumer_config(oidc.bootstrap, group_id)})
    try:
        consumer.subscribe([topic_name])
        got: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(got) < 5 and time.monotonic() < deadline:
            msg = consumer.poll(1)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
        assert topic_name in consumer.list_topics(timeout=30).topics
    finally:
        consumer.close()
    assert got == [b"c%d" % i for i in range(5)]
    assert errors == []
    assert len(oidc.server.token_requests(oidc.client_id, ok=True)) >= 2
    record("confluent-kafka 2.16", "success (produce 5, consume, list topics)", "ok", time.monotonic() - t0)
