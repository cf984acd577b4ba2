"""The end-to-end tests' one way to drive a terminal and to wait for it.

`Tmux` runs a command in a tmux pane of its own tmux server (`-L`: tests running side by side,
or another checkout's tests, never share a server or its environment), reads the screen and
sends keys. Every wait is for a condition, never for a time, and a wait that times out says
everything needed to see why without running the test again: what it waited for, the command,
the last screen, what the pane's program wrote outside the full screen (a traceback, a one-line
error), whether it is still running, and the tail of perftop's own log (Textual's, through
TEXTUAL_LOG). `shell_command` runs perftop under bash so the pane outlives it and the terminal's
state after it can be read; the screen parsers (`head`, `samples`, `flat`) read perftop's screens.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

T = TypeVar("T")

EXITED = "perftop exited with"  # what `shell_command`'s bash prints after perftop
# tmux's record of the modes a program set: alternate screen, cursor shown, mouse reporting.
MODES = (
    "alternate_on",
    "cursor_flag",
    "mouse_any_flag",
    "mouse_sgr_flag",
    "mouse_all_flag",
    "mouse_button_flag",
    "mouse_standard_flag",
)
RESTORED = {"alternate_on": "0", "cursor_flag": "1"} | {m: "0" for m in MODES[2:]}
LOG_TAIL = 40  # lines of perftop's log a timed-out wait prints

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def describe(predicate: Callable[..., object]) -> str:
    """A predicate in words: its source line (a lambda's own text), else its name."""
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))


def wait_until(
    probe: Callable[[], T | None],
    what: str,
    timeout: float = 20.0,
    explain: Callable[[], str] | None = None,
    every: float = 0.05,
) -> T:
    """Poll `probe` until it returns something truthy, and return that; fail after `timeout`
    saying what was waited for, plus whatever `explain` adds (the state that was seen)."""
    started = time.monotonic()
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() - started > timeout:
            details = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for: {what}{details}")
        time.sleep(every)


class Tmux:
    """One tmux pane, on a tmux server of its own, `width` x `height`."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.name = f"perftop-e2e-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        self.command = ""
        # perftop's log (Textual's), in a directory any user may write: some tests drop to
        # `nobody`. Removed with the session.
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.log_dir.chmod(0o777)
        self.log = self.log_dir / "textual.log"

    def tmux(self, *args: str, check: bool = True) -> str:
        """Run a tmux command against this session's server; its output."""
        done = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: str) -> None:
        self.command = command
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        env["TEXTUAL_LOG"] = str(self.log)
        # pytest-xdist exports COLUMNS and LINES (80x24) to its workers: Textual would take
        # them over the pane's real size.
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        new = ["new-session", "-d", "-s", self.name, "-x", str(self.width), "-y", str(self.height)]
        # A program that ends (or crashes) leaves its last words on the pane, for the report:
        # set in the server's configuration, so it holds from the pane's first moment.
        conf = self.log_dir / "tmux.conf"
        conf.write_text("set-option -g remain-on-exit on\n")
        subprocess.run(
            ["tmux", "-L", self.name, "-f", str(conf), *new, command], check=True, env=env
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name, check=False)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        """Type `text` literally (no key names)."""
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def pane_pid(self) -> int:
        return int(self.tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0])

    def display(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", self.name, fmt).strip()

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def modes(self) -> dict[str, str]:
        out = self.display(" ".join(f"#{{{m}}}" for m in MODES)).split()
        return dict(zip(MODES, out, strict=True))

    def pipe_to(self, path: Path) -> None:
        """Record every byte the pane's program writes into `path`."""
        self.tmux("pipe-pane", "-o", "-t", self.name, f"cat >> {shlex.quote(str(path))}")

    def wait_for(
        self, predicate: Callable[[str], object], timeout: float = 20.0, what: str = ""
    ) -> str:
        """The screen, once `predicate` holds for it; a report of everything if it never does."""
        last = [""]

        def probe() -> str:
            last[0] = self.screen()
            return last[0] if predicate(last[0]) else ""

        return wait_until(
            probe, what or describe(predicate), timeout, lambda: self.report(last[0]), every=0.1
        )

    def report(self, screen: str | None = None) -> str:
        """What a failure needs: the command, the pane's state, the screen, perftop's output
        outside the full screen and the tail of its log."""
        state = self.tmux("list-panes", "-t", self.name, "-F", "#{pane_dead} #{pane_dead_status}")
        dead, _, status = state.strip().partition(" ")
        parts = [
            f"command: {self.command}",
            (f"pane: exited with status {status or '(not reaped yet)'}")
            if dead == "1"
            else "pane: still running",
            f"--- the last screen ---\n{self.screen() if screen is None else screen}",
        ]
        # While the program is in the alternate screen, what it wrote before (or a crash's
        # traceback after) is on the normal screen and in the history.
        normal = self.tmux("capture-pane", "-p", "-a", "-q", "-t", self.name, check=False)
        history = self.tmux("capture-pane", "-p", "-S", "-200", "-E", "-1", "-t", self.name)
        for title, text in (("the normal screen", normal), ("the scrollback", history)):
            if text.strip():
                parts.append(f"--- {title} ---\n{text.rstrip()}")
        log = f"--- perftop's log ({self.log}), last {LOG_TAIL} lines ---"
        parts.append(f"{log}\n{log_tail(self.log)}")
        return "\n".join(parts)

    def kill(self) -> None:
        self.tmux("kill-server", check=False)
        shutil.rmtree(self.log_dir, ignore_errors=True)


# Textual logs every message it delivers ("Event(...) >>> Widget"): of those, only the keys
# (what perftop was sent) are worth a report; and workers' state changes go too.
ROUTINE = re.compile(r"^(?!Key\()\w+\(.*\) >>> |^<Worker ")


def log_tail(path: Path, lines: int = LOG_TAIL) -> str:
    """The last `lines` of a log (less each tick's routine), and every line before them that
    names an error."""
    try:
        text = [s for s in path.read_text(errors="replace").splitlines() if not ROUTINE.match(s)]
    except OSError as exc:
        return f"(no log: {exc.strerror})"
    errors = [line for line in text[:-lines] if re.search(r"Traceback|Error|Exception", line)]
    return "\n".join([*errors[-20:], *(["..."] if errors else []), *text[-lines:]])


def perftop_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "perftop", *args]


