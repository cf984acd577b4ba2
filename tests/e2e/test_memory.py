"""Memory profiling for real (issue 15): gdb injects the tracker into a running Python that the
test starts, in a virtualenv of its own without memray (perftop brings its memray: the same
Python version) or on another Python version (tracemalloc, the fallback).

The target keeps a list growing (`perftop_e2e_leaker`) and allocates and frees as much beside
it (`perftop_e2e_steady`): the leaker must be on top of the live bytes, in the TUI and in
`perftop record --memory`. The target writes, each turn of its loop, what a tracker would
change in it (tracemalloc on or off, its threads, perftop's folders on its path), so the tests
see it left as it was after a detach, and attached again. Errors: not Python, no such PID, the
target exiting mid-profile, no gdb, no permission.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    AS_NOBODY,
    Tmux,
    exited,
    flat,
    head,
    needs_tmux,
    perftop_argv,
    shell_command,
    wait_until,
)
from tests.e2e.targets import LIFELINE, Target
from tests.gdb_calls import needs_gdb_calls

pytestmark = [
    pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed"),
]

LEAKER = "perftop_e2e_leaker"
STEADY = "perftop_e2e_steady"
SOURCE = textwrap.dedent(
    f"""
    import json, os, sys, threading, time, tracemalloc

    kept = []

    def {LEAKER}(n):
        block = []
        for i in range(100):
            block.append("leaked-%d-%d" % (n, i))  # kept for ever
        kept.append(block)

    def {STEADY}(n):
        block = []
        for i in range(100):
            block.append("steady-%d-%d" % (n, i))  # as much, freed on return
        return len(block)

    def report():
        state = {{
            "n": n,
            "tracing": tracemalloc.is_tracing(),
            "threads": sorted(t.name for t in threading.enumerate()),
            "path": [p for p in sys.path if "perftop" in p],
        }}
        with open("state.tmp", "w") as out:
            json.dump(state, out)
        os.replace("state.tmp", "state.json")

    n = 0
    while True:
        {LEAKER}(n)
        {STEADY}(n)
        n += 1
        if n % 10 == 0:
            report()
        time.sleep(0.02)
    """
)


def other_python() -> str:
    """A Python of another version than perftop's: perftop has no memray for it."""
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}."
    root = Path("/root/.pyenv/versions")
    found = sorted(root.glob("3.1[0-9].*/bin/python3")) if root.is_dir() else []
    for python in reversed(found):
        if not python.parent.parent.name.startswith(mine):
            return str(python)
    return ""


OTHER = other_python()


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtualenv of its own, perftop's Python version, without memray (nor perftop)."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = str(where / "bin" / "python")
    has = subprocess.run([python, "-c", "import memray"], capture_output=True, check=False)
    assert has.returncode != 0, "the target's virtualenv must not have memray"
    return python


def start_python(python: str, directory: Path, name: str = "leaky.py") -> Target:
    """The leaking target, run by `python` in `directory`, once it is in its loop."""
    script = directory / name
    script.write_text(LIFELINE + SOURCE)
    script.chmod(0o644)
    proc = subprocess.Popen([python, name], cwd=directory, stdin=subprocess.PIPE)
    target = Target(proc, script)
    try:
        wait_until(lambda: state(target) is not None, f"{name} in its loop", 30)
    except BaseException:
        target.kill()
        raise
    return target


