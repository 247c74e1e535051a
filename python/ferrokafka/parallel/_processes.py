"""Process mode: one worker process per worker thread, messages shipped with pickle protocol 5.

The message's key and payload travel as out-of-band buffers (`pickle.PickleBuffer`), each written
to the pipe straight from the message's own memory, not copied into a pickle first. A worker that
dies (killed, crashed, `os._exit`) is noticed by its thread, which starts a new one; the message it
was running goes back to the scheduler to be run again.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import pickle
import signal
import traceback
from collections.abc import Callable
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from ferrokafka import OwnedMessage

__all__ = ["WorkerProcess", "pipeline_size", "receive_message", "send_message"]

Connection = multiprocessing.connection.Connection


def send_message(conn: Connection, message: OwnedMessage) -> None:
    buffers: list[pickle.PickleBuffer] = []
    key, payload = message.key, message.payload
    fields = (
        message.topic,
        message.partition,
        message.offset,
        None if payload is None else pickle.PickleBuffer(payload),
        None if key is None else pickle.PickleBuffer(key),
        message.timestamp,
        message.timestamp_type,
        message.headers,
        message.leader_epoch,
    )
    header = pickle.dumps(fields, protocol=5, buffer_callback=buffers.append)
    conn.send_bytes(bytes([len(buffers)]) + header)
    for buffer in buffers:
        conn.send_bytes(buffer.raw())


def receive_message(conn: Connection) -> OwnedMessage | None:
    data = conn.recv_bytes()
    if not data:
        return None  # asked to exit
    buffers = [conn.recv_bytes() for _ in range(data[0])]
    topic, partition, offset, payload, key, timestamp, timestamp_type, headers, leader_epoch = pickle.loads(
        data[1:], buffers=buffers
    )
    return OwnedMessage(
        topic,
        partition,
        offset,
        payload=payload,
        key=key,
        timestamp=timestamp,
        timestamp_type=timestamp_type,
        headers=headers,
        leader_epoch=leader_epoch,
    )


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        error = RuntimeError(f"{type(error).__qualname__}: {error}")
    return error


def worker_main(conn: Connection, handler: Callable[[OwnedMessage], object]) -> None:
    """A worker process: runs the handler on each message it receives, answers None or the error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            message = receive_message(conn)
        except (EOFError, OSError):
            return
        if message is None:
            return
        try:
            handler(message)
        except Exception as error:
            text = "".join(traceback.format_exception(error))
            conn.send((_picklable(error), text))
        else:
            conn.send(None)


class WorkerProcess:
    """One worker process and the parent's end of its pipe; restarted when it died."""

    def __init__(self, context: BaseContext, handler: Callable[[OwnedMessage], object]) -> None:
        self._context = context
        self._handler = handler
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> tuple[BaseProcess, Connection]:
        parent, child = self._context.Pipe()
        process = self._context.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child, self._handler), daemon=True, name="ferrokafka-parallel-worker"
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        return process, parent

    def run(self, message: OwnedMessage, abandoned: Callable[[], bool]) -> tuple[str, BaseException | None, str]:
        """Runs the handler on `message` in the worker process: ("ok", None, ""), ("error", the
        exception, its traceback), ("died", None, "") or ("abandoned", None, "") when `abandoned()`
        turned true first (the worker is then killed)."""
        if not self.send(message):
            return ("died", None, "")
        return self.receive(abandoned)

    def send(self, message: OwnedMessage) -> bool:
        """Sends `message` to the worker process (started if it is not running), which runs the
        handlers on what it receives one after another; False if it died meanwhile."""
        if self._process is None or self._conn is None or not self._process.is_alive():
            self.kill()
            self._start()
        assert self._conn is not None
        try:
            send_message(self._conn, message)
        except OSError:
            self.kill()
            return False
        return True

    def receive(self, abandoned: Callable[[], bool]) -> tuple[str, BaseException | None, str]:
        """The outcome of the oldest message sent and not answered yet (as `run()`)."""
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return ("died", None, "")
        try:
            while not conn.poll(0.05):
                if abandoned():
                    self.kill()
                    return ("abandoned", None, "")
                if not process.is_alive():
                    raise EOFError
            answer = conn.recv()
        except (EOFError, OSError):
            self.kill()
            return ("died", None, "")
        if answer is None:
            return ("ok", None, "")
        error, text = answer
        return ("error", error, text)

    def kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            try:
                if process.is_alive():
                    process.kill()
                process.join(5)
                process.close()
            except ValueError:  # closed meanwhile by the other side of a race with close()
                pass

    def close(self) -> None:
        """Asks the worker to exit, and kills it if it does not within a second."""
        process, conn = self._process, self._conn
        if process is not None and conn is not None and process.is_alive():
            try:
                conn.send_bytes(b"")
            except OSError:
                pass
            process.join(1)
        self.kill()


def pipeline_size(message: OwnedMessage) -> int:
    """About how many bytes `send_message` writes for `message`."""
    key, payload = message.key, message.payload
    size = 200 + (0 if key is None else len(key)) + (0 if payload is None else len(payload))
    return size + sum(len(name) + (0 if value is None else len(value)) for name, value in message.headers)


def default_context() -> BaseContext:
    # spawn: the parent has librdkafka's threads running, which fork() would not carry over.
    return multiprocessing.get_context("spawn")