def perftop_command(*args: str) -> str:
    """A pane command that is perftop itself (`exec`): signals reach it directly."""
    return "exec " + " ".join(shlex.quote(a) for a in perftop_argv(*args))


def until_sized(width: int = 120, height: int = 40) -> str:
    """Shell code that waits (up to 20 s: a loaded box) for the pane to have its size first.

    tmux may size a new pane after its command has started; a program that reads its size
    before installing its SIGWINCH handler would then draw at the old size for good. It also
    unsets COLUMNS and LINES, which perftop (through Textual's use of shutil.get_terminal_size)
    would take over the real size.
    """
    return (
        "unset COLUMNS LINES; "
        f'for _ in $(seq 200); do [ "$(stty size)" = "{height} {width}" ] && break; '
        "sleep 0.1; done; "
    )


def sized_command(tmux: Tmux, *args: str) -> str:
    """`perftop_command` once the pane has `tmux`'s size."""
    return "bash -c " + shlex.quote(until_sized(tmux.width, tmux.height) + perftop_command(*args))


def shell_command(
    tmp_path: Path,
    *args: str,
    cwd: Path | None = None,
    prefix: str = "",
    size: tuple[int, int] = (120, 40),
    program: tuple[str, ...] = ("-m", "perftop"),
) -> str:
    """A pane command running perftop under bash, which then records the terminal state
    (`stty.before`, `stty.after` in `tmp_path`) and prints EXITED and the exit status."""
    perftop = " ".join(shlex.quote(a) for a in [sys.executable, *program, *args])
    script = (
        f"cd {shlex.quote(str(cwd or tmp_path))}; "
        f"{until_sized(*size)}"
        f"stty -a > {tmp_path}/stty.before; "
        f"{prefix}{perftop}; "
        f"status=$?; stty -a > {tmp_path}/stty.after; "
        f'echo "{EXITED} $status"; '
        "exec sleep 3600"
    )
    return "bash -c " + shlex.quote(script)


