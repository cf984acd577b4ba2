"""pprof (formats/pprof.py): what perftop writes, `go tool pprof` reads; what Go writes, perftop
reads; every way in (`view`, `diff`, `record -o`, the registry) knows it; hostile files are one
line, in bounded time and memory."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings

from perftop.commands import record as record_command
from perftop.formats import registry
from perftop.formats.detect import read_any
from perftop.formats.errors import FormatError
from perftop.formats.export import profile_format_for, write_profile
from perftop.formats.pprof import _Profile, dumps_pprof, loads_pprof, looks_like_pprof
from perftop.formats.snapshot import Snapshot, write_snapshot
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import ProfilerOptions
from tests.unit.bounded import run_bounded
from tests.unit.test_cli_files import ScriptedBackend, assert_one_line_error, run_cli
from tests.unit.test_formats import build, profiles, stacks_of
from tests.unit.test_snapshot_format import make_snapshot

MAIN = Frame("main", "/srv/app.py", 3)
WORK = Frame("work", "/srv/app.py", 10)
IDLE = Frame("idle", "/srv/lib.py", 20)
GO = shutil.which("go")
needs_go = pytest.mark.skipif(GO is None, reason="go is not installed (Debian's golang-go)")


def cpu_profile() -> Profile:
    p = Profile({"rate_hz": "100", "duration_s": "2.5", "command": "python app.py", "pid": "42"})
    p.add_stack([MAIN, WORK], 70, "MainThread")
    p.add_stack([MAIN, IDLE], 30, "worker")
    p.add_stack([MAIN], 5, "MainThread")
    return p


def stacks(p: Profile) -> set[tuple[tuple[Frame, ...], int, str]]:
    return {(tuple(p.frame(i) for i in ids), c, t) for ids, c, t in p.stacks()}


def go_top(path: Path, *flags: str) -> str:
    assert GO is not None
    done = subprocess.run(
        [GO, "tool", "pprof", "-top", *flags, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(path.parent), "PPROF_TMPDIR": str(path.parent)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- writing and reading back ----------------------------------------------------------------


def test_round_trip_keeps_stacks_threads_and_what_describes_the_target() -> None:
    p = cpu_profile()
    data = dumps_pprof(p)
    assert data[:2] == b"\x1f\x8b" and looks_like_pprof(data)
    back = loads_pprof(data, "p.pb.gz")
    assert stacks(back) == stacks(p)
    assert back.metadata["sample_type"] == "samples/count"
    assert back.metadata["rate_hz"] == "100" and back.metadata["duration_s"] == "2.500"
    assert back.metadata["command"] == "python app.py" and back.metadata["pid"] == "42"


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_round_trip_property(entries: list[tuple[list[Frame], int, str]]) -> None:
    p = build(entries)
    back = loads_pprof(dumps_pprof(p))
    assert stacks_of(back) == stacks_of(p) and back.total_samples == p.total_samples


def test_cpu_values_are_samples_and_nanoseconds_at_the_rate() -> None:
    p = Profile({"rate_hz": "250"})
    p.add_stack([MAIN, WORK], 3)
    msg = _Profile.FromString(gzip.decompress(dumps_pprof(p)))
    strings = list(msg.string_table)
    assert [(strings[t.type], strings[t.unit]) for t in msg.sample_type] == [
        ("samples", "count"),
        ("cpu", "nanoseconds"),
    ]
    assert msg.period == 4_000_000 and list(msg.sample[0].value) == [3, 12_000_000]
    # Leaf first, as pprof orders a sample's locations.
    names = {
        loc.id: strings[msg.function[loc.line[0].function_id - 1].name] for loc in msg.location
    }
    assert [names[i] for i in msg.sample[0].location_id] == ["work", "main"]


def test_a_memory_profile_is_in_use_bytes() -> None:
    p = Profile({"unit": "bytes"})
    p.add_stack([MAIN, WORK], 4096)
    data = dumps_pprof(p)
    msg = _Profile.FromString(gzip.decompress(data))
    strings = list(msg.string_table)
    assert [(strings[t.type], strings[t.unit]) for t in msg.sample_type] == [
        ("inuse_space", "bytes")
    ]
    back = loads_pprof(data)
    assert back.metadata["unit"] == "bytes" and back.total_samples == 4096


def _message(types: list[tuple[str, str]], values: list[int], default: str = "") -> bytes:
    msg = _Profile()
    strings = ["", "f", *{s for t in types for s in t}]
    if default and default not in strings:
        strings.append(default)
    msg.string_table.extend(strings)
    for kind, unit in types:
        msg.sample_type.add(type=strings.index(kind), unit=strings.index(unit))
    if default:
        msg.default_sample_type = strings.index(default)
    msg.function.add(id=1, name=1)
    msg.location.add(id=1).line.add(function_id=1, line=2)
    msg.sample.add(location_id=[1], value=values)
    return gzip.compress(msg.SerializeToString(), mtime=0)


@pytest.mark.parametrize(
    ("types", "values", "default", "expected", "unit"),
    [
        # Go's heap profile: in-use bytes unless the file says otherwise.
        (
            [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
             ("inuse_space", "bytes")],
            [1, 2, 3, 4], "", 4, "bytes",
        ),
        (
            [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
             ("inuse_space", "bytes")],
            [1, 2, 3, 4], "alloc_space", 2, "bytes",
        ),
        # Go's CPU profile: the sample count, not nanoseconds.
        ([("samples", "count"), ("cpu", "nanoseconds")], [7, 70_000_000], "", 7, ""),
        ([("contentions", "count"), ("delay", "nanoseconds")], [5, 99], "", 5, ""),
    ],
)  # fmt: skip
def test_which_value_is_read(
    types: list[tuple[str, str]], values: list[int], default: str, expected: int, unit: str
) -> None:
    back = loads_pprof(_message(types, values, default))
    assert back.total_samples == expected
    assert back.metadata.get("unit", "") == unit


def test_time_alone_is_counted_in_sampling_periods() -> None:
    msg = _Profile.FromString(gzip.decompress(_message([("cpu", "nanoseconds")], [30_000_000])))
    strings = list(msg.string_table)
    msg.period_type.type, msg.period_type.unit = strings.index("cpu"), strings.index("nanoseconds")
    msg.period = 10_000_000
    back = loads_pprof(gzip.compress(msg.SerializeToString(), mtime=0))
    assert back.total_samples == 3 and back.metadata["rate_hz"] == "100"


def test_inlined_lines_expand_callee_last_and_unsymbolised_addresses_stay() -> None:
    msg = _Profile()
    msg.string_table.extend(["", "outer", "inlined", "leaf", "/bin/app"])
    for i, name in enumerate(("outer", "inlined", "leaf"), 1):
        msg.function.add(id=i, name=list(msg.string_table).index(name))
    loc = msg.location.add(id=1)
    loc.line.add(function_id=2, line=5)  # the inlined callee first
    loc.line.add(function_id=1, line=9)  # then the function it was inlined into
    msg.mapping.add(id=7, filename=4)
    msg.location.add(id=2, mapping_id=7, address=0xBEEF)
    msg.sample_type.add()
    msg.sample.add(location_id=[2, 1], value=[4])
    back = loads_pprof(gzip.compress(msg.SerializeToString(), mtime=0))
    ((frames, count, _),) = stacks(back)
    assert [f.name for f in frames] == ["outer", "inlined", "0xbeef"]
    assert frames[2].filename == "/bin/app" and count == 4


# --- the registry: view, diff, record -o and the export menu ----------------------------------


def test_the_registry_names_reads_and_writes_it(tmp_path: Path) -> None:
    assert profile_format_for("x.pb.gz") == "pprof" == profile_format_for("X.PPROF")
    assert registry.by_name("pprof") in registry.writable()
    path = tmp_path / "out.pb.gz"
    assert write_profile(cpu_profile(), path) == "pprof"
    back = read_any(path)
    assert isinstance(back, Profile) and back.metadata["format"] == "pprof"
    assert stacks(back) == stacks(cpu_profile())
    # Named anything, it is still found by its content; a snapshot is still a snapshot.
    renamed = tmp_path / "profile"
    renamed.write_bytes(path.read_bytes())
    assert isinstance(read_any(renamed), Profile)
    snap = tmp_path / "s.perftop"
    write_snapshot(make_snapshot(), snap)
    assert isinstance(read_any(snap), Snapshot)


def test_record_writes_pprof(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "x.pb.gz"
    code = record_command.record(
        4242, ProfilerOptions(), str(path), 0.3, backend=ScriptedBackend(), out=out, err=err
    )
    assert code == 0, err.getvalue()
    assert "(pprof)" in out.getvalue()
    back = read_any(path)
    assert isinstance(back, Profile) and back.total_samples > 0
    assert back.metadata["duration_s"] != "0.000"


def test_view_and_diff_read_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from perftop.ui.start import DiffOfFiles, ProfileFile

    started: list[object] = []

    class FakeApp:
        return_code = 0

        def __init__(self, source: object, config: object) -> None:
            started.append(getattr(config, "start", None))

        def run(self) -> None:
            pass

    monkeypatch.setattr("perftop.app.PerftopApp", FakeApp)
    monkeypatch.setattr("perftop.children.install_signal_handlers", lambda *a: None)
    monkeypatch.setattr("perftop.children.terminate_all", lambda *a, **k: None)
    monkeypatch.setenv("PERFTOP_ALLOW_NO_TTY", "1")
    a, b = tmp_path / "a.pb.gz", tmp_path / "b.pprof"
    write_profile(cpu_profile(), a)
    write_profile(cpu_profile(), b)
    assert run_cli(capsys, "view", str(a))[0] == 0
    assert run_cli(capsys, "diff", str(a), str(b))[0] == 0
    viewed, diffed = started
    assert isinstance(viewed, ProfileFile) and viewed.profile.total_samples == 105
    assert isinstance(diffed, DiffOfFiles) and diffed.new.total_samples == 105


# --- hostile files ---------------------------------------------------------------------------


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_gz(b"\x12\x05\x0a\x01"), "not a pprof profile"),  # a sample cut short
        (b"\x1f\x8b\x08\x00" + b"\x00" * 12, "gzip"),
        (_gz(b"\x0a\x02\x08\x05")[:-6], "gzip"),  # truncated
        # sample_type {type: 99 (past the table)} and one sample
        (_gz(b"\x0a\x04\x08\x63\x10\x00\x12\x05\x0a\x01\x01\x10\x01" + b"\x32\x00"), "string"),
    ],
)
def test_corrupt_files_are_one_error(data: bytes, words: str) -> None:
    with pytest.raises(FormatError, match=words):
        loads_pprof(data, "bad.pb.gz")


def test_a_sample_naming_a_missing_location_is_refused() -> None:
    msg = _Profile()
    msg.string_table.extend(["", "samples", "count"])
    msg.sample_type.add(type=1, unit=2)
    msg.sample.add(location_id=[99], value=[1])
    with pytest.raises(FormatError, match="location 99"):
        loads_pprof(gzip.compress(msg.SerializeToString(), mtime=0), "bad.pb.gz")


def test_a_bad_pprof_file_is_one_line_at_the_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.pb.gz"
    path.write_bytes(_gz(b"\x12\x05\x0a\x01"))
    code, _, err = run_cli(capsys, "view", str(path))
    assert_one_line_error(code, err, "bad.pb.gz", "pprof")


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    outcome = run_bounded(
        """
        import zlib
        from perftop.formats.pprof import MAX_DECOMPRESSED_BYTES, loads_pprof
        from perftop.formats.errors import FormatError
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b"\\x12\\x00" * (1 << 20)
        data = b"".join(z.compress(chunk) for _ in range(48)) + z.flush()  # 96 MiB inside
        try:
            loads_pprof(data, "bomb.pb.gz")
        except FormatError as e:
            result = str(e)
        """,
        memory_mb=1024,
    )
    assert outcome.error is None and "more than 64 MiB" in str(outcome.result)


def test_the_costliest_file_under_the_limit_is_refused_in_bounded_memory() -> None:
    """64 MiB of empty samples: 33 million protobuf objects (~1.3 GB), refused by count."""
    outcome = run_bounded(
        """
        import zlib
        from perftop.formats.pprof import loads_pprof
        from perftop.formats.errors import FormatError
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        data = b"".join(z.compress(b"\\x12\\x00" * (1 << 20)) for _ in range(32)) + z.flush()
        try:
            loads_pprof(data, "many.pb.gz")
        except FormatError as e:
            result = str(e)
        """,
        memory_mb=2048,
        timeout_s=60,
    )
    assert outcome.error is None and "sample entries" in str(outcome.result)


# --- Go itself ------------------------------------------------------------------------------

GO_PROGRAM = """\
package main

