"""The process table: /proc parsing and caching, the live collector, the view, signals."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftop.system import procfs
from perftop.system.errors import AccessDenied, ProcessError, ProcessGone
from perftop.system.fake import FakeProcessCollector
from perftop.system.processes import (
    COLUMNS,
    DEFAULT_COLUMNS,
    ProcessCollector,
    SortKey,
    ViewOptions,
    build_view,
    cycle_sort_key,
    default_reverse,
    display_command,
    filter_text_matches,
    index_of_pid,
    renice,
    send_signal,
    sort_key_for_column,
)
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.stable_order import Shown, StableOrder

TCK = procfs.CLOCK_TICKS
BTIME = 1_700_000_000
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# --- a fake /proc ---------------------------------------------------------------------


class FakeProc:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / "stat").write_text(f"cpu  1 2 3 4\nbtime {BTIME}\nprocesses 9\n")
        (root / "meminfo").write_text("MemTotal:        1000000 kB\nMemFree: 1 kB\n")
        (root / "self").mkdir()  # not a digit: ignored
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def put(
        self,
        pid: int,
        comm: str,
        *,
        start: int,
        cpu: int = 0,
        ppid: int = 1,
        cmdline: str | None = None,
        flags: int = 0,
        state: str = "S",
        rss: int = 256,
        io: tuple[int, int] | None = (0, 0),
        threads: int = 3,
        nice: int = 0,
        ran_ns: int | None = None,  # its schedstat's time on a CPU; None: no such file
    ) -> None:
        d = self.root / str(pid)
        d.mkdir(exist_ok=True)
        (d / "stat").write_text(
            f"{pid} ({comm}) {state} {ppid} 0 0 0 -1 {flags} 0 0 0 0 {cpu} 0 0 0 20 {nice} "
            f"{threads} 0 {start} 1000 {rss} 0 0\n"
        )
        if ran_ns is not None:
            (d / "schedstat").write_text(f"{ran_ns} 0 1\n")
        (d / "cmdline").write_bytes(b"" if cmdline is None else cmdline.replace(" ", "\0").encode())
        if io is None:
            (d / "io").unlink(missing_ok=True)
        else:
            (d / "io").write_text(
                f"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\n"
                f"read_bytes: {io[0]}\nwrite_bytes: {io[1]}\ncancelled_write_bytes: 0\n"
            )

    def remove(self, pid: int) -> None:
        shutil.rmtree(self.root / str(pid))


@pytest.fixture
def fake_proc(tmp_path: Path) -> FakeProc:
    return FakeProc(tmp_path / "proc")


def collector_for(fake: FakeProc) -> ProcessCollector:
    return ProcessCollector(proc_root=str(fake.root), use_procfs=True, clock=fake.clock)


def test_parse_stat_with_spaces_and_parens_in_the_name() -> None:
    line = b"42 (a) b (c)) R 7 0 0 0 -1 4194560 0 0 0 0 11 4 0 0 20 5 2 0 900 1 33 0\n"
    stat = procfs.parse_stat(line)
    assert stat.name == "a) b (c)"
    assert (stat.state, stat.ppid, stat.cpu_ticks, stat.nice) == ("R", 7, 15, 5)
    assert (stat.num_threads, stat.start_ticks, stat.rss_pages) == (2, 900, 33)
    with pytest.raises(ValueError):
        procfs.parse_stat(b"garbage")


def test_parse_io_in_kernel_order_and_otherwise() -> None:
    text = b"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 512\nwrite_bytes: 1024\n"
    assert procfs.parse_io(text + b"cancelled_write_bytes: 0\n") == (512, 1024)
    assert procfs.parse_io(b"write_bytes: 7\nread_bytes: 5\n") == (5, 7)


def test_rows_rates_and_cache_from_a_fake_proc(fake_proc: FakeProc) -> None:
    fake_proc.put(100, "my app", start=50 * TCK, cpu=0, cmdline="/bin/my app --x", rss=1000)
    fake_proc.put(2, "kthreadd", start=1, flags=procfs.PF_KTHREAD, ppid=0, cmdline="ignored")
    collector = collector_for(fake_proc)
    first = collector.sample()
    row = first.rows[100]
    assert (row.name, row.cmdline, row.ppid, row.state) == ("my app", "/bin/my app --x", 1, "S")
    assert row.user == pwd.getpwuid(os.stat(fake_proc.root / "100").st_uid).pw_name
    assert row.start_time == pytest.approx(BTIME + 50.0)
    assert row.rss_bytes == 1000 * procfs.PAGE_SIZE
    assert row.mem_percent == pytest.approx(100.0 * row.rss_bytes / 1_024_000_000)
    assert row.cpu_percent == 0.0 and row.read_bytes_per_s == 0.0  # no baseline yet
    assert row.num_threads == 3
    assert first.rows[2].cmdline == ""  # a kernel thread: never read, shown as [kthreadd]
    assert display_command(first.rows[2]) == "[kthreadd]"

    fake_proc.now += 2.0
    fake_proc.put(100, "my app", start=50 * TCK, cpu=TCK, cmdline="/bin/changed", io=(4096, 8192))
    second = collector.sample().rows[100]
    assert second.cpu_percent == pytest.approx(50.0)  # one second of CPU in two
    assert (second.read_bytes_per_s, second.write_bytes_per_s) == (2048.0, 4096.0)
    assert second.cmdline == "/bin/my app --x"  # cached per (pid, start time)

    fake_proc.now += 1.0
    fake_proc.put(100, "changed", start=50 * TCK, cpu=TCK, cmdline="/bin/changed")
    assert collector.sample().rows[100].cmdline == "/bin/changed"  # comm changed: exec


def test_pid_reuse_is_detected_by_start_time(fake_proc: FakeProc) -> None:
    fake_proc.put(300, "old", start=10 * TCK, cpu=5 * TCK, cmdline="old --daemon")
    collector = collector_for(fake_proc)
    collector.sample()
    fake_proc.now += 1.0
    # Same PID, started half a second ago (after the last tick), same comm: a new process.
    fake_proc.put(300, "old", start=int(1000.5 * TCK), cpu=TCK // 4, cmdline="old --child")
    row = collector.sample().rows[300]
    assert row.cmdline == "old --child"
    assert row.start_time == pytest.approx(BTIME + 1000.5)
    assert row.cpu_percent == pytest.approx(50.0)  # measured over its own half second


def test_vanished_unreadable_and_zombie_processes(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_proc.put(10, "gone", start=1)
    fake_proc.put(11, "noio", start=1, cmdline="noio", io=None)
    fake_proc.put(12, "bad", start=1)
    (fake_proc.root / "12" / "stat").write_text("12 (bad\n")
    fake_proc.put(13, "zombie", start=1, state="Z", cmdline=None)
    fake_proc.put(14, "other", start=1, cmdline="other")
    collector = collector_for(fake_proc)
    assert collector.sample().rows.keys() == {10, 11, 13, 14}
    fake_proc.remove(10)
    # Refused at the read of a descriptor kept since the first tick, and at a fresh open
    # (the kernel checks the right to read io at each read: a process that exec'd setuid).
    real_pread, real_open = os.pread, os.open
    denied: set[int] = set()

    def deny_open(path: str, flags: int, *args: Any) -> int:
        if path.endswith("/14/io"):
            raise PermissionError(path)
        return real_open(path, flags, *args)

    def deny_pread(fd: int, size: int, offset: int) -> bytes:
        if fd in denied:
            raise PermissionError(fd)
        return real_pread(fd, size, offset)

    for fd in map(int, os.listdir("/proc/self/fd")):
        if os.path.realpath(f"/proc/self/fd/{fd}").endswith("/14/io"):
            denied.add(fd)
    assert denied, "its io file was kept open"
    monkeypatch.setattr(os, "open", deny_open)
    monkeypatch.setattr(os, "pread", deny_pread)
    fake_proc.now += 1.0
    fake_proc.put(14, "other", start=1, cmdline="other", cpu=1)  # it ran: its I/O is read
    rows = collector.sample().rows
    assert 10 not in rows
    assert rows[11].read_bytes_per_s is None
    assert rows[13].state == "Z" and rows[13].cmdline == "zombie"  # shown by name, not [..]
    assert rows[14].read_bytes_per_s is None and rows[14].write_bytes_per_s is None


def counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """(pid, file) of each read through a kept descriptor, from now on."""
    reads: list[tuple[int, str]] = []
    real_kept = procfs.ProcfsTable._read_kept

    def counting_kept(
        table: procfs.ProcfsTable, fds: dict[int, int], pid: int, name: str, size: int
    ) -> bytes:
        reads.append((pid, name))
        return real_kept(table, fds, pid, name, size)

    monkeypatch.setattr(procfs.ProcfsTable, "_read_kept", counting_kept)
    return reads


def test_a_quiet_process_keeps_its_row_and_its_io_is_read_in_turn(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = procfs.IO_RECHECK_TICKS
    fake_proc.put(every * 10, "idle", start=1, cmdline="idle", io=(0, 0))
    collector = collector_for(fake_proc)
    collector.sample()
    fake_proc.now += 1.0
    first = collector.sample().rows[every * 10]
    # Asleep: the same stat line gives the same row, and its I/O counters are not read, until
    # its turn comes, when I/O done in runs too short to move the stat line is spread over
    # the time since they were last read.
    fake_proc.put(every * 10, "idle", start=1, cmdline="idle", io=(0, 4096 * every))
    reads = counting_reads(monkeypatch)
    seen = []
    for _ in range(every):
        fake_proc.now += 1.0
        seen.append(collector.sample().rows[every * 10])
    turn = next(i for i, r in enumerate(seen) if r.write_bytes_per_s)
    # The first read besides its stat line (read each tick) is of its counters, at its turn.
    assert [name for _pid, name in reads if name != "stat"][:1] == ["io"]
    assert all(r is first for r in seen[:turn])
    assert seen[turn].write_bytes_per_s == pytest.approx(4096 * every / (turn + 2))
    # Having found I/O it reads them next tick too, then goes quiet again.
    assert turn + 1 == every or seen[turn + 1].write_bytes_per_s == 0.0


def test_a_quiet_process_whose_io_did_not_move_keeps_its_row_at_its_turn(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = procfs.IO_RECHECK_TICKS
    pid = every * 10
    fake_proc.put(pid, "idle", start=1, cmdline="idle", io=(0, 0))
    collector = collector_for(fake_proc)
    collector.sample()
    fake_proc.now += 1.0
    first = collector.sample().rows[pid]
    reads = counting_reads(monkeypatch)
    seen = []
    for _ in range(every):
        fake_proc.now += 1.0
        seen.append(collector.sample().rows[pid])
    assert [name for _pid, name in reads if name != "stat"] == ["io"], "read at its turn"
    assert all(r is first for r in seen), "and the row kept, unparsed"
    # I/O found at the next turn is spread from the last read, which found none.
    fake_proc.put(pid, "idle", start=1, cmdline="idle", io=(0, 4096 * every))
    for _ in range(every):
        fake_proc.now += 1.0
        row = collector.sample().rows[pid]
        if row.write_bytes_per_s:
            break
    assert row.write_bytes_per_s == pytest.approx(4096)


def test_a_process_that_has_not_run_keeps_its_row_without_its_stat_being_read(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = procfs.IO_RECHECK_TICKS
    one, many = every * 10, every * 10 + 1  # one thread; three, whose schedstat is the first's
    fake_proc.put(one, "one", start=1, cmdline="one", threads=1, ran_ns=5000)
    fake_proc.put(many, "many", start=1, cmdline="many", threads=3, ran_ns=5000)
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    table.sample()
    fake_proc.now += 1.0
    first = table.sample().rows[one]
    reads = counting_reads(monkeypatch)
    for _ in range(every):
        fake_proc.now += 1.0
        assert table.sample().rows[one] is first
    stats = [pid for pid, name in reads if name == "stat"]
    assert stats.count(one) == 1, "its stat line read only at its turn"
    assert stats.count(many) == every, "a process of many threads: every tick"
    # It ran: the schedstat moved, so its stat line is read at once.
    fake_proc.put(one, "one", start=1, cmdline="one", threads=1, cpu=50, ran_ns=9000)
    fake_proc.now += 1.0
    assert table.sample().rows[one].cpu_percent == pytest.approx(50.0)


def test_shr_asked_for_shows_at_the_next_tick_though_the_process_did_not_run(
    fake_proc: FakeProc,
) -> None:
    pid = procfs.IO_RECHECK_TICKS * 10 + 1  # not at its turn in the next ticks
    fake_proc.put(pid, "sleeper", start=1, cmdline="sleeper", threads=1, ran_ns=5000)
    (fake_proc.root / str(pid) / "statm").write_text("900 256 30 1 0 100 0\n")
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    for _ in range(2):
        table.sample()
        fake_proc.now += 1.0
    table.want_shared = True
    assert table.sample().rows[pid].shared_bytes == 30 * procfs.PAGE_SIZE
    table.want_shared = False
    fake_proc.now += 1.0
    assert table.sample().rows[pid].shared_bytes is None


def test_a_renice_shows_at_once_though_the_process_did_not_run(fake_proc: FakeProc) -> None:
    pid = procfs.IO_RECHECK_TICKS * 10 + 1  # not at its turn in the next ticks
    fake_proc.put(pid, "sleeper", start=1, cmdline="sleeper", threads=1, ran_ns=5000)
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    for _ in range(2):
        table.sample()
        fake_proc.now += 1.0
    fake_proc.put(pid, "sleeper", start=1, cmdline="sleeper", threads=1, ran_ns=5000, nice=5)
    assert table.sample().rows[pid].nice == 0, "unrun, not at its turn: last tick's line"
    table.renew(pid)
    fake_proc.now += 1.0
    assert table.sample().rows[pid].nice == 5


def test_a_reused_pid_is_never_taken_for_the_sleeper_it_replaced(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = procfs.IO_RECHECK_TICKS * 10 + 1
    fake_proc.put(pid, "old", start=1, cmdline="old", threads=1, ran_ns=5000)
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    for _ in range(2):
        table.sample()
        fake_proc.now += 1.0
    # Reaped, its PID given to a process whose schedstat happens to read the same.
    fake_proc.put(pid, "new", start=7, cmdline="new", threads=1, ran_ns=5000)
    reaped = table._sched_fds[pid]
    real_pread = os.pread

    def pread(fd: int, size: int, offset: int) -> bytes:
        if fd == reaped:
            raise ProcessLookupError(fd)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    assert table.sample().rows[pid].name == "new"


def test_without_schedstat_every_stat_line_is_read(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = procfs.IO_RECHECK_TICKS * 10 + 1
    fake_proc.put(pid, "old-kernel", start=1, cmdline="x", threads=1)
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    table.sample()
    assert table._sched_ok is False, "asked once"
    reads = counting_reads(monkeypatch)
    for _ in range(3):
        fake_proc.now += 1.0
        table.sample()
    assert [read for read in reads if read[1] != "io"] == [(pid, "stat")] * 3


def test_proc_is_listed_only_when_a_process_was_made_or_in_turn(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    for pid in (20, 21):
        fake_proc.put(pid, f"p{pid}", start=1, cmdline=f"p{pid}")
    loadavg = fake_proc.root / "loadavg"
    loadavg.write_text("0.00 0.01 0.05 1/90 21\n")
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    listings: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        listings.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    assert sorted(table.sample().rows) == [20, 21] and len(listings) == 1
    ticks = 1
    while (ticks + 1) % procfs.IO_RECHECK_TICKS == 0:  # a tick that is not a listing's turn
        fake_proc.now += 1.0
        table.sample()
        ticks += 1
    listed = len(listings)
    # An exit is found as the process is read: the kernel fails a kept descriptor (ESRCH).
    reaped = {fds[21] for fds in (table._stat_fds, table._sched_fds, table._io_fds) if 21 in fds}
    real_pread = os.pread

    def pread(fd: int, size: int, offset: int) -> bytes:
        if fd in reaped:
            raise ProcessLookupError(fd)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    fake_proc.remove(21)
    fake_proc.now += 1.0
    assert sorted(table.sample().rows) == [20] and len(listings) == listed, "not listed"
    reaped.clear()  # closed: their numbers may be handed out again
    # A fork moves the newest PID: /proc is listed at once.
    fake_proc.put(22, "p22", start=5, cmdline="p22")
    loadavg.write_text("0.00 0.01 0.05 1/90 22\n")
    fake_proc.now += 1.0
    assert sorted(table.sample().rows) == [20, 22] and len(listings) == listed + 1
    # And in turn anyway, whatever loadavg says (another namespace's /proc).
    for _ in range(procfs.IO_RECHECK_TICKS):
        fake_proc.now += 1.0
        table.sample()
    assert len(listings) == listed + 2


def test_stat_files_stay_open_only_for_live_processes(
    fake_proc: FakeProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    for pid in (20, 21):
        fake_proc.put(pid, f"p{pid}", start=1, cmdline=f"p{pid}")
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    table.sample()
    assert sorted(table._stat_fds) == sorted(table._io_fds) == [20, 21]
    fake_proc.remove(21)
    fake_proc.now += 1.0
    assert sorted(table.sample().rows) == [20] and sorted(table._stat_fds) == [20]
    assert sorted(table._io_fds) == [20]
    # A kept descriptor that fails (its process was reaped: ESRCH) is replaced by a fresh open.
    real_pread = os.pread
    failing = table._stat_fds[20]

    failures = [failing]

    def pread(fd: int, size: int, offset: int) -> bytes:
        if fd in failures:
            failures.remove(fd)  # once: the fresh descriptor may get the same number
            raise ProcessLookupError(fd)
        return real_pread(fd, size, offset)

    opened: list[str] = []
    real_open = os.open

    def counting_open(path: str, flags: int, *args: Any) -> int:
        opened.append(path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "pread", pread)
    monkeypatch.setattr(os, "open", counting_open)
    fake_proc.now += 1.0
    failing_read = table.sample().rows[20]
    assert failing_read.name == "p20" and opened == [f"{fake_proc.root}/20/stat"]
    assert list(table._stat_fds) == [20]


def test_stat_files_are_kept_before_io_files_when_descriptors_run_short(
    fake_proc: FakeProc,
) -> None:
    for pid in (20, 21):
        fake_proc.put(pid, f"p{pid}", start=1, cmdline=f"p{pid}")
    table = procfs.ProcfsTable(str(fake_proc.root), fake_proc.clock)
    table._fd_cap = 2
    rows = table.sample().rows
    assert sorted(table._stat_fds) == [20, 21] and not table._io_fds, "20's io made room"
    assert rows[21].read_bytes_per_s == 0.0, "its io still read, by a fresh open"
    fake_proc.now += 1.0
    table.sample()
    assert len(table._stat_fds) + len(table._io_fds) == 2


def test_io_of_a_process_that_ran_is_charged_to_the_last_tick(fake_proc: FakeProc) -> None:
    fake_proc.put(7, "burst", start=1, cmdline="burst", io=(0, 0))
    collector = collector_for(fake_proc)
    for _ in range(3):  # quiet ticks: its counters are not read each time
        fake_proc.now += 1.0
        collector.sample()
    fake_proc.now += 1.0
    fake_proc.put(7, "burst", start=1, cmdline="burst", cpu=2, io=(1 << 20, 0))
    row = collector.sample().rows[7]
    assert row.read_bytes_per_s == pytest.approx(1 << 20)  # all in the last second
    # Still doing I/O: read every tick while it does, even without CPU ticks.
    fake_proc.now += 1.0
    fake_proc.put(7, "burst", start=1, cmdline="burst", cpu=2, io=(2 << 20, 0))
    assert collector.sample().rows[7].read_bytes_per_s == pytest.approx(1 << 20)


# --- the live collector ------------------------------------------------------------------

# Idle until told "go" on stdin, then busy until the test kills it.
SPIN_CHILD = "import sys\nsys.stdin.readline()\nwhile True: pass\n"


@pytest.fixture
def child() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    marker = f"perftop-test-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, "-c", SPIN_CHILD, marker], stdin=subprocess.PIPE)
    yield proc, marker
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdin:
        proc.stdin.close()


BUSY_S = 0.3


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def wait_for_cmdline(pid: int, marker: str) -> None:
    # The child may not have exec'd python yet when Popen returns.
    deadline = time.monotonic() + 5
    while marker not in " ".join(psutil.Process(pid).cmdline()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("use_procfs", [pytest.param(True, marks=linux_only), False])
def test_collector_sees_a_child_and_its_cpu(
    child: tuple[subprocess.Popen[bytes], str], use_procfs: bool
) -> None:
    proc, marker = child
    wait_for_cmdline(proc.pid, marker)
    collector = ProcessCollector(use_procfs=use_procfs)
    assert collector.backend == ("procfs" if use_procfs else "psutil")
    row = collector.sample().rows[proc.pid]
    assert row.ppid == os.getpid()
    assert row.name == os.path.basename(sys.executable)[:15]
    assert marker in row.cmdline and row.cmdline.startswith(sys.executable)
    assert row.start_time == pytest.approx(psutil.Process(proc.pid).create_time(), abs=1.0)
    assert row.num_threads >= 1 and row.rss_bytes > 0
    assert proc.stdin is not None
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    started = time.monotonic()
    collector.sample()  # CPU% is over the time from here to the next sample
    baseline = cpu_seconds(proc.pid)  # at least what that sample read
    deadline = started + 30
    while cpu_seconds(proc.pid) < baseline + BUSY_S:  # busy for BUSY_S, however loaded
        assert time.monotonic() < deadline, "the child never got the CPU"
        time.sleep(0.01)
    busy = collector.sample().rows[proc.pid]
    # It used at least BUSY_S of CPU between the samples, which lie within `started`..now.
    assert busy.cpu_percent >= 0.95 * 100 * BUSY_S / (time.monotonic() - started)
    proc.kill()
    proc.wait()
    assert proc.pid not in collector.sample().rows


@linux_only
def test_collector_survives_a_zombie_child() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 5
    while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    row = ProcessCollector().sample().rows[proc.pid]
    proc.wait()
    assert row.state == "Z" and row.cmdline  # a user process never looks like a kernel thread


# --- the view ----------------------------------------------------------------------------


def row(pid: int, ppid: int = 0, **kw: Any) -> ProcessRow:
    values: dict[str, Any] = {
        "name": f"p{pid}",
        "user": "root",
        "state": "S",
        "cpu_percent": 0.0,
        "mem_percent": 0.0,
        "rss_bytes": 0,
        "num_threads": 1,
        "read_bytes_per_s": 0.0,
        "write_bytes_per_s": 0.0,
        "start_time": 0.0,
        "cmdline": f"/bin/p{pid}",
    }
    values.update(kw)
    return ProcessRow(pid=pid, ppid=ppid, **values)


def snapshot(*rows: ProcessRow, cores: int = 4) -> ProcessSnapshot:
    return ProcessSnapshot(timestamp=0.0, rows={r.pid: r for r in rows}, core_count=cores)


TABLE = snapshot(
    row(5, user="bob", state="R", cpu_percent=80.0, mem_percent=2.0, rss_bytes=300,
        num_threads=4, read_bytes_per_s=None, write_bytes_per_s=10.0, start_time=30.0,
        cmdline="python3 Train.py", wait_percent=2.5, net_rx_bytes_per_s=None,
        net_tx_bytes_per_s=None, container="docker:web", ppid=1, cpu_time_s=50.0,
        priority=20, nice=0, virt_bytes=5000, shared_bytes=None, tty_nr=(136 << 8) | 1,
        minor_faults=7, major_faults=None, gpu_percent=60.0, gpu_memory_bytes=4 << 30,
        gpu_indices=(0,)),
    row(3, user="Alice", state="S", cpu_percent=10.0, mem_percent=9.0, rss_bytes=900,
        num_threads=1, read_bytes_per_s=0.0, write_bytes_per_s=None, start_time=10.0,
        cmdline="bash", wait_percent=None, net_rx_bytes_per_s=10.0, net_tx_bytes_per_s=500.0,
        container="Cron.service", ppid=7, cpu_time_s=None, priority=-100, nice=-5,
        virt_bytes=9000, shared_bytes=100, tty_nr=0, minor_faults=700, major_faults=3,
        gpu_percent=None, gpu_memory_bytes=1 << 30, gpu_indices=(1,)),
    row(9, user="carol", state="D", cpu_percent=10.0, mem_percent=1.0, rss_bytes=100,
        num_threads=9, read_bytes_per_s=50.0, write_bytes_per_s=0.0, start_time=20.0,
        cmdline="", name="kworker/0:1", wait_percent=0.0, net_rx_bytes_per_s=400.0,
        net_tx_bytes_per_s=0.0, ppid=4, cpu_time_s=0.5, priority=39, nice=19, virt_bytes=0,
        shared_bytes=0, tty_nr=(4 << 8) | 1, minor_faults=0, major_faults=0),
)  # fmt: skip

EXPECTED_ASCENDING = {
    SortKey.PID: [3, 5, 9],
    SortKey.USER: [3, 5, 9],
    SortKey.STATE: [9, 5, 3],
    SortKey.CPU: [3, 9, 5],  # 3 and 9 tie: PID order
    SortKey.MEM: [9, 5, 3],
    SortKey.RSS: [9, 5, 3],
    SortKey.GROWTH: [3, 5, 9],  # no growth model given: every row blank, PID order
    SortKey.THREADS: [3, 5, 9],
    SortKey.READ: [5, 3, 9],  # None below 0
    SortKey.WRITE: [3, 9, 5],
    SortKey.START: [3, 9, 5],
    SortKey.COMMAND: [9, 3, 5],  # "[kworker/0:1]" < "bash" < "python3 train.py"
    SortKey.WAIT: [3, 9, 5],  # None (not known) below 0
    SortKey.NET: [5, 9, 3],  # None (not counted) below 0; 400 < 510
    SortKey.RX: [5, 3, 9],
    SortKey.TX: [5, 9, 3],
    SortKey.CONTAINER: [3, 5, 9],  # A→Z, case aside, those in none after
    SortKey.TIME: [3, 9, 5],  # None (an older recording's) below every figure
    SortKey.NCPU: [3, 9, 5],  # CPU%'s order
    SortKey.PPID: [5, 9, 3],
    SortKey.PRIORITY: [3, 5, 9],  # real-time (-100) first
    SortKey.NICE: [3, 5, 9],
    SortKey.VIRT: [9, 5, 3],
    SortKey.SHR: [5, 9, 3],  # None (not read) below 0
    SortKey.TTY: [9, 5, 3],  # tty1 < pts/1 (by device, as ps), none after
    SortKey.MINFLT: [9, 5, 3],
    SortKey.MAJFLT: [5, 9, 3],
    SortKey.GPU: [3, 9, 5],  # on no GPU and unknown on one both below every figure: PID order
    SortKey.GPU_MEM: [9, 3, 5],
}


@pytest.mark.parametrize("key", list(SortKey))
def test_sort_by_each_key_both_ways(key: SortKey) -> None:
    up = [v.row.pid for v in build_view(TABLE, ViewOptions(sort_key=key, reverse=False))]
    assert up == EXPECTED_ASCENDING[key]
    down = [v.row.pid for v in build_view(TABLE, ViewOptions(sort_key=key, reverse=True))]
    if key in (SortKey.CPU, SortKey.NCPU, SortKey.GPU):
        assert down == [5, 3, 9]  # stable: ties keep PID order when reversed too
    elif key is SortKey.GROWTH:
        assert down == [3, 5, 9]  # all tie
    else:
        assert down == EXPECTED_ASCENDING[key][::-1]


def test_filter_cpu_display_and_kernel_threads() -> None:
    def pids(**kw: Any) -> list[int]:
        options = ViewOptions(sort_key=SortKey.PID, reverse=False, **kw)
        return [v.row.pid for v in build_view(TABLE, options)]

    assert pids(filter_text="TRAIN") == [5]  # cmdline, case-insensitive
    assert pids(filter_text="alice") == [3]  # user
    assert pids(filter_text="kworker") == [9]  # name
    assert pids(filter_text=" 9 ") == [9]  # pid
    assert pids(filter_text="nothing-matches") == []
    assert pids(show_kernel_threads=False) == [3, 5]
    assert filter_text_matches(TABLE.rows[5], "") and not filter_text_matches(TABLE.rows[5], "x")
    view = build_view(TABLE, ViewOptions(cpu_per_core=False))
    assert [v.cpu_display for v in view] == [20.0, 2.5, 2.5]
    assert [v.cpu_display for v in build_view(TABLE, ViewOptions())] == [80.0, 10.0, 10.0]


TREE = snapshot(
    row(1, 0, cpu_percent=1.0),
    row(10, 1, cpu_percent=5.0),
    row(11, 10, cpu_percent=1.0, cmdline="needle"),
    row(12, 10, cpu_percent=2.0),
    row(20, 1, cpu_percent=9.0),
    row(21, 20, cpu_percent=0.0),
    row(2, 0, cpu_percent=0.0, cmdline=""),
    row(30, 2, cpu_percent=0.0, cmdline=""),
    row(40, 999, cpu_percent=0.0),  # parent not in the table: a root
)


def test_tree_order_and_prefixes() -> None:
    view = build_view(TREE, ViewOptions(tree=True))
    drawn = [(v.tree_prefix, v.row.pid, v.depth) for v in view]
    assert drawn == [
        ("", 1, 0),
        ("├─ ", 20, 1),
        ("│  └─ ", 21, 2),
        ("└─ ", 10, 1),
        ("   ├─ ", 12, 2),
        ("   └─ ", 11, 2),
        ("", 2, 0),
        ("└─ ", 30, 1),
        ("", 40, 0),
    ]
    assert all(v.matched for v in view)
    ascending = build_view(TREE, ViewOptions(tree=True, sort_key=SortKey.PID, reverse=False))
    assert [v.row.pid for v in ascending] == [1, 10, 11, 12, 20, 21, 2, 30, 40]
    no_kernel = build_view(TREE, ViewOptions(tree=True, show_kernel_threads=False))
    assert {2, 30}.isdisjoint(v.row.pid for v in no_kernel)


def test_filtered_tree_keeps_ancestors() -> None:
    view = build_view(TREE, ViewOptions(tree=True, filter_text="needle"))
    assert [(v.tree_prefix, v.row.pid, v.matched) for v in view] == [
        ("", 1, False),
        ("└─ ", 10, False),
        ("   └─ ", 11, True),
    ]


def test_a_ppid_cycle_loses_no_rows() -> None:
    cyclic = snapshot(row(7, 8), row(8, 7), row(9, 7))
    assert sorted(v.row.pid for v in build_view(cyclic, ViewOptions(tree=True))) == [7, 8, 9]


# How the table reads each value (its own is ui/widgets/process_table.py's SHOWN): to a tenth,
# and RSS to the MiB here.
SHOWN: dict[SortKey, Shown] = {
    SortKey.CPU: lambda v: round(v.cpu_display, 1),
    SortKey.RSS: lambda v: round(v.row.rss_bytes / 2**20),
    SortKey.READ: lambda v: v.row.read_bytes_per_s,
}


def cpu_tick(
    order: StableOrder,
    *cpu: tuple[int, float | None],
    key: SortKey = SortKey.CPU,
    reverse: bool = True,
) -> list[int]:
    """One tick through build_view then `order`: (pid, reading) pairs, in the view's order."""
    field = {SortKey.CPU: "cpu_percent", SortKey.READ: "read_bytes_per_s"}.get(key, "cpu_percent")
    table = snapshot(*(row(pid, **{field: value}) for pid, value in cpu))
    view = build_view(table, ViewOptions(sort_key=key, reverse=reverse))
    return [v.row.pid for v in order.apply(view, key, reverse, SHOWN.get(key))]


