"""Linux perf as a live backend: any process (native code, JIT runtimes, the kernel), or every
CPU at once.

One pipeline per attach: `perf record -o -` streams samples into `perf script -i -`, which
prints each one as it comes (see `perf_cli.record_args` and `script_args` for how), and one
daemon thread reads that text, parses it with the stackcollapse-perf.pl reader
(`perftop.model.perf_text`) and cuts a Batch every `batch_s`. Streaming, not a chain of
recordings as for py-spy: perf record writes as it goes, so nothing is lost between batches, and
one perf script keeps its symbol tables for the whole session instead of loading them again for
each batch (bench/bench_perf.py measures both).

perf never stops the target: a sample is a timer interrupt on the CPU it runs on. A target
stopped by SIGSTOP simply yields no samples; the batches say so (`target_stopped`) and the time
is left out of `coverage`, as with py-spy. `perf record -p` ends by itself when the target
exits; its last samples are read to the end first. Every perf is started through
`perftop.children`, so none outlives perftop; pause and stop end the pipeline with SIGINT, after
which perf record flushes what it took.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop import children
from perftop.model.perf_text import SampleReader, _Flags, _Sample, perf_frame
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    Batch,
    BatchQueue,
    NoSuchProcess,
    PermissionDenied,
    ProfilerBackend,
    ProfilerError,
    ProfilerFailed,
    ProfilerMissing,
    ProfilerOptions,
    ThreadStack,
)
from perftop.profiling.coverage import CoverageClock
from perftop.profiling.perf_cli import (
    INSTALL_HINT,
    PerfFacts,
    find_perf,
    record_args,
    refusal,
    script_args,
    translate_error,
    warnings_for,
)
from perftop.profiling.pyspy_cli import process_state

__all__ = ["MACHINE_PID", "PerfBackend"]

# The "PID" of a whole-machine session: no process has it.
MACHINE_PID = 0
_ATTACH_TIMEOUT_S = 10.0  # perf opens its events in milliseconds; this bounds one that hangs
_POLL_S = 0.05
_STOP_TIMEOUT_S = 5.0  # perf record flushes and perf script prints the rest: well under 1 s
_MAX_LOSSES = 3  # pipelines lost in a row (killed, crashed) before the session gives up
_DUMP_RECENT_S = 2.0  # a thread dump shows stacks sampled this recently
# Live names for perf's frames: `module+0xPC` for an address perf could not name.
_LIVE_FLAGS = _Flags(offsets=True)


@dataclass(eq=False)
class _Pipeline:
    """One perf record | perf script pair, and what perf script has printed so far."""

    record: subprocess.Popen[bytes]
    script: subprocess.Popen[bytes]
    record_err: Path
    script_err: Path
    attached_at: float = 0.0
    partial: bytes = b""
    _poller: select.poll | None = field(default=None, repr=False)

    def read(self, timeout: float) -> bytes | None:
        """What perf script printed, waiting up to `timeout`: b"" if nothing yet, None at
        the end of its output."""
        assert self.script.stdout is not None
        fd = self.script.stdout.fileno()
        if self._poller is None:
            self._poller = select.poll()  # not select(): descriptors from 1024 on are refused
            self._poller.register(fd, select.POLLIN)
        if not self._poller.poll(max(timeout, 0.0) * 1000):
            return b""
        data = os.read(fd, 1 << 16)
        return data or None

    def errors(self) -> str:
        texts = []
        for path in (self.record_err, self.script_err):
            with contextlib.suppress(OSError):
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)

    def has_attached(self) -> bool:
        """perf record holds perf event descriptors: its events are open on the target."""
        try:
            fds = os.listdir(f"/proc/{self.record.pid}/fd")
        except OSError:
            return False
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{self.record.pid}/fd/{fd}") == "anon_inode:[perf_event]":
                    return True
        return False

    def close(self) -> None:
        for popen in (self.record, self.script):
            if popen.stdout is not None:
                popen.stdout.close()
            children.untrack(popen)


class PerfBackend(ProfilerBackend):
    """Live sampling of one process, or (machine=True, PID MACHINE_PID) of every CPU, with perf."""

    def __init__(self, executable: str | None = None, *, machine: bool = False) -> None:
        self._explicit = executable
        self.machine = machine
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._paused_ack = threading.Event()
        self._batches = BatchQueue()
        self._thread: threading.Thread | None = None
        self._reset()

    def _reset(self) -> None:
        self._exe = ""
        self._pid = 0
        self._created = 0.0
        self._command = ""
        self._options = ProfilerOptions()
        self._facts = PerfFacts(None, None, True, True)
        self._tmp: Path | None = None
        self._seq = 0
        self._want_pause = False
        self._want_stop = False
        self._stopped = False
        self._pipe: _Pipeline | None = None
        self._clock = CoverageClock()
        self._losses = 0
        self._said_warnings = False
        # The batch being filled: its profile, the frame ids interned in it, its samples.
        self._profile = Profile()
        self._ids: dict[tuple[str, str], int] = {}
        self._samples = 0
        self._window_start = 0.0
        self._reader = SampleReader(_LIVE_FLAGS, "perf")
        self._recent: dict[str, tuple[float, int, str, list[tuple[str, str]]]] = {}

    # --- the public interface -------------------------------------------------------------

    def start(self, pid: int, options: ProfilerOptions) -> None:
        if self._thread is not None and self._thread.is_alive() and not self._stopped:
            raise ProfilerError("this profiler is already sampling; stop it first")
        options.validate()
        self.stop()
        self._thread = None
        self._reset()
        self._batches = BatchQueue()
        self._exe = find_perf(self._explicit)
        self._pid, self._options = pid, options
        self._facts = PerfFacts.read()
        why = refusal(self._facts, self.machine)
        if why is not None:
            raise PermissionDenied(why)
        if self.machine:
            self._command = "all CPUs"
        else:
            try:
                proc = psutil.Process(pid)
                self._created = proc.create_time()
                self._command = " ".join(proc.cmdline()) or proc.name()
            except psutil.NoSuchProcess:
                raise NoSuchProcess(f"PID {pid} does not exist") from None
            except psutil.Error:
                pass  # not ours to read; perf will say whether it may sample it
        self._tmp = Path(tempfile.mkdtemp(prefix="perftop-perf-"))
        children.add_cleanup(self._remove_tmp)
        try:
            pipe = self._start_pipeline()
        except BaseException:
            self._stopped = True
            self._remove_tmp()
            raise
        self._thread = threading.Thread(
            target=self._drive, args=(pipe,), name=f"perftop-perf-{pid}", daemon=True
        )
        self._thread.start()

    def probe(self, pid: int, options: ProfilerOptions) -> None:
        """Check that perf can sample `pid` (raise its refusal as `start` would), then end it at
        once: the check made before a screen opens. perf holds nothing of the target's (no
        ptrace), so it is killed rather than left to wind down."""
        self.start(pid, options)
        with self._lock:
            self._want_stop = True  # first: the driver must not take the kill for a crash
            pipe = self._pipe
        if pipe is not None:
            for popen in (pipe.record, pipe.script):
                with contextlib.suppress(ProcessLookupError):
                    popen.kill()
        self.stop()

    def next_batch(self, timeout: float) -> Batch | None:
        return self._batches.get(timeout)

    def pause(self) -> None:
        with self._lock:
            if self._thread is None or self._stopped or self._want_pause:
                return
            self._paused_ack.clear()
            self._want_pause = True
        self._wake.set()
        self._paused_ack.wait(timeout=_STOP_TIMEOUT_S + 1.0)

    def resume(self) -> None:
        with self._lock:
            self._want_pause = False
        self._wake.set()

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        """The last stack sampled of each thread seen in the last seconds: perf sees a thread
        only when it runs on a CPU, so one that waits has no stack here."""
        if not self._pid and not self.machine:
            raise ProfilerError("no process to dump: start the profiler first")
        now = time.monotonic()
        with self._lock:
            recent = list(self._recent.items())
        threads = [
            ThreadStack(
                thread_id=tid,
                name=name,
                active=True,
                owns_gil=False,
                frames=[perf_frame(*key) for key in reversed(frames)],  # innermost first
            )
            for _key, (seen, tid, name, frames) in recent
            if now - seen <= _DUMP_RECENT_S
        ]
        if not threads:
            raise ProfilerError(
                "no thread ran in the last 2 s: perf sees a thread's stack only while it is "
                "on a CPU (py-spy dumps waiting Python threads too)"
            )
        return sorted(threads, key=lambda t: t.thread_id)

    def stop(self) -> None:
        with self._lock:
            if self._stopped or self._thread is None:
                self._stopped = True
                return
            self._stopped = self._want_stop = True
        self._wake.set()
        self._thread.join(timeout=_STOP_TIMEOUT_S + _ATTACH_TIMEOUT_S)
        pipe = self._pipe
        if pipe is not None:  # only if the driver is stuck: never leave a perf behind
            self._kill(pipe)
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        children.remove_cleanup(self._remove_tmp)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def coverage(self) -> float:
        with self._lock:
            return self._clock.fraction(time.monotonic())

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopped and not self._batches.drained

    @property
    def paused(self) -> bool:
        return self._paused_ack.is_set() and self._want_pause

    # --- the pipeline -----------------------------------------------------------------------

    def _start_pipeline(self) -> _Pipeline:
        """Start perf record | perf script and wait until perf's events are open; raise what
        perf said if it could not open them."""
        pipe = self._spawn()
        deadline = time.monotonic() + _ATTACH_TIMEOUT_S
        while not pipe.has_attached():
            if pipe.record.poll() is not None:
                self._end_pipeline(pipe, signal_first=False)
                raise translate_error(
                    pipe.errors(),
                    pipe.record.returncode,
                    self._pid,
                    self._facts,
                    machine=self.machine,
                )
            if time.monotonic() >= deadline:
                self._kill(pipe)
                raise ProfilerFailed(f"perf did not start sampling within {_ATTACH_TIMEOUT_S:g} s")
            time.sleep(0.01)
        pipe.attached_at = time.monotonic()
        with self._lock:
            self._clock.attach(pipe.attached_at)
        self._window_start = pipe.attached_at
        self._pipe = pipe
        return pipe

    def _spawn(self) -> _Pipeline:
        assert self._tmp is not None
        self._seq += 1
        record_err = self._tmp / f"record-{self._seq}.err"
        script_err = self._tmp / f"script-{self._seq}.err"
        target = None if self.machine else self._pid
        read_end, write_end = os.pipe()
        try:
            with open(record_err, "wb") as rec_err:
                record = _spawn(
                    record_args(self._exe, target, self._options), stdout=write_end, stderr=rec_err
                )
            try:
                with open(script_err, "wb") as scr_err:
                    script = _spawn(
                        script_args(self._exe),
                        stdin=read_end,
                        stdout=subprocess.PIPE,
                        stderr=scr_err,
                    )
            except BaseException:
                children.terminate(record, timeout=0.5)
                children.untrack(record)
                raise
        finally:
            os.close(read_end)  # the children hold their own copies
            os.close(write_end)
        return _Pipeline(record, script, record_err, script_err)

    def _end_pipeline(self, pipe: _Pipeline, signal_first: bool = True) -> bool:
        """Stop perf record (SIGINT: it flushes what it took) and read perf script to its end.
        True if everything was read; False if it had to be killed."""
        if signal_first and pipe.record.poll() is None:
            pipe.record.send_signal(signal.SIGINT)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        complete = True
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                complete = False
                break
            data = pipe.read(min(left, _POLL_S))
            if data is None:
                break
            self._parse(data, pipe)
        if not complete:
            self._kill(pipe)
        else:
            for popen in (pipe.record, pipe.script):
                try:
                    popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    children.terminate(popen, timeout=0.5)
                    complete = False
        self._flush_partial(pipe)
        pipe.close()
        if self._pipe is pipe:
            self._pipe = None
        return complete

    def _kill(self, pipe: _Pipeline) -> None:
        for popen in (pipe.record, pipe.script):
            children.terminate(popen, timeout=0.5)
        pipe.close()

    # --- parsing ------------------------------------------------------------------------------

    def _parse(self, data: bytes, pipe: _Pipeline) -> None:
        text = pipe.partial + data
        lines = text.split(b"\n")
        pipe.partial = lines.pop()  # an unfinished line waits for the rest
        reader = self._reader
        for raw in lines:
            sample = reader.line(raw.decode("utf-8", "replace"))
            if sample is not None:
                self._add(sample)

    def _flush_partial(self, pipe: _Pipeline) -> None:
        if pipe.partial:
            self._parse(b"\n", pipe)
        sample = self._reader.end()
        if sample is not None:
            self._add(sample)

    def _add(self, sample: _Sample) -> None:
        profile = self._profile
        ids = self._ids
        frames: list[tuple[str, str]] = sample.frames
        if self.machine:
            # Every process its own root, as `process PID:"comm"` (py-spy's --subprocesses
            # frame, which perftop's readers and speedscope know).
            frames = [(f'process {sample.pid}:"{sample.comm}"', ""), *frames]
            thread = ""
        else:
            thread = f"{sample.comm} ({sample.tid})"
        stack: list[int] = []
        for key in frames:
            fid = ids.get(key)
            if fid is None:
                fid = ids[key] = profile.intern(perf_frame(*key))
            stack.append(fid)
        profile.add_stack_ids(stack, 1, thread)
        self._samples += 1
        try:
            tid = int(sample.tid)
        except ValueError:
            tid = 0
        with self._lock:
            # The (name, module) pairs: Frames are made only if a dump asks.
            self._recent[thread or sample.pid] = (time.monotonic(), tid, sample.comm, frames)

    def _cut(
        self,
        now: float,
        *,
        exited: bool = False,
        stopped: bool = False,
        warnings: list[str] | None = None,
    ) -> Batch:
        """The batch filled since the last cut, ending at `now`."""
        profile, self._profile = self._profile, Profile()
        self._ids = {}
        samples, self._samples = self._samples, 0
        profile.metadata.update(self._metadata())
        said = list(warnings or [])
        if not self._said_warnings:
            self._said_warnings = True
            said = warnings_for(self._facts) + said
        if exited:
            profile.mark_ended("target exited")
        wall = max(0.0, now - self._window_start)
        self._window_start = now
        return Batch(
            profile=profile,
            wall_s=wall,
            samples=samples,
            errors=0,
            target_exited=exited,
            target_stopped=stopped,
            warnings=said,
        )

    def _metadata(self) -> dict[str, str]:
        how = "dwarf" if self._options.dwarf else "frame pointers"
        return {
            "source": "perf",
            "pid": str(self._pid),
            "command": self._command,
            "rate_hz": str(self._options.rate_hz),
            "unwinding": how,
        }

    def _target_alive(self) -> bool:
        if self.machine:
            return True
        try:
            proc = psutil.Process(self._pid)
            if self._created and proc.create_time() != self._created:
                return False
            return bool(proc.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True

    def _target_stopped(self) -> bool:
        return not self.machine and process_state(self._pid) == "T"

    # --- the driver thread ------------------------------------------------------------------

    def _drive(self, first: _Pipeline) -> None:
        pipe: _Pipeline | None = first
        error: ProfilerError | None = None  # what ended sampling, told after the batches
        try:
            while pipe is not None:
                pipe = self._run(pipe)
        except ProfilerError as exc:
            error = exc
        except OSError as exc:
            error = ProfilerFailed(f"perf session failed: {exc}")
        except Exception as exc:  # a fault of ours must reach the reader, not end in silence
            what = " ".join(str(exc).split())
            error = ProfilerFailed(f"perf session failed: {type(exc).__name__}: {what}")
        finally:
            if self._pipe is not None:
                self._kill(self._pipe)
                self._pipe = None
            with self._lock:
                self._clock.stop(time.monotonic())
            self._paused_ack.set()
            self._batches.close(error)

    def _run(self, pipe: _Pipeline) -> _Pipeline | None:
        """Read one pipeline until it ends, a pause or a stop; the next pipeline, or None."""
        stopped = False  # the target is stopped (SIGSTOP): said once, left out of coverage
        next_check = 0.0
        while True:
            now = time.monotonic()
            if self._want_stop or self._want_pause:
                return self._finish(pipe, pause=not self._want_stop)
            if now >= next_check:
                next_check = now + _POLL_S * 2
                is_stopped = self._target_stopped()
                if is_stopped != stopped:
                    stopped = is_stopped
                    self._stopped_changed(stopped, now)
            due = self._window_start + self._options.batch_s
            if now >= due:
                self._losses = 0 if self._samples or stopped else self._losses
                self._batches.put(
                    self._cut(
                        now,
                        stopped=stopped,
                        warnings=[self._stopped_advice()] if stopped else None,
                    )
                )
                self._deliver_clock(now, stopped)
                continue
            data = pipe.read(min(due - now, _POLL_S))
            if data is None:  # perf ended by itself: the target exited, or perf died
                return self._ended(pipe)
            if data:
                self._parse(data, pipe)
            elif self._wake.is_set():
                self._wake.clear()

    def _stopped_advice(self) -> str:
        return (
            f"PID {self._pid} is stopped (SIGSTOP or Ctrl-Z): nothing runs, so nothing is "
            f"sampled until it continues (kill -CONT {self._pid})"
        )

    def _stopped_changed(self, stopped: bool, now: float) -> None:
        with self._lock:
            if stopped:
                for at in list(self._clock.attached):
                    self._clock.detach(at, now, delivered=True)
                self._clock.stop(now)
            else:
                self._clock.attach(now)

    def _deliver_clock(self, now: float, stopped: bool) -> None:
        """A batch was delivered: the time up to `now` is covered."""
        if stopped:
            return
        with self._lock:
            for at in list(self._clock.attached):
                self._clock.detach(at, now, delivered=True)
            self._clock.attach(now)

    def _finish(self, pipe: _Pipeline, pause: bool) -> _Pipeline | None:
        # The window ends when the stop was asked: perf takes up to a second to wind down,
        # sampling next to nothing meanwhile, and that is not time sampled.
        now = time.monotonic()
        complete = self._end_pipeline(pipe)
        exited = not self._target_alive()
        warnings = [] if complete else ["perf did not stop in time; its last samples are lost"]
        self._batches.put(self._cut(now, exited=exited, warnings=warnings))
        with self._lock:
            for at in list(self._clock.attached):
                self._clock.detach(at, now, delivered=complete)
            self._clock.stop(now)
        if exited or not pause:
            return None
        self._paused_ack.set()
        while self._want_pause and not self._want_stop:
            self._wake.wait(0.5)
            self._wake.clear()
        if self._want_stop:
            return None
        if not self._target_alive():
            self._batches.put(self._cut(time.monotonic(), exited=True))
            return None
        return self._restart()

    def _restart(self) -> _Pipeline | None:
        """Start perf again; a target that exits meanwhile (perf then fails on it: "incompatible
        file format", its output empty) ends the session as exited, not as a failure."""
        try:
            return self._start_pipeline()
        except ProfilerFailed:
            if self._target_alive():
                raise
            self._batches.put(self._cut(time.monotonic(), exited=True))
            return None

    def _ended(self, pipe: _Pipeline) -> _Pipeline | None:
        if self._want_stop or self._want_pause:
            # Ended because we asked (a probe kills it): not a crash to restart from.
            return self._finish(pipe, pause=not self._want_stop)
        said = pipe.errors()
        code = pipe.record.poll()
        self._end_pipeline(pipe, signal_first=False)
        now = time.monotonic()
        if not self._target_alive():
            self._batches.put(self._cut(now, exited=True))
            with self._lock:
                for at in list(self._clock.attached):
                    self._clock.detach(at, now, delivered=True)
            return None
        # perf died while its target lives: killed, or it failed. Deliver what it took, and
        # start another (a few times in a row at most).
        with self._lock:
            for at in list(self._clock.attached):
                self._clock.detach(at, now, delivered=True)
        error = translate_error(said, code, self._pid, self._facts, machine=self.machine)
        if code is not None and code < 0:
            why = f"perf was killed (signal {-code})"
        else:
            why = error.message
        self._losses += 1
        if isinstance(error, (PermissionDenied, ProfilerMissing)):
            self._batches.put(self._cut(now))
            raise error  # another perf would meet the same refusal: said as it is, at once
        if self._losses >= _MAX_LOSSES:
            self._batches.put(self._cut(now))
            raise ProfilerFailed(f"{why}; gave up after {self._losses} tries")
        self._batches.put(self._cut(now, warnings=[f"{why}; restarted"]))
        return self._restart()


def _spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    try:
        return children.spawn(args, kind=children.ChildKind.PROFILER, **kwargs)
    except children.ChildrenClosed as exc:
        raise ProfilerFailed(str(exc)) from None
    except FileNotFoundError:
        raise ProfilerMissing(f"{args[0]} not found: {INSTALL_HINT}") from None
    except PermissionError:
        raise ProfilerMissing(f"{args[0]} is not executable") from None
