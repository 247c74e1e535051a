"""Configuration errors and the exception hierarchy: every failure is a ferrokafka.Error."""

from __future__ import annotations

import pytest

import ferrokafka as fk


@pytest.mark.parametrize("cls", [fk.Producer, fk.Consumer])
def test_unknown_key_names_the_key(cls):
    with pytest.raises(fk.ConfigError, match="no.such.property"):
        cls({"bootstrap.servers": "127.0.0.1:1", "group.id": "g", "no.such.property": "1"})


@pytest.mark.parametrize(
    "key,value",
    [("acks", "banana"), ("linger.ms", -5), ("enable.idempotence", "maybe"), ("compression.type", "brotli")],
)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(fk.ConfigError, match=key.replace(".", r"\.")):
        fk.Producer({"bootstrap.servers": "127.0.0.1:1", key: value})


def test_bad_value_types():
    with pytest.raises(fk.ConfigError, match="linger.ms"):
        fk.Producer({"linger.ms": [1]})
    with pytest.raises(fk.ConfigError, match="keys must be str"):
        fk.Producer({1: "x"})  # type: ignore[dict-item]


def test_config_values_may_be_int_float_bool():
    producer = fk.Producer(
        {"bootstrap.servers": "127.0.0.1:1", "linger.ms": 2.5, "batch.num.messages": 1000, "enable.idempotence": True}
    )
    producer.close()


def test_hierarchy():
    for exc in [fk.KafkaError, fk.ConfigError, fk.MessageInvalidatedError, fk.WrongThreadError]:
        assert issubclass(exc, fk.Error) and issubclass(exc, Exception)
    assert fk.Error.__module__ == "ferrokafka"


def test_bad_arguments_raise_python_errors_not_panics(mock_cluster):
    with pytest.raises(ValueError):
        fk.MockCluster(0)
    with pytest.raises(ValueError):
        mock_cluster.broker_down(99)
    with pytest.raises(ValueError):
        mock_cluster.inject_request_errors(0, [99999])
    with fk.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": "g"}) as consumer:
        with pytest.raises(ValueError):
            consumer.poll(-1)
        with pytest.raises(ValueError):
            consumer.poll(float("nan"))
        with pytest.raises(TypeError):
            consumer.subscribe([1, 2])  # type: ignore[list-item]
        with pytest.raises(fk.KafkaError):
            consumer.commit(fk.OwnedMessage("no-such-topic", 0, 5), asynchronous=False)
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
        with pytest.raises(TypeError):
            producer.produce("t", b"x", headers=[("only-key",)])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            producer.produce("t", b"x", headers=[(1, b"v")])  # type: ignore[list-item]
        with pytest.raises(ValueError):
            producer.flush(-1)


def test_kafka_error_attributes(mock_cluster, topic_name):
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
        future = producer.produce(topic_name, b"x", partition=42)
        error = future.exception(10)
    assert isinstance(error, fk.KafkaError)
    assert error.name() == "_UNKNOWN_PARTITION" and isinstance(error.code(), int)
    assert error.fatal() is False and error.txn_requires_abort() is False
    assert "_UNKNOWN_PARTITION" in str(error)


def test_mock_cluster_closed_is_an_error():
    cluster = fk.MockCluster()
    cluster.close()
    cluster.close()
    with pytest.raises(fk.Error, match="closed"):
        cluster.bootstrap_servers


def test_gssapi_without_a_keytab_says_what_to_set():
    """librdkafka's default kinit command names the keytab, and without one it says only that a
    property is not available: the ConfigError names the settings that fix it."""
    config = {"bootstrap.servers": "127.0.0.1:1", "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"}
    with pytest.raises(fk.ConfigError, match="sasl.kerberos.keytab.*min.time.before.relogin=0"):
        fk.Producer(config)
    # A ticket cache made by kinit, without librdkafka's kinit: accepted.
    fk.Producer({**config, "sasl.kerberos.min.time.before.relogin": 0}).close(0)
