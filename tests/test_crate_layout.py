"""The Rust crate's shape (docs/design/native-layer.md): its top-level modules depend on one another
without cycles, and `unsafe` code lives in the FFI modules only, with an explicit list of what has
not moved there yet, which may only shrink. Read from the sources; no build needed."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

# The modules whose job is FFI: every librdkafka call and every `unsafe` block belongs here. `ffi`
# holds the raw declarations and owning pointers, below `errors`; `native` the safe readers, above
# the types they return.
FFI_MODULES = {"ffi.rs", "librdkafka_fixes.rs", "platform.rs"}
FFI_DIRECTORIES = ("ffi/", "native/")

# `unsafe` still outside the FFI modules: file -> how many times the keyword appears. A file that
# loses its `unsafe` code must leave this list (and may then say `#![forbid(unsafe_code)]`), and no
# file may join it or grow.
UNSAFE_NOT_MOVED_YET = {
    "admin/request.rs": 2,
    "consumer/core.rs": 13,
    "consumer/native.rs": 57,
    "message/borrowed.rs": 21,
    "message/mod.rs": 4,
    "message/owned.rs": 4,
    "producer/batch.rs": 3,
    "producer/core.rs": 8,
    "producer/mod.rs": 2,
}


def rust_files() -> list[Path]:
    return sorted(SRC.rglob("*.rs"))


def code_of(path: Path) -> str:
    """The file without its line and doc comments."""
    return re.sub(r"//[^\n]*", "", path.read_text())


def module_of(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0].removesuffix(".rs")


def top_level_modules() -> set[str]:
    return {module_of(path) for path in rust_files()} - {"lib"}


def module_edges() -> dict[str, set[str]]:
    """`crate::<module>` references (in `use` lines, nested `use crate::{...}` groups and paths)."""
    modules = top_level_modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for path in rust_files():
        me = module_of(path)
        code = code_of(path)
        targets = set(re.findall(r"\bcrate::(\w+)", code))
        for group in re.findall(r"\buse\s+crate::\{(.*?)\};", code, flags=re.S):
            # Only the first segment of each path at the top level of the group.
            depth, token, firsts = 0, "", []
            for char in group + ",":
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
                elif char == "," and depth == 0:
                    firsts.append(token.strip().split("::")[0])
                    token = ""
                    continue
                if depth == 0 and char not in "{}":
                    token += char
            targets.update(firsts)
        edges[me].update(target for target in targets if target in modules and target != me)
    return edges


def cycle_edges(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Edges whose target reaches back to their source."""
    return {(a, b) for a, targets in edges.items() for b in targets if reaches(edges, b, a)}


def reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def test_module_edges_are_found() -> None:
    edges = module_edges()
    # A few edges known to be there, so that a parser that finds nothing cannot pass.
    assert "errors" in edges["consumer"]
    assert "topic_partition" in edges["admin"]


def test_no_cycles_between_modules() -> None:
    in_cycles = cycle_edges(module_edges())
    assert not in_cycles, f"dependency cycles through {sorted(in_cycles)}: move the shared type down into a leaf module"


def test_cycle_finder_finds_cycles() -> None:
    assert cycle_edges({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {("a", "b"), ("b", "c"), ("c", "a")}
    assert cycle_edges({"a": {"b"}, "b": {"c"}}) == set()


def unsafe_counts() -> dict[str, int]:
    counts = {}
    for path in rust_files():
        name = path.relative_to(SRC).as_posix()
        if name in FFI_MODULES or name.startswith(FFI_DIRECTORIES):
            continue
        count = len(re.findall(r"\bunsafe\b", code_of(path)))
        if count:
            counts[name] = count
    return counts


def test_unsafe_only_in_ffi_modules() -> None:
    counts = unsafe_counts()
    grown = {name: count for name, count in counts.items() if count > UNSAFE_NOT_MOVED_YET.get(name, 0)}
    assert not grown, f"`unsafe` outside the FFI modules (src/ffi*): {grown}; put it behind a safe reader there"


def test_unsafe_allowlist_shrinks() -> None:
    counts = unsafe_counts()
    stale = {name: (allowed, counts.get(name, 0)) for name, allowed in UNSAFE_NOT_MOVED_YET.items()}
    stale = {name: pair for name, pair in stale.items() if pair[0] != pair[1]}
    assert not stale, f"update UNSAFE_NOT_MOVED_YET (allowed, found): {stale}"


@pytest.mark.parametrize("name", sorted(UNSAFE_NOT_MOVED_YET))
def test_allowlisted_files_exist(name: str) -> None:
    assert (SRC / name).is_file()


def test_safe_modules_say_so() -> None:
    """A module with no `unsafe` code tells the compiler, so that none comes back unnoticed
    (`deny` where a submodule not moved yet needs an `allow`)."""
    missing = []
    for path in rust_files():
        name = path.relative_to(SRC).as_posix()
        if name in FFI_MODULES or name.startswith(FFI_DIRECTORIES) or name in UNSAFE_NOT_MOVED_YET or name == "lib.rs":
            continue
        text = path.read_text()
        if "#![forbid(unsafe_code)]" not in text and "#![deny(unsafe_code)]" not in text:
            missing.append(name)
    assert not missing, f"add #![forbid(unsafe_code)] to {missing}"
