"""`oauth_cb`: OAUTHBEARER tokens from a Python callable, for Producer, Consumer and AdminClient.

Against the secure broker's SASL_PLAINTEXT listener, which takes OAUTHBEARER with Kafka's
unsecured-JWT validator (tokens signed with `alg: none`), so the tests make the tokens themselves. Configuration
mistakes and the callback's own failures at construction need no broker.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

import ferrokafka as fk

if TYPE_CHECKING:
    from realkafka.security import SecureBroker

pytestmark = pytest.mark.timeout(120)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsecured_jwt(subject: str, lifetime: float) -> tuple[str, float]:
    """A token Kafka's unsecured validator accepts, and its expiry (seconds since the epoch)."""
    now = time.time()
    expiry = now + lifetime
    return f"{_b64({'alg': 'none'})}.{_b64({'sub': subject, 'iat': now, 'exp': expiry})}.", expiry


class TokenSource:
    """An oauth_cb that records its calls and can be told to fail or to slow down."""

    def __init__(self, lifetime: float = 60.0) -> None:
        self.lifetime = lifetime
        self.calls: list[tuple[float, str | None, str]] = []
        self.fail_with: BaseException | None = None
        self.delay = 0.0

    def __call__(self, oauthbearer_config: str | None) -> tuple[str, float, str, dict[str, str]]:
        self.calls.append((time.monotonic(), oauthbearer_config, threading.current_thread().name))
        if self.fail_with is not None:
            raise self.fail_with
        time.sleep(self.delay)
        token, expiry = unsecured_jwt("alice", self.lifetime)
        return token, expiry, "alice", {"traceId": "t-1"}


@pytest.fixture(scope="module")
def oauth_bootstrap(secure_broker: SecureBroker) -> str:
    """The secure broker's SASL_PLAINTEXT listener: OAUTHBEARER with Kafka's unsecured-JWT validator."""
    return secure_broker.address("SASL_PLAINTEXT")


def oauth_config(bootstrap: str, source: Callable[..., Any], **extra: object) -> dict[str, object]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.config": "scope=kafka",
        "oauth_cb": source,
        **extra,
    }


def refresher_threads() -> int:
    """Native threads of this process named like ferrokafka's token refreshers."""
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                count += comm.read().strip() == "ferrokafka-oaut"  # names are cut at 15 bytes
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended while we looked
    return count


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- configuration and first-token failures: raised by the constructor ----------------------------

NO_BROKER = "127.0.0.1:1"
CLIENTS = {
    "producer": fk.Producer,
    "consumer": lambda config: fk.Consumer({**config, "group.id": "g"}),
    "admin": fk.AdminClient,
}


def _ok(_: object) -> tuple[str, float]:
    return unsecured_jwt("alice", 60)


def _raises(_: object) -> tuple[str, float]:
    raise RuntimeError("token endpoint unreachable")


