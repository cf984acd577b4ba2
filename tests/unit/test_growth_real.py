"""The growth model on real processes: a Python program that leaks and one beside it that
allocates and frees as much, read from /proc by the collector the dashboard uses.

Each step the test tells both children to take one step, waits until they have, samples the
process table and feeds it to the model stamped one bucket later: five minutes of model time in
a few seconds, with the kernel's real RSS figures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from perftop.system.growth import STEP_S, GrowthModel
from perftop.system.memprobe import read_memory_probe
from perftop.system.processes import ProcessCollector
from perftop.system.samples import ProcessSnapshot

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

STEP_MIB = 2
# Keeps every chunk: a leak. Bytes made by repetition are written, so they are resident.
LEAKER = f"""
import sys
kept = []
for line in sys.stdin:
    kept.append(b"L" * ({STEP_MIB} << 20))
    print("ok", flush=True)
"""
# Allocates eight chunks over eight steps and drops them all: the same bytes, given back.
STEADY = f"""
import sys
held = []
for line in sys.stdin:
    held.append(b"S" * ({STEP_MIB} << 20))
    if len(held) == 8:
        held.clear()
    print("ok", flush=True)
"""


def _start(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


@pytest.fixture
def children() -> Iterator[tuple[subprocess.Popen[str], subprocess.Popen[str]]]:
    leaker, steady = _start(LEAKER), _start(STEADY)
    try:
        yield leaker, steady
    finally:
        for child in (leaker, steady):
            child.kill()
            child.wait()


def _step(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "ok"


def test_the_leaker_is_the_suspect_and_the_steady_one_is_not(
    children: tuple[subprocess.Popen[str], subprocess.Popen[str]],
) -> None:
    leaker, steady = children
    collector = ProcessCollector()
    model = GrowthModel(300.0)
    t0 = 1_767_225_600.0
    steps = 66  # 330 s of model time at one bucket a step
    for i in range(steps):
        _step(leaker)
        _step(steady)
        table = collector.sample()
        model.feed(ProcessSnapshot(t0 + i * STEP_S, table.rows), 64 << 30)
    model.feed(ProcessSnapshot(t0 + steps * STEP_S, collector.sample().rows), 64 << 30)
    rows = collector.sample().rows
    leak = model.lookup(rows[leaker.pid])
    saw = model.lookup(rows[steady.pid])
    assert leak is not None and leak.suspect, leak
    # 2 MiB a step of 5 s: 24 MiB a minute.
    assert leak.bytes_per_min == pytest.approx(STEP_MIB * 12 << 20, rel=0.15)
    assert saw is not None and not saw.suspect, saw
    suspects = [pid for pid, _start, _g in model.suspects()]
    assert leaker.pid in suspects and steady.pid not in suspects
    probe = read_memory_probe(leaker.pid)
    if not probe.smaps_denied:
        assert probe.smaps is not None
        assert probe.smaps.anonymous_bytes >= (steps * STEP_MIB - 4) << 20, "the leak is heap"
