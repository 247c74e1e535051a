"""Process messages in parallel: N handlers at once, order kept per key or partition, and commits
that never pass a message still being processed.

See `docs/parallel.md`. `ParallelProcessor` runs handlers on threads or worker processes,
`AsyncParallelProcessor` as asyncio tasks.
"""

from ferrokafka.parallel._aio import AsyncParallelProcessor
from ferrokafka.parallel._offsets import OffsetTracker
from ferrokafka.parallel._policy import (
    DeadLetter,
    FailurePolicy,
    HandlerError,
    Retry,
    Skip,
    Stop,
    WorkerDied,
)
from ferrokafka.parallel._processor import ParallelProcessor
from ferrokafka.parallel._scheduler import Ordering, PartitionStats, Scheduler, Stats

__all__ = [
    "AsyncParallelProcessor",
    "DeadLetter",
    "FailurePolicy",
    "HandlerError",
    "OffsetTracker",
    "Ordering",
    "ParallelProcessor",
    "PartitionStats",
    "Retry",
    "Scheduler",
    "Skip",
    "Stats",
    "Stop",
    "WorkerDied",
]
