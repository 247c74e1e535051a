"""Blocking calls release the GIL and Ctrl-C (SIGINT) interrupts them within a fraction of a second."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import ferrokafka as fk

CALLS = {
    "poll": "consumer.poll()",
    "consume": "consumer.consume(10)",
    "iterate": "for _ in consumer: pass",
    "flush": "producer.flush()",
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_ctrl_c_interrupts_blocking_calls(mock_cluster, topic_name, call):
    script = textwrap.dedent(f"""
        import sys, time, ferrokafka as fk
        consumer = fk.Consumer({{"bootstrap.servers": {mock_cluster.bootstrap_servers!r}, "group.id": "sig"}})
        consumer.subscribe([{topic_name!r}])
        producer = fk.Producer({{"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 600000}})
        producer.produce("t", b"never delivered")
        print("ready", flush=True)
        try:
            {CALLS[call]}
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
        consumer.close(timeout=5)
        producer.close(timeout=0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # let it block inside native code
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    line = proc.stdout.readline().split()
    out, err = proc.communicate(timeout=30)
    assert line and line[0] == "interrupted", (line, out, err)
    latency = float(line[1]) - sent
    assert latency < 0.3, f"KeyboardInterrupt took {latency:.3f}s"
    assert proc.returncode == 0, err


def test_poll_releases_the_gil(mock_cluster, topic_name):
    with fk.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": "gil"}) as consumer:
        consumer.subscribe([topic_name])
        counter = 0
        stop = threading.Event()

        def spin() -> None:
            nonlocal counter
            while not stop.is_set():
                counter += 1

        thread = threading.Thread(target=spin)
        thread.start()
        consumer.poll(1.0)
        stop.set()
        thread.join()
    # With the GIL held for the whole second, the spinning thread would barely run.
    assert counter > 100_000
