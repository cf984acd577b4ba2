"""Every subprocess perftop starts, and how each one ends with it.

perftop starts two kinds of children: profilers (py-spy) and launched targets
(`perftop run -- python app.py`); `fork` also starts copies of perftop itself for heavy work
(perftop/forked.py), ended like targets. Whatever way perftop ends, none may outlive it:

- a normal exit or an exception: `terminate_all` runs from `atexit`;
- SIGTERM or SIGHUP (the SSH session dropped): `install_signal_handlers` ends the children, then
  lets the signal take its default course, so the exit status still says which signal it was;
- SIGKILL, where no code of ours runs: the kernel sends each child its `PR_SET_PDEATHSIG`.

How each kind is started, and why:

- **Profilers get a session of their own.** A terminal Ctrl-C, Ctrl-Z or hang-up goes to the
  whole foreground process group; a py-spy in it would stop recording behind the driver's back
  (and Ctrl-Z would freeze it while attached to the target). perftop alone decides when py-spy
  stops, always with SIGINT, the one signal after which py-spy writes what it recorded and
  releases the target. Its death signal is SIGINT for the same reason: SIGKILL could land while
  py-spy holds the target's threads stopped under ptrace.
- **Launched targets stay in perftop's process group**, exactly as under `py-spy record --
  python app.py`: a terminal Ctrl-C or hang-up reaches the program as it would without perftop.
  While the TUI runs the terminal is in raw mode, so keys never become signals and the target,
  whose stdin is /dev/null, never competes with the TUI for them. Its death signal is SIGTERM,
  the polite end a program can clean up after.

`PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process. A
target launched from a short-lived worker thread would be killed the moment that worker
returned, so every child is forked from one long-lived spawner thread owned by this module.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import enum
import errno
import functools
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from types import FrameType
from typing import Any, NoReturn, Protocol, TypeVar

__all__ = [
    "ENDING_SIGNALS",
    "Child",
    "ChildKind",
    "ChildrenClosed",
    "add_cleanup",
    "exit_by_signal",
    "fork",
    "install_signal_handlers",
    "remove_cleanup",
    "spawn",
    "terminate",
    "terminate_all",
    "track",
    "tracked",
    "untrack",
]


class ChildKind(enum.Enum):
    PROFILER = "profiler"  # py-spy: ended with SIGINT so it writes its output and detaches
    TARGET = "target"  # a program perftop launched: SIGTERM, then SIGKILL


class ChildrenClosed(RuntimeError):
    """Raised by `spawn` once perftop is shutting down: a new child would outlive it."""


class Child(Protocol):
    """What this module needs of a child: a `subprocess.Popen`, or a `forked.Forked`."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    @property
    def args(self) -> Any: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...


C = TypeVar("C", bound=Child)

_lock = threading.RLock()  # re-entrant: signal handlers run on the main thread, maybe mid-call
_children: dict[Child, ChildKind] = {}
_closing = False
_cleanups: list[Callable[[], None]] = []
_PR_SET_PDEATHSIG = 1
_POLITE_SIGNAL = {ChildKind.PROFILER: signal.SIGINT, ChildKind.TARGET: signal.SIGTERM}


def _load_prctl() -> Callable[..., int] | None:
    # Looked up once here: the child calls it between fork and exec, where loading a library
    # could deadlock on a lock another thread held at the moment of the fork.
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    typed: Callable[..., int] = prctl
    return typed


_prctl = _load_prctl()


@functools.cache
def _setpriv() -> str | None:
    """util-linux's setpriv (Debian's util-linux is essential), looked up at the first bounded
    spawn, not at start-up: see `spawn`."""
    return shutil.which("setpriv") if _prctl is not None else None


def _death_signal_setter(sig: int) -> Callable[[], None] | None:
    if _prctl is None:
        return None
    prctl = _prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        # perftop may have died between fork and prctl; then nobody would ever signal us.
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def _kind_of(popen: Child) -> ChildKind:
    args = popen.args
    if isinstance(args, str | bytes | os.PathLike):
        first = os.fsdecode(args).split(" ", 1)[0]
    else:
        first = os.fsdecode(next(iter(args), ""))
    return ChildKind.PROFILER if os.path.basename(first).startswith("py-spy") else ChildKind.TARGET


def track(popen: C, kind: ChildKind | None = None) -> C:
    """Register a child started elsewhere, so it ends with perftop. Returns it for chaining.

    Without `kind`, a py-spy executable is a profiler and anything else a target.
    """
    with _lock:
        _children[popen] = kind or _kind_of(popen)
    return popen