def exited(tmux: Tmux, timeout: float = 20.0) -> int:
    """Wait for `shell_command`'s perftop to end; its exit status."""
    screen = tmux.wait_for(lambda s: EXITED in s, timeout, what=f"{EXITED!r} on the screen")
    found = re.search(rf"{EXITED} (\d+)", screen)
    assert found, screen
    return int(found.group(1))


def perftop_pid(tmux: Tmux) -> int:
    """perftop under the pane's shell (setpriv and runuser exec it: the same process)."""

    def find() -> int:
        for proc in psutil.Process(tmux.pane_pid()).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "perftop" in " ".join(proc.cmdline()):
                    return proc.pid
        return 0

    return wait_until(find, "perftop to start under the pane's shell", 20, tmux.report)


def stty_settings(path: Path) -> str:
    """`stty -a` without the size, on one line: its line breaks follow the terminal's width."""
    return " ".join(re.sub(r"rows \d+; columns \d+;", "", path.read_text()).split())


def assert_terminal_restored(tmux: Tmux, tmp_path: Path) -> None:
    """After `exited`: the shell's stty settings as before perftop, the modes all reset."""
    before, after = (stty_settings(tmp_path / f"stty.{when}") for when in ("before", "after"))
    assert after == before, "terminal settings (stty) restored"
    assert tmux.modes() == RESTORED, "normal screen, cursor shown, mouse reporting off"


def head(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def samples(screen: str) -> int:
    """The live profile's sample count in its head line; -1 where there is none."""
    found = re.search(r"samples ([\d,]+)", head(screen))
    return int(found.group(1).replace(",", "")) if found else -1


def coverage(screen: str) -> int:
    found = re.search(r"coverage (\d+)%", head(screen))
    return int(found.group(1)) if found else -1


def flat(screen: str) -> str:
    """The screen without blanks and borders: toasts wrap their text over several lines."""
    return re.sub(r"[\s▌▐│]+", "", screen)


def no_traceback(tmux: Tmux) -> None:
    screen = tmux.screen()
    assert "Traceback" not in screen and "Error:" not in screen, tmux.report(screen)


def press_until(
    tmux: Tmux, key: str, done: Callable[[str], object], what: str, tries: int = 5
) -> str:
    """Press `key` until `done` holds for the screen: on a loaded machine the first frame can
    come before the key bindings are live, and a key sent then is lost."""
    for attempt in range(tries):
        tmux.keys(key)
        try:
            return tmux.wait_for(done, timeout=5, what=what)
        except AssertionError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def open_filter(tmux: Tmux) -> None:
    """Focus the dashboard's filter box (`/`), pressing again if a key was lost."""
    press_until(tmux, "/", lambda s: "filter: name" in s, "the filter box to open")


def export_and_wait(tmux: Tmux, expected: str) -> str:
    """Export the profile in the first format offered; the screen once it says `expected`
    (compared without blanks and borders: see `flat`)."""
    press_until(tmux, "e", lambda s: "Export the profile as" in s, "the export menu")
    tmux.keys("Enter")
    return tmux.wait_for(lambda s: expected in flat(s), what=f"{expected!r} once exported")


def first_row(screen: str) -> str:
    """The table's first row (the line under its header); '' before there is one."""
    below = screen.split("START COMMAND", 1)
    return below[1].splitlines()[1] if len(below) == 2 and below[1].count("\n") > 1 else ""


def filter_to(tmux: Tmux, marker: str, pid: int) -> str:
    """Type `marker` into the filter box and wait until the one row left is `pid`'s, with the
    focus back on the table. The marker is typed, not given as --filter: perftop's own command
    line would then match it too."""
    open_filter(tmux)
    tmux.type(marker)
    tmux.keys("Enter")
    return tmux.wait_for(
        lambda s: (
            "1 shown" in s
            and first_row(s).lstrip().startswith(f"{pid} ")
            and "Profile" in s.splitlines()[-1]  # the footer shows the table's keys again
        ),
        what=f"the table filtered to PID {pid} alone, and focused",
    )


def progress_samples(screen: str) -> int:
    """The sample count on the progress bar; -1 before there is one."""
    found = re.search(r"Recording PID.* (\d+) samples", screen)
    return int(found.group(1)) if found else -1


# Run a command as `nobody` (the tests run as root): what an ordinary user meets.
AS_NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
