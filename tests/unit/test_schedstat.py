"""Run-queue wait and block I/O delay per process, from fake and real /proc files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.system.schedstat import (
    CLOCK_TICKS,
    SchedSampler,
    delay_accounting,
    parse_blkio_ticks,
    parse_schedstat,
)


def stat_line(blkio: int, name: str = "a (b) c") -> str:
    # pid (comm) then fields 3..52; field 42 is delayacct_blkio_ticks
    fields = ["S"] + ["0"] * 38 + [str(blkio)] + ["0"] * 10
    return f"42 ({name}) " + " ".join(fields) + "\n"


class Clock:
    now = 10.0

    def __call__(self) -> float:
        return self.now


def write_proc(
    root: Path, pid: int, run: int, wait: int, blkio: int, tids: tuple[int, ...] = ()
) -> None:
    d = root / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    (d / "schedstat").write_text(f"{run} {wait} 7\n")
    (d / "stat").write_text(stat_line(blkio))
    for i, tid in enumerate(tids):
        t = d / "task" / str(tid)
        t.mkdir(parents=True, exist_ok=True)
        (t / "schedstat").write_text(f"{run} {wait * (i + 1)} 1\n")
        (t / "stat").write_text(stat_line(blkio))


def sysctl(root: Path, value: str) -> None:
    d = root / "sys" / "kernel"
    d.mkdir(parents=True, exist_ok=True)
    (d / "task_delayacct").write_text(value + "\n")


def test_parsers() -> None:
    assert parse_schedstat(b"218097406 18460164 693\n") == (218097406, 18460164, 693)
    assert parse_schedstat(b"1 2") is None and parse_schedstat(b"a b c") is None
    assert parse_blkio_ticks(stat_line(17).encode()) == 17
    assert parse_blkio_ticks(stat_line(3, "x) (y").encode()) == 3, "a name with parentheses"
    assert parse_blkio_ticks(b"42 (x) S 1 2") is None, "an old kernel's short line"


def test_delay_accounting_sysctl(tmp_path: Path) -> None:
    assert delay_accounting(str(tmp_path)) is None
    sysctl(tmp_path, "0")
    assert delay_accounting(str(tmp_path)) is False
    sysctl(tmp_path, "1")
    assert delay_accounting(str(tmp_path)) is True


def test_wait_and_blkio_over_an_interval(tmp_path: Path) -> None:
    sysctl(tmp_path, "1")
    clock = Clock()
    s = SchedSampler(str(tmp_path), clock)
    write_proc(tmp_path, 5, run=0, wait=0, blkio=0)
    first = s.sample({5: 1.0, 6: 1.0})
    assert first[5].wait_percent is None and 6 not in first, "no rate yet; a gone PID is left out"
    write_proc(tmp_path, 5, run=10**9, wait=5 * 10**8, blkio=CLOCK_TICKS // 2)
    clock.now += 2.0
    f = s.sample({5: 1.0})[5]
    assert f.wait_percent == pytest.approx(25.0) and f.run_percent == pytest.approx(50.0)
    assert f.blkio_percent == pytest.approx(25.0, abs=1) and f.wait_s == 0.5


def test_blkio_is_none_when_delay_accounting_is_off(tmp_path: Path) -> None:
    sysctl(tmp_path, "0")
    clock = Clock()
    s = SchedSampler(str(tmp_path), clock)
    write_proc(tmp_path, 5, 0, 0, 0)
    s.sample([5])
    write_proc(tmp_path, 5, 0, 10**8, 9)
    clock.now += 1
    f = s.sample([5])[5]
    assert f.blkio_percent is None and f.wait_percent == pytest.approx(10.0)


def test_a_reused_pid_starts_over(tmp_path: Path) -> None:
    clock = Clock()
    s = SchedSampler(str(tmp_path), clock)
    write_proc(tmp_path, 5, 0, 0, 0)
    s.sample({5: 1.0})
    write_proc(tmp_path, 5, 0, 10**9, 0)
    clock.now += 1
    assert s.sample({5: 2.0})[5].wait_percent is None


def test_a_process_left_out_keeps_its_reading_while_alive(tmp_path: Path) -> None:
    clock = Clock()
    s = SchedSampler(str(tmp_path), clock, blkio=False)
    write_proc(tmp_path, 5, 0, 0, 0)
    write_proc(tmp_path, 6, 0, 0, 0)
    s.sample([5, 6])
    clock.now += 1
    s.sample([6], alive={5, 6})  # 5 did not run: not read
    write_proc(tmp_path, 5, 0, 3 * 10**8, 0)
    clock.now += 2
    f = s.sample([5], alive={5, 6})[5]
    assert f.wait_percent == pytest.approx(10.0), "0.3 s over the 3 s since its last read"
    s.sample([6], alive={6})
    clock.now += 1
    assert s.sample([5], alive={5, 6})[5].wait_percent is None, "forgotten once not alive"


def test_threads_summed(tmp_path: Path) -> None:
    clock = Clock()
    s = SchedSampler(str(tmp_path), clock, blkio=False)
    write_proc(tmp_path, 5, 0, 0, 0, tids=(5, 8))
    s.sample([5], multi_threaded={5})
    write_proc(tmp_path, 5, 0, 10**8, 0, tids=(5, 8))  # threads waited 0.1 s and 0.2 s
    clock.now += 1
    f = s.sample([5], multi_threaded={5})[5]
    assert f.wait_percent == pytest.approx(30.0) and f.blkio_percent is None


def test_a_thread_ending_gives_no_negative_figure(tmp_path: Path) -> None:
    clock = Clock()
    s = SchedSampler(str(tmp_path), clock, blkio=False)
    write_proc(tmp_path, 5, 0, 10**8, 0, tids=(5, 8))
    s.sample([5], multi_threaded={5})
    (tmp_path / "5" / "task" / "8" / "schedstat").unlink()
    clock.now += 1
    assert s.sample([5], multi_threaded={5})[5].wait_percent is None


def test_this_process_for_real() -> None:
    s = SchedSampler()
    pid = os.getpid()
    s.sample([pid], multi_threaded={pid})
    x = 0
    for i in range(200_000):
        x += i
    f = s.sample([pid], multi_threaded={pid})[pid]
    assert f.wait_percent is not None and f.wait_percent >= 0
    assert f.run_percent is not None and f.run_percent > 0


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_none(data: bytes) -> None:
    r = parse_schedstat(data)
    assert r is None or min(r) >= 0
    t = parse_blkio_ticks(data)
    assert t is None or t >= 0


@settings(deadline=None)  # files written and read: a loaded box takes its time
@given(st.binary(max_size=100), st.binary(max_size=100))
def test_bad_files_give_none_never_raise(schedstat: bytes, stat: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "5").mkdir()
        (Path(d) / "5" / "schedstat").write_bytes(schedstat)
        (Path(d) / "5" / "stat").write_bytes(stat)
        s = SchedSampler(d, blkio=True)
        s.sample([5])
        for f in s.sample([5]).values():
            assert f.blkio_percent is None or f.blkio_percent >= 0
