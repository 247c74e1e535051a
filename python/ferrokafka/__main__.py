"""``python -m ferrokafka``: the command-line tool of :mod:`ferrokafka.cli` (also installed as the
``ferrokafka`` console script): ``produce``, ``consume``, ``topics``, ``groups``, ``mock`` and
``demo`` (the borrowed/owned message model end to end on an embedded MockCluster, no broker).
"""

from __future__ import annotations

import sys

from ferrokafka.cli import demo, main

__all__ = ["demo", "main"]

if __name__ == "__main__":
    sys.exit(main())
