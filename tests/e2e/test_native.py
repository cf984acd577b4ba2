"""perftop on processes that are not Python, with real perf: a C program the test compiles
(tests/native_targets.py), attached from the table in tmux, recorded to files, the whole
machine, a Node program's JIT frames, and the ways perf can refuse."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.harness import (
    AS_NOBODY,
    Tmux,
    exited,
    filter_to,
    flat,
    head,
    needs_tmux,
    perftop_argv,
    perftop_command,
    progress_samples,
    shell_command,
    wait_until,
)
from tests.e2e.targets import Target
from tests.native_targets import C_FUNCTIONS, have, perfs_on, start_c, start_node

pytestmark = pytest.mark.skipif(
    not have("perf") or not have("gcc"), reason="needs perf (linux-perf) and gcc"
)
LEAF = C_FUNCTIONS[-1]


@pytest.fixture
def native(tmp_path: Path) -> Iterator[Target]:
    # A name of its own, that `record --all` shows it by.
    target = start_c(tmp_path, name="perftop_e2e_native")
    yield target
    target.end()


def ended(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def record(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`perftop record ARGS` without a terminal: (exit status, stdout, stderr)."""
    done = subprocess.run(
        perftop_argv("record", *args),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@needs_tmux
def test_attach_from_the_table_shows_the_c_functions(
    tmux: Tmux, native: Target, tmp_path: Path
) -> None:
    tmux.start(perftop_command())
    tmux.wait_for(lambda s: "PID USER" in s)
    # The test's own folder is in the program's path: another test's C program may be running.
    filter_to(tmux, tmp_path.name, native.pid)
    tmux.keys("Enter")  # the one row left: the C program; auto picks perf for it
    screen = tmux.wait_for(
        lambda s: "LIVE" in s and all(name in s for name in C_FUNCTIONS),
        what="the C program's functions in the live flame view",
    )
    assert str(native.pid) in head(screen)
    assert "perf" in head(screen), "the head line says perf samples"
    assert "top functions" in screen
    assert perfs_on(native.pid), "perf samples while the flame view is open"
    # The flame reads root to leaf, top to bottom: each function below its caller.
    rows = {
        name: next(i for i, line in enumerate(screen.splitlines()) if name in line)
        for name in C_FUNCTIONS
    }
    assert rows["perftop_native_outer"] < rows["perftop_native_middle"] < rows[LEAF], screen
    tmux.keys("q")  # back to the table: perf ends
    tmux.wait_for(lambda s: "PID USER" in s)
    wait_until(lambda: not perfs_on(native.pid), "perf to end with the flame view")
    tmux.keys("F10")
    assert native.poll() is None, "the target is left running"


@needs_tmux
@pytest.mark.parametrize("how", ["quit", "ctrl-c", "SIGTERM", "SIGHUP"])
def test_no_perf_survives_perftop(tmux: Tmux, native: Target, how: str) -> None:
    tmux.start(perftop_command("--pid", str(native.pid)))
    tmux.wait_for(lambda s: LEAF in s, what="the C program's leaf in the flame view")
    assert perfs_on(native.pid)
    perftop_pid = tmux.pane_pid()
    if how == "quit":
        tmux.keys("F10")
    elif how == "ctrl-c":
        tmux.keys("C-c")
    else:
        os.kill(perftop_pid, getattr(signal, how))
    wait_until(lambda: not perfs_on(native.pid), f"every perf to end after {how}")
    wait_until(lambda: ended(perftop_pid), "perftop to end", 15, tmux.report)
    assert native.poll() is None, "the target itself is left alone"


def test_record_writes_folded_and_speedscope_with_the_frames_in_order(
    tmp_path: Path, native: Target
) -> None:
    code, out, err = record(tmp_path, str(native.pid), "-d", "2", "-o", "native.folded")
    assert code == 0, err
    assert "wrote native.folded" in out
    lines = (tmp_path / "native.folded").read_text().splitlines()
    chain = " ".join(C_FUNCTIONS)
    assert any(
        chain in " ".join(part.split(" (")[0] for part in line.rsplit(" ", 1)[0].split(";"))
        for line in lines
    ), lines[:5]
    code, out, err = record(tmp_path, str(native.pid), "-d", "2", "-o", "native.speedscope.json")
    assert code == 0, err
    data = json.loads((tmp_path / "native.speedscope.json").read_text())
    names = [frame["name"] for frame in data["shared"]["frames"]]
    assert set(C_FUNCTIONS) <= set(names)
    profile = data["profiles"][0]
    stacks = profile["samples"]
    wanted = [names.index(name) for name in C_FUNCTIONS]
    assert any(stack[-3:] == wanted for stack in stacks), "outer → middle → leaf, in order"
    assert not perfs_on(native.pid)


def test_record_all_has_the_c_program_as_a_root(tmp_path: Path, native: Target) -> None:
    code, _, err = record(tmp_path, "--all", "-d", "3", "-o", "box.folded")
    assert code == 0, err
    # perf names a process by its comm: the kernel keeps 15 characters of it.
    root = f'process {native.pid}:"{"perftop_e2e_native"[:15]}"'
    lines = (tmp_path / "box.folded").read_text().splitlines()
    mine = [line for line in lines if line.startswith(root + ";")]
    assert mine, f"no stack rooted at {root!r} among {len(lines)}"
    assert any(LEAF in line for line in mine)


@pytest.mark.skipif(not have("node") and not have("nodejs"), reason="needs Node.js")
def test_node_functions_are_named(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    try:
        code, _, err = record(tmp_path, str(node.pid), "-d", "3", "-o", "node.folded")
    finally:
        node.end()
        Path(f"/tmp/perf-{node.pid}.map").unlink(missing_ok=True)
    assert code == 0, err
    assert "perftopJsHot" in (tmp_path / "node.folded").read_text()


@needs_tmux
def test_a_target_that_exits_keeps_what_was_recorded(tmux: Tmux, tmp_path: Path) -> None:
    target = start_c(tmp_path, name="perftop_e2e_short")
    try:
        tmux.start(
            shell_command(tmp_path, "record", str(target.pid), "-d", "120", "-o", "s.folded")
        )
        tmux.wait_for(lambda s: progress_samples(s) > 50, 30, what="over 50 samples on the bar")
        target.end()  # it exits while it is recorded
        assert exited(tmux, timeout=30) == 0
    finally:
        target.kill()
    assert f"PID{target.pid}exited" in flat(tmux.screen())
    assert LEAF in (tmp_path / "s.folded").read_text()
    assert not perfs_on(target.pid)


def test_missing_perf_is_one_line_with_the_package(tmp_path: Path, native: Target) -> None:
    code, out, err = record(
        tmp_path,
        "--profiler",
        "perf",
        str(native.pid),
        "-d",
        "1",
        env={"PERFTOP_PERF": str(tmp_path / "no-perf-here")},
    )
    assert code == 2 and out == ""
    assert err.startswith("perftop: ") and "linux-perf" in err
    assert len(err.splitlines()) == 1
    assert not list(tmp_path.glob("perftop-*"))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_paranoid_level_refuses_the_whole_machine_to_a_user() -> None:
    level = int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
    if level <= 0:
        pytest.skip(f"perf_event_paranoid is {level}: every user may sample every CPU here")
    public = Path(tempfile.mkdtemp(prefix="perftop-e2e-"))  # tmp_path is root's, 0700
    try:
        public.chmod(0o777)
        argv = perftop_argv("record", "--all", "-d", "1", "-o", str(public / "x.folded"))
        done = subprocess.run(
            [*AS_NOBODY, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "HOME": str(public), "XDG_CONFIG_HOME": str(public)},
        )
        assert not (public / "x.folded").exists()
    finally:
        shutil.rmtree(public)
    if "No module named" in done.stderr:
        pytest.skip("the virtualenv is not readable by nobody")
    assert done.returncode == 2, done.stderr
    assert f"perf_event_paranoid is {level}" in done.stderr
    assert "sysctl kernel.perf_event_paranoid=" in done.stderr
    assert len(done.stderr.splitlines()) == 1
