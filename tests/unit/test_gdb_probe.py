"""On a CPU with AMX, a gdb that cannot restore its registers after a call breaks the target's
system calls (perftop.profiling.inject): it is tried once on a `sleep` of perftop's own and
refused before it touches the target. Fake gdbs stand in for the broken and the good one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from perftop.profiling import inject
from perftop.profiling.backend import ProfilerFailed

HAS_AMX = inject._cpu_has_amx  # the real one, before the fixture stands in for it


def fake_gdb(tmp_path: Path, says: str, status: int) -> tuple[str, Path]:
    calls = tmp_path / "calls"
    gdb = tmp_path / "gdb"
    gdb.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "{says}"\nexit {status}\n')
    gdb.chmod(0o755)
    return str(gdb), calls


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inject, "_call_problems", {})
    monkeypatch.setattr(inject, "_cpu_has_amx", lambda cpuinfo="": True)


def test_a_gdb_that_breaks_calls_is_refused_before_it_touches_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gdb, calls = fake_gdb(tmp_path, "Couldn't write extended state status: Bad address.", 1)
    monkeypatch.setattr(inject, "find_gdb", lambda: gdb)
    target = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(ProfilerFailed, match="AMX") as refused:
            inject.inject(target.pid, "pass")
        assert "perftop run --memory" in str(refused.value), "says what works instead"
        tried = calls.read_text().splitlines()
        assert len(tried) == 1 and f"-p {target.pid}" not in tried[0], "only its own sleep"
        assert target.poll() is None
        with pytest.raises(ProfilerFailed):
            inject.inject(target.pid, "pass")
        assert len(calls.read_text().splitlines()) == 1, "tried once per perftop"
    finally:
        target.kill()
        target.wait()


def test_a_gdb_that_calls_is_let_through_and_the_sleep_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gdb, calls = fake_gdb(tmp_path, "$1 = 4242", 0)
    assert inject.gdb_call_problem(gdb) is None
    (probe,) = calls.read_text().splitlines()
    sleeper = int(probe.split("-p ")[1].split()[0])
    # Ended and reaped before the probe returned: no wait needed, and none left behind.
    assert not Path(f"/proc/{sleeper}").exists(), "the throwaway sleep was not ended"


def test_without_amx_gdb_is_not_tried_and_the_table_never_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gdb, calls = fake_gdb(tmp_path, "Couldn't write extended state status", 1)
    assert inject.gdb_call_problem(gdb, ask=False) is None, "not known yet: not asked"
    assert not calls.exists()
    monkeypatch.setattr(inject, "_cpu_has_amx", lambda cpuinfo="": False)
    assert inject.gdb_call_problem(gdb) is None
    assert not calls.exists()


def test_amx_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 amx_bf16 amx_tile avx512f\n")
    assert HAS_AMX(str(info))
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f\n")
    assert not HAS_AMX(str(info))
    assert not HAS_AMX(str(tmp_path / "missing"))
