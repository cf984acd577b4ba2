"""Two versions of perftop's first screen side by side, timed as `bench_dashboard.py` times it.

Run on demand: `python bench/bench_first_screen_ab.py OLD_SRC NEW_SRC [--rounds 9] [--procs 475]`,
where each SRC is a checkout's `src/` (a `git worktree add` of the older commit, say).

Each round times `python -c "import textual.app"` once (the floor), then starts
`python -m perftop -d 10` with `PYTHONPATH` at each SRC in turn, in `bench_dashboard.py`'s
120x40 pty and environment, and takes the time from spawn to the table's header. The machine is
topped up to `--procs` processes once, before the first round. Prints each version's median,
its ratio to the median floor, and every reading: a change of start-up is judged against the
spread of the readings, since one machine's speed moves within the hour. Pass the same SRC twice
to see that spread alone.
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

from bench_dashboard import Monitor, PtyProcess, Sleepers, child_env, import_floor

PERFTOP = Monitor("perftop", (sys.executable, "-m", "perftop", "-d", "10"), (b"PID", b"USER"))


def first_screen(env: dict[str, str]) -> float | None:
    running = PtyProcess(list(PERFTOP.argv), PERFTOP.pattern, env)
    try:
        running.screen_seen.wait(15)
        time.sleep(0.5)  # a moment drawn, then gone: the next start finds the machine quiet
    finally:
        running.stop()
    return running.first_screen_s


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("trees", nargs=2, metavar="SRC", help="each version's src/ directory")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--procs", type=int, default=475, help="top the machine up to N processes")
    args = parser.parse_args(argv)
    for tree in args.trees:
        if not os.path.isfile(os.path.join(tree, "perftop", "__init__.py")):
            parser.error(f"{tree} holds no perftop package")
        # Compiled, as an installed perftop is (see bench_dashboard.compile_bytecode).
        subprocess.run([sys.executable, "-m", "compileall", "-q", tree], check=True)
    readings: dict[str, list[float]] = {tree: [] for tree in args.trees}
    floors: list[float] = []
    sleepers = Sleepers(lifetime_s=args.rounds * 10 + 60)
    try:
        sleepers.top_up(args.procs)
        with tempfile.TemporaryDirectory(prefix="bench-first-screen-") as home:
            env = child_env(home)
            for _ in range(args.rounds):
                floors.append(import_floor(1))
                for tree in args.trees:
                    got = first_screen({**env, "PYTHONPATH": tree})
                    if got is not None:
                        readings[tree].append(got)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sleepers.kill()
    floor = statistics.median(floors)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds")
    print(f"import textual.app (the floor): {floor:.3f} s")
    for tree, times in readings.items():
        if not times:
            print(f"{tree}: no first screen")
            continue
        median = statistics.median(times)
        each = " ".join(f"{t:.3f}" for t in times)
        print(f"{tree}: {median:.3f} s ({median / floor:.2f}x the floor); {each}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
