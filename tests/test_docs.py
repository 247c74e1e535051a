"""The documentation is tested, so that it cannot rot.

- The site (``mkdocs.yml``, ``docs/``, the API reference generated from the docstrings and stubs)
  builds with ``mkdocs build --strict``: a broken link, a missing page or a docstring that cannot be
  rendered is an error.
- Every ```` ```python ```` block of ``README.md``, ``CONTRIBUTING.md`` and ``docs/**/*.md`` runs,
  each in a subprocess with a timeout. A block runs as it is unless an HTML comment on the line just before its fence
  says otherwise (invisible on GitHub and on the site); CONTRIBUTING.md describes the convention:

  ``<!-- docs-test: setup=mock -->``
      runs after a prelude (``MOCK_PRELUDE``) that defines ``fk``, ``cluster`` (a ``MockCluster``),
      ``bootstrap``, a ``producer`` and a ``consumer`` assigned to the topic ``events``, which
      holds ten messages: for fragments that use clients made elsewhere.
  ``<!-- docs-test: setup=broker -->``
      the same names against a real Kafka broker (the ``kafka_bootstrap`` fixture): for admin
      calls, which librdkafka's mock cluster does not serve.
  ``<!-- docs-test: setup=schema-registry -->``
      the mock prelude, plus confluent-kafka's in-memory Schema Registry answering for
      ``SchemaRegistryClient`` whatever URL the example names, and ``user_schema_str`` (an Avro
      record schema): for the serializer examples.
  ``<!-- docs-test: continue -->``
      runs after the blocks before it in the same file (up to the last block without this marker):
      a tutorial told in several blocks.
  ``<!-- docs-test: configs -->``
      a block that defines client configs for real services (Confluent Cloud, MSK, ...): it runs,
      then every dict it defines that has ``bootstrap.servers`` is given to ``Producer`` with the
      bootstrap servers of a mock cluster, and closed. Every property name and value is checked by
      librdkafka; only errors about files that do not exist here (CA, keys, keytab) are accepted.
      Imports of cloud helper packages are served by stand-ins (``STAND_INS``): nothing reaches
      the network.
  ``<!-- docs-test: skip -- REASON -->``
      not run. The reason is required, and ``MAX_OPT_OUTS`` caps how many blocks may opt out.

  A block that defines ``test_*`` functions at top level is a pytest module: it runs under pytest
  (ferrokafka's plugin provides ``kafka_cluster``).
- The layout page (``docs/design/layout.md``) lists every module of ``src/`` and
  ``python/ferrokafka/``, one line each, and nothing that is gone.
- The migration guide (``docs/migration.md``) names every public class and method of
  confluent-kafka (found by introspection of the installed package), with its ferrokafka
  equivalent, which must exist, or "not yet", which must still be true.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ferrokafka as fk
import ferrokafka.aio
import ferrokafka.serialization
import ferrokafka.testing

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MAX_OPT_OUTS = 2
BLOCK_TIMEOUT = 60.0

MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<what>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent> {0,3})```(?P<lang>[\w+-]*)\s*$")

MOCK_PRELUDE = """
import ferrokafka as fk
cluster = fk.MockCluster()
bootstrap = cluster.bootstrap_servers
cluster.create_topic("events", partitions=1)
producer = fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
for _i in range(10):
    producer.produce("events", b"payload %d" % _i, key=b"key-%d" % _i)
assert producer.flush(10) == 0
consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "docs", "enable.auto.commit": False})
consumer.assign([fk.TopicPartition("events", 0, fk.OFFSET_BEGINNING)])
"""

# `setup=schema-registry`: the mock prelude, plus confluent-kafka's in-memory Schema Registry behind
# `confluent_kafka.schema_registry.SchemaRegistryClient` (whatever URL the example names), and an
# Avro schema in `user_schema_str`.
SCHEMA_REGISTRY_PRELUDE = """
import confluent_kafka.schema_registry as _registry
_mock_registry = _registry.SchemaRegistryClient.new_client({"url": "mock://docs"})
_registry.SchemaRegistryClient = lambda conf: _mock_registry
user_schema_str = '{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}'
"""

BROKER_PRELUDE = """
import os, time, uuid
import ferrokafka as fk
bootstrap = os.environ["DOCS_TEST_BOOTSTRAP"]
with fk.AdminClient({"bootstrap.servers": bootstrap}) as _admin:  # a fresh "events" for the example
    try:
        _admin.delete_topics(["events"]).result(30)
    except fk.KafkaError as _err:
        assert _err.code() == fk.KafkaError.UNKNOWN_TOPIC_OR_PART, _err
    for _ in range(100):
        try:
            _admin.describe_configs("topic", "events").result(30)
        except fk.KafkaError:
            break
        time.sleep(0.1)
