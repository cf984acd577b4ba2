"""What watching a live profile costs: perftop's flame view beside `py-spy top`.

Run on demand: `python bench/bench_profile.py [--seconds 20] [--runs 3] [--rate 100] [--pool 5]`.

Starts a CPU-bound Python target (one process, then a pool: a parent and `--pool` busy
children) and watches it in turn, each in its own 120x40 pseudo-terminal (see
bench_dashboard.py): `py-spy top --pid PID --rate R` (with `--subprocesses` for the pool), then
`perftop --pid PID --rate R` (with `--subprocesses`), which opens straight on the live flame.
For each it measures from the outside:

- CPU: the monitor's user+system time and its children's (py-spy under perftop), from the
  first view on, over the window, % of one core;
- to terminal: bytes per second written to the pty over the window;
- first view: spawn -> the target's hot function's name appears in the output;
- RSS: the monitor's own, at the end of the window.

Prints the medians, perftop/py-spy-top ratios and PASS/FAIL against ARCHITECTURE.md's budgets
(CPU <= py-spy top's, bytes <= 2x py-spy top's).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench_dashboard import FIRST_SCREEN_TIMEOUT_S, PtyProcess, child_env

HOT = "perftop_bench_hot"
TARGET = textwrap.dedent(
    f"""
    import os, sys, time
    def {HOT}(n):
        total = 0
        for i in range(n):
            total += i * i % 7
        return total
    def work():
        while True:
            {HOT}(20_000)
    children = int(sys.argv[1])
    for _ in range(children):
        if os.fork() == 0:
            work()
    if children:
        while True:
            time.sleep(1)  # the parent waits, as a pool's master does
    work()
    """
)


@dataclass(frozen=True)
class Result:
    cpu: float
    kb_per_s: float
    first_s: float | None
    rss_mb: float


def total_cpu(proc: psutil.Process) -> float:
    """The process's CPU seconds and its living children's (py-spy under perftop)."""
    seconds = 0.0
    with contextlib.suppress(psutil.Error):
        times = proc.cpu_times()
        seconds += times.user + times.system + times.children_user + times.children_system
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                t = child.cpu_times()
                seconds += t.user + t.system
    return seconds


def watch(argv: Sequence[str], args: argparse.Namespace, env: dict[str, str]) -> Result:
    running = PtyProcess(argv, __import__("re").compile(HOT.encode()), env)
    try:
        proc = psutil.Process(running.pid)
        running.screen_seen.wait(FIRST_SCREEN_TIMEOUT_S)
        time.sleep(2.0)  # past the first view's burst
        wall0, cpu0, bytes0 = time.monotonic(), total_cpu(proc), running.counted()
        time.sleep(args.seconds)
        wall1, cpu1, bytes1 = time.monotonic(), total_cpu(proc), running.counted()
        rss = proc.memory_info().rss / 1e6
    finally:
        running.stop()
    wall = wall1 - wall0
    return Result(
        100 * (cpu1 - cpu0) / wall, (bytes1 - bytes0) / wall / 1e3, running.first_screen_s, rss
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--pool", type=int, default=5, help="busy children in the pool case")
    args = parser.parse_args(argv)
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as home:
        env = child_env(home)
        script = Path(home) / "target.py"
        script.write_text(TARGET)
        for case, children in (("one process", 0), (f"a pool of {args.pool}", args.pool)):
            target = subprocess.Popen([sys.executable, str(script), str(children)])
            results: dict[str, list[Result]] = {"py-spy top": [], "perftop": []}
            sub = ["--subprocesses"] if children else []
            try:
                time.sleep(1.0)
                for _ in range(args.runs):
                    pid, rate = str(target.pid), str(args.rate)
                    commands = {
                        "py-spy top": [pyspy, "top", "--pid", pid, "--rate", rate, *sub],
                        "perftop": [
                            sys.executable,
                            "-m",
                            "perftop",
                            "--pid",
                            pid,
                            "-r",
                            rate,
                            *sub,
                        ],
                    }
                    for name, command in commands.items():
                        result = watch(command, args, env)
                        results[name].append(result)
                        print(
                            f"{case}: {name:10} cpu {result.cpu:5.1f} %  out {result.kb_per_s:6.2f}"
                            f" KB/s  first {result.first_s}  rss {result.rss_mb:.1f} MB",
                            file=sys.stderr,
                        )
            finally:
                with contextlib.suppress(psutil.Error):
                    for child in psutil.Process(target.pid).children(recursive=True):
                        child.kill()
                target.kill()
                target.wait()
            med = {
                name: Result(
                    statistics.median(r.cpu for r in rs),
                    statistics.median(r.kb_per_s for r in rs),
                    statistics.median([r.first_s for r in rs if r.first_s is not None] or [0.0]),
                    statistics.median(r.rss_mb for r in rs),
                )
                for name, rs in results.items()
            }
            print(
                f"\n{case}, {args.rate} Hz, {args.seconds:g} s windows, load "
                f"{os.getloadavg()[0]:.2f}\n"
            )
            print("| watcher | CPU (with its py-spy) | to terminal | first view | RSS |")
            print("| --- | --- | --- | --- | --- |")
            for name, r in med.items():
                print(
                    f"| {name} | {r.cpu:.1f} % | {r.kb_per_s:.2f} KB/s | {r.first_s:.2f} s "
                    f"| {r.rss_mb:.1f} MB |"
                )
            ours, theirs = med["perftop"], med["py-spy top"]
            checks = [
                ("CPU <= py-spy top's", ours.cpu <= theirs.cpu, f"{ours.cpu / theirs.cpu:.2f}x"),
                (
                    "bytes <= 2x py-spy top's",
                    ours.kb_per_s <= 2 * theirs.kb_per_s,
                    f"{ours.kb_per_s / max(theirs.kb_per_s, 1e-9):.2f}x",
                ),
            ]
            for label, passed, ratio in checks:
                print(f"{'PASS' if passed else 'FAIL':5} {label}: {ratio}")
                ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
