"""confluent-kafka's configuration: a dict and/or keyword arguments, librdkafka properties plus
Python objects under confluent-kafka's keys. ferrokafka calls them as confluent-kafka does
(``stats_cb(json_str)``, ``on_delivery(err, report)``, ``on_commit(err, partitions)``); the
adapters here give the application confluent-kafka's types (``KafkaError`` with confluent-kafka's
reason text, ``Message``, mutable ``TopicPartition``) and, for the producer, defer the calls to
``poll()``/``flush()``.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import KafkaError, kafka_error_of

# confluent-kafka's Python-object keys, and the clients that take them.
CALLBACK_KEYS = ("error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger", "on_delivery", "on_commit")


def merge(args: tuple[Any, ...], kwargs: Mapping[str, Any], *, allow_empty: bool) -> dict[str, Any]:
    """``Client(conf)``, ``Client(conf, **kwargs)`` or ``Client(**kwargs)``: one dict (keyword
    arguments win), checked as confluent-kafka checks it."""
    if len(args) > 1:
        raise TypeError("expected tuple containing single dict")
    if args:
        conf = args[0]
        if not isinstance(conf, dict):
            raise TypeError("expected configuration dict")
        merged = dict(conf)
    elif kwargs or allow_empty:
        merged = {}
    else:
        raise TypeError("expected configuration dict")
    merged.update(kwargs)
    # The deprecated "default.topic.config" sub-dict: its topic properties apply as set at the top.
    topic_conf = merged.pop("default.topic.config", None)
    if topic_conf is not None:
        if not isinstance(topic_conf, dict):
            raise TypeError("expected default.topic.config to be a dict")
        merged.update(topic_conf)
    # None leaves a property at its default (confluent-kafka passes NULL).
    return {key: value for key, value in merged.items() if value is not None or key in CALLBACK_KEYS}


def take_callbacks(conf: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Removes confluent-kafka's Python-object keys from `conf`; returns those given (not None)."""
    taken: dict[str, Any] = {}
    for key in CALLBACK_KEYS:
        if key not in conf:
            continue
        value = conf.pop(key)
        if value is None:
            continue
        if key not in allowed:
            continue  # confluent-kafka ignores a callback a client never calls
        if key == "logger":
            if not callable(getattr(value, "log", None)):
                raise TypeError("expected logger to be a logging.Logger-like object with a log() method")
        elif not callable(value):
            raise TypeError(f"expected {key} property as a callable function")
        taken[key] = value
    return taken


def error_value(error: object) -> KafkaError | None:
    """A callback's error argument as confluent-kafka's KafkaError (codes only, as its callbacks get)."""
    if error is None or isinstance(error, KafkaError):
        return error
    if isinstance(error, BaseException):
        return kafka_error_of(error, flags=False)
    raise TypeError(f"unexpected error argument {error!r}")


class ThrottleEvent:
    """A broker delayed its answer to this client (a quota), given to ``throttle_cb``."""

    def __init__(self, broker_name: str, broker_id: int, throttle_time: float) -> None:
        self.broker_name = broker_name
        self.broker_id = broker_id
        self.throttle_time = throttle_time

    def __str__(self) -> str:
        return f"{self.broker_name}/{self.broker_id} throttled for {int(self.throttle_time * 1000)} ms"

    def __repr__(self) -> str:
        return f"ThrottleEvent({self.broker_name!r}, {self.broker_id!r}, {self.throttle_time!r})"


ThrottleEvent.__module__ = "ferrokafka.confluent"


def throttle_event(event: Any) -> ThrottleEvent:
    if isinstance(event, ThrottleEvent):
        return event
    return ThrottleEvent(event.broker_name, event.broker_id, event.throttle_time)


#: The most log records a producer or admin client keeps for ``poll()``/``flush()``: a client that is
#: never polled (an admin client, usually) must not grow without bound. Beyond it the newest records
#: are dropped, and a warning says how many when the next one is served.
MAX_QUEUED_LOGS = 10_000