def test_rows_that_read_the_same_keep_their_places_and_the_rest_sort_exactly() -> None:
    order = StableOrder()
    assert cpu_tick(order, (1, 5.0), (2, 4.5), (3, 0.0), (4, 0.0)) == [1, 2, 3, 4]
    # 3 and 4 read 0.0 both: they tie and keep their order, whatever build_view's tie-break.
    assert cpu_tick(order, (1, 5.0), (2, 4.5), (4, 0.0), (3, 0.0)) == [1, 2, 3, 4]
    # Below the display's precision is a tie too: 0.04 and 0.01 both read 0.0.
    assert cpu_tick(order, (1, 5.0), (2, 4.5), (4, 0.04), (3, 0.01)) == [1, 2, 3, 4]
    # Any change that reads differently re-sorts: a clock tick of 1 % moves 4 past 3, and
    # 2 passes 1 by a tenth, as the column will read.
    assert cpu_tick(order, (1, 5.0), (2, 5.1), (3, 0.0), (4, 1.0)) == [2, 1, 4, 3]
    # A new process goes after those it ties with; a gone (or filtered out) one is forgotten.
    assert cpu_tick(order, (2, 5.1), (1, 5.0), (4, 1.0), (5, 0.0), (3, 0.0)) == [2, 1, 4, 3, 5]
    assert cpu_tick(order, (2, 5.1), (1, 4.0), (5, 0.0)) == [2, 1, 5]


