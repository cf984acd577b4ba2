"""The run mode: one typed value from the command line; what cannot be is refused in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perftop import cli, cli_args
from perftop.cli_args import CliError
from perftop.runmode import Dashboard, DiffFiles, RecordProfile, RecordTo, ViewFile, run_mode
from perftop.ui.start import LiveStart


def mode(*argv: str) -> object:
    return run_mode(cli_args.build_parser().parse_args(list(argv)))


def test_the_modes() -> None:
    assert mode() == Dashboard()
    assert mode("--demo") == Dashboard(demo=True)
    assert mode("--pid", "42", "--record", "b.rec") == Dashboard(
        attach=42, record=RecordTo("b.rec", None, None)
    )
    assert mode("--record", "b.rec", "--record-limit", "2h") == Dashboard(
        record=RecordTo("b.rec", None, 7200.0)
    )
    assert mode("run", "--", "python", "app.py") == Dashboard(launch=("python", "app.py"))
    assert mode("view", "x.folded") == ViewFile("x.folded")
    assert mode("diff", "a", "b") == DiffFiles("a", "b")
    assert mode("record", "42", "-d", "3") == RecordProfile(42, None, 3.0)
    assert mode("--pid", "42", "record") == RecordProfile(42, None, None)
    assert mode("record", "--all", "-d", "10", "-o", "box.folded") == RecordProfile(
        None, "box.folded", 10.0
    )
    assert mode("--profiler", "perf", "--dwarf", "record", "-a") == RecordProfile(None, None, None)
    assert mode("--profiler", "perf", "--dwarf", "--pid", "42") == Dashboard(attach=42)
    assert mode("--profiler", "py-spy", "--gil", "run", "--", "x") == Dashboard(launch=("x",))
    # auto: the target decides later, so both profilers' flags stand.
    assert mode("--dwarf", "--native", "record", "42") == RecordProfile(42, None, None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--record", "b.rec", "diff", "a", "b"], "--record does not go with perftop diff"),
        (["--record", "b.rec", "view", "x"], "--record does not go with perftop view"),
        (["--record", "b.rec", "record", "42"], "--record does not go with perftop record"),
        (["--pid", "42", "view", "x"], "--pid does not go with perftop view"),
        (["--pid", "42", "run", "--", "x"], "--pid does not go with perftop run"),
        (["--pid", "42", "serve"], "--pid does not go with perftop serve"),
        (["--native", "diff", "a", "b"], "--native does not go with perftop diff"),
        (["--demo", "--pid", "42"], "--demo shows a fake machine"),
        (["--demo", "view", "x"], "--demo does not go with perftop view"),
        (["--record-limit", "2h"], "--record-limit limits a --record FILE"),
        (["-d", "5", "record", "42"], "-d/--delay does not go with perftop record"),
        (["record", "1", "--pid", "2"], "two PIDs given"),
        (["record", "--all", "42"], "--all records every CPU: give it no PID"),
        (["--pid", "42", "record", "--all"], "--all records every CPU: give it no PID"),
        (["record"], "give its PID (perftop record 4242), or --all for every CPU"),
        (["record", "--all", "--profiler", "py-spy"], "--all samples every CPU with perf"),
        (["--gil", "record", "--all"], "--gil is py-spy's: it does not go with --all"),
        (["--profiler", "perf", "--native", "--pid", "1"], "--native is py-spy's"),
        (["record", "1", "--profiler", "perf", "--idle"], "--idle is py-spy's"),
        (["--profiler", "py-spy", "--dwarf", "--pid", "1"], "--dwarf is perf's"),
        (["--profiler", "perf", "diff", "a", "b"], "--profiler does not go with perftop diff"),
        (["--dwarf", "view", "x"], "--dwarf does not go with perftop view"),
        (["--memory", "serve"], "--memory does not go with perftop serve"),
    ],
)
def test_impossible_combinations_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(CliError, match=re.escape(message)):
        mode(*argv)


def test_from_the_command_line_a_refusal_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "perftop", "--record", "b.rec", "diff", "a", "b"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr == "perftop: --record does not go with perftop diff\n"


def test_record_all_with_a_pid_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "perftop", "record", "--all", "42"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr == "perftop: --all records every CPU: give it no PID (42 given)\n"


def test_record_while_attaching_reaches_the_app_with_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`perftop --record box.rec --pid PID` records the machine and attaches the profiler."""
    started: list[object] = []

    class FakeApp:
        return_code = 0

        def __init__(self, source: object, config: object) -> None:
            started.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr("perftop.app.PerftopApp", FakeApp)
    monkeypatch.setattr("perftop.children.install_signal_handlers", lambda *a: None)
    monkeypatch.setattr("perftop.children.terminate_all", lambda *a, **k: None)
    monkeypatch.setenv("PERFTOP_ALLOW_NO_TTY", "1")
    box = tmp_path / "box.rec"
    # This test's own interpreter is the Python process to attach to.
    assert cli.main(["--record", str(box), "--pid", str(os.getpid())]) == 0
    (config,) = started
    start = config.start  # type: ignore[attr-defined]
    assert isinstance(start, LiveStart)
    assert start.attach == os.getpid(), "the profiler is attached"
    assert start.recorder is not None and box.exists(), "and the machine recorded"


def test_nothing_is_created_before_the_terminal_is_checked(tmp_path: Path) -> None:
    box = tmp_path / "box.rec"
    env = {k: v for k, v in os.environ.items() if k != "PERFTOP_ALLOW_NO_TTY"}
    result = subprocess.run(
        [sys.executable, "-m", "perftop", "--record", str(box)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert result.returncode == 2 and "needs a terminal" in result.stderr
    assert not box.exists()


def test_a_record_path_that_is_a_symlink_is_refused_and_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "box.rec"
    victim = tmp_path / "etc-passwd-ish"
    link.symlink_to(victim)  # dangling: following it would create the victim
    monkeypatch.setenv("PERFTOP_ALLOW_NO_TTY", "1")
    assert cli.main(["--record", str(link)]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert not victim.exists()
