"""User threads as rows (htop's `H`): read from /proc only while wanted, each with its own
CPU%, under its process in the tree."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from perftop.system.processes import ProcessCollector, ViewOptions, build_view
from perftop.system.samples import ProcessSnapshot
from perftop.system.source import FakeSource
from tests.e2e.harness import wait_until

# A process with two threads more: one spins, one waits; it prints their IDs once both run.
_TARGET = """
import threading, time
def spin():
    while True:
        sum(range(1000))
def wait():
    threading.Event().wait()
for f, name in ((spin, "spinner"), (wait, "waiter")):
    threading.Thread(target=f, name=name, daemon=True).start()
print(" ".join(str(t.native_id) for t in threading.enumerate() if t.name != "MainThread"),
      flush=True)
threading.Event().wait()
"""


@pytest.fixture
def target() -> Iterator[tuple[int, set[int]]]:
    proc = subprocess.Popen([sys.executable, "-c", _TARGET], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    tids = {int(t) for t in proc.stdout.readline().split()}
    yield proc.pid, tids
    proc.kill()
    proc.wait()


def test_threads_are_read_only_while_wanted(target: tuple[int, set[int]]) -> None:
    pid, tids = target
    collector = ProcessCollector()
    assert collector.sample().threads == {}, "not wanted: not read"
    collector.want(shared=False, threads=True)

    def spinning() -> ProcessSnapshot | None:
        snapshot = collector.sample()
        mine = [r for r in snapshot.threads.values() if r.thread_of == pid]
        spinner = max(mine, key=lambda r: r.cpu_time_s or 0.0, default=None)
        has_all = {r.pid for r in mine} >= tids
        return snapshot if has_all and spinner is not None and spinner.cpu_percent > 5 else None

    snapshot = wait_until(spinning, "the spinning thread's own CPU%", 60)
    mine = {t: r for t, r in snapshot.threads.items() if r.thread_of == pid}
    assert set(mine) == tids, "each thread but the main one, keyed by its ID"
    for tid, row in mine.items():
        assert (row.pid, row.ppid, row.num_threads) == (tid, pid, 1)
        assert row.user == snapshot.rows[pid].user
        assert row.rss_bytes == snapshot.rows[pid].rss_bytes, "memory is the process's"
    for tid, row in mine.items():  # the thread's own name (what prctl/pthread_setname set)
        with open(f"/proc/{pid}/task/{tid}/comm") as comm:
            assert row.name == comm.read().rstrip("\n")
    collector.want(shared=False, threads=False)
    assert collector.sample().threads == {}


def test_threads_sit_under_their_process_in_the_tree() -> None:
    source = FakeSource()
    source.want(net=True, wait=True, threads=True)
    source.sample_processes()
    snapshot = source.sample_processes()
    assert snapshot.threads, "the fake machine's multi-threaded processes have threads"
    owner = next(iter(snapshot.threads.values())).thread_of
    assert owner is not None
    flat = build_view(snapshot, ViewOptions())
    assert all(v.row.thread_of is None for v in flat), "threads are rows only with H"
    tree = build_view(snapshot, ViewOptions(tree=True, threads=True))
    pids = [v.row.pid for v in tree]
    at = pids.index(owner)
    mine = sorted(t for t, r in snapshot.threads.items() if r.thread_of == owner)
    assert len(mine) == snapshot.rows[owner].num_threads - 1
    below = tree[at + 1 : at + 1 + len(mine)]
    assert sorted(v.row.pid for v in below) == mine
    assert all(v.depth == tree[at].depth + 1 for v in below)
    listed = build_view(snapshot, ViewOptions(threads=True, user=snapshot.rows[owner].user))
    assert set(mine) <= {v.row.pid for v in listed}, "a user's filter keeps their threads"