def shown_in_order(descending: list[str]) -> bool:
    return all(float(a) >= float(b) for a, b in itertools.pairwise(descending))


@given(st.lists(st.lists(st.floats(0, 400, allow_nan=False), min_size=6, max_size=6), min_size=1))
def test_every_tick_reads_sorted(readings: list[list[float]]) -> None:
    """Whatever came before, the column reads in order: 4.0, 0.0, 0.0, 1.0 never shows."""
    order = StableOrder()
    for tick in readings:
        table = snapshot(*(row(pid, cpu_percent=v) for pid, v in enumerate(tick, 1)))
        view = order.apply(build_view(table, ViewOptions()), SortKey.CPU, True, SHOWN[SortKey.CPU])
        assert shown_in_order([f"{v.cpu_display:.1f}" for v in view])
        assert sorted(v.row.pid for v in view) == list(range(1, 7))


def test_rss_ties_as_it_reads() -> None:
    order = StableOrder()
    rss = SortKey.RSS

    def tick(*sizes: tuple[int, int]) -> list[int]:
        table = snapshot(*(row(pid, rss_bytes=n) for pid, n in sizes))
        view = build_view(table, ViewOptions(sort_key=rss, reverse=True))
        return [v.row.pid for v in order.apply(view, rss, True, SHOWN[rss])]

    assert tick((1, 125 << 20), (2, 124 << 20)) == [1, 2]
    # 2 grows by a few KiB past 1: both still read 125M, so nothing moves.
    assert tick((1, 125 << 20), (2, (125 << 20) + 300_000)) == [1, 2]
    assert tick((1, 125 << 20), (2, 127 << 20)) == [2, 1]


