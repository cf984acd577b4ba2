"""Fuzzing the readers of outside text: the config file, /proc files, py-spy's thread dumps.

Each reader promises one kind of failure, and these tests hold it to that on anything:
`loads_config` never raises (problems are reported, settings stay valid), the procfs parsers
raise only ValueError (their callers skip the row), and `parse_dump` raises only ProfilerError
(the thread dump dialog shows its one line). Inputs are random text and, more usefully,
well-formed inputs cut short, nested deep or with one value swapped for something else.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from perftop.config import (
    MAX_DELAY_S,
    MAX_HISTORY,
    MAX_RATE_HZ,
    MIN_DELAY_S,
    MIN_HISTORY,
    MIN_RATE_HZ,
    Config,
    Problem,
    loads_config,
)
from perftop.formats.snapshot import dumps_snapshot
from perftop.model.frames import Frame
from perftop.profiling.backend import ProfilerError, ThreadStack
from perftop.profiling.pyspy_cli import parse_dump
from perftop.system import procfs
from perftop.system.processes import SortKey
from tests.unit.test_snapshot_format import make_snapshot

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mangled(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid text, then cut short, or with a slice replaced by random characters."""
    text = draw(valid)
    how = draw(st.sampled_from(["as is", "cut", "splice"]))
    if how == "as is" or not text:
        return text
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at]
    end = draw(st.integers(at, min(len(text), at + 8)))
    return text[:at] + draw(st.text(max_size=8)) + text[end:]


# --- config.loads_config: never raises ------------------------------------------------------

SECTIONS = ["display", "processes", "profiler", "keys", "other"]
KEYS = [
    "refresh", "history", "theme", "export_dir", "columns", "sort", "reverse", "tree",
    "cpu_per_core", "rate", "nonblocking", "quit", "unknown",
]  # fmt: skip
SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: (
            "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf") if math.isinf(f) else repr(f)
        )
    ),
    st.sampled_from(["true", "false", '"cpu"', '"CPU%"', '"READ/s"', '"f5,t"', '""', "1979-05-27"]),
    st.text(max_size=12).map(json.dumps),  # a basic string, escapes and all
    st.integers(4300, 5000).map(lambda n: "1" * n),  # past Python's int-conversion limit
    st.integers(1, 1500).map(lambda n: "[" * n + "]" * n),  # deeper than recursion allows
    st.integers(1, 1500).map(lambda n: "{a=" * n + "1" + "}" * n),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k} = {v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=6,
)


@st.composite
def toml_texts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        lines.append(f"[{draw(st.sampled_from(SECTIONS))}]")
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"{draw(st.sampled_from(KEYS))} = {draw(VALUES)}")
    return "\n".join(lines)


def check_config(config: Config, problems: list[Problem]) -> None:
    """Whatever the text, what reaches the settings is valid, and every problem is a line."""
    assert isinstance(config, Config)
    assert MIN_DELAY_S <= config.delay_s <= MAX_DELAY_S and isinstance(config.delay_s, float)
    assert MIN_HISTORY <= config.history_len <= MAX_HISTORY
    assert MIN_RATE_HZ <= config.rate_hz <= MAX_RATE_HZ and type(config.rate_hz) is int
    assert config.columns and all(isinstance(c, SortKey) for c in config.columns)
    assert len(set(config.columns)) == len(config.columns)
    assert isinstance(config.sort, SortKey)
    assert config.reverse in (None, True, False)
    for flag in (config.tree, config.cpu_per_core, config.nonblocking):
        assert type(flag) is bool
    assert isinstance(config.theme, str) and isinstance(config.export_dir, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in config.keys.items())
    for problem in problems:
        assert isinstance(problem, Problem)
        assert str(problem).startswith("f.toml") and problem.message


@FUZZ
@given(st.one_of(st.text(), mangled(toml_texts()), toml_texts()))
@example("a = " + "[" * 5000 + "]" * 5000)  # RecursionError out of tomllib, once
@example("[display]\nrefresh = 1" + "0" * 5000)  # ValueError out of int(), once
def test_loads_config_never_raises(text: str) -> None:
    config, problems = loads_config(text, "f.toml")
    check_config(config, problems)


def test_loads_config_reports_what_tomllib_cannot_convert() -> None:
    _config, (problem,) = loads_config("a = " + "[" * 5000 + "]" * 5000, "f.toml")
    assert str(problem) == "f.toml: values nested too deeply"
    _config, (problem,) = loads_config("[profiler]\nrate = 1" + "0" * 5000, "f.toml")
    assert str(problem).startswith("f.toml: Exceeds the limit (4300 digits)")


