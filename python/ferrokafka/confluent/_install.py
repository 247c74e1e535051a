"""``install()``: makes ``import confluent_kafka`` (and its submodules) resolve to the drop-in in
this interpreter, as ``pymysql.install_as_MySQLdb()`` does for MySQLdb.

``sys.modules["confluent_kafka"]`` becomes ``ferrokafka.confluent``, and a meta-path finder
answers every ``confluent_kafka.X``:

- with the drop-in's ``ferrokafka.confluent.X`` when it has one (``admin``, ``aio``, ``cimpl``,
  ``serialization``, ``error``, ...): the same module object under both names;
- otherwise, when confluent-kafka is installed, with confluent-kafka's own pure-Python module
  ``X`` (``schema_registry``, ``avro``, ``kafkatest``, ...), loaded from its files under its own
  name, so that its ``from confluent_kafka import ...`` reach the drop-in. confluent-kafka's
  native extension (``cimpl``) is never loaded.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

NAME = "confluent_kafka"
OURS = "ferrokafka.confluent"
_lock = threading.Lock()


class _Alias(importlib.abc.Loader):
    """Loads ``confluent_kafka.X`` as the already importable ``ferrokafka.confluent.X``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system gave the module the alias's spec: it keeps its own.
        if self._spec is not None:
            module.__spec__ = self._spec


class _Finder(importlib.abc.MetaPathFinder):
    """The meta-path finder of ``confluent_kafka.*`` (see the module's docstring)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(NAME + "."):
            return None
        tail = fullname[len(NAME) :]
        ours = OURS + tail
        try:
            found = importlib.util.find_spec(ours)
        except ImportError:
            found = None
        if found is not None:
            return importlib.util.spec_from_loader(
                fullname, _Alias(ours), is_package=found.submodule_search_locations is not None
            )
        parent = fullname.rpartition(".")[0]
        if parent == NAME:
            locations = _real_locations()
        elif path is not None and not _is_ours(parent):
            locations = list(path)
        else:
            return None  # a module of one of the drop-in's packages that it does not have
        if not locations:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, locations)


def _is_ours(name: str) -> bool:
    module = sys.modules.get(name)
    return module is not None and getattr(module, "__name__", "").startswith(OURS)


def _real_locations() -> list[str]:
    """Where confluent-kafka's own package is installed, if it is."""
    spec = importlib.machinery.PathFinder.find_spec(NAME)
    if spec is None or spec.submodule_search_locations is None:
        return []
    return list(spec.submodule_search_locations)


_finder = _Finder()


def install() -> None:
    """Makes ``import confluent_kafka`` and ``import confluent_kafka.<submodule>`` give the drop-in
    in this interpreter; confluent-kafka's pure-Python parts (``confluent_kafka.schema_registry``,
    ...) come from confluent-kafka when it is installed too. Call it first thing, before anything
    imports ``confluent_kafka``: if confluent-kafka itself was imported already, ``RuntimeError``.
    Idempotent."""
    with _lock:
        ours = importlib.import_module(OURS)
        current = sys.modules.get(NAME)
        if current is not None and current is not ours:
            raise RuntimeError(
                "confluent_kafka was imported before ferrokafka.confluent.install(): call install() "
                "before anything imports confluent_kafka"
            )
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        sys.modules[NAME] = ours


def uninstall() -> None:
    """Undoes :func:`install`: ``confluent_kafka`` and its submodules are forgotten, so the next
    import finds confluent-kafka itself (if installed)."""
    with _lock:
        while _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        for name in list(sys.modules):
            if name == NAME or name.startswith(NAME + "."):
                del sys.modules[name]


def installed() -> bool:
    """Whether ``confluent_kafka`` is the drop-in in this interpreter."""
    module = sys.modules.get(NAME)
    return module is not None and module.__name__ == OURS
