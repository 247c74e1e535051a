"""What happens when a handler raises: retry with backoff, a dead-letter topic, skip, or stop."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from ferrokafka import Error, OwnedMessage

__all__ = ["DeadLetter", "FailurePolicy", "HandlerError", "Retry", "Skip", "Stop", "WorkerDied", "dead_letter_headers"]


@dataclass(frozen=True)
class Stop:
    """Stop the processor: the failed message stays unfinished (never committed past), the other
    in-flight work gets the drain deadline, and `run()` raises `HandlerError`."""


@dataclass(frozen=True)
class Skip:
    """Log the failure and count the message as processed (its offset may be committed)."""


@dataclass(frozen=True)
class DeadLetter:
    """Produce the failed message to `topic` (same key, value and headers, plus `ferrokafka.dlq.*`
    headers saying why) and count it as processed once the broker acknowledged it. If producing
    fails, the processor stops as with `Stop`.

    `producer_config` defaults to the consumer's `bootstrap.servers` (and security settings)."""

    topic: str
    producer_config: Mapping[str, object] | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Retry:
    """Run the handler again after `backoff` seconds, multiplied by `multiplier` after each failure
    (at most `max_backoff`), up to `max_retries` times; then apply `then`. Only the message's own
    key waits meanwhile: other keys go on."""

    max_retries: int = 3
    backoff: float = 0.1
    multiplier: float = 2.0
    max_backoff: float = 30.0
    then: Union[Stop, Skip, DeadLetter] = field(default_factory=Stop)  # noqa: UP007

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.multiplier < 1 or self.max_backoff < 0:
            raise ValueError("Retry needs max_retries >= 0, backoff >= 0, multiplier >= 1, max_backoff >= 0")

    def delay(self, attempts: int) -> float:
        """The wait before the next run after `attempts` failed runs."""
        return float(min(self.max_backoff, self.backoff * self.multiplier ** max(0, attempts - 1)))


FailurePolicy = Union[Retry, DeadLetter, Skip, Stop]  # noqa: UP007


class HandlerError(Error):
    """The handler failed on a message and the failure policy said stop (`__cause__` is what it
    raised). `message` is the message, which was not committed past."""

    def __init__(self, text: str, message: OwnedMessage | None = None) -> None:
        super().__init__(text)
        self.message = message


class WorkerDied(Error):
    """A worker process died while running the handler on a message (process mode)."""


def dead_letter_headers(
    work_message: OwnedMessage, error: BaseException, attempts: int
) -> list[tuple[str, bytes | None]]:
    """The message's own headers plus `ferrokafka.dlq.*`: where it came from and why it failed."""
    headers: list[tuple[str, bytes | None]] = list(work_message.headers)
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    headers += [
        ("ferrokafka.dlq.topic", work_message.topic.encode()),
        ("ferrokafka.dlq.partition", str(work_message.partition).encode()),
        ("ferrokafka.dlq.offset", str(work_message.offset).encode()),
        ("ferrokafka.dlq.exception", f"{type(error).__module__}.{type(error).__qualname__}".encode()),
        ("ferrokafka.dlq.error", text.encode("utf-8", "replace")),
        ("ferrokafka.dlq.attempts", str(attempts).encode()),
    ]
    return headers


@dataclass(frozen=True)
class Decision:
    """What to do with a failed message: "retry" (after `delay` s), "skip", "dead_letter" (to
    `dead_letter`), "stop", or "abandon" (leave it unfinished: the processor is stopping)."""

    action: str
    delay: float = 0.0
    dead_letter: DeadLetter | None = None


def decide(policy: FailurePolicy, attempts: int, stopping: bool) -> Decision:
    """Applies `policy` to a message that failed `attempts` times so far."""
    if isinstance(policy, Retry):
        if attempts <= policy.max_retries:
            # Stopping: no retry, and no escalation either; it stays unfinished, for next time.
            return Decision("abandon") if stopping else Decision("retry", delay=policy.delay(attempts))
        policy = policy.then
    if isinstance(policy, Skip):
        return Decision("skip")
    if isinstance(policy, DeadLetter):
        return Decision("dead_letter", dead_letter=policy)
    return Decision("stop")