def test_stable_order_resorts_fully_on_an_explicit_sort_change() -> None:
    order = StableOrder()
    cpu_tick(order, (1, 5.0), (2, 5.0))
    assert cpu_tick(order, (2, 5.0), (1, 5.0)) == [1, 2]  # a tie: held
    assert cpu_tick(order, (1, 4.5), (2, 5.0), reverse=False) == [1, 2]  # inverted: exact
    assert cpu_tick(order, (1, 4.5), (2, 5.0)) == [2, 1]  # back: exact again
    # A key without a shown value passes build_view's order through, ties by PID.
    assert cpu_tick(order, (2, 1.0), (1, 1.0), key=SortKey.PID, reverse=False) == [1, 2]
    # Unreadable I/O (None) sorts last, never tied with a number.
    assert cpu_tick(order, (1, None), (2, 0.0), key=SortKey.READ) == [2, 1]
    assert cpu_tick(order, (1, 10_000.0), (2, 0.0), key=SortKey.READ) == [1, 2]
    # The tree keeps its own order.
    tree = build_view(TREE, ViewOptions(tree=True))
    assert order.apply(tree, SortKey.CPU, True, SHOWN[SortKey.CPU]) == tree


def test_column_helpers() -> None:
    assert [k.value for k in COLUMNS] == [
        "PID", "PPID", "USER", "PRI", "NI", "S", "CPU%", "NCPU%", "WAIT%", "MEM%", "VIRT",
        "RSS", "SHR", "GROWTH", "GPU%", "GPU MEM", "TIME+", "THR", "MINFLT", "MAJFLT", "READ/s",
        "WRITE/s", "NET/s", "RX/s", "TX/s", "START", "TTY", "CONTAINER", "COMMAND",
    ]  # fmt: skip
    assert set(COLUMNS) == set(SortKey)
    later = {SortKey.GROWTH, SortKey.WAIT, SortKey.NET, SortKey.RX, SortKey.TX, SortKey.CONTAINER}
    later |= {SortKey.PPID, SortKey.PRIORITY, SortKey.NICE, SortKey.NCPU, SortKey.VIRT}
    later |= {SortKey.SHR, SortKey.TIME, SortKey.MINFLT, SortKey.MAJFLT, SortKey.TTY}
    later |= {SortKey.GPU, SortKey.GPU_MEM}
    assert not later & set(DEFAULT_COLUMNS), "not shown unless chosen: the 80x24 fit"
    assert [k for k in COLUMNS if k not in later] == list(DEFAULT_COLUMNS)
    assert [k.value for k in DEFAULT_COLUMNS] == [
        "PID", "USER", "S", "CPU%", "MEM%", "RSS", "THR", "READ/s", "WRITE/s", "START", "COMMAND"
    ]  # fmt: skip
    assert sort_key_for_column(6) is SortKey.CPU and sort_key_for_column(8) is SortKey.WAIT
    assert cycle_sort_key(SortKey.COMMAND) is SortKey.PID
    assert cycle_sort_key(SortKey.PID, -1) is SortKey.COMMAND
    shown = (SortKey.PID, SortKey.RSS, SortKey.COMMAND)  # [processes] columns
    assert cycle_sort_key(SortKey.RSS, 1, shown) is SortKey.COMMAND, "skips the hidden ones"
    assert cycle_sort_key(SortKey.PID, -1, shown) is SortKey.COMMAND
    assert cycle_sort_key(SortKey.MEM, 1, shown) is SortKey.PID  # from a hidden sort key
    assert cycle_sort_key(SortKey.MEM, -1, shown) is SortKey.COMMAND
    assert default_reverse(SortKey.CPU) and not default_reverse(SortKey.PID)
    view = build_view(TABLE, ViewOptions())
    assert index_of_pid(view, 3) == 1 and index_of_pid(view, 42) is None
    assert index_of_pid(view, None) is None