def untrack(popen: Child) -> None:
    """Forget a child perftop no longer owns (it was reaped, or handed over)."""
    with _lock:
        _children.pop(popen, None)


def tracked() -> list[Child]:
    """The children still registered, in the order they were started."""
    with _lock:
        return list(_children)


class _Spawner:
    """One daemon thread that forks every child, so death signals follow perftop's lifetime."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run(self, job: Callable[[], C]) -> C:
        if threading.current_thread() is self._thread:
            return job()
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="perftop-spawner", daemon=True
                )
                self._thread.start()
        future: Future[C] = Future()
        self._jobs.put((job, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the caller, who raises it in its thread
                future.set_exception(exc)


_spawner = _Spawner()


def spawn(
    args: Sequence[str], *, kind: ChildKind, bounded: bool = False, **popen_kwargs: Any
) -> subprocess.Popen[bytes]:
    """Start and track a child the way its kind needs (see the module docstring).

    `popen_kwargs` go to `subprocess.Popen`; session and death signal are set here.
    Raises `ChildrenClosed` once perftop is ending, and what Popen raises (FileNotFoundError...).

    `bounded`: the child ends by itself within a bound (a py-spy recording given a duration),
    and is started often. It then gets its death signal from `setpriv --pdeathsig`, so that no
    Python code runs between fork and exec and subprocess can use vfork. A fork of perftop
    (40 MB, several threads) copied its page tables and made every page perftop then wrote
    fault once: 2,800 faults a second while a flame view started a py-spy each second. What
    setpriv does not do is check that perftop did not die in the instant before: the bound
    ends such an orphan.
    """
    if kind is ChildKind.PROFILER:
        popen_kwargs.setdefault("start_new_session", True)
    argv = list(args)
    sig = _POLITE_SIGNAL[kind]
    setpriv = _setpriv() if bounded else None
    if setpriv is not None:
        _check_executable(argv[0])  # as Popen would have: setpriv would only exit 127
        argv = [setpriv, f"--pdeathsig={sig.name}", "--", *argv]
    else:
        popen_kwargs["preexec_fn"] = _death_signal_setter(sig)

    def job() -> subprocess.Popen[bytes]:
        # Fork and registration under the lock: terminate_all cannot miss a child that is
        # being born while it runs.
        with _lock:
            if _closing:
                raise ChildrenClosed("perftop is exiting; not starting " + args[0])
            popen: subprocess.Popen[bytes] = subprocess.Popen(argv, **popen_kwargs)
            _children[popen] = kind
            return popen

    return _spawner.run(job)


def _check_executable(program: str) -> None:
    """Raise what `subprocess.Popen` raises for a `program` it cannot run."""
    path = program if os.sep in program else shutil.which(program)
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)


def fork(child_main: Callable[[], NoReturn], wrap: Callable[[int], C]) -> C:
    """Fork a copy of perftop running `child_main`, registered as `wrap(pid)`, ended as a target.

    `child_main` runs in the child, on the spawner thread's copy (the only thread a fork
    keeps), with ENDING_SIGNALS blocked: it installs handlers of its own, then unblocks them.
    It ends the child with `os._exit`; if it returns the child exits 70, if it raises 1 (a
    SystemExit: its code), by `os._exit` too: nothing of the parent's (atexit, Textual) may
    run there. Raises `ChildrenClosed` once perftop is ending, OSError if the fork fails.
    """
    death = _death_signal_setter(_POLITE_SIGNAL[ChildKind.TARGET])

    def job() -> C:
        with _lock:  # as in spawn: terminate_all cannot miss a child being born
            if _closing:
                raise ChildrenClosed("perftop is exiting; not starting a worker")
            # Blocked across the fork, so that the child never runs perftop's own handlers
            # (which would end perftop's other children) before it has its own.
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, ENDING_SIGNALS)
            with warnings.catch_warnings():
                # Python 3.12+ warns of forking with threads, on the terminal the TUI draws
                # on; the child here only runs its own code (see perftop/forked.py).
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # the child
                code = 70  # EX_SOFTWARE: child_main returned
                try:
                    if death is not None:
                        death()
                    child_main()
                except SystemExit as stop:  # a signal turned into an exit, or sys.exit
                    code = stop.code if isinstance(stop.code, int) else 1
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            child = wrap(pid)
            _children[child] = ChildKind.TARGET
            return child

    return _spawner.run(job)


ENDING_SIGNALS = frozenset({signal.SIGTERM, signal.SIGHUP, signal.SIGINT})


def _send(popen: Child, sig: int) -> None:
    # Popen.send_signal does nothing once the child is reaped, so a recycled PID is never hit.
    with contextlib.suppress(ProcessLookupError):
        popen.send_signal(sig)


def _wait_all(popens: list[Child], deadline: float) -> list[Child]:
    alive = [p for p in popens if p.poll() is None]
    while alive and time.monotonic() < deadline:
        time.sleep(0.01)
        alive = [p for p in alive if p.poll() is None]
    return alive


def terminate(popen: Child, timeout: float = 1.0) -> int | None:
    """End one child politely (by its kind), then by force after `timeout`. Returns its status."""
    with _lock:
        kind = _children.get(popen) or _kind_of(popen)
    _end([(popen, kind)], timeout)
    return popen.returncode


def terminate_all(timeout: float = 1.0, *, final: bool = False) -> None:
    """End every tracked child: SIGINT for py-spy, SIGTERM for others, SIGKILL after `timeout`.

    All are signalled first and waited for together, so the whole takes at most `timeout`
    (plus reaping). `final=True`, perftop is ending: later `spawn`s are refused, and the
    cleanups run once the children are gone.
    """
    global _closing
    with _lock:
        if final:
            _closing = True
        pairs = list(_children.items())
    _end(pairs, timeout)
    if final:
        with _lock:
            cleanups, _cleanups[:] = list(_cleanups), []
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:  # one failed cleanup must not keep the others from running
                print(f"perftop: cleanup failed: {exc}", file=sys.stderr)


def add_cleanup(callback: Callable[[], None]) -> None:
    """Run `callback` when perftop ends, after its children: at exit, and on SIGTERM or SIGHUP.

    For what children leave behind (a profiler's temporary files). A fatal signal skips
    `atexit`, so registering with `atexit` alone would not do.
    """
    with _lock:
        _cleanups.append(callback)


def remove_cleanup(callback: Callable[[], None]) -> None:
    """Forget a cleanup that its owner has already done."""
    with _lock, contextlib.suppress(ValueError):
        _cleanups.remove(callback)


def _end(pairs: list[tuple[Child, ChildKind]], timeout: float) -> None:
    for popen, kind in pairs:
        if popen.poll() is None:
            _send(popen, _POLITE_SIGNAL[kind])
    popens = [p for p, _ in pairs]
    for popen in _wait_all(popens, time.monotonic() + timeout):
        _send(popen, signal.SIGKILL)
    for popen in popens:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=1.0)  # SIGKILL is not instant for a process in uninterruptible I/O
        if popen.returncode is not None:
            untrack(popen)


def _at_exit() -> None:
    terminate_all(final=True)


atexit.register(_at_exit)

_installed: dict[int, Any] = {}  # signal number -> the handler that was there before ours
_before_exit: Callable[[int], bool] | None = None
# How long a `before_exit` that finishes the exit itself may take before SIGALRM (its default
# action ends the process) does it instead: a wedged event loop must not keep perftop alive.
EXIT_GRACE_S = 3


def install_signal_handlers(before_exit: Callable[[int], bool] | None = None) -> None:
    """On SIGTERM and SIGHUP: end all children, run `before_exit(signum)`, then exit by it.

    The exit is the signal's own default action, re-raised, so the parent sees perftop killed
    by that signal (a shell reports 128+signum) exactly as it would have without the handler.
    `before_exit` is for the TUI to give the terminal back first. It runs inside the signal
    handler, on the main thread, wherever that thread was interrupted: it must not take a lock
    the interrupted code may hold. It may instead schedule the work elsewhere and return True,
    and then call `exit_by_signal(signum)` itself once done (within EXIT_GRACE_S). Safe to call
    more than once: a later call only replaces `before_exit`. Call it from the main thread
    (Python's rule).
    """
    global _before_exit
    _before_exit = before_exit
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if sig in _installed:
            continue
        # `nohup perftop` ignores SIGHUP on purpose; an ignored signal stays ignored.
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        _installed[sig] = signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    terminate_all(final=True)
    if _before_exit is not None:
        deferred = False
        with contextlib.suppress(Exception):  # exiting regardless: a failing hook must not stop it
            deferred = _before_exit(signum)
        if deferred:
            signal.alarm(EXIT_GRACE_S)
            return
    exit_by_signal(signum, frame)


def exit_by_signal(signum: int, frame: FrameType | None = None) -> None:
    """End perftop as `signum` would have without our handler (or as the handler that was
    there before ours decides)."""
    signal.alarm(0)  # a deferred exit's safety net (see _on_signal) is no longer needed
    previous = _installed.get(signum)
    if callable(previous):
        # Someone had a handler before us; it keeps its say over what this signal does.
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    # Still here only if the signal is blocked in this thread; exit with the shell's number.
    os._exit(128 + signum)
