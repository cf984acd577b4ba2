"""A PID that is a launcher (a shell, `uv run`, `timeout`) with Python under it: auto samples
it with perf and says which process to profile instead, and `--subprocesses` follows it into
its Python children with py-spy (profiling/backends.py)."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perftop.commands.record import record
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.backends import check_target, choose_backend, new_session, python_under
from perftop.profiling.session import SessionState
from tests.e2e.harness import wait_until
from tests.launched import running
from tests.native_targets import have

HOT = "launched_hot_loop"
PROGRAM = f"""
import sys
sys.version  # py-spy finds the interpreter's version where this was asked
def {HOT}():
    while True:
        sum(i * i for i in range(1000))
{HOT}()
"""


def _launcher(child: list[str]) -> Iterator[tuple[int, int]]:
    # `; true` keeps bash in front: a lone command would be exec'd in its place.
    command = shlex.join(child) + "; true"
    shell = subprocess.Popen(["bash", "-c", command], start_new_session=True)
    try:
        yield shell.pid, wait_until(lambda: running(shell.pid, child[0]), f"bash's {child[0]}")
    finally:
        os.killpg(shell.pid, 9)
        shell.wait()


@pytest.fixture
def python_launched() -> Iterator[tuple[int, int]]:
    """(the bash PID, the Python PID under it)."""
    yield from _launcher([sys.executable, "-c", PROGRAM])


@pytest.fixture
def sleep_launched() -> Iterator[tuple[int, int]]:
    yield from _launcher(["sleep", "infinity"])  # until killed


def test_auto_on_a_launcher_says_which_process_under_it_is_python(
    python_launched: tuple[int, int],
) -> None:
    shell, child = python_launched
    assert choose_backend(shell, ProfilerOptions()) == "perf"
    hint = python_under(shell, ProfilerOptions())
    assert hint is not None
    assert f"PID {shell} (bash) is not Python" in hint
    assert f"perftop --pid {child}" in hint and "--subprocesses" in hint


def test_nothing_to_say_where_the_choice_was_the_users_or_python_already(
    python_launched: tuple[int, int], sleep_launched: tuple[int, int]
) -> None:
    shell, child = python_launched
    assert python_under(child, ProfilerOptions()) is None, "Python itself"
    assert python_under(shell, ProfilerOptions(backend="perf")) is None, "perf asked for"
    assert python_under(shell, ProfilerOptions(subprocesses=True)) is None, "followed already"
    assert python_under(sleep_launched[0], ProfilerOptions()) is None, "no Python under it"
    assert python_under(2**22 + 1, ProfilerOptions()) is None, "no such process"


def test_subprocesses_follow_a_launcher_with_pyspy_only_where_python_is_under_it(
    python_launched: tuple[int, int], sleep_launched: tuple[int, int]
) -> None:
    assert choose_backend(python_launched[0], ProfilerOptions(subprocesses=True)) == "py-spy"
    assert choose_backend(sleep_launched[0], ProfilerOptions(subprocesses=True)) == "perf"


@pytest.mark.slow  # a real py-spy on a real target
def test_a_launcher_followed_into_its_children_gives_the_python_childs_flame(
    python_launched: tuple[int, int],
) -> None:
    shell, _child = python_launched
    options = ProfilerOptions(subprocesses=True, batch_s=0.3)
    check_target(shell, options)  # py-spy's dump reads the child: the shell would fail it
    session = new_session(shell, options)
    assert session.metadata["source"] == "py-spy"
    session.start()
    try:
        assert session.state is SessionState.LIVE, session.error

        def sampled_hot() -> bool:
            batch = session.next_batch(0.2)
            if batch is not None:
                session.absorb(batch)
            return any(f.name == HOT for f in session.profile.frames)

        wait_until(sampled_hot, f"{HOT} in the flame of the shell's child")
    finally:
        session.stop()


@pytest.mark.slow  # a real perf on a real target
@pytest.mark.skipif(not have("perf"), reason="needs perf")
def test_perftop_record_of_a_launcher_says_which_process_is_python(
    python_launched: tuple[int, int], tmp_path: Path
) -> None:
    shell, child = python_launched
    out, err = io.StringIO(), io.StringIO()
    code = record(shell, ProfilerOptions(), str(tmp_path / "shell.folded"), 0.5, out=out, err=err)
    assert code == 0, err.getvalue()
    assert f"PID {shell} (bash) is not Python" in err.getvalue()
    assert f"perftop --pid {child}" in err.getvalue()
