"""Folded and speedscope readers and writers, atomic writes, and their errors.

Real inputs are in tests/data (see its README): files from speedscope's repository and
py-spy 0.4.3's own output.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.formats.atomic import write_atomic
from perftop.formats.errors import FormatError
from perftop.formats.folded import (
    dumps_folded,
    format_frame,
    loads_folded,
    parse_frame,
    read_folded,
    write_folded,
)
from perftop.formats.speedscope import (
    SCHEMA,
    dumps_speedscope,
    loads_speedscope,
    read_speedscope,
    write_speedscope,
)
from perftop.model.frames import Frame
from perftop.model.profile import Profile

DATA = Path(__file__).parent.parent / "data"


def stacks_of(p: Profile) -> Counter[tuple[tuple[Frame, ...], str]]:
    out: Counter[tuple[tuple[Frame, ...], str]] = Counter()
    for ids, count, thread in p.stacks():
        out[tuple(p.frame(i) for i in ids), thread] += count
    return out


def named(p: Profile) -> Counter[str]:
    return Counter({";".join(f.name for f in s): n for (s, _), n in stacks_of(p).items()})


# -- frames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "frame"),
    [
        ("spin (busy.py:5)", Frame("spin", "busy.py", 5)),
        (
            "Thread.run (/usr/lib/python3.11/threading.py:982)",
            Frame("Thread.run", "/usr/lib/python3.11/threading.py", 982),
        ),
        ("<module> (<string>:2)", Frame("<module>", "<string>", 2)),
        ("f (x) (a.py:3)", Frame("f (x)", "a.py", 3)),
        ("operator() (a.cc:1)", Frame("operator()", "a.cc", 1)),
        (
            "_PyEval_EvalFrameDefault (libpython3.11.so.1.0)",
            Frame("_PyEval_EvalFrameDefault", "libpython3.11.so.1.0"),
        ),
        ("do_syscall_64_[k]", Frame("do_syscall_64_[k]")),
        ("[unknown] (deleted)", Frame("[unknown] (deleted)")),
        ("plain", Frame("plain")),
        ("C:\\app\\x.py (C:\\app\\x.py:7)", Frame("C:\\app\\x.py", "C:\\app\\x.py", 7)),
    ],
)
def test_parse_frame(text: str, frame: Frame) -> None:
    assert parse_frame(text) == frame
    assert parse_frame(format_frame(frame)) == frame


# -- folded: real files -------------------------------------------------------------------


def test_speedscope_folded_fixtures() -> None:
    simple = read_folded(DATA / "simple.txt")
    assert named(simple) == Counter({"a;b;c": 5, "a;b;d": 4, "a;b": 5})
    assert simple.metadata["source"].endswith("simple.txt")
    assert named(read_folded(DATA / "simple-crlf.txt")) == named(simple)
    tall = read_folded(DATA / "tall.txt")
    assert tall.total_samples == 1 and tall.find(list(range(26))) is not None
    recursion = read_folded(DATA / "recursion.txt")
    assert recursion.total_samples == 10
    stats = {s.frame.name: s.total_samples for s in recursion.top_functions()}
    assert stats == {"a": 9, "b": 9, "c": 4}
    alternating = read_folded(DATA / "alternating.txt")
    assert named(alternating) == Counter({"a;b": 91, "c;d": 91})


def test_folded_fixture_with_invalid_lines_names_the_first_one() -> None:
    with pytest.raises(FormatError) as err:
        read_folded(DATA / "simple-with-invalids.txt")
    assert err.value.line == 2 and "simple-with-invalids.txt:2:" in str(err.value)
    assert "\n" not in str(err.value)


def test_pyspy_raw_without_threads() -> None:
    p = read_folded(DATA / "pyspy-raw.txt")
    assert p.threads() == [""] and p.total_samples == 129
    top = p.top_functions()[0]
    assert top.frame == Frame("spin", "busy.py", 5) and top.self_samples == 79


def test_pyspy_raw_threads_become_thread_keys() -> None:
    # `thread (3093): Worker-1;Thread._bootstrap (threading.py:1002);… 28`
    p = read_folded(DATA / "pyspy-raw-threads.txt")
    assert p.threads() == ["Worker-1", "MainThread"]
    assert p.thread_samples("MainThread") == 62 and p.thread_samples("Worker-1") == 64
    assert not any(f.name.startswith("thread (") for f in p.frames)
    assert p.frame(p.root("MainThread").children.popitem()[0]).name == "<module>"


def test_pyspy_raw_subprocesses_with_multiline_command() -> None:
    # The child's command line (`python -c` code) holds a newline, inside the process frame.
    p = read_folded(DATA / "pyspy-raw-subprocesses-threads.txt")
    assert sorted(p.threads()) == ["3186 (pid 3184)", "3187 (pid 3187)", "MainThread (pid 3184)"]
    assert p.total_samples == 220
    assert p.metadata["pid"] == "3184" and p.metadata["command"] == "python parent.py"
    assert p.metadata["process 3187"].endswith("import time\nwhile True: sum(range(1000))")
    q = read_folded(DATA / "pyspy-raw-subprocesses.txt")
    assert q.threads() == ["pid 3184", "pid 3187"] and q.total_samples == 220


@pytest.mark.parametrize(
    ("root", "key"),
    [
        ("thread (0x7F1234)", "0x7F1234"),
        ('thread (0x7F12) "MainThread"', "MainThread"),
        ("thread (12): ", "12"),
        ("thread (12): Worker (x)", "Worker (x)"),
        ('process 7:"python -c a; b";thread (8): T', "T (pid 7)"),
        ('process 7:"say "hi" now"', "pid 7"),
    ],
)
def test_root_frame_forms(root: str, key: str) -> None:
    p = loads_folded(f"{root};main (app.py:1) 3\n")
    assert p.threads() == [key]
    assert [f.name for f in p.frames] == ["main"]


def test_folded_tolerates_blank_lines_comments_and_no_final_newline() -> None:
    p = loads_folded("\n# header\na;b 1\n\n   \na;b 2")
    assert named(p) == Counter({"a;b": 3})
    assert loads_folded("").total_samples == 0


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a;b 1\na;b\n", 2, "expected"),
        ("a;b 1\na;b x\n", 2, "expected"),
        ("a;b -1\n", 1, "expected"),
        ("a;b 1.5\n", 1, "expected"),
        ("a;b " + "9" * 16 + "\n", 1, "too large"),
        ("a;b " + "9" * 5000 + "\n", 1, "too large"),  # int() refuses past 4300 digits
        ("ok 1\n 4\n", 2, "no stack"),
    ],
)
def test_folded_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(FormatError) as err:
        loads_folded(text, "x.txt")
    assert err.value.line == line and words in str(err.value)
    assert str(err.value).startswith(f"x.txt:{line}: ")


def test_read_folded_accepts_path_text_and_bytes(tmp_path: Path) -> None:
    f = tmp_path / "p.txt"
    f.write_text("a;b 2\n")
    assert read_folded(f).total_samples == 2
    assert read_folded(str(f)).total_samples == 2
    assert read_folded("a;b 3").total_samples == 3
    assert read_folded(b"\xef\xbb\xbfa;\xff 4\n").total_samples == 4  # BOM, odd byte
    with pytest.raises(FileNotFoundError):
        read_folded(tmp_path / "missing.txt")


# -- round trips ------------------------------------------------------------------------

_names = (
    st.text(st.characters(blacklist_characters=";\r\n", blacklist_categories=["Cs"]), min_size=1)
    .map(str.strip)
    .filter(lambda s: bool(s) and not s.startswith(("thread (", "process ", "#")))
)
# A frame without a file has no line: built that way rather than filtered (half the frames
# filtered failed Hypothesis's health check on a loaded machine).
frames = st.one_of(
    st.builds(Frame, _names, st.just(""), st.just(0)),
    st.builds(
        Frame,
        _names,
        st.from_regex(r"/[a-z]{1,8}/[a-z_]{1,8}\.py", fullmatch=True),
        st.integers(0, 10_000),
    ),
)
profiles = st.lists(
    st.tuples(
        st.lists(frames, min_size=1, max_size=6),
        st.integers(1, 10**6),
        st.sampled_from(["", "MainThread", "Worker (pid 9)", "0x7F12"]),
    ),
    max_size=12,
)


def build(entries: list[tuple[list[Frame], int, str]]) -> Profile:
    p = Profile()
    for stack, count, thread in entries:
        p.add_stack(stack, count, thread)
    return p


@settings(max_examples=100, deadline=None)
@given(profiles)
def test_folded_round_trip(entries: list[tuple[list[Frame], int, str]]) -> None:
    p = build(entries)
    # A plain name that looks like `f (x.py:1)` reads back as a frame with a file: the
    # format cannot tell them apart, so compare texts for those.
    back = loads_folded(dumps_folded(p))
    assert back.total_samples == p.total_samples
    assert sorted(back.threads()) == sorted(p.threads())
    want = Counter({(tuple(map(format_frame, s)), t): n for (s, t), n in stacks_of(p).items()})
    got = Counter({(tuple(map(format_frame, s)), t): n for (s, t), n in stacks_of(back).items()})
    assert got == want


@settings(max_examples=100, deadline=None)
@given(profiles)
def test_speedscope_round_trip(entries: list[tuple[list[Frame], int, str]]) -> None:
    p = build(entries)
    back = loads_speedscope(dumps_speedscope(p))
    assert stacks_of(back) == stacks_of(p)
    assert back.total_samples == p.total_samples


def test_round_trip_of_a_real_pyspy_profile(tmp_path: Path) -> None:
    p = read_folded(DATA / "pyspy-raw-subprocesses-threads.txt")
    write_folded(p, tmp_path / "out.txt")
    write_speedscope(p, tmp_path / "out.json")
    assert stacks_of(read_folded(tmp_path / "out.txt")) == stacks_of(p)
    assert stacks_of(read_speedscope(tmp_path / "out.json")) == stacks_of(p)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["$schema"] == SCHEMA
    prof = doc["profiles"][0]
    assert prof["type"] == "sampled" and len(prof["samples"]) == len(prof["weights"])


# -- speedscope: real files ---------------------------------------------------------------


def test_speedscope_sampled_and_evented_fixtures_agree() -> None:
    sampled = read_speedscope(DATA / "simple-sampled.speedscope.json")
    evented = read_speedscope(DATA / "simple-evented.speedscope.json")
    assert named(sampled) == Counter({"a;b;c": 5, "a;b;d": 4, "a;b": 5})
    assert named(evented) == named(sampled)
    assert sampled.threads() == [""]  # a lone profile is the whole program


def test_speedscope_invalid_fixture() -> None:
    with pytest.raises(FormatError, match="never closed"):
        read_speedscope(DATA / "invalid-incomplete-trace.json")


def test_pyspy_speedscope_threads_and_float_weights() -> None:
    p = read_speedscope(DATA / "pyspy-threads.speedscope.json")
    assert sorted(p.threads()) == ["MainThread", "Worker-1"]
    assert p.total_samples == 128  # 0.01 s weights counted as one sample each
    assert not any(f.name.startswith("thread (") for f in p.frames)
    assert p.metadata["sample_weight"] == "0.01"


BASE_DOC: dict[str, object] = {
    "$schema": SCHEMA,
    "shared": {"frames": [{"name": "a"}, {"name": "b", "file": "b.py", "line": 3}]},
    "profiles": [{"type": "sampled", "name": "p", "samples": [[0, 1]], "weights": [2]}],
}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"$schema": None}, "not a speedscope file"),
        ({"shared": {}}, "shared.frames"),
        ({"shared": {"frames": [{"file": "x"}]}}, "no name"),
        ({"shared": {"frames": [{"name": "a", "line": -1}]}}, "line"),
        ({"shared": {"frames": [{"name": "a", "line": True}]}}, "line"),
        ({"profiles": {}}, "profiles"),
        ({"profiles": [{"type": "x"}]}, "unknown type"),
        ({"profiles": [{"type": "sampled", "samples": [[0]], "weights": []}]}, "1 samples but 0"),
        ({"profiles": [{"type": "sampled", "samples": [[5]], "weights": [1]}]}, "frame indices"),
        ({"profiles": [{"type": "sampled", "samples": [[0]], "weights": [-1]}]}, "non-negative"),
        ({"profiles": [{"type": "sampled", "samples": [[0]], "weights": ["1"]}]}, "numbers"),
        (
            {
                "profiles": [
                    {
                        "type": "evented",
                        "events": [
                            {"type": "O", "frame": 0, "at": 2},
                            {"type": "C", "frame": 0, "at": 1},
                        ],
                    }
                ]
            },
            "back in time",
        ),
        (
            {
                "profiles": [
                    {
                        "type": "evented",
                        "events": [
                            {"type": "O", "frame": 0, "at": 0},
                            {"type": "C", "frame": 1, "at": 1},
                        ],
                    }
                ]
            },
            "not the open one",
        ),
        (
            {"profiles": [{"type": "evented", "events": [{"type": "X", "frame": 0, "at": 0}]}]},
            "type O or C",
        ),
    ],
)
def test_speedscope_validation(change: dict[str, object], words: str) -> None:
    doc = {**BASE_DOC, **change}
    with pytest.raises(FormatError, match=words):
        loads_speedscope(json.dumps(doc), "bad.json")
    assert loads_speedscope(json.dumps(BASE_DOC)).total_samples == 2


def test_speedscope_not_json() -> None:
    with pytest.raises(FormatError) as err:
        loads_speedscope('{\n  "a": ', "x.json")
    assert err.value.line == 2 and str(err.value).startswith("x.json:2: not JSON")
    with pytest.raises(FormatError):
        loads_speedscope("[" * 100_000)


# -- fuzzing: bad input raises FormatError and nothing else ---------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_folded_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        read_folded(data)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('ab;() :"\n0123456789process thread.x#')), max_size=120)
)
def test_fuzz_folded_text(text: str) -> None:
    with contextlib.suppress(FormatError):
        loads_folded(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_speedscope_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        read_speedscope(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["shared", "profiles", "$schema"]), json_values, st.data())
def test_fuzz_speedscope_structure(key: str, value: object, data: st.DataObject) -> None:
    doc = json.loads(json.dumps(BASE_DOC))
    # Replace a top-level field, or a field of the profile or of a frame, with anything.
    target = data.draw(st.sampled_from(["top", "profile", "frame"]))
    if target == "top":
        doc[key] = value
    elif target == "profile":
        field = data.draw(st.sampled_from(["type", "samples", "weights", "events", "name"]))
        doc["profiles"][0][field] = value
        if field == "events":
            doc["profiles"][0]["type"] = "evented"
    else:
        doc["shared"]["frames"][1][data.draw(st.sampled_from(["name", "file", "line"]))] = value
    with contextlib.suppress(FormatError):
        loads_speedscope(json.dumps(doc))


# -- atomic writes and errors ------------------------------------------------------------------


def test_write_atomic_new_file_is_owner_only_and_complete(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomic(target, "héllo")
    assert target.read_bytes() == "héllo".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomic(target, b"bytes", mode=0o644)  # an existing file keeps its permissions
    assert target.read_bytes() == b"bytes" and stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomic(tmp_path / "shared.txt", "x", mode=0o644)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["out.txt", "shared.txt"]  # no temporary left


def test_write_atomic_failure_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):
        write_atomic(tmp_path / "dir", "x")
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["dir", "out.txt"]


def test_format_error_is_one_line() -> None:
    err = FormatError("f.txt", "bad\nthing  here", 3)
    assert str(err) == "f.txt:3: bad thing here" and err.line == 3 and err.source == "f.txt"
    assert str(FormatError("f.txt", "bad")) == "f.txt: bad"