# A broker that just started loads its group coordinators for a few seconds: an admin request for a
# group then fails (COORDINATOR_LOAD_IN_PROGRESS) or, through a librdkafka bug (confluentinc/
# librdkafka#5040: ListConsumerGroupOffsets dereferences a NULL consumer group on NOT_COORDINATOR or
# COORDINATOR_LOAD_IN_PROGRESS), crashes the process. The examples' group is asked once through a
# consumer until its coordinator answers, before the example runs.
with fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "demo"}) as _warm:
    for _ in range(300):
        try:
            _warm.committed([fk.TopicPartition("docs-warm-up", 0)], timeout=30)
            break
        except fk.KafkaError as _err:
            assert _err.retriable(), _err
            time.sleep(0.1)
producer = fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "docs-" + uuid.uuid4().hex,
                        "enable.auto.commit": False})
"""

EPILOGUE = """
for _client in ("consumer", "producer", "cluster"):
    if _client in globals():
        globals()[_client].close()
"""

# `configs` blocks: after the block, every config it defined is built (not connected) on a mock
# cluster. A file the example names that this machine lacks (a CA, a key, a keytab) is the only
# error accepted: that property is left out and the rest of the config is built again.
CONFIGS_EPILOGUE = """
import re as _re
import ferrokafka as _fk
with _fk.MockCluster() as _cluster:
    _checked = 0
    for _name, _value in list(globals().items()):
        if not isinstance(_value, dict) or "bootstrap.servers" not in _value:
            continue
        _config = _value | {"bootstrap.servers": _cluster.bootstrap_servers}
        _left_out = []
        while True:
            try:
                _fk.Producer(_config).close(0)
                break
            except _fk.ConfigError as _err:
                _missing = _re.match(r'configuration property "([^"]+)": no such file', str(_err))
                if _missing and _missing[1] in _config:
                    _left_out.append(_missing[1])
                    del _config[_missing[1]]
                elif any(f'"{_key}"' in str(_err) for _key in _left_out):
                    break  # the property left out is required (e.g. GSSAPI's keytab): checked this far
                else:
                    raise AssertionError(f"config {_name!r}: {_err}") from _err
        _checked += 1
    assert _checked, "a configs block defines no config"
    print("configs checked:", _checked)
