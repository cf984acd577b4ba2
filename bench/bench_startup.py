"""Where perftop's first screen goes, step by step, against Textual's own floor.

Run on demand: `python bench/bench_startup.py [--runs 5] [--procs 475]`.

Each run starts, in a 120x40 pseudo-terminal as `bench_dashboard.py` does:

- `python -c "import textual.app"` (the import floor: the budget is 1.25x this),
- `bench/floor_app.py`, the smallest Textual app that shows a table header (what any Textual
  monitor pays before its first frame),
- perftop, through a wrapper that notes the time of each step of its start-up (the same
  monotonic clock as the bench, so the interpreter's own start counts): interpreter up,
  perftop's CLI imported, Textual and the screens imported (while the first tick is read
  beside them), the app built, mounted, the first frame written, the first sample shown.

It prints the median of each step's time from spawn, the first screen of each program, the
ratios to the import floor, and RSS once settled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from bench_dashboard import Monitor, PtyProcess, Sleepers, child_env, compile_bytecode

HERE = Path(__file__).parent
HEADER = (b"PID", b"USER")

# Run as the program in the pty: notes each step, then runs perftop's main().
_WRAPPER = r"""
import os, sys, time
marks = [("interpreter up", time.monotonic())]
def mark(name):
    marks.append((name, time.monotonic()))
    with open(os.environ["BENCH_MARKS"], "w") as f:
        f.writelines(f"{n}\t{at}\n" for n, at in marks)
# Nothing of Textual's imported here: perftop reads its first tick beside those imports.
import perftop.cli, perftop.commands.tui as tui
mark("perftop's CLI imported")
run = tui._run
def patched(config, mode, first):
    mark("Textual and perftop's screens imported")
    import perftop.app, textual.app
    import perftop.ui.screens.dashboard as dashboard
    App, Dashboard = perftop.app.PerftopApp, dashboard.DashboardScreen
    init, mount, shown = App.__init__, App.on_mount, Dashboard.show
    def app_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        mark("app built")
    def on_mount(self):  # no event argument: Textual passes one only where it is asked for
        mark("mount starts")
        mount(self)
        mark("mounted")
    def show(self, sample, snapshot):  # the first tick drawn as the dashboard mounts, or later
        shown(self, sample, snapshot)
        if not any(n == "first sample shown" for n, _ in marks):
            mark("first sample shown")
    App.__init__, App.on_mount, Dashboard.show = app_init, on_mount, show
    display = textual.app.App._display
    def first_frame(self, *args, **kwargs):
        result = display(self, *args, **kwargs)
        if not any(n == "first frame written" for n, _ in marks):
            mark("first frame written")
        return result
    textual.app.App._display = first_frame
    return run(config, mode, first)
tui._run = patched
sys.argv = ["perftop", *sys.argv[1:]]
sys.exit(perftop.cli.main())
"""


def floor(runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def first_screen(argv: Sequence[str], env: dict[str, str]) -> tuple[float | None, float, float]:
    """(first screen s, RSS MB once settled, spawn time) of a program in a pty."""
    running = PtyProcess(argv, Monitor("x", tuple(argv), HEADER).pattern, env)
    try:
        running.screen_seen.wait(15)
        time.sleep(2.0)
        rss = psutil.Process(running.pid).memory_info().rss / 1e6
    finally:
        running.stop()
    return running.first_screen_s, rss, running.started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--procs", type=int, default=475, help="top the machine up to N processes")
    args = parser.parse_args(argv)
    compile_bytecode()
    sleepers = Sleepers(lifetime_s=args.runs * 30 + 60)
    floors: list[float] = []
    firsts: dict[str, list[float]] = {"floor_app": [], "perftop": []}
    rss: dict[str, list[float]] = {"floor_app": [], "perftop": []}
    steps: dict[str, list[float]] = {}
    try:
        sleepers.top_up(args.procs)
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
            env = child_env(home)
            marks_path = os.path.join(home, "marks")
            env["BENCH_MARKS"] = marks_path
            for _ in range(args.runs):
                floors.append(floor(1))
                got, mb, _ = first_screen([sys.executable, str(HERE / "floor_app.py")], env)
                if got is not None:
                    firsts["floor_app"].append(got)
                rss["floor_app"].append(mb)
                perftop = [sys.executable, "-c", _WRAPPER, "-d", "10"]
                got, mb, spawned = first_screen(perftop, env)
                if got is not None:
                    firsts["perftop"].append(got)
                rss["perftop"].append(mb)
                for line in Path(marks_path).read_text().splitlines():
                    name, at = line.split("\t")
                    steps.setdefault(name, []).append(float(at) - spawned)
    finally:
        sleepers.kill()
    base = statistics.median(floors)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs, medians, s from spawn\n")
    print(f"import textual.app (the floor): {base:.3f} s")
    for name in ("floor_app", "perftop"):
        if firsts[name]:
            first = statistics.median(firsts[name])
            print(
                f"{name:10} first screen {first:.3f} s ({first / base:.2f}x the floor), "
                f"RSS {statistics.median(rss[name]):.1f} MB"
            )
    print("\n| perftop's step | at (s) |\n| --- | --- |")
    for name, values in sorted(steps.items(), key=lambda kv: statistics.median(kv[1])):
        print(f"| {name} | {statistics.median(values):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