CONSTRUCTION_FAILURES: list[tuple[str, dict[str, object], type[BaseException], str]] = [
    ("callback raises", {"oauth_cb": _raises}, RuntimeError, "token endpoint unreachable"),
    ("returns a str", {"oauth_cb": lambda _: "token"}, TypeError, "oauth_cb must return"),
    ("returns 1-tuple", {"oauth_cb": lambda _: ("token",)}, TypeError, "tuple of 1"),
    ("expiry not a number", {"oauth_cb": lambda _: ("t", "soon")}, TypeError, "expiry is not a number"),
    ("expiry NaN", {"oauth_cb": lambda _: ("t", float("nan"))}, ValueError, "not a time"),
    ("token not a str", {"oauth_cb": lambda _: (b"t", time.time() + 60)}, TypeError, "token is not a str"),
    ("NUL in token", {"oauth_cb": lambda _: ("t\0", time.time() + 60)}, ValueError, "NUL"),
    ("extensions not a dict", {"oauth_cb": lambda _: ("t", time.time() + 60, "p", [1])}, TypeError, "not a dict"),
    ("expired token", {"oauth_cb": lambda _: unsecured_jwt("a", -10)}, fk.KafkaError, "unexpired"),
    ("bad extension key", {"oauth_cb": lambda _: (*unsecured_jwt("a", 60), "a", {"a b": "c"})}, fk.KafkaError, "a b"),
    ("not callable", {"oauth_cb": "token"}, fk.ConfigError, "must be callable"),
    ("PLAINTEXT", {"oauth_cb": _ok, "security.protocol": "PLAINTEXT"}, fk.ConfigError, "OAUTHBEARER"),
    ("PLAIN mechanism", {"oauth_cb": _ok, "sasl.mechanism": "PLAIN"}, fk.ConfigError, "OAUTHBEARER"),
    ("with OIDC", {"oauth_cb": _ok, "sasl.oauthbearer.method": "oidc"}, fk.ConfigError, "oidc"),
    (
        "with unsecured JWT",
        {"oauth_cb": _ok, "enable.sasl.oauthbearer.unsecure.jwt": True},
        fk.ConfigError,
        "unsecure",
    ),
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("case", "extra", "raised", "says"), CONSTRUCTION_FAILURES, ids=[row[0] for row in CONSTRUCTION_FAILURES]
)
def test_construction_refuses(client: str, case: str, extra: dict[str, object], raised: type, says: str) -> None:
    config = oauth_config(NO_BROKER, _ok, **extra)
    before = refresher_threads()
    with pytest.raises(raised, match=says):
        CLIENTS[client](config)
    gc.collect()
    assert wait_for(lambda: refresher_threads() == before, 3), "a refused client left a token refresher"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("value", [True, "true", "TRUE", "t", "1"])
def test_oauth_cb_with_unsecured_jwt_refused_in_every_spelling(client: str, value: object) -> None:
    """librdkafka's spellings of true all turn its built-in unsecured token on, which would leave
    oauth_cb unused: each is refused, not only "true"."""
    config = oauth_config(NO_BROKER, _ok, **{"enable.sasl.oauthbearer.unsecure.jwt": value})
    with pytest.raises(fk.ConfigError, match="unsecure"):
        CLIENTS[client](config)


# --- against the broker ---------------------------------------------------------------------------


@pytest.mark.broker
def test_every_client_authenticates_with_tokens_from_the_callback(oauth_bootstrap: str, topic_name: str) -> None:
    source = TokenSource()
    config = oauth_config(oauth_bootstrap, source)
    with fk.AdminClient(config) as admin:
        assert admin.create_topics([fk.NewTopic(topic_name, 1, 1)]).result(30) is None
    with fk.Producer(config) as producer:
        report = producer.produce(topic_name, b"over oauth", key=b"k").result(30)
        assert report.offset == 0
    with fk.Consumer({**config, "group.id": f"g-{topic_name}", "auto.offset.reset": "earliest"}) as consumer:
        consumer.subscribe([topic_name])
        message = None
        deadline = time.monotonic() + 30
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
        assert message is not None and bytes(message.payload) == b"over oauth"
    # One first token per client, fetched by the constructor (on this thread) with the config string.
    assert [(config_str, thread) for _, config_str, thread in source.calls] == [
        ("scope=kafka", threading.current_thread().name)
    ] * 3


@pytest.mark.broker
def test_tokens_are_refreshed_off_the_polling_thread(oauth_bootstrap: str, topic_name: str) -> None:
    """4 s tokens are replaced at 80 % of their life by the refresher, never by poll(): a slow token
    endpoint (0.5 s per token) does not slow poll() down, and both clients go on past expiry."""
    source = TokenSource(lifetime=4.0)
    config = oauth_config(oauth_bootstrap, source)
    with fk.AdminClient(config) as admin:
        admin.create_topics([fk.NewTopic(topic_name, 1, 1)]).result(30)
    with fk.Producer(config) as producer:
        producer.produce(topic_name, b"first").result(30)
        with fk.Consumer({**config, "group.id": f"g-{topic_name}", "auto.offset.reset": "earliest"}) as consumer:
            consumer.subscribe([topic_name])
            received: list[bytes] = []
            deadline = time.monotonic() + 30
            while not received and time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is not None:
                    received.append(bytes(message.payload))
            assert received == [b"first"]
            source.delay = 0.5
            calls_before = len(source.calls)
            slowest_poll = 0.0
            started = time.monotonic()
            second = None
            while time.monotonic() - started < 10:
                before = time.monotonic()
                message = consumer.poll(0.1)
                slowest_poll = max(slowest_poll, time.monotonic() - before)
                if message is not None:
                    received.append(bytes(message.payload))
                if second is None and time.monotonic() - started > 7:
                    second = producer.produce(topic_name, b"after refreshes")  # the producer's token too
            assert second is not None and second.result(10).offset == 1
            assert received == [b"first", b"after refreshes"]
            assert slowest_poll < 0.6, f"poll() waited {slowest_poll:.2f} s: for a token?"
    refreshes = [thread for _, _, thread in source.calls[calls_before:]]
    assert len(refreshes) >= 4, source.calls  # two clients, every 3.2 s, for 10 s
    assert threading.current_thread().name not in refreshes


