"""Shared fixtures: an embedded mock cluster per test module, a real Kafka broker per session, a
`backend` fixture that runs a test on each of them, unique topic and group names."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

import ferrokafka as fk

if TYPE_CHECKING:
    from realkafka.harness import KafkaBroker
    from realkafka.kerberos import KerberosKDC
    from realkafka.oidc import OidcServer
    from realkafka.security import SecureBroker
    from realkafka.service import Service

_counter = itertools.count()


@pytest.fixture(scope="module")
def mock_cluster() -> Iterator[fk.MockCluster]:
    with fk.MockCluster(num_brokers=1) as cluster:
        yield cluster


@pytest.fixture
def topic_name() -> str:
    return f"t{next(_counter)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def group_id() -> str:
    return f"g-{uuid.uuid4().hex[:12]}"


def consumer_config(bootstrap: str, group_id: str, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    }
    config.update(extra)
    return config


def produce_n(bootstrap: str, topic: str, n: int, *, size: int | None = None, **kwargs: object) -> None:
    """Produces n messages value=b"v<i>" (or `size` bytes) key=b"k<i>" and waits for all of them."""
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5}) as producer:
        futures = []
        for i in range(n):
            value = (b"v%d" % i) if size is None else os.urandom(size)
            futures.append(producer.produce(topic, value, key=b"k%d" % i, **kwargs))  # type: ignore[arg-type]
        assert producer.flush(30) == 0
        for future in futures:
            future.result(0)


# --- the real Apache Kafka broker --------------------------------------------------------------


T = TypeVar("T")
ADMIN_TIMEOUT = 30  # seconds an admin request's future is given in the tests


def result(future: Future[T]) -> T:
    """An admin request's result (its error raised), within ADMIN_TIMEOUT."""
    return future.result(ADMIN_TIMEOUT)


def failure(future: Future[Any]) -> fk.KafkaError:
    """The KafkaError an admin request fails with (the test fails if it does not)."""
    with pytest.raises(fk.KafkaError) as info:
        future.result(ADMIN_TIMEOUT)
    return info.value


