"""``mock``: a mock cluster in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys

import ferrokafka as fk


def run(args: argparse.Namespace) -> int:
    # Block the signals before the cluster's threads exist (they inherit the mask): sigwait() below
    # then receives them on this thread, whichever thread the kernel picks.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        with fk.MockCluster(num_brokers=args.brokers) as cluster:
            for spec in args.topic:
                name, _, count = spec.rpartition(":") if ":" in spec else (spec, "", "")
                cluster.create_topic(name, int(count) if count else args.partitions)
            print(cluster.bootstrap_servers, flush=True)
            if not args.quiet:
                print(
                    f"% Mock cluster with {args.brokers} broker(s) running; Ctrl-C or SIGTERM stops it",
                    file=sys.stderr,
                    flush=True,
                )
            signal.sigwait(stop_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return 0


def _topic_spec(text: str) -> str:
    name, sep, count = text.rpartition(":")
    if sep and (not name or not count.isdigit() or int(count) < 1):
        raise argparse.ArgumentTypeError(f"expected name or name:partitions, got {text!r}")
    return text
