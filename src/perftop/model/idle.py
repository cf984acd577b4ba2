"""Which frames are a thread waiting: the one list the flame's "hide idle" reads.

A sample is idle when its leaf (the innermost frame) is a wait: the thread was blocked in
select, poll, a sleep, a lock or condition, a queue, a socket, waiting for the GIL, or the
CPU ran its idle loop. py-spy drops such samples itself unless `--idle` is given, by asking
the OS whether the thread runs and, where the OS cannot say, by a heuristic on the leaf
(`wait` in threading.py, `select` in selectors.py, `poll` in asyncore, zmq, gevent or
tornado). The OS's answer is gone once a profile is recorded, so this module judges by the
leaf alone, after the fact, on any profile: py-spy's heuristic, the other Python functions
whose leaf is a blocking C call, and the native and kernel names a wait ends in (py-spy
`--native`, perf).

Python frames are matched by function *and* file (a `select` of one's own is no wait);
native frames by name, as glibc, CPython and the kernel spell them. A wrong "idle" hides
work, so the lists hold only what is a wait wherever it is met.
"""

from __future__ import annotations

from functools import lru_cache

from perftop.model.frames import Frame

__all__ = ["NATIVE_WAITS", "PYTHON_WAITS", "is_idle"]

# (function, the end of its file's path): the leaf of a Python thread blocked in C below it.
PYTHON_WAITS: tuple[tuple[str, str], ...] = (
    # py-spy's heuristic
    ("wait", "/threading.py"),  # Condition.wait, so Event.wait, Semaphore, Barrier, Queue.get
    ("select", "/selectors.py"),  # every selector: asyncio's _run_once, socketserver
    ("poll", "/asyncore.py"),
    # threading and queues
    ("_wait_for_tstate_lock", "/threading.py"),  # Thread.join
    ("join", "/threading.py"),  # 3.13: Thread.join waits in C
    ("get", "/queue.py"),
    ("_worker", "/concurrent/futures/thread.py"),  # an idle pool thread: SimpleQueue.get
    ("_recv", "/multiprocessing/connection.py"),
    ("_recv_bytes", "/multiprocessing/connection.py"),
    ("poll", "/multiprocessing/connection.py"),
    ("_try_wait", "/subprocess.py"),  # waitpid
    # sockets
    ("accept", "/socket.py"),
    ("readinto", "/socket.py"),  # a socket's file object: recv_into
    ("read", "/ssl.py"),
    ("recv_into", "/ssl.py"),
    # servers that wait in select themselves
    ("sleep", "/gunicorn/arbiter.py"),  # the master: select on its signal pipe
    ("wait_for_signals", "/gunicorn/arbiter.py"),
    ("wait", "/gunicorn/workers/sync.py"),  # a sync worker: select on its listeners
    ("run", "/gevent/hub.py"),
    ("wait", "/gevent/hub.py"),
)
# py-spy's heuristic: `poll` in any file of these libraries.
_POLL_LIBRARIES = ("zmq", "gevent", "tornado", "eventlet")

# Native leaves, by name once glibc's decorations are taken off (`__GI___poll` is `poll`,
# `__libc_accept` is `accept`, `pthread_cond_wait@@GLIBC_2.3.2` is `pthread_cond_wait`).
NATIVE_WAITS: frozenset[str] = frozenset(
    {
        # the system calls a wait ends in
        "select",
        "pselect",
        "pselect6",
        "poll",
        "ppoll",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "nanosleep",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "pause",
        "sigwait",
        "sigwaitinfo",
        "sigtimedwait",
        "sigsuspend",
        "wait4",
        "waitpid",
        "waitid",
        "accept",
        "accept4",
        "recv",
        "recvfrom",
        "recvmsg",
        "futex",
        # glibc's waits on a futex: locks, conditions, semaphores
        "futex_abstimed_wait_common",
        "futex_abstimed_wait_common64",
        "futex_wait",
        "lll_lock_wait",
        "lll_lock_wait_private",
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "pthread_cond_clockwait",
        "pthread_mutex_lock_full",
        "pthread_join",
        "pthread_clockjoin_ex",
        "sem_wait",
        "sem_timedwait",
        "sem_clockwait",
        "new_sem_wait_slow",
        "new_sem_wait_slow64",
        "do_futex_wait",
        # CPython: the GIL, locks, sleep, select
        "take_gil",
        "PyThread_acquire_lock_timed",
        "acquire_timed",
        "lock_PyThread_acquire_lock",
        "rlock_acquire",
        "PyCOND_TIMEDWAIT",
        "PySemaphore_Wait",
        "PyParkingLot_Park",
        "PyMutex_LockTimed",
        "pysleep",
        "time_sleep",
        "select_select",
        "select_select_impl",
        "select_poll_poll",
        "select_poll_poll_impl",
        "select_epoll_poll",
        "select_epoll_poll_impl",
        "sock_accept",
        "sock_recv",
        "sock_recv_into",
        "sock_call_ex",
        "os_waitpid_impl",
        # the kernel's idle loop: a CPU with nothing to run (perf on every CPU). Not `schedule`:
        # perf samples only what runs, and a leaf there is the switch's own cost
        "cpu_idle",
        "cpu_idle_poll",
        "do_idle",
        "default_idle",
        "default_idle_call",
        "arch_cpu_idle",
        "cpuidle_enter_state",
        "cpuidle_enter",
        "intel_idle",
        "intel_idle_irq",
        "intel_idle_ibrs",
        "acpi_idle_do_entry",
        "acpi_idle_enter",
        "acpi_safe_halt",
        "native_safe_halt",
        "pv_native_safe_halt",
        "safe_halt",
        "mwait_idle",
        "mwait_idle_with_hints",
        "poll_idle",
        "schedule_idle",
    }
)


def _bare_name(name: str) -> str:
    """A native name as the lists spell it: no `_[k]` mark, version, offset or glibc prefix."""
    name = name.removesuffix("_[k]").split("@", 1)[0].split("+0x", 1)[0].strip()
    name = name.lstrip("_")
    for prefix in ("GI_", "libc_", "GI_libc_"):
        if name.startswith(prefix):
            name = name[len(prefix) :].lstrip("_")
    return name.removesuffix("_nocancel")


@lru_cache(maxsize=65536)
def is_idle(frame: Frame) -> bool:
    """Whether a sample whose leaf is `frame` is a thread waiting (or a CPU idle)."""
    if frame.is_python:
        # py-spy shortens the standard library's paths (`threading.py`) and site-packages'
        # (`gunicorn/arbiter.py`): a suffix matches at a path's start too.
        path = "/" + frame.filename.replace("\\", "/").lstrip("/")
        for name, suffix in PYTHON_WAITS:
            if frame.name == name and path.endswith(suffix):
                return True
        # Method names may come qualified (py-spy 0.4: `Selector.select`).
        short = frame.name.rsplit(".", 1)[-1]
        if short != frame.name:
            return is_idle(Frame(short, frame.filename, frame.line))
        return short == "poll" and any(lib in path for lib in _POLL_LIBRARIES)
    if frame.name.startswith(("thread (", "process ")) and not frame.filename:
        return False  # the roots naming a thread or a process
    return _bare_name(frame.name) in NATIVE_WAITS
