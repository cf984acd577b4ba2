"""`--memory` on the command line, in `perftop record` and in the files it writes: the flag is
the memory backend, what makes no sense with it is refused in one line, `perftop run --memory`
hands the launched program the tracker's environment, a record says bytes, speedscope says
its unit, folded counts are bytes, and two memory profiles diff. No real tracker here (see
tests/e2e/test_memory.py)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from perftop import cli, cli_args
from perftop.cli_args import CliError
from perftop.commands import record as record_command
from perftop.commands import tui
from perftop.config import loads_config
from perftop.formats.detect import read_any
from perftop.formats.folded import dumps_folded, loads_folded
from perftop.formats.speedscope import dumps_speedscope, loads_speedscope
from perftop.model.diff import diff
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import Batch, ProfilerOptions
from perftop.runmode import Dashboard, RecordProfile, run_mode
from perftop.ui.memory_text import SLOWDOWN, size_text, slowdown_text, weight_text
from tests.hand_backend import HandBackend

MAIN = Frame("main", "/srv/app.py", 1)
LEAK = Frame("leak", "/srv/app.py", 10)
MiB = 1 << 20


def mode(*argv: str) -> object:
    return run_mode(cli_args.build_parser().parse_args(list(argv)))


def options_of(*argv: str, config: str = "") -> ProfilerOptions:
    args = cli_args.build_parser().parse_args(list(argv))
    args.settings, _ = loads_config(config)
    options = cli._profiler_options(args, machine=getattr(args, "all_cpus", False))
    assert isinstance(options, ProfilerOptions)
    return options


def test_the_flag_is_the_memory_backend_wherever_it_is_given() -> None:
    assert options_of("--memory", "--pid", "42").backend == "memory"
    assert options_of("--profiler", "memory").backend == "memory"
    assert options_of("record", "--memory", "42").backend == "memory"
    assert options_of("--memory", "record", "42").backend == "memory"
    assert options_of("run", "--memory", "--", "python", "x.py").backend == "memory"
    assert mode("record", "--memory", "42", "-d", "3", "-o", "x.folded") == RecordProfile(
        42, "x.folded", 3.0
    )
    assert mode("--pid", "42", "--memory") == Dashboard(attach=42)
    # The config's DWARF is perf's: --memory drops it, as --profiler py-spy does.
    assert not options_of("--memory", config="[profiler]\ndwarf = true\n").dwarf


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["record", "--memory", "--all"], "--memory tracks one Python process"),
        (["--memory", "--dwarf", "--pid", "1"], "--dwarf is perf's: it does not go with --memory"),
        (["--memory", "--profiler", "perf", "--pid", "1"], "does not go with --profiler perf"),
        (["--memory", "--profiler", "py-spy"], "does not go with --profiler py-spy"),
        (["--memory", "--gil", "--pid", "1"], "--gil is py-spy's: it does not go with --memory"),
        (["record", "42", "--memory", "--native"], "--native is py-spy's"),
        (["--profiler", "memory", "--idle"], "--idle is py-spy's: it does not go with --profiler"),
        (["--memory", "-r", "50"], "--rate is a sampling rate"),
        (["--memory", "view", "x.folded"], "--memory does not go with perftop view"),
        (["--memory", "snapshot"], "--memory does not go with perftop snapshot"),
        (["--pid", "3", "run", "--memory", "--", "x"], "--pid does not go with perftop run"),
    ],
)
def test_what_makes_no_sense_with_memory_is_refused(argv: list[str], message: str) -> None:
    with pytest.raises(CliError) as refused:
        mode(*argv)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_refusal_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["record", "--memory", "--all", "-d", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--memory tracks one Python process" in err


def test_a_non_python_target_is_refused_before_anything_starts() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(CliError, match="not a Python process"):
            tui.check_target(sleeper.pid, ProfilerOptions(backend="memory"))
    finally:
        sleeper.kill()
        sleeper.wait()


def test_run_memory_gives_the_program_the_tracker_s_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from perftop.profiling import launch as launch_module

    seen: list[dict[str, str] | None] = []

    def fake_launch(
        argv: list[str], log: str | None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        seen.append(env)
        return subprocess.Popen(["true"])

    monkeypatch.setattr(launch_module, "launch", fake_launch)
    _, tracker = tui._launch(("python3", "app.py"), None, ProfilerOptions(backend="memory"))
    try:
        assert tracker is not None
        (env,) = seen
        assert env is not None and env.get("PERFTOP_MEMORY")
        assert str(tracker.folder) in env["PYTHONPATH"]
        assert (tracker.folder / "sitecustomize.py").exists()
    finally:
        if tracker is not None:
            tracker.close()
    seen.clear()
    _, none = tui._launch(("python3", "app.py"), None, ProfilerOptions())
    assert none is None and seen == [None], "without --memory the environment is perftop's own"


# --- what is written --------------------------------------------------------------------------


def memory_profile(leak: int, rest: int = MiB) -> Profile:
    profile = Profile({"unit": "bytes", "source": "memory", "command": "python app.py"})
    profile.add_stack([MAIN, LEAK], leak, "MainThread")
    profile.add_stack([MAIN], rest, "MainThread")
    return profile


def test_speedscope_says_bytes_and_reads_back_a_memory_profile() -> None:
    text = dumps_speedscope(memory_profile(3 * MiB))
    doc = json.loads(text)
    assert {p["unit"] for p in doc["profiles"]} == {"bytes"}
    assert sum(doc["profiles"][0]["weights"]) == 4 * MiB
    back = loads_speedscope(text)
    assert back.metadata["unit"] == "bytes" and back.total_samples == 4 * MiB
    cpu = Profile()
    cpu.add_stack([MAIN], 5)
    assert json.loads(dumps_speedscope(cpu))["profiles"][0]["unit"] == "none"
    assert "unit" not in loads_speedscope(dumps_speedscope(cpu)).metadata


def test_folded_counts_are_bytes() -> None:
    text = dumps_folded(memory_profile(3 * MiB))
    assert f"leak (/srv/app.py:10) {3 * MiB}" in text
    assert loads_folded(text).total_samples == 4 * MiB


def test_two_memory_profiles_diff() -> None:
    compared = diff(memory_profile(MiB), memory_profile(5 * MiB))
    assert compared.total_samples == 6 * MiB and compared.base.total_samples == 2 * MiB
    assert compared.metadata["unit"] == "bytes"
    changes = {e.frame: e.delta_percent for e in compared.biggest_changes(3)}
    assert changes[LEAK] > 30 and changes[MAIN] < -30


class BytesBackend(HandBackend):
    def feed_bytes(self, leak: int, *, exited: bool = False) -> None:
        profile = memory_profile(leak)
        self.items.put(Batch(profile, 1.0, profile.total_samples, 0, exited, replaces=True))


def test_record_memory_writes_the_bytes_live_at_the_end_and_says_so(tmp_path: Path) -> None:
    backend = BytesBackend()
    for leak in (MiB, 2 * MiB, 3 * MiB):
        backend.feed_bytes(leak)
    backend.feed_bytes(4 * MiB, exited=True)
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "live.speedscope.json"
    options = ProfilerOptions(backend="memory")
    code = record_command.record(4242, options, str(path), 30, backend=backend, out=out, err=err)
    assert code == 0, err.getvalue()
    saved = read_any(path)
    assert isinstance(saved, Profile) and saved.metadata["unit"] == "bytes"
    assert saved.total_samples == 5 * MiB, "the last snapshot, not the sum of them"
    assert "5.0 MiB live" in out.getvalue() and "samples" not in out.getvalue()
    assert "exited" in err.getvalue()


# --- the words ----------------------------------------------------------------------------


def test_sizes_and_the_slowdown_in_words() -> None:
    assert [size_text(n) for n in (0, 999, 1536, 12.3 * MiB, 128 * MiB, 3 << 30)] == [
        "0 B",
        "999 B",
        "1.5 KiB",
        "12.3 MiB",
        "128 MiB",
        "3.0 GiB",
    ]
    assert weight_text(MiB, {"unit": "bytes"}) == "1.0 MiB"
    assert weight_text(1234, {}) == "1,234"
    assert slowdown_text("memray") == f"target up to ~{SLOWDOWN['memray']:.1f}x slower"
    assert slowdown_text("py-spy") == ""
    assert set(SLOWDOWN) == {"memray", "tracemalloc"}
