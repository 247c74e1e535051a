"""ferrokafka.confluent's client callbacks and logs: stats_cb, error_cb and oauth_cb as
confluent-kafka calls them, a logger served inside poll() and flush() on the calling thread (and
bounded while nobody polls), and configuration errors. confluent-kafka (installed in the test
environment) is the expected value."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

import ferrokafka.confluent as fc
from dropin_helpers import BOTH, LogRecords, ck, ck_admin
from ferrokafka.confluent import admin as fc_admin

pytestmark = pytest.mark.timeout(120)


@BOTH
def test_stats_cb_gets_a_json_string(mod, mock_cluster):
    got: list[Any] = []
    producer = mod.Producer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "statistics.interval.ms": 50, "stats_cb": got.append}
    )
    for _ in range(50):
        producer.poll(0.1)
        if got:
            break
    assert got and isinstance(got[0], str)
    assert json.loads(got[0])["type"] == "producer"


@BOTH
def test_error_cb_gets_a_kafka_error(mod):
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "error_cb": got.append})
    for _ in range(100):
        producer.poll(0.1)
        if got:
            break
    assert got and isinstance(got[0], mod.KafkaError)
    assert got[0].code() in (mod.KafkaError._TRANSPORT, mod.KafkaError._ALL_BROKERS_DOWN)
    assert "127.0.0.1:1" in got[0].str() and not got[0].str().startswith("KafkaError{"), "str() is the reason alone"
    producer.flush(0)


@BOTH
def test_config_errors_raise_kafka_exception(mod):
    with pytest.raises(mod.KafkaException) as info:
        mod.Producer({"no.such.property": 1})
    assert info.value.args[0].code() == mod.KafkaError._INVALID_ARG
    with pytest.raises(TypeError):
        mod.Producer({"error_cb": 5})
    with pytest.raises((ValueError, mod.KafkaException)):
        mod.Consumer({"bootstrap.servers": "127.0.0.1:1"})


@BOTH
def test_an_oauth_cb_that_raises_fails_the_constructor_with_kafka_exception(mod):
    def oauth_cb(config: Any) -> Any:
        raise ValueError("no token")

    with pytest.raises(mod.KafkaException):
        mod.Consumer(
            {
                "group.id": "g",
                "security.protocol": "sasl_plaintext",
                "sasl.mechanisms": "OAUTHBEARER",
                "sasl.oauthbearer.config": "oauth_cb",
                "oauth_cb": oauth_cb,
            }
        )


@BOTH
@pytest.mark.parametrize("kind", ["producer", "admin"])
def test_a_producer_s_and_admin_client_s_logger_runs_in_poll_and_flush_only(mod: Any, kind: str) -> None:
    """Given a logger, confluent-kafka queues librdkafka's log records (log.queue) and hands them to
    the logger inside poll()/flush(), on the calling thread: none before, even the ones logged while
    the client was made (INIT), and a single flush() of a producer with nothing to send serves them."""
    handler = LogRecords()
    logger = logging.getLogger(f"dropin-log-{kind}-{mod.__name__}")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    conf = {"bootstrap.servers": "127.0.0.1:1", "logger": logger, "debug": "msg" if kind == "producer" else "admin"}
    client = mod.Producer(conf) if kind == "producer" else (ck_admin if mod is ck else fc_admin).AdminClient(conf)
    time.sleep(0.5)
    assert handler.seen == []
    if kind == "producer":
        assert client.flush() == 0
    else:
        assert client.poll(0) >= 1
    assert any(message.startswith("INIT [") for message, _ in handler.seen), handler.seen
    assert all(on_main for _, on_main in handler.seen)


@BOTH
@pytest.mark.parametrize("kind", ["producer", "admin"])
def test_the_first_poll_or_flush_serves_what_was_logged_while_the_client_was_made(mod: Any, kind: str) -> None:
    """confluent-kafka's own test_log: flush()/poll(0) right after the constructor hands the INIT
    line to the logger. The drop-in took it only when its background threads got to it (up to a
    tenth of a second, or the GIL, later): most first calls saw nothing."""
    missed = 0
    for round in range(10):
        handler = LogRecords()
        logger = logging.getLogger(f"dropin-first-poll-{kind}-{mod.__name__}-{round}")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        debug = "msg" if kind == "producer" else "admin"
        conf = {"bootstrap.servers": "127.0.0.1:1", "logger": logger, "debug": debug}
        if kind == "producer":
            client = mod.Producer(conf)
            client.flush()
        else:
            client = (ck_admin if mod is ck else fc_admin).AdminClient(conf)
            client.poll(0)
        missed += not any(message.startswith("INIT [") for message, _ in handler.seen)
        if mod is fc:
            client.close()
    assert missed == 0


@BOTH
def test_stats_cb_runs_within_the_first_poll(mod: Any) -> None:
    """confluent-kafka's own test_conf_none: with statistics.interval.ms=10, poll(0.1) right after
    the constructor runs stats_cb. The drop-in ran a producer's callbacks only every tenth of a
    second: the first statistics came at 101 ms, after that poll had returned."""
    missed = 0
    for _ in range(10):
        seen: list[str] = []
        producer = mod.Producer({"bootstrap.servers": None, "statistics.interval.ms": 10, "stats_cb": seen.append})
        producer.poll(0.1)
        missed += not seen
        if mod is fc:
            producer.close()
    assert missed == 0


def test_log_records_of_a_client_never_polled_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drop-in keeps at most MAX_QUEUED_LOGS records for poll(); the newest beyond are dropped
    and the next poll() says how many, before the records it kept."""
    from ferrokafka.confluent import _config

    monkeypatch.setattr(_config, "MAX_QUEUED_LOGS", 2)
    handler = LogRecords()
    logger = logging.getLogger("dropin-log-bounded")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    admin = fc_admin.AdminClient({"bootstrap.servers": "127.0.0.1:1", "logger": logger, "debug": "all"})
    try:
        time.sleep(0.5)
        assert admin.poll(0) == 2
        assert "librdkafka log records were dropped: the client was not polled" in handler.seen[0][0]
        assert len(handler.seen) == 3
    finally:
        admin.close()