import (
	"os"
	"runtime/pprof"
	"time"
)

//go:noinline
func spinHot(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i % 7
	}
	return s
}

//go:noinline
func busyLoop(d time.Duration) int {
	end := time.Now().Add(d)
	t := 0
	for time.Now().Before(end) {
		t += spinHot(100000)
	}
	return t
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	busyLoop(1000 * time.Millisecond)
	pprof.StopCPUProfile()
	f.Close()
	h, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	pprof.WriteHeapProfile(h)
	h.Close()
}
"""


def go_env(tmp: Path) -> dict[str, str]:
    """Go with every cache inside the test's folder, and no network (GOPROXY=off)."""
    return {
        **os.environ,
        "HOME": str(tmp),
        "GOCACHE": str(tmp / "gocache"),
        "GOPATH": str(tmp / "gopath"),
        "GOPROXY": "off",
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "0",
    }


@needs_go
def test_perftop_reads_what_go_writes(tmp_path: Path) -> None:
    assert GO is not None
    src = tmp_path / "prog"
    src.mkdir()
    (src / "main.go").write_text(GO_PROGRAM)
    (src / "go.mod").write_text("module perftoptest\n\ngo 1.19\n")
    env = go_env(tmp_path)
    build = subprocess.run(
        [GO, "build", "-o", "prog", "."], cwd=src, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    cpu, heap = tmp_path / "cpu.pb.gz", tmp_path / "heap.pb.gz"
    subprocess.run([src / "prog", cpu, heap], check=True, timeout=60, env=env)
    profile = read_any(cpu)
    assert isinstance(profile, Profile) and profile.metadata["format"] == "pprof"
    assert profile.metadata["sample_type"] == "samples/count" and profile.total_samples > 10
    # Its hot function, under which most samples are (runtime frames such as asyncPreempt
    # may be called from it), is named with its file and lines.
    hot = [s for s in profile.top_functions() if s.frame.name == "main.spinHot"]
    assert hot and all(s.frame.filename.endswith("main.go") and s.frame.line > 0 for s in hot)
    under_hot = sum(
        n for ids, n, _ in profile.stacks() if any(i in {s.frame_id for s in hot} for i in ids)
    )
    assert under_hot >= profile.total_samples / 2
    names = {profile.frame(i).name for ids, _, _ in profile.stacks() for i in ids}
    assert {"main.main", "main.busyLoop", "main.spinHot"} <= names
    memory = read_any(heap)
    assert isinstance(memory, Profile) and memory.metadata["unit"] == "bytes"
    assert memory.metadata["sample_type"] == "inuse_space/bytes"


@needs_go
def test_go_tool_pprof_reads_what_perftop_writes(tmp_path: Path) -> None:
    path = tmp_path / "p.pb.gz"
    write_profile(cpu_profile(), path)
    out = go_top(path)
    lines = [line.split() for line in out.splitlines()]
    flat = {row[-1]: row[0] for row in lines if len(row) == 6 and row[0].endswith("ms")}
    assert flat == {"work": "700ms", "idle": "300ms", "main": "50ms"}, out
    assert "Duration: 2.50s" in out and "Type: cpu" in out
    path = tmp_path / "m.pb.gz"
    memory = Profile({"unit": "bytes"})
    memory.add_stack([MAIN, WORK], 3 * 1024 * 1024)
    write_profile(memory, path)
    out = go_top(path)
    assert "Type: inuse_space" in out and "3MB" in out and "work" in out, out