def state(target: Target) -> dict[str, object] | None:
    try:
        found: dict[str, object] = json.loads((target.script.parent / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return found


def turns(target: Target) -> int:
    now = state(target)
    return int(str(now["n"])) if now is not None else 0


def tracked(target: Target) -> bool:
    """The tracker's thread is in the target."""
    now = state(target)
    return now is not None and "perftop-memory" in list(now["threads"])  # type: ignore[call-overload]


def untouched(target: Target) -> dict[str, object] | None:
    """The target's state once no tracker is in it: tracemalloc off, no thread of perftop's,
    nothing of perftop's on its path."""
    now = state(target)
    if now is None or now["tracing"] or now["path"] or now["threads"] != ["MainThread", "lifeline"]:
        return None
    return now


@pytest.fixture(params=["memray", "tracemalloc"])
def leaky(
    request: pytest.FixtureRequest, tmp_path: Path, venv_python: str
) -> Iterator[tuple[Target, str]]:
    """The target and the tracker perftop will put in it: in the virtualenv, memray (perftop's
    own); on another Python version, tracemalloc."""
    tracker = str(request.param)
    if tracker == "tracemalloc" and not OTHER:
        pytest.skip("no Python of another version than perftop's to run tracemalloc on")
    target = start_python(venv_python if tracker == "memray" else OTHER, tmp_path)
    yield target, tracker
    target.end()


def run_perftop(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PERFTOP_ALLOW_NO_TTY"}
    return subprocess.run(
        [*prefix, *perftop_argv(*args)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        env=env if env is not None else environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def own_bytes(folded: str) -> dict[str, int]:
    """Bytes by innermost function of a folded file."""
    found: dict[str, int] = {}
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1].split(" (", 1)[0]
        found[leaf] = found.get(leaf, 0) + int(count)
    return found


def record_leak(tmp_path: Path, target: Target, name: str) -> dict[str, int]:
    done = run_perftop(tmp_path, "record", "--memory", str(target.pid), "-d", "3", "-o", name)
    assert done.returncode == 0, done.stderr
    assert re.search(rf"wrote {name} \(folded\): [\d.]+ [KMG]iB live over", done.stdout), done
    by_function = own_bytes((tmp_path / name).read_text())
    assert max(by_function, key=lambda f: by_function[f]) == LEAKER, by_function
    return by_function


def leaker_on_top(screen: str, tracker: str) -> bool:
    """The memory flame of `tracker`, with the leaker the first row of its top table."""
    if f"{tracker} · live" not in head(screen):
        return False
    table = screen.split("own%", 1)
    rows = table[1].splitlines()[1:2] if len(table) == 2 else []
    return bool(rows) and LEAKER in rows[0]


# --- the leaker on top ------------------------------------------------------------------------


@needs_gdb_calls
@needs_tmux
def test_attaching_shows_the_leaker_on_top_of_the_live_bytes(
    tmux: Tmux, tmp_path: Path, leaky: tuple[Target, str]
) -> None:
    target, tracker = leaky
    tmux.start(shell_command(tmp_path, "--pid", str(target.pid), "--memory"))
    screen = tmux.wait_for(
        lambda s: leaker_on_top(s, tracker), 60, what=f"{LEAKER} first in the top table"
    )
    line = head(screen)
    assert "samples" not in line and "Hz" not in line and "slower" in line
    assert "view: live since attach" in line
    tmux.keys("g")  # marks now, and shows what grows from here
    tmux.wait_for(lambda s: "grown since mark" in head(s), 30)
    tmux.wait_for(lambda s: LEAKER in s.split("own%", 1)[-1], 30, what="the leaker grows")
    tmux.keys("q")  # back to the table: the tracker goes
    tmux.wait_for(lambda s: "PID USER" in s, 30)
    wait_until(lambda: untouched(target), "the target as it was", 30, lambda: str(state(target)))
    tmux.keys("q")
    assert exited(tmux) == 0
    assert target.poll() is None, "the target keeps running"


@needs_gdb_calls
def test_record_has_the_leaker_on_top_and_a_second_attach_works(
    tmp_path: Path, leaky: tuple[Target, str]
) -> None:
    target, tracker = leaky
    first = record_leak(tmp_path, target, "first.folded")
    assert target.poll() is None, "the target keeps running"
    wait_until(lambda: untouched(target), "the target as it was", 30, lambda: str(state(target)))
    second = record_leak(tmp_path, target, "second.folded")
    assert second[LEAKER] > 0 and first[LEAKER] > 0
    wait_until(lambda: untouched(target), "as it was again", 30, lambda: str(state(target)))
    if tracker == "tracemalloc":
        # Exact, allocation by allocation: what is freed at once is not live.
        assert second.get(STEADY, 0) < second[LEAKER] / 10, second


@needs_tmux
@pytest.mark.parametrize("tracker", ["memray", "tracemalloc"])
def test_run_memory_tracks_the_program_from_its_first_line(
    request: pytest.FixtureRequest, tmux: Tmux, tmp_path: Path, venv_python: str, tracker: str
) -> None:
    if tracker == "tracemalloc" and not OTHER:
        pytest.skip("no Python of another version than perftop's to run tracemalloc on")
    (tmp_path / "leaky.py").write_text(SOURCE)  # no lifeline: perftop ends what it started
    python = venv_python if tracker == "memray" else OTHER
    tmux.start(shell_command(tmp_path, "run", "--memory", "--", python, "leaky.py"))
    tmux.wait_for(lambda s: leaker_on_top(s, tracker), 60, what=f"{LEAKER} on top")
    tmux.keys("q")  # back to the table
    tmux.wait_for(lambda s: "PID USER" in s, 30)
    tmux.keys("q")
    assert exited(tmux) == 0


@needs_gdb_calls
def test_speedscope_of_a_memory_record_says_bytes(
    tmp_path: Path, leaky: tuple[Target, str]
) -> None:
    target, _ = leaky
    done = run_perftop(
        tmp_path, "record", "--memory", str(target.pid), "-d", "2", "-o", "live.speedscope.json"
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "live.speedscope.json").read_text())
    assert {p["unit"] for p in doc["profiles"]} == {"bytes"}
    assert any(f["name"] == LEAKER for f in doc["shared"]["frames"])


# --- errors, each one line --------------------------------------------------------------------


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("perftop: ") and "Traceback" not in line
    return line


def test_not_python_is_refused(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "3600"])
    try:
        line = one_line(run_perftop(tmp_path, "record", "--memory", str(sleeper.pid), "-d", "1"))
        assert "not a Python process" in line
        line = one_line(run_perftop(tmp_path, "--pid", str(sleeper.pid), "--memory"))
        assert "not a Python process" in line
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not list(tmp_path.glob("perftop-*")), "nothing written"


def test_no_such_pid(tmp_path: Path) -> None:
    line = one_line(run_perftop(tmp_path, "record", "--memory", "999999999", "-o", "x.folded"))
    assert "999999999" in line
    assert not (tmp_path / "x.folded").exists()


def test_no_gdb_says_what_to_install(tmp_path: Path, venv_python: str) -> None:
    bare = tmp_path / "bin"  # a PATH holding only python: no gdb on it
    bare.mkdir()
    (bare / "python3").symlink_to(venv_python)
    target = start_python(venv_python, tmp_path)
    try:
        env = dict(os.environ, PATH=str(bare))
        env.pop("PERFTOP_ALLOW_NO_TTY", None)
        line = one_line(
            run_perftop(tmp_path, "record", "--memory", str(target.pid), "-d", "1", env=env)
        )
        assert "gdb" in line and "install" in line
        assert untouched(target) and target.poll() is None
    finally:
        target.end()


@needs_gdb_calls
def test_a_target_that_exits_keeps_its_profile(tmp_path: Path, leaky: tuple[Target, str]) -> None:
    target, _ = leaky
    proc = subprocess.Popen(
        perftop_argv("record", "--memory", str(target.pid), "-d", "120", "-o", "end.folded"),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Attached once the tracker's thread is in it; then it leaks a few seconds more.
        wait_until(lambda: tracked(target), "the tracker in the target", 60)
        since = turns(target)
        wait_until(lambda: turns(target) > since + 150, "150 more turns of the target", 60)
        target.end()  # it exits while it is profiled
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"PID {target.pid} exited" in err
    by_function = own_bytes((tmp_path / "end.folded").read_text())
    assert by_function.get(LEAKER, 0) > 0, f"the profile is kept: {by_function}"


@needs_gdb_calls
@needs_tmux
def test_the_flame_says_ended_and_keeps_the_bytes(
    tmux: Tmux, tmp_path: Path, leaky: tuple[Target, str]
) -> None:
    target, _ = leaky
    tmux.start(shell_command(tmp_path, "--pid", str(target.pid), "--memory"))
    tmux.wait_for(lambda s: LEAKER in s.split("own%", 1)[-1], 60, what="the leaker shown")
    target.end()
    # The reason may follow the state by a redraw: wait for both.
    tmux.wait_for(lambda s: " ENDED " in head(s) and "exited" in flat(head(s)), 30)
    screen = tmux.wait_for(lambda s: LEAKER in s.split("own%", 1)[-1], 5, what="still shown")
    assert "live 0 B" not in head(screen)


# --- permission -----------------------------------------------------------------------------


def _nobody_can_run_perftop() -> str:
    """'' when `nobody` can import perftop from this virtualenv, else why not."""
    if os.geteuid() != 0:
        return "needs root to switch to nobody"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    done = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import perftop.cli"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    return (
        f"the virtualenv is not readable by nobody: {done.stderr[-200:]}" if done.returncode else ""
    )


@pytest.mark.skipif(bool(_nobody_can_run_perftop()), reason=_nobody_can_run_perftop() or "-")
def test_another_users_process_needs_permission(tmp_path: Path, venv_python: str) -> None:
    target = start_python(venv_python, tmp_path)  # root's
    home = Path(tempfile.mkdtemp(prefix="perftop-e2e-home-"))
    try:
        home.chmod(0o777)  # nobody's home and output directory
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
        done = run_perftop(
            home,
            "record",
            "--memory",
            str(target.pid),
            "-d",
            "1",
            "-o",
            "x.folded",
            env=env,
            prefix=AS_NOBODY,
        )
        line = one_line(done)
        assert re.search("permission", line, re.IGNORECASE), line
        assert "not a Python process" not in line
        assert untouched(target) and target.poll() is None
    finally:
        target.end()
        shutil.rmtree(home, ignore_errors=True)
