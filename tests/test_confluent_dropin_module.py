"""What ferrokafka.confluent offers besides its clients, against confluent-kafka's (installed in the
test environment): every public name and constant, the version functions, TopicPartition, and the
ShareConsumer it does not have yet."""

from __future__ import annotations

import types

import pytest

import ferrokafka.confluent as fc
from dropin_helpers import BOTH, ck

pytestmark = pytest.mark.timeout(120)


def test_constants_match_confluent_kafka():
    for name in (
        "OFFSET_BEGINNING",
        "OFFSET_END",
        "OFFSET_INVALID",
        "OFFSET_STORED",
        "TIMESTAMP_CREATE_TIME",
        "TIMESTAMP_LOG_APPEND_TIME",
        "TIMESTAMP_NOT_AVAILABLE",
    ):
        assert getattr(fc, name) == getattr(ck, name), name


def test_public_names_of_confluent_kafka_are_all_there():
    # Submodules show up in dir(ck) only once something imported them (another test may have
    # imported confluent_kafka.schema_registry): test_confluent_dropin_install.py compares them.
    names = [name for name in dir(ck) if not isinstance(getattr(ck, name), types.ModuleType)]
    missing = sorted(name for name in names if not name.startswith("_") and not hasattr(fc, name))
    assert missing == []


def test_libversion_and_version_shapes():
    name, number = fc.libversion()
    assert isinstance(name, str) and name.count(".") == 2
    assert isinstance(number, int) and number > 0
    assert isinstance(fc.version()[0], str)


@BOTH
def test_topic_partition_is_mutable_and_equal_by_topic_and_partition(mod):
    tp = mod.TopicPartition("t", 1, 5)
    tp.offset = 7
    tp.partition = 2
    assert (tp.topic, tp.partition, tp.offset) == ("t", 2, 7)
    assert tp == mod.TopicPartition("t", 2, 99)
    assert hash(tp) == hash(mod.TopicPartition("t", 2))
    assert sorted([mod.TopicPartition("b", 0), mod.TopicPartition("a", 1), mod.TopicPartition("a", 0)]) == [
        mod.TopicPartition("a", 0),
        mod.TopicPartition("a", 1),
        mod.TopicPartition("b", 0),
    ]
    default = mod.TopicPartition("t")
    assert (default.partition, default.offset, default.metadata, default.leader_epoch, default.error) == (
        -1,
        mod.OFFSET_INVALID,
        None,
        None,
        None,
    )


@BOTH
@pytest.mark.parametrize("args", [("t\0x", 0), ("t", 0, 1, "xyz\0abc")], ids=["topic", "metadata"])
def test_topic_partition_refuses_a_nul_character(mod, args):
    with pytest.raises(ValueError, match="embedded null character"):
        mod.TopicPartition(*args)


def test_share_consumer_raises_a_clear_error():
    with pytest.raises(NotImplementedError, match="2.15"):
        fc.ShareConsumer({"group.id": "g"})
