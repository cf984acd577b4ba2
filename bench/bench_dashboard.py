"""The dashboard against htop (and btop/glances when installed), per ARCHITECTURE.md "Budgets".

Run on demand: `python bench/bench_dashboard.py [--seconds 20] [--procs 475] [--runs 3]`.

One monitor after another, each in its own 120x40 pseudo-terminal at 1 s refresh, with the
machine topped up to about `--procs` processes by idle `sleep` children. For each it measures,
from the outside only (psutil and the pty; no perftop internals):

- own CPU: user+system CPU time of the monitor process over the steady-state window / wall,
  as a percentage of one core;
- RSS at the end of the window (MB = 10^6 bytes);
- first screen: seconds from spawn until the process table header shows in its output;
- to terminal: bytes it wrote to the pty per second over the window (KB = 10^3 bytes).

The window starts `--warmup` seconds after the first screen and lasts `--seconds`. Medians over
`--runs` runs are printed with the ratios perftop/htop and PASS/FAIL against each budget; the
exit status is 1 when a budget fails.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

import psutil

COLS, ROWS = 120, 40
# ARCHITECTURE.md's budgets, each against a figure of the same run.
RSS_BUDGET_MB = 35.0  # at ~475 processes (45 MB at 5,000: bench_scale.py)
FIRST_SCREEN_FLOOR_RATIO = 1.25  # x the time to import textual.app, Textual's own floor
TERMINAL_HTOP_RATIO = 2.0  # x htop's bytes to the terminal
FIRST_SCREEN_TIMEOUT_S = 15.0
# Between words of a header: blanks, CSI sequences (colour, cursor moves, erase), charset picks.
_GAP = rb"(?:[ \t]|\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z])+"
_TAIL = 4096  # bytes of earlier output kept so that a header split across reads still matches


@dataclass(frozen=True)
class Monitor:
    name: str
    argv: tuple[str, ...]
    header: tuple[bytes, ...]  # words of its process table header, in order

    @property
    def pattern(self) -> re.Pattern[bytes]:
        return re.compile(_GAP.join(re.escape(word) for word in self.header))


@dataclass(frozen=True)
class Sample:
    cpu_percent: float
    rss_mb: float
    first_screen_s: float | None
    kb_per_s: float
    procs: int
    ended_by: str


def monitors() -> list[Monitor]:
    """perftop, then each other monitor that is on PATH, all at a 1 s refresh."""
    found = [Monitor("perftop", (sys.executable, "-m", "perftop", "-d", "10"), (b"PID", b"USER"))]
    others = [
        Monitor("htop", ("htop", "-d", "10"), (b"PID", b"USER")),
        # No --update flag: btop 1.2 (Debian's) lacks it; both read update_ms from the config
        # file child_env writes.
        Monitor("btop", ("btop",), (b"Pid:", b"Program:")),
        Monitor("glances", ("glances", "-t", "1"), (b"PID", b"USER")),
    ]
    for monitor in others:
        path = shutil.which(monitor.argv[0])
        if path is None:
            print(f"{monitor.name}: not on PATH, skipped", file=sys.stderr)
        else:
            found.append(Monitor(monitor.name, (path, *monitor.argv[1:]), monitor.header))
    return found


class PtyProcess:
    """A program in its own pty whose output is drained (and counted) by a thread."""

    def __init__(self, argv: Sequence[str], header: re.Pattern[bytes], env: dict[str, str]) -> None:
        self._header = header
        self._lock = threading.Lock()
        self._tail = b""
        self.bytes_read = 0
        self.first_screen_s: float | None = None
        self.screen_seen = threading.Event()
        self.recorded: list[bytes] | None = None  # set to a list to keep what it writes
        self.started = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # child: stdin/stdout/stderr are the pty's slave side
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.execvpe(argv[0], list(argv), env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self._thread = threading.Thread(target=self._drain, name=f"drain-{pid}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO once the child has exited and the slave is closed
                return
            if not chunk:
                return
            now = time.monotonic()
            with self._lock:
                self.bytes_read += len(chunk)
                if self.recorded is not None:
                    self.recorded.append(chunk)
            if self.first_screen_s is None:
                self._tail += chunk
                if self._header.search(self._tail):
                    self.first_screen_s = now - self.started
                    self.screen_seen.set()
                    self._tail = b""
                else:
                    self._tail = self._tail[-_TAIL:]

    def counted(self) -> int:
        with self._lock:
            return self.bytes_read

    def _wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> str:
        """'q', then SIGTERM, then SIGKILL; then any descendant left. Returns what ended it."""
        try:
            descendants = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        ended_by = "q"
        with contextlib.suppress(OSError):
            os.write(self.fd, b"q")
        if not self._wait(3.0):
            ended_by = "SIGTERM"
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not self._wait(3.0):
                ended_by = "SIGKILL"
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(descendants, timeout=2)
        self._thread.join(timeout=2)
        os.close(self.fd)
        return ended_by


class Sleepers:
    """Idle `sleep` children that top the machine up to a number of processes."""

    def __init__(self, lifetime_s: int) -> None:
        # They outlive a bench killed with SIGKILL by at most `lifetime_s`.
        self._lifetime = str(lifetime_s)
        self._procs: list[subprocess.Popen[bytes]] = []

    def top_up(self, target: int) -> int:
        missing = target - len(psutil.pids())
        for _ in range(max(0, missing)):
            self._procs.append(
                subprocess.Popen(
                    ["sleep", self._lifetime],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return len(psutil.pids())

    def kill(self) -> None:
        for proc in self._procs:
            with contextlib.suppress(OSError):
                proc.kill()
        for proc in self._procs:
            proc.wait()
        self._procs.clear()


def compile_bytecode() -> None:
    """Compile perftop's modules, as `pip install .` does: an editable install under
    PYTHONDONTWRITEBYTECODE (set on our CI machines) compiles every module at every start,
    about 0.1 s of the first screen that no installed perftop pays."""
    import perftop

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.dirname(perftop.__file__)], check=True
    )


def child_env(config_home: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"COLUMNS", "LINES", "NO_COLOR"} and not key.startswith("TEXTUAL")
    }
    env["TERM"] = "xterm-256color"
    env["XDG_CONFIG_HOME"] = config_home  # default settings, and the user's htoprc untouched
    btop = os.path.join(config_home, "btop")
    os.makedirs(btop, exist_ok=True)
    with open(os.path.join(btop, "btop.conf"), "w") as conf:
        conf.write("update_ms = 1000\n")  # 1 s, as the others; 1.2 has no flag for it
    if "LANG" not in env and "LC_ALL" not in env:
        env["LANG"] = "C.UTF-8"
    return env


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def measure(monitor: Monitor, args: argparse.Namespace, env: dict[str, str], procs: int) -> Sample:
    running = PtyProcess(monitor.argv, monitor.pattern, env)
    try:
        proc = psutil.Process(running.pid)
        running.screen_seen.wait(FIRST_SCREEN_TIMEOUT_S)
        start = running.started + (running.first_screen_s or FIRST_SCREEN_TIMEOUT_S)
        time.sleep(max(0.0, start + args.warmup - time.monotonic()))
        wall0, cpu0, bytes0 = time.monotonic(), cpu_seconds(proc), running.counted()
        time.sleep(args.seconds)
        wall1, cpu1, bytes1 = time.monotonic(), cpu_seconds(proc), running.counted()
        rss = proc.memory_info().rss
    finally:
        ended_by = running.stop()
    wall = wall1 - wall0
    return Sample(
        cpu_percent=100 * (cpu1 - cpu0) / wall,
        rss_mb=rss / 1e6,
        first_screen_s=running.first_screen_s,
        kb_per_s=(bytes1 - bytes0) / wall / 1e3,
        procs=procs,
        ended_by=ended_by,
    )


def median(values: Iterator[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def fmt(value: float | None, spec: str, unit: str) -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def busy_note() -> str:
    """The load average, with a warning when other work competes with the monitors."""
    load = os.getloadavg()[0]
    cpus = psutil.cpu_count() or 1
    note = f"load average {load:.2f} on {cpus} CPUs"
    if load > cpus / 2:
        note += " - busy machine: own CPU and first screen are inflated, compare in the same run"
    return note


def import_floor(runs: int) -> float:
    """The median wall time of `python -c "import textual.app"`: what no Textual app's first
    screen can beat on this machine, measured in the same run as the monitors."""
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def report(results: dict[str, list[Sample]], load_before: str, floor: float) -> bool:
    rows: dict[str, tuple[float | None, ...]] = {}
    print(f"\nbefore: {load_before}\nafter:  {busy_note()}")
    print(f"import textual.app: {floor:.2f} s (median, same run)")
    print("\n| monitor | own CPU | RSS | first screen | to terminal | procs |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, samples in results.items():
        row = (
            median(s.cpu_percent for s in samples),
            median(s.rss_mb for s in samples),
            median(s.first_screen_s for s in samples),
            median(s.kb_per_s for s in samples),
        )
        rows[name] = row
        procs = int(statistics.median(s.procs for s in samples))
        print(
            f"| {name} | {fmt(row[0], '.1f', ' %')} | {fmt(row[1], '.1f', ' MB')} "
            f"| {fmt(row[2], '.2f', ' s')} | {fmt(row[3], '.2f', ' KB/s')} | {procs} |"
        )
        for sample in samples:
            if sample.ended_by != "q":
                print(f"  note: {name} did not quit on 'q'; ended by {sample.ended_by}")
    ours = rows["perftop"]
    for peer in ("htop", "btop"):
        theirs = rows.get(peer)
        if theirs is None:
            continue
        ratios = [
            "n/a" if a is None or not b else f"{a / b:.2f}x"
            for a, b in zip(ours, theirs, strict=True)
        ]
        print(
            f"perftop/{peer}: own CPU {ratios[0]}, RSS {ratios[1]}, "
            f"first screen {ratios[2]}, to terminal {ratios[3]}"
        )
    cpu, rss, first, kbs = ours

    def against(peer: str, index: int, factor: float = 1.0) -> tuple[bool | None, str]:
        theirs = rows.get(peer)
        mine = ours[index]
        if theirs is None or theirs[index] is None or mine is None:
            return None, "n/a"
        value = theirs[index]
        assert value is not None
        ratio = f"{mine / value:.2f}x" if value else "n/a"
        return mine <= factor * value, ratio

    checks: list[tuple[str, bool | None, str]] = []
    for peer in ("htop", "btop"):
        ok, ratio = against(peer, 0)
        checks.append((f"own CPU <= {peer}'s", ok, f"{fmt(cpu, '.1f', ' %')} ({ratio})"))
    checks.append(
        (
            f"RSS <= {RSS_BUDGET_MB:g} MB",
            None if rss is None else rss <= RSS_BUDGET_MB,
            fmt(rss, ".1f", " MB"),
        )
    )
    checks.append(
        (
            f"first screen <= {FIRST_SCREEN_FLOOR_RATIO:g}x import textual.app",
            None if first is None else first <= FIRST_SCREEN_FLOOR_RATIO * floor,
            f"{fmt(first, '.2f', ' s')} ({fmt(first and first / floor, '.2f', 'x')})",
        )
    )
    ok, ratio = against("htop", 3, TERMINAL_HTOP_RATIO)
    checks.append(
        (
            f"to terminal <= {TERMINAL_HTOP_RATIO:g}x htop's",
            ok,
            f"{fmt(kbs, '.2f', ' KB/s')} ({ratio})",
        )
    )
    print()
    for label, verdict_ok, shown in checks:
        verdict = "SKIP" if verdict_ok is None else "PASS" if verdict_ok else "FAIL"
        print(f"{verdict:5} {label}: {shown}")
    return all(verdict_ok is not False for _, verdict_ok, _ in checks)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="steady-state window (s)")
    parser.add_argument("--procs", type=int, default=475, help="top the machine up to N processes")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported")
    parser.add_argument("--warmup", type=float, default=3.0, help="s after first screen")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    compile_bytecode()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    chosen = monitors()
    per_run = args.warmup + args.seconds + FIRST_SCREEN_TIMEOUT_S + 10
    sleepers = Sleepers(lifetime_s=int(args.runs * len(chosen) * per_run) + 60)
    results: dict[str, list[Sample]] = {monitor.name: [] for monitor in chosen}
    load_before = busy_note()
    print(
        f"{COLS}x{ROWS} pty, 1 s refresh, {args.seconds:g} s window after {args.warmup:g} s "
        f"warm-up, {args.runs} run(s); {load_before}",
        file=sys.stderr,
    )
    floors: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as config_home:
            env = child_env(config_home)
            for run in range(1, args.runs + 1):
                floors.append(import_floor(3))
                for monitor in chosen:
                    procs = sleepers.top_up(args.procs)
                    time.sleep(1.0)  # let the spawn burst settle
                    sample = measure(monitor, args, env, procs)
                    results[monitor.name].append(sample)
                    print(
                        f"run {run} {monitor.name:8} cpu {sample.cpu_percent:5.1f} %  "
                        f"rss {sample.rss_mb:5.1f} MB  "
                        f"first {fmt(sample.first_screen_s, '.3f', ' s')}  "
                        f"out {sample.kb_per_s:6.2f} KB/s  procs {sample.procs}",
                        file=sys.stderr,
                    )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sleepers.kill()
    return 0 if report(results, load_before, statistics.median(floors)) else 1


if __name__ == "__main__":
    sys.exit(main())
