"""py-spy as a command: finding it, starting it, reading its errors, its thread dumps.

The parts of driving py-spy that are one call each, and one `py-spy record` run as an object;
the live sampling loop that chains recordings is in `pyspy.py`.
Every error py-spy reports becomes a typed ProfilerError with one line of advice. The texts
matched are py-spy 0.4's own (main.rs and python_spy.rs), seen on a real binary:

- `Permission Denied: Try running again with elevated permissions by going 'sudo env ...'`
  (not root), `Permission Denied` + a docker hint (root in a container whose cgroup says
  docker), or a generic error ending in `(os error 1)` / `(os error 13)`;
- `Error: Failed to find python version from target process` (not Python);
- `Error: Failed to get process executable name. Check that the process is running.` (no PID);
- `Can't get native stack traces with the --nonblocking option.`
- `Error: Failed to get stack traces` caused by `Failed to suspend process` and `EPERM`: the
  memory reads worked but the pause did not, because another tracer held the target (at
  100 Hz a recording's py-spy does, for about every other dump). A collision, not a
  permission problem: `TargetTraced`, which `dump_threads` tries again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop import children
from perftop.model.folded import loads_folded
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    NoSuchProcess,
    NotPython,
    PermissionDenied,
    ProfilerError,
    ProfilerFailed,
    ProfilerMissing,
    ProfilerOptions,
    ThreadStack,
)
from perftop.profiling.ptrace import PtraceFacts, permission_advice, tracer_is_ours, tracer_of

__all__ = [
    "Recording",
    "TargetTraced",
    "dump_threads",
    "find_pyspy",
    "parse_dump",
    "process_name",
    "read_raw",
    "spawn_pyspy",
    "traced_advice",
    "translate_error",
]

_ATTACHED = b"Sampling process"  # `record` prints this once its sampler has attached
_TARGET_EXITED = "Stopped sampling because process exited"
_COUNTS = re.compile(r"Samples: (\d+) Errors: (\d+)")


def find_pyspy(explicit: str | None = None) -> str:
    """The py-spy executable: `explicit`, else next to this Python (its venv), else on PATH."""
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise ProfilerMissing(f"py-spy not found at {explicit}")
    # Not resolved: a venv's bin/python is a symlink, and py-spy sits next to the link.
    beside = Path(sys.executable).with_name("py-spy.exe" if os.name == "nt" else "py-spy")
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("py-spy")
    if found:
        return found
    raise ProfilerMissing(
        f"py-spy is not installed: install it with `{sys.executable} -m pip install py-spy`"
    )


def pyspy_env() -> dict[str, str]:
    # No Rust backtraces: py-spy's first stderr line is then the whole error.
    return {**os.environ, "RUST_BACKTRACE": "0"}


def process_name(pid: int) -> str | None:
    try:
        return str(psutil.Process(pid).name())
    except psutil.Error:
        return None


def translate_error(
    stderr: str,
    returncode: int | None,
    pid: int,
    *,
    name: str | None = None,
    facts: PtraceFacts | None = None,
) -> ProfilerError:
    """Turn what a failed py-spy printed on stderr into a typed error with one line of advice."""
    text = stderr.strip()
    low = text.lower()
    state = process_state(pid)
    if state == "T":
        # py-spy cannot suspend a process the kernel already stopped ("Failed to suspend").
        return ProfilerFailed(
            f"PID {pid} is stopped (SIGSTOP or Ctrl-Z); the profile so far is kept: "
            f"continue it (kill -CONT {pid}) and attach again"
        )
    tracer = tracer_of(pid)
    # py-spy reads memory first and pauses the threads (ptrace) last: EPERM at the pause,
    # once the reads worked, is another tracer holding the target (a process has one), and
    # `t` is a stop under a tracer. Neither is a permission problem, nor a SIGSTOP.
    if "failed to suspend" in low or state == "t":
        return TargetTraced(traced_advice(pid, tracer))
    if (
        "permission denied" in low
        or "operation not permitted" in low
        or "(os error 1)" in low
        or "(os error 13)" in low
    ):
        return PermissionDenied(permission_advice(pid, facts or PtraceFacts.read(pid)))
    if "failed to find python version" in low or "no python processes found" in low:
        label = f"PID {pid} ({name})" if name else f"PID {pid}"
        return NotPython(f"{label} is not a Python process")
    if "failed to get process executable name" in low or "(os error 3)" in low:
        return NoSuchProcess(f"PID {pid} does not exist (it may have exited)")
    if "--nonblocking" in low and "native" in low:
        return ProfilerError("native stacks cannot be sampled with nonblocking on")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0].removeprefix("Error:").strip() if lines else ""
    if not first:
        first = f"py-spy ended with status {returncode}" if returncode else "py-spy failed"
    return ProfilerFailed(f"py-spy: {first}")


class TargetTraced(ProfilerFailed):
    """Another tracer held the target when py-spy tried to pause it: worth another try."""


def traced_advice(pid: int, tracer: int) -> str:
    """One line naming who holds `pid` under ptrace, as far as /proc still says."""
    if tracer_is_ours(tracer):
        return (
            f"PID {pid} was held by perftop's own recording (py-spy PID {tracer}) at that "
            "instant: a process can have only one tracer; try again"
        )
    if tracer:
        name = process_name(tracer)
        label = f"PID {tracer} ({name})" if name else f"PID {tracer}"
        return (
            f"PID {pid} is traced by {label}: a process can have only one tracer, so py-spy "
            "cannot pause it; detach that tracer, or sample nonblocking (never pauses it)"
        )
    return (
        f"another tracer held PID {pid} at that instant (a process can have only one: "
        "another py-spy, gdb or strace); try again, or sample nonblocking (never pauses it)"
    )


def read_raw(text: str, source: str, pid: int) -> Profile:
    """A `py-spy record --format raw` output of target `pid` as a Profile.

    With `--subprocesses` py-spy puts process frames above every stack, the target's own
    too, and `perftop.formats.folded` keys a thread by its innermost process: `MainThread
    (pid 12)`. Without, the same thread is `MainThread`. The profiler settings can turn
    subprocesses on or off mid-session, so the target's own threads are keyed by their bare
    names either way, and only its children's carry a pid: one thread, one key.
    """
    profile = loads_folded(text, source)
    own = f" (pid {pid})"
    bare = f"pid {pid}"  # a process's key without --threads (not what perftop asks for)
    keys = profile.threads()
    if not any(key.endswith(own) or key == bare for key in keys):
        return profile
    renamed = Profile(profile.metadata)
    for frame in profile.frames:  # the same ids, in the same order
        renamed.intern(frame)
    for ids, count, thread in profile.stacks():
        key = "" if thread == bare else thread.removesuffix(own)
        renamed.add_stack_ids(ids, count, key)
    return renamed


def process_state(pid: int) -> str | None:
    """The one-letter state of `pid` from /proc/PID/stat (R, S, T, ...); None where unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name can hold spaces and parentheses: the state follows the last ')'.
    after = stat.rfind(b")") + 2
    return stat[after : after + 1].decode("ascii", "replace") or None