# --- the procfs parsers: ValueError or a result ---------------------------------------------

STAT = (
    b"42 (py thon) R 7 42 42 0 -1 4194560 1200 0 3 0 110 40 0 0 20 0 3 0 90000 "
    b"123456789 3300 18446744073709551615 1 1 0 0 0 0 0 16781312 0 0 0 17 3 0 0 0 0 0\n"
)
IO = (
    b"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 512\nwrite_bytes: 1024\n"
    b"cancelled_write_bytes: 0\n"
)
BYTE_TEXTS = st.one_of(
    st.binary(max_size=300),
    mangled(st.just(STAT.decode())).map(lambda t: t.encode("utf-8", "surrogatepass")),
    mangled(st.just(IO.decode())).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(BYTE_TEXTS)
@example(STAT[: STAT.index(b")") + 30])  # cut short after the name: IndexError, once
@example(b"1 (x)")
def test_parse_stat_raises_only_value_error(data: bytes) -> None:
    try:
        stat = procfs.parse_stat(data)
    except ValueError:
        return
    assert isinstance(stat, procfs.StatFields)
    assert all(isinstance(n, int) for n in stat[2:])  # the numbers are numbers


@FUZZ
@given(BYTE_TEXTS)
def test_parse_io_raises_only_value_error(data: bytes) -> None:
    try:
        read, write = procfs.parse_io(data)
    except ValueError:
        return
    assert isinstance(read, int) and isinstance(write, int)


def test_parse_stat_cut_anywhere_after_the_name_is_a_value_error() -> None:
    assert procfs.parse_stat(STAT).rss_pages == 3300
    rss = STAT.index(b" 3300 ") + 1  # rss is the last field it reads
    for cut in range(STAT.index(b")"), rss):
        with pytest.raises(ValueError):
            procfs.parse_stat(STAT[:cut])
    assert procfs.parse_stat(STAT[: rss + 4]).rss_pages == 3300


@pytest.fixture(scope="module")
def proc_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="perftop-fuzz-proc-") as root:
        (Path(root) / "42").mkdir()
        yield Path(root)


@FUZZ
@given(stat=BYTE_TEXTS, machine=st.binary(max_size=200), meminfo=st.binary(max_size=200))
def test_proc_file_readers_never_raise(
    proc_root: Path, stat: bytes, machine: bytes, meminfo: bytes
) -> None:
    (proc_root / "42" / "stat").write_bytes(stat)
    (proc_root / "42" / "cmdline").write_bytes(stat)
    (proc_root / "stat").write_bytes(machine)
    (proc_root / "meminfo").write_bytes(meminfo)
    root = str(proc_root)
    start = procfs.read_start_time(42, root)
    assert start is None or isinstance(start, float)
    boot = procfs.read_boot_time(root)
    assert boot is None or isinstance(boot, float)
    assert isinstance(procfs.read_mem_total(root), int)
    assert isinstance(procfs.read_cmdline(root, 42), str)


# --- parse_dump: ProfilerError or thread stacks ---------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
FRAME = st.fixed_dictionaries(
    {"name": st.text(max_size=10), "filename": st.text(max_size=10), "line": st.integers(0, 999)},
    optional={
        "locals": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=5), "repr": st.none() | st.text()})
        )
    },
)
THREAD = st.fixed_dictionaries(
    {"thread_id": st.integers(0, 2**64), "frames": st.lists(FRAME, max_size=4)},
    optional={
        "os_thread_id": st.none() | st.integers(0, 2**31),
        "thread_name": st.none() | st.text(max_size=10),
        "active": st.booleans(),
        "owns_gil": st.booleans(),
    },
)


@st.composite
def swapped(draw: st.DrawFn) -> Any:
    """A well-formed dump with one value somewhere in it replaced by any JSON value."""
    dump: Any = draw(st.lists(THREAD, max_size=3))
    node = dump
    for _ in range(draw(st.integers(0, 5))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list) or draw(st.booleans()):
            node[key] = draw(JSON)
            break
        node = node[key]
    return dump


DUMPS = st.one_of(
    st.text(),
    JSON.map(json.dumps),
    swapped().map(json.dumps),
    mangled(st.lists(THREAD, max_size=2).map(json.dumps)),
)


