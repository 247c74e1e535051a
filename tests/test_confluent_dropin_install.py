"""ferrokafka.confluent.install(): ``import confluent_kafka`` (and its submodules) gives the drop-in,
what the drop-in does not have comes from confluent-kafka's own pure-Python files (the Schema
Registry client and its serdes, run on the drop-in's clients), uninstall() restores it. Each in a
fresh interpreter."""

from __future__ import annotations

import importlib.util
import types

import pytest

from dropin_helpers import ck, run_script

pytestmark = pytest.mark.timeout(120)


def test_confluent_kafka_s_submodules_are_the_dropin_s_or_its_own_pure_python_ones():
    import confluent_kafka.schema_registry  # noqa: F401  # make sure dir(ck) lists one of its own

    submodules = {n for n in dir(ck) if isinstance(getattr(ck, n), types.ModuleType)} - {"os"}
    ours = {n for n in submodules if importlib.util.find_spec(f"ferrokafka.confluent.{n}")}
    # What the drop-in does not have, install() serves from confluent-kafka's own files: these are
    # pure Python (no extension module among them).
    for name in sorted(submodules - ours):
        origin = getattr(ck, name).__file__ or ""
        assert origin.endswith(".py"), (name, origin)
    assert {"admin", "serialization", "error", "cimpl"} & submodules <= ours
    assert "schema_registry" in submodules - ours


def test_install_makes_confluent_kafka_and_its_submodules_the_dropin():
    result = run_script(
        """
        import ferrokafka.confluent
        ferrokafka.confluent.install()
        import confluent_kafka, confluent_kafka.admin, confluent_kafka.serialization, confluent_kafka.error
        from confluent_kafka import Producer, KafkaError
        from confluent_kafka.admin import AdminClient
        assert confluent_kafka is ferrokafka.confluent
        assert Producer is ferrokafka.confluent.Producer
        assert confluent_kafka.admin is ferrokafka.confluent.admin
        assert AdminClient is ferrokafka.confluent.admin.AdminClient
        assert confluent_kafka.serialization is ferrokafka.confluent.serialization
        import confluent_kafka.aio
        from confluent_kafka.aio import AIOProducer
        assert AIOProducer is ferrokafka.confluent.aio.AIOProducer
        from confluent_kafka.cimpl import Producer as CimplProducer
        assert CimplProducer is Producer
        assert confluent_kafka.installed() if hasattr(confluent_kafka, "installed") else True
        import sys
        assert "confluent_kafka.cimpl" not in sys.modules or sys.modules["confluent_kafka.cimpl"].__name__.startswith("ferrokafka")
        # confluent-kafka's pure-Python schema registry loads from the real package, on the drop-in
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer
        import confluent_kafka.schema_registry as sr
        assert "ferrokafka" not in sr.__file__
        import confluent_kafka.serialization as ser
        assert ser.SerializationContext is ferrokafka.confluent.serialization.SerializationContext
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_after_confluent_kafka_was_imported_refuses():
    result = run_script(
        """
        import confluent_kafka
        import ferrokafka.confluent
        try:
            ferrokafka.confluent.install()
        except RuntimeError as error:
            print("refused")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"


def test_uninstall_restores_confluent_kafka():
    result = run_script(
        """
        import ferrokafka.confluent as fc
        fc.install()
        import confluent_kafka
        assert fc.installed()
        fc.uninstall()
        assert not fc.installed()
        import confluent_kafka
        assert confluent_kafka.__name__ == "confluent_kafka"
        print(confluent_kafka.Producer.__module__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ferrokafka" not in result.stdout


def test_confluent_kafka_s_schema_registry_avro_serdes_run_on_the_dropin():
    """After install(), confluent-kafka's own (pure-Python) Schema Registry client and Avro serdes
    load from the installed confluent-kafka and work with the drop-in's clients."""
    pytest.importorskip("fastavro")
    result = run_script(
        """
        import ferrokafka.confluent
        ferrokafka.confluent.install()
        import ferrokafka as fk
        from confluent_kafka import DeserializingConsumer, SerializingProducer
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
        import sys
        assert "confluent_kafka.cimpl" not in sys.modules or "ferrokafka" in sys.modules["confluent_kafka.cimpl"].__name__
        schema = '{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}'
        registry = SchemaRegistryClient.new_client({"url": "mock://dropin"})
        with fk.MockCluster() as cluster:
            cluster.create_topic("users")
            producer = SerializingProducer(
                {"bootstrap.servers": cluster.bootstrap_servers, "value.serializer": AvroSerializer(registry, schema)}
            )
            producer.produce("users", value={"name": "ada"})
            assert producer.flush(10) == 0
            consumer = DeserializingConsumer(
                {
                    "bootstrap.servers": cluster.bootstrap_servers,
                    "group.id": "g",
                    "auto.offset.reset": "earliest",
                    "value.deserializer": AvroDeserializer(registry),
                }
            )
            consumer.subscribe(["users"])
            msg = consumer.poll(10)
            consumer.close()
            print(type(msg).__module__, msg.value())
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ferrokafka.confluent {'name': 'ada'}"
