"""The Rust crate's shape (docs/design/native-layer.md): its top-level modules depend on one another
without cycles, and `unsafe` code lives in the FFI modules only (the one exception: PyO3's buffer
slots of the message classes), with every other module forbidding it to the compiler. Read from the
sources; no build needed."""

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

# Every `unsafe` has moved into the FFI modules (the consumer's last, into native::consumer): no
# file outside them may have any, and each says `#![forbid(unsafe_code)]`.

# The message classes export their key and payload through the buffer protocol themselves (a
# memoryview's `obj` is the message), and PyO3 declares those slots `unsafe fn`: file -> the slots
# it has. Each such file says `#![deny(unsafe_code)]` (inherited from message/mod.rs), allows it on
# those slots alone, and their bodies are one call of `native::buffer`; nothing else may be unsafe.
PYO3_BUFFER_SLOTS = {
    "message/borrowed.rs": ("__getbuffer__", "__releasebuffer__"),
    "message/owned.rs": ("__getbuffer__",),
}
# The one module that says `deny` rather than `forbid`: its buffer-slot files need the `allow`.
DENY_FOR_BUFFER_SLOTS = "message/mod.rs"


def is_ffi(name: str) -> bool:
    return name in FFI_MODULES or name.startswith(FFI_DIRECTORIES)


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


# A buffer slot as the exception allows it: the `allow`, the PyO3 signature, and a body that is one
# `unsafe` call of `native::buffer` (after plain statements, which the compiler's `deny` keeps safe).
SLOT = re.compile(
    r"#\[allow\(unsafe_code\)\][^\n]*\n\s*unsafe fn (__getbuffer__|__releasebuffer__)\([^{]*\{"
    r"(?:(?!unsafe|\n    \})[\s\S])*unsafe \{\s*(?:crate::native::buffer::)?(?:export_own|export_shared|release_shared)\b"
    r"(?:(?!unsafe|\n    \})[\s\S])*\n    \}"
)


def slot_free_code(path: Path) -> tuple[str, list[str]]:
    """The file without comments and without its buffer slots, and the slots it has."""
    text = path.read_text()
    slots = SLOT.findall(text)
    return code_of_text(SLOT.sub("", text)), slots


def code_of_text(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def unsafe_count(path: Path) -> int:
    """How many times the keyword appears in the file's code (without comments and buffer slots)."""
    name = path.relative_to(SRC).as_posix()
    code = slot_free_code(path)[0] if name in PYO3_BUFFER_SLOTS else code_of(path)
    return len(re.findall(r"\bunsafe\b", code))


def unsafe_counts() -> dict[str, int]:
    counts = {}
    for path in rust_files():
        name = path.relative_to(SRC).as_posix()
        if is_ffi(name):
            continue
        count = unsafe_count(path)
        if count:
            counts[name] = count
    return counts


def test_unsafe_only_in_ffi_modules() -> None:
    counts = unsafe_counts()
    assert not counts, (
        f"`unsafe` outside the FFI modules (src/native/, src/ffi.rs, ...): {counts}; put it behind a safe reader there"
    )


def test_unsafe_counter_finds_unsafe() -> None:
    """The counter sees `unsafe` where it is (so that finding none outside the FFI modules means
    something), and not in comments."""
    assert unsafe_count(SRC / "native/consumer.rs") > 0
    assert "unsafe" in (SRC / "consumer/core.rs").read_text()  # in comments only
    assert unsafe_count(SRC / "consumer/core.rs") == 0


@pytest.mark.parametrize("name", sorted(PYO3_BUFFER_SLOTS) + [DENY_FOR_BUFFER_SLOTS])
def test_allowlisted_files_exist(name: str) -> None:
    assert (SRC / name).is_file()


@pytest.mark.parametrize("name", sorted(PYO3_BUFFER_SLOTS))
def test_buffer_slots_are_the_only_exception(name: str) -> None:
    """Each message class's buffer slots are found (so that they are what is left out of the count),
    and nothing else in its file is allowed `unsafe_code`."""
    text = (SRC / name).read_text()
    assert tuple(slot_free_code(SRC / name)[1]) == PYO3_BUFFER_SLOTS[name]
    assert text.count("#[allow(unsafe_code)]") == len(PYO3_BUFFER_SLOTS[name])
    assert "#![allow(unsafe_code)]" not in text


def test_slot_pattern_rejects_more_than_one_call() -> None:
    good = (
        "    #[allow(unsafe_code)] // PyO3\n"
        "    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {\n"
        "        // SAFETY: ...\n"
        "        unsafe { release_shared::<NativeMessage>(view) }\n"
        "    }\n"
    )
    assert SLOT.findall(good) == ["__releasebuffer__"]
    smuggled = good.replace("        unsafe { release", "        unsafe { drop_it(view) };\n        unsafe { release")
    assert SLOT.findall(smuggled) == []
    other = good.replace("release_shared", "std::ptr::read")
    assert SLOT.findall(other) == []


def test_safe_modules_say_so() -> None:
    """Every module outside the FFI layer tells the compiler it has no `unsafe` code, with `forbid`,
    which no `allow` below can lift, so that none comes back unnoticed; `deny` only in
    message/mod.rs, whose buffer-slot files allow it on those slots alone."""
    missing = []
    for path in rust_files():
        name = path.relative_to(SRC).as_posix()
        if is_ffi(name) or name == "lib.rs":
            continue
        text = path.read_text()
        if name in PYO3_BUFFER_SLOTS:
            continue  # `deny` inherited from message/mod.rs, checked by test_buffer_slots_are_the_only_exception
        wanted = "#![deny(unsafe_code)]" if name == DENY_FOR_BUFFER_SLOTS else "#![forbid(unsafe_code)]"
        if wanted not in text:
            missing.append(name)
    assert not missing, f"add #![forbid(unsafe_code)] to {missing}"


def test_no_allow_outside_ffi_modules() -> None:
    """No `allow(unsafe_code)` outside the FFI layer but on the buffer slots (counted in
    test_buffer_slots_are_the_only_exception)."""
    allows = [
        path.relative_to(SRC).as_posix()
        for path in rust_files()
        if not is_ffi(path.relative_to(SRC).as_posix())
        and path.relative_to(SRC).as_posix() not in PYO3_BUFFER_SLOTS
        and "allow(unsafe_code)" in code_of(path)
    ]
    assert not allows, f"no allow(unsafe_code) in {allows}"


def test_buffer_slot_files_inherit_deny() -> None:
    assert "#![deny(unsafe_code)]" in (SRC / "message/mod.rs").read_text()


def test_moved_modules_forbid_unsafe() -> None:
    """The modules whose `unsafe` moved into the FFI layer say `forbid`, which no `allow` below can
    lift, so that none comes back (a `deny` parent with an `allow` on a child would let it)."""
    moved = [
        "admin/mod.rs",
        "admin/request.rs",
        "producer/mod.rs",
        "producer/core.rs",
        "producer/batch.rs",
        "consumer/mod.rs",
        "consumer/core.rs",
        "consumer/loop_request.rs",
    ]
    lax = [name for name in moved if "#![forbid(unsafe_code)]" not in (SRC / name).read_text()]
    assert not lax, f"say #![forbid(unsafe_code)] in {lax}"
    allows = [name for name in moved if "allow(unsafe_code)" in (SRC / name).read_text()]
    assert not allows, f"no allow(unsafe_code) in {allows}"
