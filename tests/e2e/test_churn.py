"""Process churn: 100 processes started and ended per second for 60 s while perftop runs (issue 7).

Two real perftops in tmux, side by side: one on the dashboard (sorted, then as a tree, then
filtered down to the churning processes), one attached with py-spy to a Python process. A
churner starts a short-lived `sleep` every 10 ms under a unique name and logs when each one
was started and reaped. Every half second the test reads the dashboard and keeps the PIDs it
shows; afterwards each one must have been alive within two refreshes of the moment it was
shown (no stale rows), and when the churn stops the churned rows must all go. Neither perftop
may crash or print a traceback, and the profile must keep growing throughout.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psutil

from tests.e2e.harness import (
    Tmux,
    exited,
    head,
    needs_tmux,
    no_traceback,
    open_filter,
    perftop_pid,
    samples,
    shell_command,
)
from tests.e2e.targets import pyspy_of, start_target, wait_gone

pytestmark = [needs_tmux]

CHURN_S = 60.0
RATE_HZ = 100
REFRESH_S = 1.0
# A row may outlive its process by a refresh (sampled just before it ended) plus the time the
# frame takes to reach the screen and tmux's capture: two refreshes is generous.
STALE_AFTER_S = 2 * REFRESH_S + 0.5

CHURNER = textwrap.dedent(
    """
    import json, os, random, sys, time

    duration, rate, exe, log = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    random.seed(7)
    live = {}
    started = 0
    with open(log, "w") as out:
        def reap():
            while live:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    return
                if not pid:
                    return
                out.write(json.dumps([pid, live.pop(pid), time.time()]) + "\\n")

        end = time.monotonic() + duration
        due = time.monotonic()
        while time.monotonic() < end:
            life = "%.2f" % random.uniform(0.05, 0.6)
            # argv[0] is the bare name: the whole command line fits in the table.
            pid = os.posix_spawn(exe, [os.path.basename(exe), life], os.environ)
            live[pid] = time.time()
            started += 1
            reap()
            due += 1.0 / rate
            time.sleep(max(0.0, due - time.monotonic()))
        while live:
            time.sleep(0.05)
            reap()
    print(started, flush=True)
    """
)

# A Python target that works in bursts: profiled through the churn without hogging a core.
WORKER = textwrap.dedent(
    """
    import time

    def perftop_churn_work():
        return sum(i * i for i in range(20000))

    def perftop_churn_loop():
        while True:
            perftop_churn_work()
            time.sleep(0.005)

    perftop_churn_loop()
    """
)


ROW = re.compile(r"^ *(\d+) \S+ +[A-Za-z] ")  # PID USER S: a row of the process table


def shown_pids(screen: str, marker: str) -> set[int]:
    return {
        int(found.group(1))
        for line in screen.splitlines()
        if marker in line and (found := ROW.match(line))
    }


def tasks(screen: str) -> int:
    found = re.search(r"(\d+) tasks", screen)
    return int(found.group(1)) if found else -1


def test_process_churn_with_dashboard_and_profile(tmp_path: Path) -> None:
    marker = f"churnkid_{uuid.uuid4().hex[:6]}"
    kid = tmp_path / marker
    kid.symlink_to(shutil.which("sleep") or "/bin/sleep")
    (tmp_path / "churner.py").write_text(CHURNER)
    log = tmp_path / "churn.jsonl"
    worker = start_target(tmp_path, WORKER, name="w.py", busy_s=0.05)
    dash, prof = Tmux(), Tmux()
    churner = None
    try:
        (tmp_path / "dash").mkdir()
        (tmp_path / "prof").mkdir()
        dash.start(shell_command(tmp_path / "dash"))
        prof.start(shell_command(tmp_path / "prof", "--pid", str(worker.pid)))
        dash.wait_for(lambda s: "PID USER" in s, 30)
        prof.wait_for(lambda s: "perftop_churn_work" in s and samples(s) > 0, 30)

        perftops = [psutil.Process(perftop_pid(session)) for session in (dash, prof)]
        cpu_before = [sum(p.cpu_times()[:2]) for p in perftops]
        churner = subprocess.Popen(
            [sys.executable, "churner.py", str(CHURN_S), str(RATE_HZ), str(kid), str(log)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )
        start = time.monotonic()
        seen: list[tuple[float, set[int]]] = []
        counts, task_counts = [samples(prof.screen())], set()
        steps = iter([(CHURN_S * 0.25, "t"), (CHURN_S * 0.5, "t"), (CHURN_S * 0.5, "filter")])
        step = next(steps, None)
        while time.monotonic() - start < CHURN_S:
            now = time.monotonic() - start
            while step is not None and now >= step[0]:
                if step[1] == "filter":
                    open_filter(dash)
                    dash.type(marker)
                    dash.keys("Enter")
                else:
                    dash.keys(step[1])  # tree view on, then off, mid-churn
                step = next(steps, None)
            at = time.time()
            screen = dash.screen()
            assert "Traceback" not in screen, screen
            seen.append((at, shown_pids(screen, marker)))
            task_counts.add(tasks(screen))
            if len(seen) % 10 == 0:
                screen = prof.screen()
                assert "Traceback" not in screen and " LIVE " in head(screen), screen
                counts.append(samples(screen))
            time.sleep(0.5)
        cpu = [
            100 * (sum(p.cpu_times()[:2]) - before) / (time.monotonic() - start)
            for p, before in zip(perftops, cpu_before, strict=True)
        ]
        started = int(churner.communicate(timeout=30)[0])

        # The churned rows all go once the churn stops.
        dash.wait_for(lambda s: "0 shown" in s, timeout=10 * REFRESH_S)
        assert started >= 0.9 * CHURN_S * RATE_HZ, f"only {started} processes were started"
        lives = {}
        for line in log.read_text().splitlines():
            pid, born, reaped = json.loads(line)
            lives.setdefault(pid, []).append((born, reaped))
        assert len(lives) > 1000
        stale = [
            (round(at, 2), pid)
            for at, pids in seen
            for pid in pids
            if pid != churner.pid
            and not any(
                born - 1.0 <= at <= reaped + STALE_AFTER_S for born, reaped in lives.get(pid, [])
            )
        ]
        assert not stale, f"rows of processes long gone: {stale[:10]}"
        lag = max(
            (
                at - max(r for _, r in lives[pid])
                for at, pids in seen
                for pid in pids
                if pid in lives
            ),
            default=0.0,
        )
        print(
            f"\nchurn: {started} processes in {CHURN_S:g} s; {len(lives)} PIDs; "
            f"{sum(len(p) for _, p in seen)} churned rows read in {len(seen)} screens; "
            f"longest a row outlived its process: {max(lag, 0.0):.2f} s; perftop own CPU: "
            f"dashboard {cpu[0]:.1f} %, profile {cpu[1]:.1f} %; profile samples {counts}"
        )
        assert sum(bool(pids) for _, pids in seen) > len(seen) / 4, "the churn was seen"
        assert len(task_counts) > 10, "the task count moved with the churn"
        assert all(b > a for a, b in itertools.pairwise(counts)), f"the profile grew: {counts}"

        for session in (dash, prof):
            session.keys("F10")
            assert exited(session) == 0
            no_traceback(session)
        wait_gone(worker.pid)
        assert not pyspy_of(worker.pid)
    finally:
        if churner is not None and churner.poll() is None:
            churner.kill()
            churner.wait()
        worker.end()
        dash.kill()
        prof.kill()