def _broker_unavailable(reason: str) -> None:
    """Tests that need the broker fail in CI and skip (loudly) on a developer machine without Java."""
    if os.environ.get("CI"):
        pytest.fail(f"real Kafka broker unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"real Kafka broker unavailable: {reason}")


_broker_notes: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    for note in _broker_notes:
        terminalreporter.write_line(note)


_BROKER_FIXTURES = {"kafka_bootstrap", "kerberos_broker", "oidc_broker", "secure_broker"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that starts a real broker carries the `broker` mark, whether or not its author
    wrote it: `-m "not broker"` (the wheel's smoke run, a machine without Java) must not start one.
    tryfirst: the mark is added before `-m` deselects."""
    for item in items:
        if _BROKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """bootstrap.servers of a real Kafka 4.x broker: $KAFKA_BOOTSTRAP_SERVERS, or one started here."""
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield existing
        return
    from realkafka.harness import BrokerUnavailable, KafkaBroker

    broker = KafkaBroker()
    try:
        broker.start()
    except BrokerUnavailable as err:
        _broker_unavailable(str(err).splitlines()[0])
    _broker_notes.append(f"real Kafka broker at {broker.bootstrap_servers}: started in {broker.startup_seconds:.1f} s")
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


_S = TypeVar("_S", bound="Service")


@contextlib.contextmanager
def _service_and_broker(
    service: _S,
    unavailable: type[BaseException] | tuple[type[BaseException], ...],
    what: str,
    broker_kwargs: Callable[[_S], dict[str, Any]],
) -> Iterator[tuple[_S, KafkaBroker]]:
    """Starts `service` (a companion the broker needs), then a broker of its own built from
    `broker_kwargs(service)`; stops both at the end.  A service that raises `unavailable` (the reason
    then starts with `what`), or a broker that cannot start, makes the test skip (or fail in CI)."""
    from realkafka.harness import BrokerUnavailable, KafkaBroker

    try:
        service.start()
    except unavailable as err:
        _broker_unavailable(f"{what}: {str(err).splitlines()[0]}")
    broker = KafkaBroker(**broker_kwargs(service))
    try:
        broker.start()
    except BrokerUnavailable as err:
        service.stop()
        _broker_unavailable(str(err).splitlines()[0])
    try:
        yield service, broker
    finally:
        broker.stop()
        service.stop()


@pytest.fixture(scope="session")
def kerberos_broker() -> Iterator[tuple[KerberosKDC, KafkaBroker]]:
    """A throw-away MIT KDC and a broker of its own with a GSSAPI (SASL_PLAINTEXT) listener, started
    on first use (also with $KAFKA_BOOTSTRAP_SERVERS: an existing cluster does not know our KDC)."""
    from realkafka.kerberos import KerberosKDC, KerberosUnavailable, gssapi_broker_kwargs

    with _service_and_broker(KerberosKDC(), KerberosUnavailable, "Kerberos KDC", gssapi_broker_kwargs) as pair:
        kdc, broker = pair
        _broker_notes.append(
            f"Kerberos: KDC {kdc.realm} on port {kdc.port} in {kdc.startup_seconds:.1f} s, GSSAPI broker at "
            f"{broker.listener_address('GSSAPI')} in {broker.startup_seconds:.1f} s"
        )
        yield pair


@pytest.fixture(scope="session")
def oidc_broker() -> Iterator[tuple[OidcServer, KafkaBroker]]:
    """A local HTTPS OAuth token endpoint (client credentials, JWKS) and a broker of its own whose
    OAUTHBEARER listener `OIDC` validates that server's tokens, started on first use (also with
    $KAFKA_BOOTSTRAP_SERVERS: an existing cluster does not trust our token server)."""
    from realkafka.oidc import OidcServer, broker_kwargs

    with _service_and_broker(OidcServer(), (OSError, RuntimeError), "OIDC token server", broker_kwargs) as pair:
        server, broker = pair
        _broker_notes.append(
            f"OIDC: token endpoint {server.token_url} in {server.startup_seconds:.1f} s, OAUTHBEARER broker at "
            f"{broker.listener_address('OIDC')} in {broker.startup_seconds:.1f} s"
        )
        yield pair


@pytest.fixture(scope="session")
def secure_broker() -> Iterator[SecureBroker]:
    """A broker of its own with TLS, mTLS, SASL_SSL and SASL_PLAINTEXT listeners (SCRAM-SHA-256/512,
    PLAIN, unsecured-JWT OAUTHBEARER) and a test CA made at start-up (realkafka/security.py), started
    on first use (also with $KAFKA_BOOTSTRAP_SERVERS: an existing cluster has not our certificates)."""
    from realkafka.harness import BrokerUnavailable
    from realkafka.security import SecureBroker

    try:
        secure = SecureBroker.start()
    except BrokerUnavailable as err:
        _broker_unavailable(str(err).splitlines()[0])
    listeners = ", ".join(f"{name} {address}" for name, address in secure.addresses.items())
    _broker_notes.append(f"secure broker ({listeners}): started in {secure.broker.startup_seconds:.1f} s")
    try:
        yield secure
    finally:
        secure.stop()


# --- one test, both backends ------------------------------------------------------------------


@dataclass
class Backend:
    """Where a test runs: librdkafka's mock cluster or the real broker."""

    name: str
    bootstrap: str
    create_topic: Callable[..., None]  # (topic, partitions=1, **topic_config)


@pytest.fixture(params=["mock", pytest.param("kafka", marks=pytest.mark.broker)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Parametrises a test over the mock cluster and the real broker (for what both implement)."""
    if request.param == "mock":
        cluster: fk.MockCluster = request.getfixturevalue("mock_cluster")

        def create_mock_topic(topic: str, partitions: int = 1, **config: str) -> None:
            cluster.create_topic(topic, partitions)  # the mock has no topic configs

        return Backend("mock", cluster.bootstrap_servers, create_mock_topic)
    bootstrap: str = request.getfixturevalue("kafka_bootstrap")

    def create_kafka_topic(topic: str, partitions: int = 1, **config: str) -> None:
        with fk.AdminClient({"bootstrap.servers": bootstrap}) as admin:
            admin.create_topics([fk.NewTopic(topic, partitions, 1, config)]).result(30)

    return Backend("kafka", bootstrap, create_kafka_topic)
