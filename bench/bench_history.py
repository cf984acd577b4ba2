"""Rewind history and recordings: bytes per hour, memory per hour, append and lookup times.

Run on demand: `python bench/bench_history.py [--ticks 3600] [--live-seconds 300]
[--live-procs 475] [--day-ticks 86400]`.

Three process tables of ~480 processes, one tick per simulated second:

- busy: 16 copies of the fake machine (`perftop.system.fake`), phase-shifted, so every
  process's CPU and I/O rates change on every tick: the worst case for delta encoding;
- typical: one live copy (30 processes changing) and 15 idle copies (450 steady ones);
- live: this machine through `LiveSource`, sampled once a second for `--live-seconds`,
  topped up to `--live-procs` processes with idle `sleep` children (killed at the end).

For each: a one-hour `Timeline` (append time, memory by tracemalloc, random and stepping
lookups), a `RecordingWriter` (append time, file size after closing → bytes per hour, the
largest -wal side file while open, bytes handed to write() per tick) and, for
comparison, the same compressed ticks in a flat file of length-prefixed, CRC-checked
records (write + flush, no fsync, like the recording's WAL with synchronous=NORMAL).
Then a simulated day (86,400 ticks of the fake machine with a new short-lived process
every tick) through a Timeline of capacity 3600: traced memory at hours 1, 6, 12 and 24.
The standard library measures (time.perf_counter, tracemalloc, os.stat, /proc/self/io);
psutil only counts the processes for the top-up.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

from perftop.formats.recording import RecordingReader, RecordingWriter
from perftop.system import codec
from perftop.system.fake import FakeProcessCollector, FakeSystemSampler
from perftop.system.samples import ProcessRow, ProcessSnapshot, SystemSample
from perftop.system.timeline import Timeline

Tick = tuple[SystemSample, ProcessSnapshot]
HOUR = 3600


class Scaled:
    """`copies` fake machines side by side (PIDs offset by 40,000 a copy); the first
    `busy` copies change every tick, the others stay as they were at their first tick."""

    def __init__(self, copies: int = 16, busy: int = 16) -> None:
        self.system = FakeSystemSampler()
        self.tables = [FakeProcessCollector(start_tick=37 * k) for k in range(copies)]
        self.busy = busy
        self.frozen: dict[int, list[ProcessRow]] = {}

    def _rows(self, k: int) -> list[ProcessRow]:
        if k >= self.busy and k in self.frozen:
            return self.frozen[k]
        rows = list(self.tables[k].sample().rows.values())
        for r in rows:
            r.pid += 40_000 * k
            r.ppid = r.ppid + 40_000 * k if r.ppid else 0
            if k >= self.busy:  # idle: no CPU, no I/O, as most processes of a real machine
                r.cpu_percent, r.state = 0.0, "S"
                r.read_bytes_per_s = r.write_bytes_per_s = 0.0
        if k >= self.busy:
            self.frozen[k] = rows
        return rows

    def __call__(self) -> Tick:
        sample = self.system.sample()
        rows = {r.pid: r for k in range(len(self.tables)) for r in self._rows(k)}
        return sample, ProcessSnapshot(sample.timestamp, rows, sample.core_count)


class Live:
    """This machine, one tick a second (the first tick only primes the rates), topped up to
    `procs` processes with idle `sleep` children as bench_dashboard.py does."""

    def __init__(self, procs: int, seconds: int) -> None:
        import psutil

        from perftop.system.source import LiveSource

        # Counted without sleeps: another bench's sleepers may vanish while this one runs.
        others = sum(1 for p in psutil.process_iter(["name"]) if p.info["name"] != "sleep")
        missing = max(0, procs - others)
        # The sleeps expire on their own even if this bench is killed.
        self.sleepers = [subprocess.Popen(["sleep", str(seconds + 60)]) for _ in range(missing)]
        time.sleep(1.0)
        self.source = LiveSource()
        self.source.sample_system()
        self.source.sample_processes()
        self.next_at = time.monotonic() + 1.0

    def __call__(self) -> Tick:
        time.sleep(max(0.0, self.next_at - time.monotonic()))
        self.next_at += 1.0
        snap = self.source.sample_processes()
        # Other benches' sleepers come and go on a shared machine: only ours are counted.
        me = os.getpid()
        rows = {p: r for p, r in snap.rows.items() if r.name != "sleep" or r.ppid == me}
        return self.source.sample_system(), dataclasses.replace(snap, rows=rows)

    def close(self) -> None:
        for proc in self.sleepers:
            proc.kill()
            proc.wait()


class Churn:
    """The fake machine plus one new process a tick, each living five ticks."""

    def __init__(self) -> None:
        self.system, self.procs, self.tick = FakeSystemSampler(), FakeProcessCollector(), 0

    def __call__(self) -> Tick:
        sample, snap = self.system.sample(), self.procs.sample()
        template = snap.rows[1513]
        for pid in range(100_000 + max(self.tick - 4, 0), 100_000 + self.tick + 1):
            snap.rows[pid] = dataclasses.replace(
                template, pid=pid, start_time=float(pid), cmdline=f"job {pid}"
            )
        self.tick += 1
        return sample, snap


class FlatFile:
    """The alternative store: records of (kind, length, crc32) + blob, appended and flushed."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "ab")  # noqa: SIM115 - closed by close()
        self.encoder = codec.TickEncoder()

    def append(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        tick = self.encoder.encode(sample, snapshot)
        out = b""
        if tick.new_identities:
            ids = [[i, *s] for i, s in tick.new_identities.items()]
            out += self._record(1, codec.pack(ids))
        out += self._record(0, codec.pack(tick.data))
        self.file.write(out)
        self.file.flush()

    @staticmethod
    def _record(kind: int, blob: bytes) -> bytes:
        return struct.pack("<BII", kind, len(blob), zlib.crc32(blob)) + blob

    def close(self) -> None:
        self.file.close()


def ms(values: list[float]) -> str:
    """Median and 95th percentile, in milliseconds."""
    if not values:
        return "-"
    p95 = statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)
    return f"{statistics.median(values) * 1e3:.2f} / {p95 * 1e3:.2f}"


def wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def written() -> int:
    """Bytes this process has handed to write() so far (Linux /proc/self/io; else 0)."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))
    except (OSError, StopIteration):
        return 0


def timed(fn: Callable[[], object], io: list[int] | None = None) -> float:
    """Seconds `fn` took; adds the bytes it wrote to io[0] when given."""
    before = written() if io is not None else 0
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    if io is not None:
        io[0] += written() - before
    return elapsed


def run_profile(name: str, source: Callable[[], Tick], ticks: int, tmp: Path) -> None:
    rec, flat_path = tmp / f"{name}.perftop", tmp / f"{name}.flat"
    timeline, writer, flat = Timeline(capacity=HOUR), RecordingWriter(rec), FlatFile(flat_path)
    t_tl: list[float] = []
    t_rec: list[float] = []
    t_flat: list[float] = []
    procs, wal, rec_io, flat_io = 0, 0, [0], [0]
    for _ in range(ticks):
        sample, snap = source()
        procs = len(snap.rows)
        t_tl.append(timed(lambda s=sample, p=snap: timeline.append(s, p)))
        t_rec.append(timed(lambda s=sample, p=snap: writer.append(s, p), rec_io))
        t_flat.append(timed(lambda s=sample, p=snap: flat.append(s, p), flat_io))
        wal = max(wal, wal_bytes(rec))
    writer.close()  # folds the -wal into the file
    flat.close()
    rec_bytes = rec.stat().st_size
    per_hour = HOUR / ticks
    rng = random.Random(1)
    picks = [rng.randrange(len(timeline)) for _ in range(300)]
    cold = [timed(lambda i=i: timeline.processes_at(i)) for i in picks]
    step = [timed(lambda i=i: timeline.processes_at(i)) for i in range(len(timeline) - 1, -1, -1)]
    sample_at = [timed(lambda i=i: timeline.sample_at(i)) for i in picks]
    t0 = time.perf_counter()
    with RecordingReader(rec) as reader:
        opened = time.perf_counter() - t0
        replay = [timed(lambda i=i: reader.processes_at(i)) for i in picks if i < len(reader)]
    print(f"\n## {name}: {procs} processes, {ticks} ticks (figures scaled to one hour)")
    print(f"timeline    append ms (median / p95)      {ms(t_tl)}")
    print(f"timeline    processes_at ms, random       {ms(cold)}")
    print(f"timeline    processes_at ms, stepping     {ms(step)}")
    print(f"timeline    sample_at ms, random          {ms(sample_at)}")
    print(f"timeline    compressed ticks MB/hour      {timeline.nbytes() * per_hour / 1e6:.2f}")
    print(f"recording   append ms (median / p95)      {ms(t_rec)}")
    print(f"recording   on disk MB/hour               {rec_bytes * per_hour / 1e6:.2f}")
    print(f"recording   -wal side file while open MB  {wal / 1e6:.2f} (at most)")
    print(f"recording   written KB/tick (write I/O)   {rec_io[0] / ticks / 1e3:.1f}")
    print(f"recording   open s / processes_at ms      {opened:.3f} / {ms(replay)}")
    print(f"flat file   append ms (median / p95)      {ms(t_flat)}")
    flat_bytes = flat_path.stat().st_size
    print(f"flat file   on disk MB/hour               {flat_bytes * per_hour / 1e6:.2f}")
    print(f"flat file   written KB/tick (write I/O)   {flat_io[0] / ticks / 1e3:.1f}")


def traced_timeline(source: Callable[[], Tick], ticks: int) -> None:
    """Memory a Timeline holds after `ticks` more appends (a second pass, under tracemalloc;
    live ticks are not run twice)."""
    gc.collect()
    tracemalloc.start()
    try:
        timeline = Timeline(capacity=HOUR)
        for _ in range(ticks):
            timeline.append(*source())
        gc.collect()
        memory = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    print(f"timeline    traced memory MB/hour         {memory * HOUR / ticks / 1e6:.2f}")


def run_day(ticks: int) -> None:
    print(f"\n## a simulated day: {ticks} ticks of the fake machine + churn, capacity {HOUR}")
    source, marks = Churn(), {HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, ticks}
    tracemalloc.start()
    try:
        timeline = Timeline(capacity=HOUR)
        t0 = time.perf_counter()
        for n in range(1, ticks + 1):
            timeline.append(*source())
            if n in marks:
                current, peak = tracemalloc.get_traced_memory()
                print(
                    f"after {n / HOUR:5.1f} h  traced {current / 1e6:6.2f} MB  peak"
                    f" {peak / 1e6:6.2f} MB  ticks kept {len(timeline)}"
                    f"  identities {timeline.identity_count}"
                )
        print(f"({time.perf_counter() - t0:.0f} s, tracemalloc on)")
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=HOUR, help="0 skips busy and typical")
    parser.add_argument("--live-seconds", type=int, default=300, help="0 skips the live machine")
    parser.add_argument("--live-procs", type=int, default=475, help="top the machine up to this")
    parser.add_argument("--day-ticks", type=int, default=24 * HOUR, help="0 skips the day")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="perftop-bench-") as tmp:
        for name, busy in (("busy", 16), ("typical", 1)) if args.ticks > 0 else ():
            source = Scaled(16, busy)
            run_profile(name, source, args.ticks, Path(tmp))
            traced_timeline(source, args.ticks)
        if args.live_seconds > 0:
            live = Live(args.live_procs, args.live_seconds)
            try:
                run_profile("live", live, args.live_seconds, Path(tmp))
            finally:
                live.close()
    if args.day_ticks > 0:
        run_day(args.day_ticks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
