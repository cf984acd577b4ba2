"""Whether this machine's gdb can call into a process (perftop.profiling.inject): tests that
inject a tracker with it skip, saying why, where it cannot (a CPU with AMX and a gdb that
cannot restore it), as the tests of `go` skip where Go is not installed."""

from __future__ import annotations

import shutil

import pytest

from perftop.profiling.inject import gdb_call_problem


def _why_not() -> str | None:
    gdb = shutil.which("gdb")
    if gdb is None:
        return "gdb is not installed"
    return gdb_call_problem(gdb)


WHY_NOT = _why_not()
needs_gdb_calls = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "-")