@FUZZ
@given(DUMPS, st.booleans())
@example('[{"frames": [{"line": "x7"}]}]', True)  # ValueError out of int(), once
@example('{"thread_id": 1}', False)  # iterating a dict's keys, once
@example("[null]", False)  # AttributeError, once
def test_parse_dump_raises_only_profiler_error(text: str, with_locals: bool) -> None:
    try:
        stacks = parse_dump(text, with_locals)
    except ProfilerError as exc:
        assert exc.message and "\n" not in exc.message
        return
    for stack in stacks:
        assert isinstance(stack, ThreadStack) and isinstance(stack.thread_id, int)
        assert stack.name is None or isinstance(stack.name, str)
        assert all(isinstance(f, Frame) and isinstance(f.line, int) for f in stack.frames)
        assert len(stack.locals) == (len(stack.frames) if with_locals else 0)


# --- read_any: a Profile, a Snapshot or one FormatError, whatever the file ----------------------

DATA = Path(__file__).parent.parent / "data"
PROFILE_FILES = sorted(
    p
    for p in DATA.rglob("*")
    if p.is_file() and p.suffix in (".txt", ".json") and p.stat().st_size < 200_000
)


@functools.cache
def _snapshot_bytes() -> bytes:
    return dumps_snapshot(make_snapshot())


@st.composite
def mangled_files(draw: st.DrawFn) -> bytes:
    """A real profile or snapshot, cut short, spliced with junk, or with a number swapped."""
    source = draw(st.sampled_from([*PROFILE_FILES, None]))
    data = source.read_bytes() if source is not None else _snapshot_bytes()
    how = draw(st.sampled_from(["cut", "splice", "number", "as is"]))
    at = draw(st.integers(0, len(data)))
    if how == "cut":
        return data[:at]
    if how == "splice":
        # Long runs of digits or spaces are left to the bounded test below: a reader gone
        # exponential on them would hang this process.
        junk = draw(st.binary(max_size=16) | st.sampled_from([b";;", b"\xff\xfe", b"{}"]))
        return data[:at] + junk + data[at + draw(st.integers(0, 16)) :]
    if how == "number":
        number = draw(st.sampled_from([b"1e999", b"-1", b"5e-324", b"1e300", b"0.5"]))
        digit = next((i for i in range(at, len(data)) if data[i : i + 1].isdigit()), None)
        if digit is not None:
            return data[:digit] + number + data[digit + 1 :]
    return data


@FUZZ
@given(mangled_files())
def test_read_any_returns_a_profile_or_raises_format_error(data: bytes) -> None:
    from perftop.formats.detect import read_any
    from perftop.formats.errors import FormatError
    from perftop.formats.snapshot import Snapshot
    from perftop.model.profile import Profile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "fuzz.data")
        path.write_bytes(data)
        try:
            got = read_any(path)
        except FormatError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
            return
    assert isinstance(got, Profile | Snapshot)
    if isinstance(got, Profile):
        assert got.total_samples >= 0 and all(c >= 0 for _, c, _ in got.stacks())


@pytest.mark.slow
def test_readers_fuzzed_under_a_memory_limit(tmp_path: Path) -> None:
    # Mangled inputs blown up (repeated) so that a reader whose memory grows faster than
    # its input hits the limit: a test failure, not a machine swapping for minutes.
    from tests.unit.bounded import run_bounded

    files = [str(p) for p in PROFILE_FILES]
    outcome = run_bounded(
        f"""
        import random, tempfile
        from pathlib import Path
        from perftop.formats.detect import read_any
        from perftop.formats.errors import FormatError
        bad = []
        with tempfile.TemporaryDirectory(dir={str(tmp_path)!r}) as tmp:
            for seed in range(150):
                rng = random.Random(seed)
                data = Path(rng.choice({files!r})).read_bytes()
                at = rng.randrange(len(data) + 1)
                junk = rng.choice([rng.randbytes(8), b"9" * 400, b" " * 5000, b"1" * 31])
                data = data[:at] + junk + data[at + rng.randrange(4) :]
                data = data * rng.choice([1, 1, 50, 400])
                path = Path(tmp, "f.data")
                path.write_bytes(data)
                try:
                    read_any(path)
                except FormatError:
                    pass
                except BaseException as e:
                    bad.append((seed, type(e).__name__, str(e)[:200]))
        result = bad
        """,
        timeout_s=300,
        memory_mb=1536,
    )
    assert outcome.error is None and outcome.result == []