"""

# Stand-ins for packages that examples import to reach a cloud service: same names, no network.
STAND_INS = {
    "aws_msk_iam_sasl_signer/__init__.py": '''
class MSKAuthTokenProvider:
    """Stand-in of aws-msk-iam-sasl-signer-python for the docs tests: a fixed token, no AWS call."""

    @staticmethod
    def generate_auth_token(region):
        import time
        return "docs-test-token-" + region, (time.time() + 900) * 1000
''',
}


@dataclasses.dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    code: str
    marker: str  # "" or the marker's text
    chain: list[str]  # code of the blocks this one continues
    setup: str  # the marker of the first block of the chain (a continued block keeps its setup)

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]


def python_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    chain: list[str] = []
    setup = ""
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i
        indent = len(fence["indent"])
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^ {0,3}```\s*$", lines[i]):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        if fence["lang"] != "python":
            continue
        marker_match = MARKER.match(lines[start - 1]) if start > 0 else None
        marker = marker_match["what"] if marker_match else ""
        code = "\n".join(body) + "\n"
        if marker != "continue":
            chain = []
            setup = marker
        blocks.append(Block(path, start + 1, code, marker, list(chain), setup))
        chain.append(code)
    return blocks


ALL_BLOCKS = [block for path in doc_files() for block in python_blocks(path)]
KNOWN_MARKERS = re.compile(r"^(|setup=mock|setup=schema-registry|setup=broker|continue|configs|skip -- \S.*)$")


def test_markers_are_known_and_opt_outs_few() -> None:
    unknown = [(b.id, b.marker) for b in ALL_BLOCKS if not KNOWN_MARKERS.match(b.marker)]
    assert not unknown, f"unknown docs-test markers (see tests/test_docs.py): {unknown}"
    skipped = [b.id for b in ALL_BLOCKS if b.marker.startswith("skip")]
    assert len(skipped) <= MAX_OPT_OUTS, f"too many blocks opt out of running: {skipped}"
    for path in doc_files():  # a marker not directly above a python fence is a mistake
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if MARKER.match(line):
                assert n + 1 < len(lines) and lines[n + 1].strip() == "```python", (
                    f"{path.relative_to(ROOT)}:{n + 1}: a docs-test marker must be directly above a ```python fence"
                )
    assert len(ALL_BLOCKS) >= 20, "the docs lost their examples?"


def _run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    __tracebackhide__ = True
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{what} did not finish in {BLOCK_TIMEOUT} s\nstdout:\n{err.stdout}\nstderr:\n{err.stderr}")
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode})\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, id=b.id, marks=[pytest.mark.broker] if b.setup == "setup=broker" else []) for b in ALL_BLOCKS],
)
def test_code_block_runs(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if block.setup.startswith("skip"):  # also a block that continues one that opts out
        pytest.skip(f"{block.id} opts out: {block.setup.removeprefix('skip -- ')}")
    # The stand-ins first, then the PYTHONPATH this run was given (a worktree's package, say).
    python_path = os.pathsep.join(filter(None, [str(tmp_path / "stand_ins"), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=python_path, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    for name, text in STAND_INS.items():
        stand_in = tmp_path / "stand_ins" / name
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text(textwrap.dedent(text))
    code = "".join(block.chain) + block.code
    where = f"the example at {block.id}"
    if re.search(r"^def test_\w+\(", code, re.M):
        (tmp_path / "test_example.py").write_text(code)
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"]
        _run(args, tmp_path, env, where)
        return
    if block.setup == "setup=mock":
        code = MOCK_PRELUDE + code + EPILOGUE
    elif block.setup == "setup=schema-registry":
        code = MOCK_PRELUDE + SCHEMA_REGISTRY_PRELUDE + code + EPILOGUE
    elif block.setup == "setup=broker":
        env["DOCS_TEST_BOOTSTRAP"] = request.getfixturevalue("kafka_bootstrap")
        code = BROKER_PRELUDE + code + EPILOGUE
    elif block.setup == "configs":
        code = code + CONFIGS_EPILOGUE
    (tmp_path / "example.py").write_text(code)
    _run([sys.executable, "example.py"], tmp_path, env, where)


def test_site_builds_strict(tmp_path: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    args = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")]
    _run(args, ROOT, env, "mkdocs build --strict")
    reference = (tmp_path / "site" / "reference" / "consumer" / "index.html").read_text()
    assert "consume_batch" in reference and "lending" in reference, "the API reference lost the stubs' docstrings"


# --- the layout page ----------------------------------------------------------------------------

LAYOUT = DOCS / "design" / "layout.md"
LAYOUT_ROW = re.compile(r"^\| `(?P<path>(?:src|python/ferrokafka)/[^`]+)` \|", re.M)


def _modules() -> set[str]:
    """Every module of the native crate and of the Python package, as paths from the root."""
    rust = (ROOT / "src").rglob("*.rs")
    python = [p for p in (ROOT / "python" / "ferrokafka").rglob("*") if p.suffix in (".py", ".pyi")]
    return {p.relative_to(ROOT).as_posix() for p in [*rust, *python] if "__pycache__" not in p.parts}


def test_layout_page_lists_every_module() -> None:
    listed = LAYOUT_ROW.findall(LAYOUT.read_text(encoding="utf-8"))
    assert len(listed) == len(set(listed)), f"docs/design/layout.md lists a module twice: {sorted(listed)}"
    modules = _modules()
    problems = []
    if missing := sorted(modules - set(listed)):
        problems.append(f"modules that docs/design/layout.md does not list (add a line each): {missing}")
    if gone := sorted(set(listed) - modules):
        problems.append(f"docs/design/layout.md lists modules that do not exist (remove or rename): {gone}")
    assert not problems, "\n".join(problems)


# --- the migration guide ------------------------------------------------------------------------

MIGRATION = DOCS / "migration.md"
ROW = re.compile(r"^\| `(?P<name>\w+)(?:\(.*?\))?` \| (?P<equivalent>[^|]*?) \|")


def _confluent_classes() -> dict[str, tuple[object, list[object]]]:
    """Section heading in docs/migration.md (after `confluent_kafka.`) -> (confluent-kafka class or
    module, the ferrokafka objects that would have a name marked "not yet" once it arrives)."""
    import confluent_kafka
    import confluent_kafka.admin
    import confluent_kafka.aio

    return {
        "Consumer": (confluent_kafka.Consumer, [fk.Consumer]),
        "Producer": (confluent_kafka.Producer, [fk.Producer]),
        "admin.AdminClient": (confluent_kafka.admin.AdminClient, [fk.AdminClient]),
        "Message": (confluent_kafka.Message, [fk.BorrowedMessage, fk.OwnedMessage]),
        "KafkaError": (confluent_kafka.KafkaError, [fk.KafkaError]),
        "KafkaException": (confluent_kafka.KafkaException, [fk.KafkaException]),
        "TopicPartition": (confluent_kafka.TopicPartition, [fk.TopicPartition]),
        "aio.AIOConsumer": (confluent_kafka.aio.AIOConsumer, [ferrokafka.aio.AIOConsumer]),
        "aio.AIOProducer": (confluent_kafka.aio.AIOProducer, [ferrokafka.aio.AIOProducer]),
        # The modules' own public names: classes, functions, constants.
        "*": (confluent_kafka, [fk]),
        "admin.*": (confluent_kafka.admin, [fk]),
        "aio.*": (confluent_kafka.aio, [ferrokafka.aio]),
    }


def _public_names(owner: object) -> set[str]:
    import confluent_kafka

    names = {n for n in dir(owner) if not n.startswith("_")}
    if isinstance(owner, type(confluent_kafka)):  # a module: what it defines, not what it imports
        names = {
            n
            for n in names
            if not isinstance(getattr(owner, n), type(confluent_kafka))
            and (owner is confluent_kafka or getattr(owner, n) is not getattr(confluent_kafka, n, None))
            and getattr(getattr(owner, n), "__module__", None) not in ("typing", "builtins")
        }
    elif isinstance(owner, type) and issubclass(owner, BaseException):
        names -= set(dir(BaseException))
    if owner is confluent_kafka.KafkaError:  # the error-code constants are one row: "every code constant"
        names = {n for n in names if not n.isupper()}
    return names


def _guide_sections() -> dict[str, dict[str, str]]:
    """`## ...` / `### confluent_kafka.X` heading -> {row name: equivalent cell}."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in MIGRATION.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{2,3} `confluent_kafka\.(?P<name>[\w.*]+)`", line)
        if heading:
            current = sections.setdefault(heading["name"], {})
            continue
        if line.startswith("#"):
            current = None
            continue
        row = ROW.match(line)
        if row and current is not None:
            current[row["name"]] = row["equivalent"].strip()
    return sections


