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


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "src", "tests", "bench", "scripts"],
        ["ruff", "format", "--check", "src", "tests", "bench", "scripts"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tooling_is_clean(command: list[str]) -> None:
    tool = Path(sys.executable).parent / command[0]
    result = subprocess.run(
        [str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
