"""The Future that ``Producer.produce()`` returns: a ``concurrent.futures.Future``, made cheap.

``Future.__init__`` builds a ``threading.Condition`` and resolving one takes the GIL; per message
that cost more than producing. A ``DeliveryFuture`` is created without ``__init__`` (by the Rust
producer) and reads its state from ``_native``, a ``DeliveryState`` that the delivery thread
resolves without the GIL. It starts ``RUNNING`` (a produced message cannot be cancelled). Its
condition and waiter lists are created on first use — by ``result()``, ``done()``,
``add_done_callback()``, ``concurrent.futures.wait()``, ``asyncio.wrap_future()`` — which also
registers it with its ``DeliveryState``: from then on the delivery thread wakes it with the GIL
(``_delivered``). Registration and resolution use sequentially consistent flags on both sides, so
either the waiter sees the outcome or the delivery thread sees the waiter.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures._base import FINISHED, RUNNING
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ferrokafka._native import DeliveryReport, DeliveryState

    _Base = Future[DeliveryReport]
else:
    _Base = Future


class DeliveryFuture(_Base):
    """The outcome of one produced message: its ``DeliveryReport``, or the ``KafkaError``."""

    # A slot, not a __dict__ entry: produce() sets it on every future, and the instance dict is then
    # only created if someone waits on the future.
    __slots__ = ("_native",)
    _native: DeliveryState

    def __init__(self) -> None:  # the producer creates instances without calling this
        raise TypeError("DeliveryFuture objects are made by Producer.produce()")

    def _outcome(self) -> tuple[Any, BaseException | None]:
        state = self.__dict__
        outcome: tuple[Any, BaseException | None] | None = state.get("_outcome_cache")
        if outcome is None:
            if not self._native.finished:
                return None, None
            outcome = state["_outcome_cache"] = self._native.outcome()
        return outcome

    @property
    def _state(self) -> str:
        explicit: str | None = self.__dict__.get("_explicit_state")
        if explicit is not None:
            return explicit
        return FINISHED if self._native.finished else RUNNING

    @_state.setter
    def _state(self, value: str) -> None:
        self.__dict__["_explicit_state"] = value

    @property
    def _result(self) -> Any:
        return self._outcome()[0]

    @_result.setter
    def _result(self, value: Any) -> None:
        self.__dict__["_outcome_cache"] = (value, self._outcome()[1])

    @property
    def _exception(self) -> BaseException | None:
        return self._outcome()[1]

    @_exception.setter
    def _exception(self, value: BaseException | None) -> None:
        self.__dict__["_outcome_cache"] = (self._outcome()[0], value)

    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        state = self.__dict__
        condition: threading.Condition | None = state.get("_condition")
        if condition is None:
            state.setdefault("_waiters", [])
            state.setdefault("_done_callbacks", [])
            condition = state.setdefault("_condition", threading.Condition())
            self._native.watch(self)
        return condition

    def _delivered(self) -> None:
        """Called by the delivery thread once the outcome is in: wakes waiters, runs callbacks."""
        with self._condition:
            exception = self._outcome()[1]
            for waiter in self._waiters:
                if exception is None:
                    waiter.add_result(self)
                else:
                    waiter.add_exception(self)
            self._condition.notify_all()
        self._invoke_callbacks()  # type: ignore[attr-defined]
