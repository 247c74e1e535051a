"""confluent-kafka's ``version()`` and ``libversion()``, for ferrokafka."""

from __future__ import annotations

import ferrokafka as _fk


def _hex(version: str) -> int:
    parts = [int(part) if part.isdigit() else 0 for part in version.split("-")[0].split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | 0xFF


def libversion() -> tuple[str, int]:
    """librdkafka's version: ``(string, int)`` as ``rd_kafka_version()`` gives it (0xMMmmrrff)."""
    return (_fk.librdkafka_version, _hex(_fk.librdkafka_version))


#: The confluent-kafka release whose API the drop-in implements. ``version()`` answers it, so that
#: frameworks checking confluent-kafka's version for a feature find it (as PyMySQL answers
#: ``MySQLdb.version_info`` when installed as MySQLdb); ferrokafka's own is ``ferrokafka.__version__``.
API_VERSION = "2.16.1"


def version() -> str:
    """The confluent-kafka version whose API this drop-in implements (see :data:`API_VERSION`)."""
    return API_VERSION
