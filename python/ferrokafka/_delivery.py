"""The Future that ``Producer.produce()`` returns: a ``concurrent.futures.Future``, made cheap.

``Future.__init__`` builds a ``threading.Condition`` and is a Python call; per message that was
most of ``produce()``'s cost. A ``DeliveryFuture`` is created without ``__init__`` (by the Rust
producer) and starts in the ``RUNNING`` state (a produced message cannot be cancelled). Its
condition and waiter lists are created on first use — by ``result()``, ``done()``,
``add_done_callback()``, ``concurrent.futures.wait()``, ``asyncio.wrap_future()`` — and only then
does resolving it go through ``Future.set_result``. Until then the delivery thread sets the
outcome directly, which is safe under the GIL: anyone who creates the condition afterwards checks
the state under it. (abi3 wheels target GIL-ful CPython only.)
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ferrokafka._native import DeliveryReport

    _Base = Future[DeliveryReport]
else:
    _Base = Future


class DeliveryFuture(_Base):
    """The outcome of one produced message: its ``DeliveryReport``, or the ``KafkaError``."""

    _state = "RUNNING"
    _result: Any = None
    _exception: BaseException | None = None

    def __init__(self) -> None:  # only used when constructed from Python
        pass

    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        state = self.__dict__
        condition: threading.Condition | None = state.get("_condition")
        if condition is None:
            state.setdefault("_waiters", [])
            state.setdefault("_done_callbacks", [])
            condition = state.setdefault("_condition", threading.Condition())
        return condition