def _resolve(dotted: str) -> object:
    """`Consumer.poll` or `aio.AIOConsumer.poll` or `testing.KafkaCluster` in ferrokafka's namespace."""
    obj: object = fk
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_migration_guide_covers_confluent_kafka() -> None:
    sections = _guide_sections()
    missing: list[str] = []
    for heading, (owner, _) in _confluent_classes().items():
        rows = sections.get(heading, {})
        missing += [f"{heading}.{name}" for name in sorted(_public_names(owner) - set(rows))]
    assert not missing, f"docs/migration.md does not say what became of: {missing}"


def test_migration_guide_equivalents_exist() -> None:
    wrong: list[str] = []
    not_yet_but_there: list[str] = []
    owners = _confluent_classes()
    for heading, rows in _guide_sections().items():
        counterparts = owners[heading][1] if heading in owners else []
        for name, equivalent in rows.items():
            if not equivalent:
                wrong.append(f"{heading}.{name}: empty equivalent")
            elif equivalent.startswith("not yet"):
                if any(hasattr(c, name) for c in counterparts):
                    not_yet_but_there.append(f"{heading}.{name}")
            else:
                named = re.match(r"^`(?:fk\.|ferrokafka\.)?(?P<dotted>[A-Za-z_][\w.]*)", equivalent)
                # Names of ferrokafka's classes and functions are checked; prose and `err.code` are not.
                if named and (
                    named["dotted"][0].isupper() or named["dotted"].startswith(("aio.", "testing.", "serialization."))
                ):
                    try:
                        _resolve(named["dotted"].rstrip("."))
                    except AttributeError:
                        wrong.append(f"{heading}.{name}: {named['dotted']} does not exist")
    problems = []
    if wrong:
        problems.append(f"docs/migration.md names equivalents that do not exist: {wrong}")
    if not_yet_but_there:
        problems.append(
            f"ferrokafka now has {not_yet_but_there}: docs/migration.md still says 'not yet' on their lines; "
            "replace 'not yet' with the equivalent"
        )
    assert not problems, "\n".join(problems)
