"""House rules that keep perftop simple, checked rather than hoped for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    "perftop.system.sampler",
    "perftop.system.processes",
    "perftop.system.history",
    "perftop.system.detail",
    "perftop.system.fake",
    "perftop.system.source",
    "perftop.model.profile",
    "perftop.model.layout",
    "perftop.profiling.pyspy",
    "perftop.formats.folded",
    "perftop.formats.speedscope",
]


def test_the_core_never_imports_textual() -> None:
    """system/, profiling/ and formats/ run without a terminal: importing them loads no Textual."""
    code = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_does_not_import_textual() -> None:
    """`perftop --help` answers instantly: the CLI module imports no UI."""
    code = "import sys, perftop.cli; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_dashboard_start_leaves_out_what_it_does_not_show() -> None:
    """What the dashboard and its first tick import, with the default columns and no config
    file: not the network's sampler (NET/s is not shown), not a TOML parser, no profiler,
    no dialog. And before the first frame (the sampler's source is made after it): not
    psutil, which the Linux table does without, nor the profilers' ptrace facts and frames
    (bench/bench_startup.py: milliseconds of the first screen)."""
    code = (
        "import sys\n"
        "from perftop.commands.first_tick import FirstTick\n"
        "from perftop.system.processes import ViewOptions, figures_shown\n"
        "first = FirstTick(figures_shown(ViewOptions(), detail=False))\n"
        "import perftop.app, perftop.ui.screens.dashboard, perftop.commands.tui\n"
        "early = ('psutil', 'perftop.profiling.ptrace', 'perftop.model.frames')\n"
        "before = [m for m in early if m in sys.modules]\n"
        "assert first.take() is not None\n"
        "left = ('perftop.system.netsockets', 'tomllib', 'perftop.profiling.pyspy',\n"
        "        'perftop.ui.screens.dialogs')\n"
        "print(','.join([*before, *(m for m in left if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def run_tool(*command: str) -> str:
    """Run a tool from this virtualenv in the checkout; what it said if it failed, else ''."""
    tool = Path(sys.executable).parent / command[0]
    done = subprocess.run(
        [str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return "" if done.returncode == 0 else f"$ {' '.join(command)}\n{done.stdout}{done.stderr}"


def test_ruff_is_clean() -> None:
    """Lint and format, each once per run (one test: pytest-xdist schedules it on one worker)."""
    paths = ["src", "tests", "bench", "scripts"]
    failures = [run_tool("ruff", "check", *paths), run_tool("ruff", "format", "--check", *paths)]
    assert not any(failures), "\n".join(f for f in failures if f)


@pytest.mark.slow  # cold (a fresh clone, no .mypy_cache) it takes tens of seconds
def test_mypy_is_clean() -> None:
    failure = run_tool("mypy")
    assert not failure, failure
