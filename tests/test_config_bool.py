"""One rule for a boolean config value, librdkafka's: ``true``/``t``/``1`` and ``false``/``f``/``0``
(letters in any case), anything else a ConfigError. The serializing consumers and the command line
read ``enable.auto.offset.store``/``enable.auto.commit`` themselves, with that rule."""

from __future__ import annotations

import asyncio

import pytest

import ferrokafka as fk
from ferrokafka._config import config_bool
from ferrokafka.aio import AsyncDeserializingConsumer
from ferrokafka.serialization import DeserializingConsumer

ACCEPTED: list[tuple[object, bool]] = [
    (True, True),
    (False, False),
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("t", True),
    ("T", True),
    ("1", True),
    (1, True),
    ("false", False),
    ("False", False),
    ("FALSE", False),
    ("f", False),
    ("F", False),
    ("0", False),
    (0, False),
]
# Spellings other parsers take ("yes", "on", surrounding blanks) and values that are no boolean.
REJECTED: list[object] = ["yes", "no", "on", "off", "y", "n", "", " true", "false ", "2", 2, -1, 1.0, "tru", None]


@pytest.mark.parametrize("value,expected", ACCEPTED, ids=repr)
def test_accepted_spellings(value: object, expected: bool) -> None:
    assert config_bool("enable.auto.commit", value) is expected


@pytest.mark.parametrize("value", REJECTED, ids=repr)
def test_rejected_spellings_name_the_key(value: object) -> None:
    with pytest.raises(fk.ConfigError, match=r"enable\.auto\.commit"):
        config_bool("enable.auto.commit", value)


@pytest.mark.parametrize("value", [v for v, _ in ACCEPTED] + REJECTED, ids=repr)
def test_librdkafka_agrees(value: object) -> None:
    """The table is librdkafka's: a boolean property it reads itself accepts exactly these."""
    config = {"bootstrap.servers": "127.0.0.1:1", "api.version.request": value}
    try:
        fk.Producer(config).close()
    except fk.ConfigError:
        accepted = False
    else:
        accepted = True
    try:
        config_bool("api.version.request", value)
    except fk.ConfigError:
        ours = False
    else:
        ours = True
    assert accepted == ours


def _deserializing_config(key: str, value: object) -> dict[str, object]:
    return {"bootstrap.servers": "127.0.0.1:1", "group.id": "g", key: value}


@pytest.mark.parametrize("key", ["enable.auto.offset.store", "enable.auto.commit"])
@pytest.mark.parametrize("value", ["yes", "no", "on", "off"])
def test_deserializing_consumer_rejects_what_librdkafka_rejects(key: str, value: str) -> None:
    with pytest.raises(fk.ConfigError, match=key.replace(".", r"\.")):
        DeserializingConsumer(_deserializing_config(key, value)).close()


@pytest.mark.parametrize("value,stored", [("t", True), ("F", False), ("0", False), (True, True)])
def test_deserializing_consumer_reads_librdkafka_spellings(value: object, stored: bool) -> None:
    consumer: DeserializingConsumer[object, object] = DeserializingConsumer(
        _deserializing_config("enable.auto.offset.store", value)
    )
    try:
        assert consumer._auto_store is stored
    finally:
        consumer.close()


@pytest.mark.parametrize("value", ["yes", "off"])
def test_async_deserializing_consumer_rejects_what_librdkafka_rejects(value: str) -> None:
    async def main() -> None:
        with pytest.raises(fk.ConfigError, match=r"enable\.auto\.offset\.store"):
            await AsyncDeserializingConsumer(_deserializing_config("enable.auto.offset.store", value)).close()

    asyncio.run(main())


@pytest.mark.parametrize("key", ["enable.auto.commit", "enable.auto.offset.store"])
@pytest.mark.parametrize("value", ["t", "F"])
def test_native_consumer_reads_librdkafka_spellings(key: str, value: str) -> None:
    """The native consumer reads these two keys itself (to decide whether it stores offsets)."""
    fk.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g", key: value}).close()


@pytest.mark.parametrize("key", ["enable.auto.commit", "enable.auto.offset.store"])
def test_native_consumer_rejects_other_words(key: str) -> None:
    with pytest.raises(fk.ConfigError, match=key.replace(".", r"\.")):
        fk.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g", key: "yes"})
