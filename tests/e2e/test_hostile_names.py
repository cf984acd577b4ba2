"""Hostile names: control characters and escape sequences in a process's name, its command line
and its function names are shown escaped, and never reach the terminal raw (issue 7).

The target renames itself (`/proc/self/comm`), carries escape sequences in its argv, and runs a
hot function whose code object is named with them. tmux's `pipe-pane` records every byte perftop
writes, so the test checks both what the screen shows and what was sent: an OSC 0 that got
through would also change the pane's title, which tmux reports.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_faults import until_sized
from tests.e2e.test_tmux import Tmux, perftop_command, pyspy_of, wait_gone

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

TITLE = "\x1b]0;PWNED\x07"  # OSC 0: set the window title
CLEAR = "\x1b[2J"  # erase the screen
COMM = f"hx{CLEAR}\x07\rz"  # 10 bytes: within the kernel's 15
ARGV = [TITLE, CLEAR, "bell\x07", "cr\rend"]
FUNCTION = f"perftop_e2e_hot{TITLE}{CLEAR}"
# What must never appear in the bytes perftop wrote: any of the hostile strings, raw.
RAW = [TITLE.encode(), b"PWNED\x07", f"hx{CLEAR}".encode(), b"bell\x07", b"cr\rend"]

HOSTILE = textwrap.dedent(
    f"""
    import sys, time

    with open("/proc/self/comm", "w") as f:
        f.write({COMM!r})

    def hot():
        while True:
            sum(i * i for i in range(5000))

    hot.__code__ = hot.__code__.replace(co_name={FUNCTION!r}, co_qualname={FUNCTION!r})
    hot()
    """
)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    (tmp_path / "h.py").write_text(HOSTILE)
    marker = f"hostile_{uuid.uuid4().hex[:8]}"  # tests running side by side: one row each
    proc = subprocess.Popen([sys.executable, "h.py", marker, *ARGV], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/comm").read_bytes() != COMM.encode() + b"\n":
            assert time.monotonic() < deadline, "the target did not rename itself"
            time.sleep(0.05)
        yield proc, marker
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def wide() -> Iterator[Tmux]:
    session = Tmux(width=200, height=50)  # the whole command line fits in the table
    yield session
    session.kill()


def start(tmux: Tmux, *args: str) -> None:
    wait = until_sized(tmux.width, tmux.height)
    tmux.start("bash -c " + shlex.quote(wait + perftop_command(*args)))


def record(tmux: Tmux, path: Path) -> None:
    subprocess.run(["tmux", "pipe-pane", "-o", "-t", tmux.name, f"cat >> {path}"], check=True)


def pane_title(tmux: Tmux) -> str:
    return subprocess.run(
        ["tmux", "display-message", "-p", "-t", tmux.name, "#{pane_title}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def assert_nothing_raw(raw: Path, tmux: Tmux, title: str) -> None:
    time.sleep(0.5)  # pipe-pane's cat catches up
    written = raw.read_bytes()
    assert written, "pipe-pane recorded the output"
    for needle in RAW:
        assert needle not in written, f"{needle!r} was written to the terminal raw"
    assert pane_title(tmux) == title, "the window title was not changed"


def test_names_and_command_lines_are_shown_escaped(
    wide: Tmux, tmp_path: Path, hostile: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, marker = hostile
    raw = tmp_path / "raw.bin"
    start(wide)
    record(wide, raw)
    wide.wait_for(lambda s: "PID USER" in s)
    title = pane_title(wide)
    time.sleep(1.0)
    wide.keys("/")
    wide.wait_for(lambda s: "filter: name" in s)
    wide.keys("-l", marker)
    wide.keys("Enter")
    screen = wide.wait_for(lambda s: "1 shown" in s)
    # The table: the command line, each control character as \xNN.
    assert marker + r" \x1b]0;PWNED\x07 \x1b[2J bell\x07 cr\x0dend" in screen
    wide.keys("i")  # the detail pane: the name (comm) and the command line
    screen = wide.wait_for(lambda s: "command" in s and "cwd" in s)
    assert rf"{proc.pid} hx\x1b[2J\x07\x0dz" in screen
    assert r"\x1b]0;PWNED\x07" in screen
    wide.keys("F8")  # renice: the notification names the process
    screen = wide.wait_for(lambda s: "nice 1" in s)
    assert r"hx\x1b[2J\x07\x0dz) nice 1" in screen
    assert_nothing_raw(raw, wide, title)
    wide.keys("F10")


def test_function_names_in_the_flame_are_shown_escaped(
    wide: Tmux, tmp_path: Path, hostile: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, _ = hostile
    raw = tmp_path / "raw.bin"
    start(wide, "--pid", str(proc.pid))
    record(wide, raw)
    title = pane_title(wide)
    try:
        # py-spy's raw format splits frames on ';', so the OSC's ';' cuts the name in two.
        screen = wide.wait_for(lambda s: "top functions" in s and r"PWNED\x07\x1b[2J" in s, 30)
        assert r"perftop_e2e_hot\x1b]0" in screen
        time.sleep(2.0)  # a few more redraws of the flame
        screen = wide.screen()
        assert screen.splitlines()[0].startswith(" LIVE "), "nothing erased the screen"
        assert "flame" in screen.splitlines()[1]
        assert_nothing_raw(raw, wide, title)
    finally:
        with contextlib.suppress(Exception):
            wide.keys("F10")
        wait_gone(proc.pid)
    assert not pyspy_of(proc.pid)