def test_fake_collector_is_a_deterministic_tree() -> None:
    a, b = FakeProcessCollector(), FakeProcessCollector()
    first, again = a.sample(), b.sample()
    assert first == again
    assert 25 <= len(first.rows) <= 40
    assert all(r.ppid == 0 or r.ppid in first.rows for r in first.rows.values())
    assert first.timestamp == 1_767_225_600
    later = a.sample()
    assert later.timestamp == first.timestamp + 1
    assert later.rows[2301].cpu_percent != first.rows[2301].cpu_percent
    view = build_view(first, ViewOptions(tree=True))
    assert len(view) == len(first.rows) and view[0].row.pid == 1


# --- signals and nice ----------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_send_signal_terminates_a_child(sleeper: subprocess.Popen[bytes]) -> None:
    start = psutil.Process(sleeper.pid).create_time()
    send_signal(sleeper.pid, signal.SIGTERM, start)
    assert sleeper.wait(timeout=5) == -signal.SIGTERM


def test_send_signal_refuses_a_reused_pid(sleeper: subprocess.Popen[bytes]) -> None:
    start = psutil.Process(sleeper.pid).create_time()
    with pytest.raises(ProcessGone) as info:
        send_signal(sleeper.pid, signal.SIGTERM, start - 3600)
    assert info.value.reused and str(sleeper.pid) in info.value.message
    assert sleeper.poll() is None  # still alive: nothing was sent