@pytest.mark.broker
@pytest.mark.parametrize("client", CLIENTS)
def test_a_failing_refresh_reaches_error_cb(oauth_bootstrap: str, client: str) -> None:
    source = TokenSource(lifetime=2.0)
    errors: list[fk.KafkaError] = []
    heard = threading.Event()

    def error_cb(error: fk.KafkaError) -> None:
        errors.append(error)
        heard.set()

    config = oauth_config(oauth_bootstrap, source, error_cb=error_cb)
    instance = CLIENTS[client](config)
    try:
        source.fail_with = ValueError("identity provider says no")
        started = time.monotonic()
        # A consumer's callbacks run in poll(); the others' on their own threads.
        while not heard.is_set() and time.monotonic() - started < 10:
            if client == "consumer":
                instance.poll(0.1)
            else:
                heard.wait(0.1)
        elapsed = time.monotonic() - started
        assert errors, "the failed refresh was not reported"
        error = errors[0]
        assert error.code() == fk.KafkaError._AUTHENTICATION
        assert "oauth_cb failed" in str(error) and "identity provider says no" in str(error)
        assert elapsed < 3.5, f"reported after {elapsed:.1f} s (token refresh due at 1.6 s)"
    finally:
        instance.close()


@pytest.mark.broker
def test_a_token_the_broker_refuses_is_reported_within_seconds(oauth_bootstrap: str, topic_name: str) -> None:
    errors: list[fk.KafkaError] = []
    config = oauth_config(
        oauth_bootstrap,
        lambda _: ("not-a-jwt", time.time() + 60),
        error_cb=errors.append,
        **{"message.timeout.ms": 3000},
    )
    started = time.monotonic()
    with fk.Producer(config) as producer:
        future = producer.produce(topic_name, b"x")
        with pytest.raises(fk.KafkaError) as failed:
            future.result(15)
        elapsed = time.monotonic() - started
        producer.flush(5)
    assert failed.value.code() == fk.KafkaError._MSG_TIMED_OUT
    assert "SASL authentication error" in str(failed.value), str(failed.value)
    assert any(e.code() == fk.KafkaError._AUTHENTICATION for e in errors), errors
    assert elapsed < 8


@pytest.mark.broker
@pytest.mark.parametrize("client", CLIENTS)
def test_the_refresher_ends_with_its_client(oauth_bootstrap: str, client: str) -> None:
    assert wait_for(lambda: refresher_threads() == 0, 3), "a refresher of an earlier test is still running"
    before = 0
    instance = CLIENTS[client](oauth_config(oauth_bootstrap, TokenSource()))
    assert wait_for(lambda: refresher_threads() == 1, 3)  # a thread names itself once it runs
    instance.close()
    assert wait_for(lambda: refresher_threads() == before, 3), "closed client, refresher still running"

    # Collected without close(), with a callback that refers to its client (a reference cycle).
    source = TokenSource()
    instance = CLIENTS[client](oauth_config(oauth_bootstrap, source))
    source.client = instance  # type: ignore[attr-defined]
    alive = weakref.ref(instance)
    del instance, source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert alive() is None, "a client whose oauth_cb refers to it was not collected"
    assert wait_for(lambda: refresher_threads() == before, 5), "collected client, refresher still running"