class LogAdapter:
    """The logger ferrokafka is given in place of the application's: ferrokafka logs
    ``"librdkafka FAC: message"``, confluent-kafka logs ``"FAC [client] message"``.

    With `sink` (the producer's and the admin client's event queue) a record waits there and the
    application's logger runs in ``poll()``/``flush()``, on the application's thread, as
    confluent-kafka's does (it sets ``log.queue`` when given a logger); without, at once."""

    def __init__(self, logger: Any, client_name: str, sink: Callable[..., None] | None = None) -> None:
        self._logger = logger
        self._client = client_name
        self._sink = sink
        self._lock = threading.Lock()
        self._queued = 0
        self._dropped = 0

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging.Logger's name
        enabled = getattr(self._logger, "isEnabledFor", None)
        return True if enabled is None else bool(enabled(level))

    def log(self, level: int, fmt: str, *args: Any) -> None:
        text = fmt % args if args else fmt
        facility, sep, rest = text.partition(": ")
        if sep and facility.startswith("librdkafka "):
            record: tuple[Any, ...] = (level, "%s [%s] %s", facility[len("librdkafka ") :], self._client, rest)
        else:
            record = (level, "%s", text)
        if self._sink is None:
            self._logger.log(*record)
            return
        with self._lock:
            if self._queued >= MAX_QUEUED_LOGS:
                self._dropped += 1
                return
            self._queued += 1
        self._sink(self._serve, record)

    def _serve(self, *record: Any) -> None:
        with self._lock:
            self._queued -= 1
            dropped, self._dropped = self._dropped, 0
        if dropped:
            self._logger.log(
                logging.WARNING, "%d librdkafka log records were dropped: the client was not polled", dropped
            )
        self._logger.log(*record)


def client_name(conf: Mapping[str, Any], kind: str) -> str:
    client_id = conf.get("client.id")
    return f"{client_id}#{kind}" if client_id else f"rdkafka#{kind}"


def default_error_log(error: KafkaError) -> None:
    """What happens to a client error without ``error_cb``: it is logged."""
    logging.getLogger("ferrokafka.confluent").log(
        logging.ERROR if error.fatal() else logging.WARNING, "%s", error.str()
    )


Callback = Callable[..., Any]


class OAuthAdapter:
    """The ``oauth_cb`` ferrokafka is given: an exception of the application's callback becomes
    ``KafkaException(SASL_AUTHENTICATION_FAILED)`` (what confluent-kafka's client constructor raises
    when the first token cannot be had)."""

    def __init__(self, oauth_cb: Callback) -> None:
        self._oauth_cb = oauth_cb

    def __call__(self, *args: Any) -> Any:
        try:
            return self._oauth_cb(*args)
        except Exception as error:
            from ._errors import KafkaException

            raise KafkaException(
                KafkaError(KafkaError.SASL_AUTHENTICATION_FAILED, f"oauth_cb failed: {error!r}")
            ) from error


class Call:
    """``fn(*args, *more)``: what the drop-in gives ferrokafka as a callback, in place of a
    ``functools.partial`` or a lambda. ferrokafka's threads may call a client's callbacks while the
    garbage collector is clearing a reference cycle that holds the client (an application's
    traceback, say); the collector may clear the callback object first, and a cleared ``partial``
    or function crashes when called. A cleared ``Call`` only raises ``AttributeError``."""

    __slots__ = ("_fn", "_args")

    def __init__(self, fn: Callback, *args: Any) -> None:
        self._fn = fn
        self._args = args

    def __call__(self, *more: Any) -> Any:
        return self._fn(*self._args, *more)


def _error_cb_of(error_cb: Callback, error: Any) -> Any:
    return error_cb(error_value(error))


def _throttle_cb_of(throttle_cb: Callback, event: Any) -> Any:
    return throttle_cb(throttle_event(event))


def error_cb_adapter(error_cb: Callback) -> Call:
    """``error_cb`` called at once with confluent-kafka's ``KafkaError``."""
    return Call(_error_cb_of, error_cb)


def throttle_cb_adapter(throttle_cb: Callback) -> Call:
    """``throttle_cb`` called at once with a ``ThrottleEvent``."""
    return Call(_throttle_cb_of, throttle_cb)


def release_unclosed(client: Any) -> None:
    """``__del__`` of a drop-in client never closed: confluent-kafka's clients do not ask to be
    closed, so ferrokafka's "was not closed" ``ResourceWarning`` is not for the drop-in's users.
    The native client is let go as ferrokafka lets an unclosed one go (its threads finish in the
    background)."""
    native = client.__dict__.pop("_native", None)
    if native is None:
        return
    # The producer's native produce() (DropInProduce) holds the native client too: let it go here.
    fast = client.__dict__.pop("produce", None)
    # Also at interpreter exit (a client kept in a module global, as frameworks keep theirs),
    # where the warnings machinery still works; late in the shutdown it may be gone (AttributeError
    # or KeyError; a bare try, as module globals may be None by then): then nothing can show the
    # warning either, and the client goes on return.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del native, fast
    except Exception:
        pass