def test_send_signal_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProcessGone):
        send_signal(gone_pid(), signal.SIGTERM)
    with pytest.raises(ProcessGone):
        send_signal(gone_pid(), signal.SIGTERM, start_time=1.0)
    with pytest.raises(ProcessError):
        send_signal(0, signal.SIGTERM)  # would signal our own process group

    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", refuse)
    with pytest.raises(AccessDenied) as info:
        send_signal(123, signal.SIGTERM)
    assert info.value.message == (
        "permission denied: run as root or as the process owner to signal PID 123"
    )


def test_renice(sleeper: subprocess.Popen[bytes]) -> None:
    before = psutil.Process(sleeper.pid).nice()
    assert renice(sleeper.pid, 1) == before + 1
    assert psutil.Process(sleeper.pid).nice() == before + 1
    assert renice(sleeper.pid, 100) == 19  # clamped
    with pytest.raises(ProcessGone):
        renice(gone_pid(), 1)


def test_a_renice_through_the_source_shows_at_the_next_tick(
    sleeper: subprocess.Popen[bytes],
) -> None:
    from perftop.system.source import LiveSource

    source = LiveSource()
    source.want(net=False, wait=False)
    before = source.sample_processes().rows[sleeper.pid].nice
    for _ in range(procfs.IO_RECHECK_TICKS):
        source.sample_processes()
    # Asleep, it does not run: only perftop's word that it reniced it reads its line again.
    assert source.renice(sleeper.pid, 1) == before + 1
    assert source.sample_processes().rows[sleeper.pid].nice == before + 1


def test_the_open_stat_files_close_at_exit_while_a_thread_still_opens_more() -> None:
    # perftop ended while its first tick was still being read (beside the imports): the
    # table's descriptors are closed at exit as its thread adds to them, without a traceback.
    code = textwrap.dedent(
        """
        import os, threading, weakref
        from perftop.system import procfs

        class Owner:
            pass

        owner, fds = Owner(), {}
        fds.update((n, os.open(os.devnull, os.O_RDONLY)) for n in range(500))
        weakref.finalize(owner, procfs._close_all, fds)

        def opening():
            n = 10**6
            while True:
                n += 1
                try:
                    fds[n] = os.open(os.devnull, os.O_RDONLY)
                except OSError:  # out of descriptors: the exit has not come yet
                    return

        threading.Thread(target=opening, daemon=True).start()
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
