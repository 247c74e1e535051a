"""Reading config values in Python the way librdkafka reads them.

One rule for a boolean property, librdkafka's (``rd_kafka_anyconf_set_prop0`` for ``_RK_C_BOOL``):
``true``, ``t`` (any case) and ``1`` are true; ``false``, ``f`` (any case) and ``0`` are false;
anything else is a :class:`~ferrokafka.ConfigError`. A Python ``bool`` is itself, and an ``int``
is read as its text, as the native core passes it to librdkafka (``1`` is true, ``2`` an error).
Used wherever the Python layer reads a boolean property itself: the serializing consumers and the
command line.
"""

from __future__ import annotations

from ferrokafka._errors import ConfigError

_TRUE = frozenset({"true", "t", "1"})
_FALSE = frozenset({"false", "f", "0"})


def config_bool(key: str, value: object) -> bool:
    """`value` of the boolean property `key`, by librdkafka's rule; ``ConfigError`` if it is none."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = str(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ConfigError(f"configuration property {key!r}: expected true/t/1 or false/f/0, not {value!r}")
