"""smaps_rollup: parsing the kernel's text, reading a real process, refusals, and the cost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perftop.system.errors import AccessDenied, ProcessGone
from perftop.system.memprobe import read_memory_probe
from perftop.system.smaps import parse_smaps_rollup, read_smaps_rollup

linux_only = pytest.mark.skipif(
    not os.path.exists("/proc/self/smaps_rollup"), reason="needs /proc/PID/smaps_rollup"
)

ROLLUP = """\
557503e17000-7ffe0674e000 ---p 00000000 00:00 0                          [rollup]
Rss:              204800 kB
Pss:              150000 kB
Pss_Dirty:        120000 kB
Pss_Anon:         110000 kB
Pss_File:          40000 kB
Pss_Shmem:             0 kB
Shared_Clean:      60000 kB
Shared_Dirty:       4000 kB
Private_Clean:     20000 kB
Private_Dirty:    120800 kB
Referenced:       204800 kB
Anonymous:        130000 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:     32768 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:               2048 kB
SwapPss:            2048 kB
Locked:                0 kB
"""


def test_parse_a_rollup() -> None:
    k = parse_smaps_rollup(ROLLUP)
    kib = 1024
    assert k.rss_bytes == 204800 * kib and k.pss_bytes == 150000 * kib
    assert k.anonymous_bytes == 130000 * kib
    assert k.file_bytes == (204800 - 130000) * kib, "file-backed: what is not anonymous"
    assert k.shared_bytes == 64000 * kib
    assert k.swap_bytes == 2048 * kib
    assert k.uss_bytes == (20000 + 120800) * kib, "USS = Private_Clean + Private_Dirty"


def test_parse_tolerates_missing_and_odd_lines() -> None:
    k = parse_smaps_rollup("Rss: 100 kB\nweird line\nPss: lots kB\nSwap: 3 kB\n")
    assert k.rss_bytes == 100 * 1024 and k.pss_bytes == 0 and k.swap_bytes == 3 * 1024
    with pytest.raises(ValueError):
        parse_smaps_rollup("")


def test_read_from_a_fake_proc(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "smaps_rollup").write_text(ROLLUP)
    k = read_smaps_rollup(7, str(tmp_path))
    assert k is not None and k.anonymous_bytes == 130000 * 1024
    (tmp_path / "8").mkdir()  # an old kernel: no such file
    assert read_smaps_rollup(8, str(tmp_path)) is None
    (tmp_path / "9").mkdir()
    (tmp_path / "9" / "smaps_rollup").write_text("")  # a kernel thread's is empty
    assert read_smaps_rollup(9, str(tmp_path)) is None
    with pytest.raises(ProcessGone):
        read_smaps_rollup(10, str(tmp_path))


@linux_only
def test_read_this_process_and_a_denied_one() -> None:
    k = read_smaps_rollup(os.getpid())
    assert k is not None and k.rss_bytes > 0 and k.anonymous_bytes > 0
    assert 0 < k.uss_bytes <= k.rss_bytes and k.pss_bytes <= k.rss_bytes
    try:
        read_smaps_rollup(1)
    except AccessDenied as refused:
        assert "permission denied" in refused.message
    else:
        pytest.skip("this user may read PID 1's memory map")
    probe = read_memory_probe(1)
    assert probe.smaps is None and probe.smaps_denied


@linux_only
def test_a_growing_heap_shows_as_anonymous() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; b = b'x' * (64 << 20); print('ok', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ok"
        k = read_smaps_rollup(child.pid)
        assert k is not None and k.anonymous_bytes >= 60 << 20
    finally:
        child.kill()
        child.wait()


@linux_only
def test_read_cost() -> None:
    """The figure in smaps.py's docstring: one read of this (Python, ~30 MiB) process."""
    pid = os.getpid()
    read_smaps_rollup(pid)
    n = 200
    started = time.perf_counter()
    for _ in range(n):
        read_smaps_rollup(pid)
    per_read_us = (time.perf_counter() - started) / n * 1e6
    print(f"smaps_rollup: {per_read_us:.0f} µs a read")
    assert per_read_us < 50_000, "a read is never the tens of milliseconds the table has"
