"""Typed configuration (scripts/config-types): the TypedDicts and the property list are what
librdkafka's own table gives, mypy checks an annotated configuration with them, and an unknown key
is refused with the nearest known one."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ferrokafka as fk

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("cargo") is None, reason="finding librdkafka's table needs cargo metadata")
def test_the_generated_types_are_what_librdkafka_s_table_gives():
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "config-types"), "--check"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


def test_each_client_s_type_has_its_own_properties():
    consumer, producer, admin = (t.__annotations__ for t in (fk.ConsumerConfig, fk.ProducerConfig, fk.AdminConfig))
    assert {"group.id", "auto.offset.reset", "enable.auto.commit", "on_commit"} <= consumer.keys()
    assert {"linger.ms", "acks", "enable.idempotence", "transactional.id", "on_delivery"} <= producer.keys()
    assert "linger.ms" not in consumer and "group.id" not in producer
    assert "group.id" not in admin and "linger.ms" not in admin and "on_delivery" not in admin
    for common in ("bootstrap.servers", "security.protocol", "sasl.mechanism", "error_cb", "stats_cb", "logger"):
        assert common in consumer and common in producer and common in admin


def mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    example = tmp_path / "example.py"
    example.write_text(textwrap.dedent(source))
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache")]
    return subprocess.run([*command, str(example)], capture_output=True, text=True, cwd=tmp_path)


def test_mypy_accepts_a_correct_configuration(tmp_path):
    checked = mypy(
        tmp_path,
        """
        import ferrokafka as fk

        def on_error(err: fk.KafkaError) -> None:
            print(err)

        config: fk.ConsumerConfig = {
            "bootstrap.servers": "localhost:9092",
            "group.id": "g",
            "enable.auto.commit": False,
            "session.timeout.ms": 45000,
            "security.protocol": "SASL_SSL",
            "error_cb": on_error,
        }
        producer: fk.ProducerConfig = {"bootstrap.servers": "localhost:9092", "linger.ms": "5", "acks": "all"}
        """,
    )
    assert checked.returncode == 0, checked.stdout


def test_mypy_refuses_a_misspelt_key_a_wrong_value_and_another_client_s_property(tmp_path):
    checked = mypy(
        tmp_path,
        """
        import ferrokafka as fk

        config: fk.ConsumerConfig = {"bootstrap.servers": "x", "auto.ofset.reset": "earliest"}
        wrong: fk.ConsumerConfig = {"enable.auto.commit": [True]}
        other: fk.ConsumerConfig = {"linger.ms": 5}
        """,
    )
    assert checked.returncode == 1, checked.stdout
    assert '"auto.ofset.reset"' in checked.stdout
    assert "enable.auto.commit" in checked.stdout
    assert '"linger.ms"' in checked.stdout


@pytest.mark.parametrize(
    ("client", "key", "meant"),
    [
        (fk.Consumer, "auto.ofset.reset", "auto.offset.reset"),
        (fk.Consumer, "enable.auto.comit", "enable.auto.commit"),
        (fk.Producer, "linger.msec", "linger.ms"),
        (fk.Producer, "enable.idempotance", "enable.idempotence"),
        (fk.AdminClient, "bootstrap.server", "bootstrap.servers"),
    ],
)
def test_an_unknown_key_is_refused_with_the_nearest_known_one(client, key, meant):
    config = {"bootstrap.servers": "127.0.0.1:1", "group.id": "g", key: "1"}
    if client is not fk.Consumer:
        del config["group.id"]
    with pytest.raises(fk.ConfigError, match=f'No such configuration property.*did you mean "{meant}"'):
        client(config)


def test_a_key_like_nothing_known_gets_no_guess():
    with pytest.raises(fk.ConfigError) as raised:
        fk.Producer({"bootstrap.servers": "127.0.0.1:1", "completely.unrelated.setting": "1"})
    assert "No such configuration property" in str(raised.value) and "did you mean" not in str(raised.value)
