"""ferrokafka.confluent's clients and the interpreter: Ctrl-C in a poll() without timeout, clients
collected in a reference cycle while their callbacks fire, and clients still open (or in a cycle)
at interpreter exit, which go quietly as confluent-kafka's do. Each in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dropin_helpers import run_script

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("module", ["confluent_kafka", "ferrokafka.confluent"])
@pytest.mark.parametrize(
    "make",
    [
        "Producer({'bootstrap.servers': '127.0.0.1:1'})",
        "Consumer({'bootstrap.servers': '127.0.0.1:1', 'group.id': 'g'})",
        "admin.AdminClient({'bootstrap.servers': '127.0.0.1:1'})",
    ],
    ids=["Producer", "Consumer", "AdminClient"],
)
def test_a_client_left_open_until_interpreter_exit_gives_no_resource_warning(module, make):
    # A client kept in a module global (as frameworks and applications keep theirs) is let go at
    # interpreter exit; confluent-kafka says nothing then, even under -X dev.
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", f"import {module} as ck\nfrom {module} import admin\nclient = ck.{make}\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr


def test_ctrl_c_interrupts_a_producer_poll_forever():
    result = run_script(
        """
        import os, signal, threading, time
        import ferrokafka.confluent as fc
        p = fc.Producer({"bootstrap.servers": "127.0.0.1:1"})
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            p.poll(-1)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - started < 5)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "interrupted True"


def test_ctrl_c_interrupts_a_consumer_poll_forever():
    result = run_script(
        """
        import os, signal, threading, time
        import ferrokafka.confluent as fc
        c = fc.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g"})
        c.subscribe(["t"])
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            c.poll(-1)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - started < 5)
        c.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "interrupted True"


def test_clients_collected_in_a_reference_cycle_while_their_callbacks_fire_do_not_crash():
    """ferrokafka's threads call a client's callbacks while the garbage collector clears the cycle
    that holds it (a failed test's traceback, say): the drop-in's callback objects must stay safe
    to call once cleared (a cleared functools.partial crashed the interpreter)."""
    result = run_script(
        """
        import gc, logging, time
        from io import StringIO
        import ferrokafka.confluent as fc
        from ferrokafka.confluent import admin
        for round in range(10):
            logger = logging.getLogger("cycle%d" % round)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(logging.StreamHandler(StringIO()))
            p = fc.Producer({"bootstrap.servers": "test", "logger": logger, "debug": "msg"})
            p.flush(0.2)
            cycle = [p]
            cycle.append(cycle)
            a = admin.AdminClient({"bootstrap.servers": "test", "logger": logger, "debug": "admin"})
            a.poll(0)
            del p, cycle, a
            for _ in range(20):
                gc.collect()
                time.sleep(0.005)
        print("survived")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "survived"


def test_clients_left_in_a_reference_cycle_at_exit_go_quietly():
    """A drop-in client never closed and still in a reference cycle when the interpreter exits
    is let go without an "Exception ignored" (the warnings module is gone by then)."""
    result = run_script(
        """
        import logging
        import ferrokafka.confluent as fc
        from ferrokafka.confluent import admin
        logger = logging.getLogger("exit")
        a = admin.AdminClient({"bootstrap.servers": "test", "logger": logger})
        p = fc.Producer({"bootstrap.servers": "test", "logger": logger})
        c = fc.Consumer({"bootstrap.servers": "test", "group.id": "g", "logger": logger})
        cycle = [a, p, c]
        cycle.append(cycle)
        print("exiting")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "exiting"
    assert "Exception ignored" not in result.stderr, result.stderr[-2000:]