def _malformed(what: str) -> ProfilerFailed:
    return ProfilerFailed(f"py-spy dump printed JSON perftop cannot read: {what}")


def _object(raw: object, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _malformed(f"{what} is {type(raw).__name__}, not an object")
    return raw


def _list(raw: dict[str, Any], key: str, what: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(f"{what} {key!r} is {type(value).__name__}, not a list")
    return value


def _whole(raw: dict[str, Any], *keys: str) -> int:
    """The first of `keys` that is set (not null, not 0), as an int; 0 if none is."""
    for key in keys:
        value = raw.get(key)
        if not value:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise _malformed(f"{key!r} is {type(value).__name__}, not a whole number")
        return value
    return 0


def _frame(raw: object) -> Frame:
    frame = _object(raw, "a frame")
    return Frame(
        str(frame.get("name", "?")), str(frame.get("filename") or ""), _whole(frame, "line")
    )


def _locals(raw: object) -> dict[str, str]:
    result: dict[str, str] = {}
    for var in _list(_object(raw, "a frame"), "locals", "a frame's"):
        var = _object(var, "a local variable")
        # py-spy leaves `repr` null for values it cannot format.
        result[str(var.get("name", "?"))] = str(var["repr"]) if var.get("repr") is not None else "?"
    return result


def _thread(raw: object, with_locals: bool) -> ThreadStack:
    thread = _object(raw, "a thread")
    frames = _list(thread, "frames", "a thread's")
    name = thread.get("thread_name")
    return ThreadStack(
        # The OS thread id, as in `ps -L` and the `thread (N)` roots of a profile.
        thread_id=_whole(thread, "os_thread_id", "thread_id"),
        name=None if name is None else str(name),
        active=bool(thread.get("active")),
        owns_gil=bool(thread.get("owns_gil")),
        frames=[_frame(f) for f in frames],
        locals=[_locals(f) for f in frames] if with_locals else [],
    )


def parse_dump(text: str, with_locals: bool = False) -> list[ThreadStack]:
    """Parse `py-spy dump --json` output: one entry per thread, frames innermost first.

    Raises ProfilerFailed, with one line saying what is wrong, for anything that is not the
    list of thread objects py-spy prints; never another exception.
    """
    try:
        threads = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and numbers too long to convert
        raise ProfilerFailed(f"py-spy dump printed something that is not JSON: {exc}") from None
    except RecursionError:
        raise _malformed("nested too deeply") from None
    if not isinstance(threads, list):
        raise _malformed(f"the top level is {type(threads).__name__}, not a list of threads")
    return [_thread(t, with_locals) for t in threads]


def dump_threads(
    pid: int,
    with_locals: bool = False,
    *,
    options: ProfilerOptions | None = None,
    executable: str | None = None,
    timeout: float = 10.0,
    attempts: int = 5,
) -> list[ThreadStack]:
    """The stack of every thread of `pid` now, via `py-spy dump --json` (about 10 ms).

    A dump that meets another tracer holding the target (a recording's py-spy pauses it at
    every sample: at 100 Hz, about every other dump collides) is tried again, up to
    `attempts` times in all, within `timeout`.
    """
    args = [find_pyspy(executable), "dump", "--pid", str(pid), "--json"]
    if with_locals:
        args.append("--locals")
    if options is not None:
        args += [
            f
            for f, on in (
                ("--native", options.native),
                ("--nonblocking", options.nonblocking),
                ("--subprocesses", options.subprocesses),
            )
            if on
        ]
    deadline = time.monotonic() + timeout
    attempt = 1
    while True:
        try:
            out = _dump_once(args, pid, timeout, max(deadline - time.monotonic(), 0.1))
            return parse_dump(out, with_locals)
        except TargetTraced:
            pause = min(0.01 * 2**attempt, 0.2)  # a sample holds the target ~1 ms
            if attempt >= attempts or time.monotonic() + pause >= deadline:
                raise
        time.sleep(pause)
        attempt += 1


def _dump_once(args: list[str], pid: int, timeout: float, left: float) -> str:
    popen = spawn_pyspy(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = popen.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        children.terminate(popen)
        raise ProfilerFailed(f"py-spy dump did not answer within {timeout:g} s") from None
    finally:
        children.untrack(popen)
    if popen.returncode != 0:
        raise translate_error(
            err.decode(errors="replace"), popen.returncode, pid, name=process_name(pid)
        )
    return out.decode(errors="replace")


def spawn_pyspy(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    try:
        return children.spawn(
            args,
            kind=children.ChildKind.PROFILER,
            stdin=subprocess.DEVNULL,
            env=pyspy_env(),
            **kwargs,
        )
    except children.ChildrenClosed as exc:
        raise ProfilerFailed(str(exc)) from None
    except FileNotFoundError:
        raise ProfilerMissing(f"py-spy not found at {args[0]}") from None
    except PermissionError:
        raise ProfilerMissing(f"py-spy at {args[0]} is not executable") from None


@dataclass(eq=False)
class Recording:
    """One `py-spy record` run, its files, and what it has printed so far."""

    popen: subprocess.Popen[bytes]
    output: Path
    errors: Path
    spawned_at: float = 0.0
    attached_at: float = 0.0
    length: float = 0.0  # seconds it records once attached (`PySpyBackend._stretched`)
    stopped_at: float = 0.0
    stdout: bytearray = field(default_factory=bytearray)
    errors_text: str = ""
    _poller: select.poll | None = field(default=None, repr=False)

    @property
    def attached(self) -> bool:
        return _ATTACHED in self.stdout

    def read_stdout(self, timeout: float) -> bool:
        """Read what py-spy printed, waiting up to `timeout`. False at end of output."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        if self._poller is None:
            # poll(), not select(): select refuses descriptors from 1024 on, and a busy box's
            # process table alone can hold that many open. Nor epoll: it costs a descriptor.
            self._poller = select.poll()
            self._poller.register(fd, select.POLLIN)
        if not self._poller.poll(max(timeout, 0.0) * 1000):
            return True
        data = os.read(fd, 65536)
        self.stdout += data
        return bool(data)

    def summary(self) -> tuple[int | None, int, bool]:
        """From py-spy's last words: samples (None if it did not say), errors, target exited."""
        text = self.stdout.decode(errors="replace")
        counts = _COUNTS.search(text)
        samples = int(counts[1]) if counts else None
        return samples, int(counts[2]) if counts else 0, _TARGET_EXITED in text

    def read_errors(self) -> str:
        try:
            return self.errors.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        children.untrack(self.popen)
        for path in (self.output, self.errors):
            with contextlib.suppress(OSError):
                path.unlink()
