"""Hostile names: control characters and escape sequences in a process's name, its command line
and its function names are shown escaped, and never reach the terminal raw (issue 7).

The target renames itself (`/proc/self/comm`), carries escape sequences in its argv, and runs a
hot function whose code object is named with them. tmux's `pipe-pane` records every byte perftop
writes, so the test checks both what the screen shows and what was sent: an OSC 0 that got
through would also change the pane's title, which tmux reports.
"""

from __future__ import annotations

import contextlib
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    Tmux,
    head,
    needs_tmux,
    open_filter,
    samples,
    sized_command,
    wait_until,
)
from tests.e2e.targets import Target, pyspy_of, start_target, wait_gone

pytestmark = [needs_tmux]

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
def hostile(tmp_path: Path) -> Iterator[tuple[Target, str]]:
    marker = f"hostile_{uuid.uuid4().hex[:8]}"  # tests running side by side: one row each
    proc = start_target(tmp_path, HOSTILE, [marker, *ARGV], name="h.py")
    try:
        comm = Path(f"/proc/{proc.pid}/comm")
        wait_until(lambda: comm.read_bytes() == COMM.encode() + b"\n", "the target's new name")
        yield proc, marker
    finally:
        proc.end()


@pytest.fixture
def wide() -> Iterator[Tmux]:
    session = Tmux(width=200, height=50)  # the whole command line fits in the table
    yield session
    session.kill()


def pane_title(tmux: Tmux) -> str:
    return tmux.display("#{pane_title}")


def assert_nothing_raw(raw: Path, tmux: Tmux, title: str) -> None:
    # pipe-pane's cat is behind the screen: wait until it has the hostile text (escaped).
    wait_until(lambda: raw.exists() and b"PWNED" in raw.read_bytes(), f"PWNED in {raw}")
    written = raw.read_bytes()
    for needle in RAW:
        assert needle not in written, f"{needle!r} was written to the terminal raw"
    assert pane_title(tmux) == title, "the window title was not changed"


def test_names_and_command_lines_are_shown_escaped(
    wide: Tmux, tmp_path: Path, hostile: tuple[Target, str]
) -> None:
    proc, marker = hostile
    raw = tmp_path / "raw.bin"
    wide.start(sized_command(wide))
    wide.pipe_to(raw)
    wide.wait_for(lambda s: "PID USER" in s)
    title = pane_title(wide)
    open_filter(wide)
    wide.type(marker)
    wide.keys("Enter")
    # The table: the command line, each control character as \xNN.
    wide.wait_for(
        lambda s: "1 shown" in s and marker + r" \x1b]0;PWNED\x07 \x1b[2J bell\x07 cr\x0dend" in s
    )
    wide.keys("i")  # the detail pane: the name (comm) and the command line
    screen = wide.wait_for(lambda s: "command" in s and "cwd" in s)
    assert rf"{proc.pid} hx\x1b[2J\x07\x0dz" in screen
    assert r"\x1b]0;PWNED\x07" in screen
    wide.keys("F8")  # renice: the notification names the process
    wide.wait_for(lambda s: r"hx\x1b[2J\x07\x0dz) nice 1" in s)
    assert_nothing_raw(raw, wide, title)
    wide.keys("F10")


def test_function_names_in_the_flame_are_shown_escaped(
    wide: Tmux, tmp_path: Path, hostile: tuple[Target, str]
) -> None:
    proc, _ = hostile
    raw = tmp_path / "raw.bin"
    wide.start(sized_command(wide, "--pid", str(proc.pid)))
    wide.pipe_to(raw)
    title = pane_title(wide)
    try:
        # py-spy's raw format splits frames on ';', so the OSC's ';' cuts the name in two.
        screen = wide.wait_for(lambda s: "top functions" in s and r"PWNED\x07\x1b[2J" in s, 30)
        assert r"perftop_e2e_hot\x1b]0" in screen
        first = samples(screen)
        # A few more redraws of the flame, each with the hostile names in it.
        screen = wide.wait_for(lambda s: samples(s) > first + 100, what="more samples")
        assert head(screen).startswith(" LIVE "), "nothing erased the screen"
        assert "flame" in screen.splitlines()[1]
        assert_nothing_raw(raw, wide, title)
    finally:
        with contextlib.suppress(Exception):
            wide.keys("F10")
        wait_gone(proc.pid)
    assert not pyspy_of(proc.pid)
