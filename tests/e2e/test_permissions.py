"""perftop as an ordinary user (`nobody`), with the real perftop in tmux (issue 7).

Other users' processes are listed with what can be read (their I/O counters, cwd, exe, open
files and environment cannot), attaching to them explains what is needed, and an export to a
directory the user may not write says so; the user's own processes are profiled as usual.
The tests run as root and drop to `nobody` with setpriv, so the virtualenv and the checkout
must be readable by `nobody`: the tests are skipped, saying so, where they are not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    AS_NOBODY,
    Tmux,
    exited,
    export_and_wait,
    flat,
    head,
    no_traceback,
    open_filter,
    perftop_argv,
    perftop_pid,
    samples,
    shell_command,
)
from tests.e2e.targets import Target, pyspy_of, start_target, wait_gone


def _nobody_can_run_perftop() -> str:
    """'' when `nobody` can import perftop from this virtualenv, else why not."""
    if os.geteuid() != 0:
        return "needs root to switch to nobody"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    done = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import perftop.cli, textual, psutil"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    if done.returncode:
        return f"the virtualenv is not readable by nobody: {done.stderr.strip()[-200:]}"
    return ""


_WHY_NOT = _nobody_can_run_perftop() if shutil.which("tmux") else "tmux is not installed"
pytestmark = [pytest.mark.skipif(bool(_WHY_NOT), reason=_WHY_NOT)]
PREFIX = " ".join([*AS_NOBODY, "--reset-env"]) + " "


def grows(tmux: Tmux, than: int, timeout: float = 30.0) -> int:
    screen = tmux.wait_for(lambda s: samples(s) > than and " LIVE " in head(s), timeout)
    return samples(screen)


@pytest.fixture
def root_target(tmp_path: Path) -> Iterator[tuple[Target, str]]:
    """A root-owned Python process with a marker in its command line."""
    marker = f"root_target_{uuid.uuid4().hex[:8]}"
    proc = start_target(tmp_path, args=[marker])
    yield proc, marker
    proc.end()


@pytest.fixture
def nobody_target() -> Iterator[tuple[Target, Path]]:
    """A Python process of nobody's, and its directory: root's, 0755, so not writable by
    nobody (tmp_path is root's and 0700: nobody cannot even look into it)."""
    public = Path(tempfile.mkdtemp(prefix="perftop-e2e-"))
    try:
        public.chmod(0o755)
        proc = start_target(public, name="t.py", prefix=AS_NOBODY)
        yield proc, public
        proc.end()
    finally:
        shutil.rmtree(public)


def test_cli_attach_to_another_users_process_says_what_is_needed(
    root_target: tuple[Target, str],
) -> None:
    proc, _ = root_target
    done = subprocess.run(
        [*AS_NOBODY, *perftop_argv("--pid", str(proc.pid))],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        timeout=60,
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert f"Permission denied reading PID {proc.pid}" in line
    assert "another user" in line and "root" in line and "CAP_SYS_PTRACE" in line
    assert not pyspy_of(proc.pid)


def test_other_users_processes_are_shown_and_attaching_explains(
    tmux: Tmux, tmp_path: Path, root_target: tuple[Target, str]
) -> None:
    proc, marker = root_target
    tmux.start(shell_command(tmp_path, prefix=PREFIX))
    tmux.wait_for(lambda s: "PID USER" in s)
    status = Path(f"/proc/{perftop_pid(tmux)}/status").read_text()
    assert re.search(r"^Uid:\t65534\t65534", status, re.MULTILINE), "perftop runs as nobody"
    open_filter(tmux)
    tmux.type(marker)
    tmux.keys("Enter")
    # Keys typed before the Enter is handled still go to the filter box: wait for the table's
    # keys to be back in the footer (the box has let go of the focus).
    tmux.wait_for(lambda s: "Profile" in s.splitlines()[-1])

    def cells(screen: str) -> list[str]:
        rows = [line for line in screen.splitlines() if line.lstrip().startswith(f"{proc.pid} ")]
        return rows[0].split() if rows else []

    # CPU% of another user's process is read (from the second tick on: it needs a baseline).
    screen = tmux.wait_for(lambda s: "1 shown" in s and float((cells(s) or [0] * 4)[3]) > 10)
    assert cells(screen)[1] == "root", "the owner is shown"
    assert cells(screen)[7:9] == ["-", "-"], "I/O that cannot be read shows as -, not as 0"

    tmux.keys("i")
    screen = tmux.wait_for(lambda s: "cwd" in s and "permission denied" in s)
    detail = screen.split("process", 1)[1]
    assert marker in flat(detail), "the command line is world-readable and shown"
    for field in ("exe", "cwd"):  # what the kernel hides from other users says why it is missing
        assert re.search(rf"│ {field} +\(permission denied\)", detail), field

    tmux.keys("Enter")  # profile it: refused, with what would allow it
    screen = tmux.wait_for(lambda s: "Permissiondenied" in flat(s), timeout=20)
    assert "anotheruser" in flat(screen)
    assert not pyspy_of(proc.pid)
    tmux.keys("q")
    tmux.wait_for(lambda s: "PID USER" in s)
    tmux.keys("F10")
    assert exited(tmux) == 0
    no_traceback(tmux)


def test_own_process_is_profiled_and_an_unwritable_export_says_why(
    tmux: Tmux, tmp_path: Path, nobody_target: tuple[Target, Path]
) -> None:
    proc, public = nobody_target
    tmux.start(shell_command(tmp_path, "--pid", str(proc.pid), cwd=public, prefix=PREFIX))
    count = grows(tmux, 0, timeout=30)
    screen = export_and_wait(tmux, "Permissiondenied")
    assert "couldnotwrite" in flat(screen)
    assert [p.name for p in public.iterdir()] == ["t.py"], "nothing half-written"
    grows(tmux, count)  # still sampling
    tmux.keys("F10")
    assert exited(tmux) == 0
    wait_gone(proc.pid)
    no_traceback(tmux)


def test_export_to_a_directory_that_cannot_be_searched_says_why(
    tmux: Tmux, tmp_path: Path, nobody_target: tuple[Target, Path]
) -> None:
    proc, _ = nobody_target
    tmux.start(shell_command(tmp_path, "--pid", str(proc.pid), prefix=PREFIX))  # 0700, root's
    count = grows(tmux, 0, timeout=30)
    export_and_wait(tmux, "Permissiondenied")
    no_traceback(tmux)
    assert "couldnotwrite" in flat(tmux.screen())
    grows(tmux, count)
