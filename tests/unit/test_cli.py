"""The command line: help, version, and one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perftop import __version__, cli, cli_args
from perftop.cli_args import parse_delay
from perftop.config import loads_config
from perftop.profiling.backend import ProfilerFailed, ProfilerOptions
from perftop.system.processes import SortKey, ViewOptions


def perftop(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PERFTOP_ALLOW_NO_TTY"}
    return subprocess.run(
        [sys.executable, "-m", "perftop", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_version_and_help() -> None:
    assert perftop("--version").stdout.strip() == f"perftop {__version__}"
    out = perftop("--help").stdout
    assert "examples:" in out and "--pid" in out and "perftop run -- python app.py" in out
    assert "profiling:" in out and "--profiler {auto,py-spy,perf,memory}" in out
    assert "--dwarf" in out and "--memory" in out and "perftop --pid 4242 --memory" in out
    assert "perftop record --all -d 10 -o box.folded" in out
    record = perftop("record", "--help").stdout
    assert "--all" in record and "perf" in record


def test_the_grammar_knows_every_profiler() -> None:
    from perftop.profiling.backend import BACKEND_CHOICES

    assert cli_args.PROFILERS == BACKEND_CHOICES
    # Each of py-spy's flags is an option, and no option of perf's is among them.
    assert set(cli_args.PYSPY_FLAGS) <= set(vars(ProfilerOptions())) - {"backend", "dwarf"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pid", "999999999"], "no process with PID 999999999"),
        (["--sort", "NOPE"], "unknown sort column 'NOPE'"),
        (["--native", "--nonblocking", "--pid", "1"], "native"),
        (["-r", "0", "--pid", "1"], "rate"),
        (["run"], "nothing to run"),
        ([], "needs a terminal"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = perftop(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_py_spy_refuses_a_non_python_pid_with_advice() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        result = perftop("--profiler", "py-spy", "--pid", str(sleeper.pid))
        assert result.returncode == 2
        assert "not a Python process" in result.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ProfilerOptions]]:
    """Which backend each attach check went to, with its options; the check then refuses,
    so nothing samples and no terminal is needed."""
    from perftop.profiling import backends

    seen: list[tuple[str, ProfilerOptions]] = []

    def spec(name: str) -> backends.BackendSpec:
        def preflight(pid: int, options: ProfilerOptions) -> None:
            seen.append((name, options))
            raise ProfilerFailed(f"{name} checked PID {pid}")

        return backends.BackendSpec(name, backends.BACKENDS[name].factory, preflight)

    monkeypatch.setattr(backends, "BACKENDS", {name: spec(name) for name in backends.BACKENDS})
    return seen


@pytest.mark.parametrize(
    ("python", "flags", "backend"),
    [
        (False, [], "perf"),  # auto: native code goes to perf
        (True, [], "py-spy"),  # auto: a Python process to py-spy
        (True, ["--profiler", "perf"], "perf"),
        (False, ["--profiler", "py-spy"], "py-spy"),
    ],
)
def test_attach_goes_to_the_profiler_the_target_or_the_flag_picks(
    chosen: list[tuple[str, ProfilerOptions]],
    capsys: pytest.CaptureFixture[str],
    python: bool,
    flags: list[str],
    backend: str,
) -> None:
    target = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"] if python else ["sleep", "30"]
    )
    try:
        code = cli.main([*flags, "--pid", str(target.pid)])
    finally:
        target.kill()
        target.wait()
    assert code == 2
    assert [name for name, _ in chosen] == [backend]
    assert capsys.readouterr().err == f"perftop: {backend} checked PID {target.pid}\n"


def options_of(*argv: str, config: str = "") -> ProfilerOptions:
    args = cli_args.build_parser().parse_args(list(argv))
    args.settings, _ = loads_config(config)
    machine = getattr(args, "all_cpus", False)
    options = cli._profiler_options(args, machine=machine)
    assert isinstance(options, ProfilerOptions)
    return options


def test_profiler_flags_and_config_reach_the_options() -> None:
    default = options_of()
    assert (default.backend, default.dwarf) == ("auto", False)
    flagged = options_of("--profiler", "perf", "--dwarf", "-r", "99")
    assert (flagged.backend, flagged.dwarf, flagged.rate_hz) == ("perf", True, 99)
    perf_config = "[profiler]\nprofiler = 'perf'\ndwarf = true\n"
    configured = options_of(config=perf_config)
    assert (configured.backend, configured.dwarf) == ("perf", True)
    # A flag outranks the config; the config's DWARF is perf's, so py-spy drops it.
    overridden = options_of("--profiler", "py-spy", config=perf_config)
    assert (overridden.backend, overridden.dwarf) == ("py-spy", False)
    # Every CPU is perf's, whatever the config names.
    machine = options_of("record", "--all", config="[profiler]\nprofiler = 'py-spy'\n")
    assert machine.backend == "perf"
    # Given after the subcommand's name too.
    after = options_of("record", "42", "--profiler", "perf", "--dwarf")
    assert (after.backend, after.dwarf) == ("perf", True)


def test_delay_follows_htop_tenths_or_seconds() -> None:
    assert parse_delay("10") == 1.0
    assert parse_delay("5") == 0.5
    assert parse_delay("2s") == 2.0
    with pytest.raises(Exception, match="invalid delay"):
        parse_delay("fast")


def test_config_columns_become_the_view_options(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[processes]\ncolumns = ["CPU%", "command", "PID"]\n')
    args = cli_args.build_parser().parse_args(["--config", str(path), "--sort", "mem"])
    cli._load_settings(args)
    view = cli._view_options(args)
    assert isinstance(view, ViewOptions)
    assert view.columns == (SortKey.CPU, SortKey.COMMAND, SortKey.PID)
    assert view.sort_key is SortKey.MEM, "a flag still picks a column that is not shown"


@pytest.mark.parametrize(
    ("error", "failures", "calls", "refused"),
    [
        ("failed", 2, 3, None),  # a thread-churning target: py-spy loses the race twice
        ("failed", 99, 3, "Failed to get stack traces"),  # it persists: said after a few tries
        ("not python", 99, 1, "not a Python process"),  # a refusal is not retried
    ],
)
def test_attach_check_retries_py_spy_failures_but_not_refusals(
    monkeypatch: pytest.MonkeyPatch, error: str, failures: int, calls: int, refused: str | None
) -> None:
    from perftop.commands.tui import check_target
    from perftop.profiling import pyspy_cli
    from perftop.profiling.backend import NotPython, ProfilerFailed, ProfilerOptions

    made: list[int] = []

    def dump(pid: int, **_: object) -> list[object]:
        made.append(pid)
        if len(made) <= failures:
            if error == "failed":
                raise ProfilerFailed("py-spy: Failed to get stack traces")
            raise NotPython(f"PID {pid} (bash) is not a Python process")
        return []

    monkeypatch.setattr(pyspy_cli, "dump_threads", dump)
    if refused is None:
        assert check_target(os.getpid(), ProfilerOptions()) != ""
    else:
        with pytest.raises(cli.CliError, match=refused):
            check_target(os.getpid(), ProfilerOptions())
    assert len(made) == calls
