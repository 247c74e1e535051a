"""The operating-system calls the Python layer makes that are Linux's, in one place (the native
ones are in ``src/platform.rs``): the descriptors the asyncio clients are woken through. A port to
another system starts here; docs/index.md, "Platforms", says what macOS and Windows would need."""

from __future__ import annotations

import os


def wake_pipe() -> tuple[int, int]:
    """A non-blocking, close-on-exec pipe (read end, write end): librdkafka writes a one-byte
    wake-up to the write end when a consumer's queue gets something."""
    return os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)


def new_eventfd() -> int:
    """A non-blocking, close-on-exec eventfd: the producer's delivery thread adds to it."""
    return os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)


def clear_eventfd(fd: int) -> None:
    """Resets the eventfd's counter; nothing to do if it is zero already."""
    try:
        os.eventfd_read(fd)
    except BlockingIOError:
        pass
