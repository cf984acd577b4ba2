"""py-spy in a subprocess: live sampling in batches, thread dumps, errors as advice, clean stop.

`py-spy record` writes nothing until it stops (SIGINT, duration reached, or the target exited),
and SIGTERM loses everything. So live sampling is a chain of recordings, each stopped with
SIGINT after `batch_s` and read back as one Batch. Recordings overlap so that no moment goes
unsampled: recording N+1 is started first, and only once it says it has attached
("Sampling process ... times a second") is N interrupted. Starting and attaching takes py-spy
25 ms on an idle machine and up to 0.4 s on a loaded one: as a gap between recordings it would
cost 2-40 % of every batch. Overlapping costs about one doubly counted sample per batch, plus a
few failed samples where both py-spys pause the target with ptrace at the same tick.

`coverage` is time, not samples: of the wall time since the first attach (pauses excluded), the
fraction during which a py-spy was attached and then delivered what it sampled, less 1/rate for
each sample py-spy failed to take. A py-spy that dies (killed, stuck, unreadable output) takes
its unsent batch with it: that time is uncovered, the batch carries a warning saying so, and a
new py-spy takes over. A plain sample count would not do: py-spy samples at exponentially
distributed intervals (to avoid aliasing), so a 1 s batch swings by about ±10 % on its own, and
it counts one sample per active thread, reading 0 % for an idle target and over 100 % for a
busy multi-threaded one.

A target stopped by SIGSTOP or Ctrl-Z cannot be sampled (py-spy fails to suspend it, and a
py-spy left attached would only count errors): the driver delivers what it had, lets go, says
so in a batch marked `target_stopped`, and attaches again once the target continues. Like a
pause, the stopped time is left out of `coverage`: there is nothing to sample.

One daemon thread per session drives the chain and puts Batches on a queue; every py-spy is
started through `perftop.children`, so none outlives perftop.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop import children
from perftop.model.errors import FormatError
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    Batch,
    BatchQueue,
    NoSuchProcess,
    NotPython,
    ProfilerBackend,
    ProfilerError,
    ProfilerFailed,
    ProfilerOptions,
    ThreadStack,
)
from perftop.profiling.coverage import CoverageClock
from perftop.profiling.ptrace import tracer_is_ours, tracer_of
from perftop.profiling.pyspy_cli import (
    Recording,
    TargetTraced,
    dump_threads,
    find_pyspy,
    parse_dump,
    process_name,
    process_state,
    read_raw,
    spawn_pyspy,
    translate_error,
)

# The one-call helpers are re-exported: `perftop.profiling.pyspy` is the place to import from.
__all__ = ["PySpyBackend", "dump_threads", "find_pyspy", "parse_dump", "translate_error"]

# py-spy retries for ~0.4 s itself (enough for a just-started interpreter to set up) before
# it calls a target not Python; 10 s only bounds a py-spy that hangs.
_ATTACH_TIMEOUT_S = 10.0
_FIRST_BATCH_S = 0.3  # the first recording's length, before the chain takes batch_s each
# Each py-spy of the chain first reads the symbols of every process it will sample: ~10 ms of
# CPU for one process, ~120 ms for a parent and five workers (`--subprocesses`, measured). At
# 1 s a batch, that start alone was 12 % of a core for such a pool, as much again as sampling
# it. So a batch is stretched until its py-spy's start costs at most this share of a core,
# up to _MAX_STRETCH_S: a pool's flame refreshes less often (the head line says how often).
_START_SHARE = 0.05
_MAX_STRETCH_S = 5.0
# How soon the driver notices a py-spy that ended on its own, or a stopped target. Each look
# costs ~0.1 ms of CPU (the target's stat read, the wait), 2 ms a second; at 0.1 s a stop was
# noticed late enough that py-spy's failed samples cost the coverage test its margin in CI.
_POLL_S = 0.05
_STOPPED_POLL_S = 0.1  # how soon a stopped target that continues is sampled again
# py-spys lost one after another, none delivering in between, before the session gives up.
_MAX_LOSSES = 3
# Attaches in a row that met another tracer holding the target, before that is an error.
_MAX_COLLISIONS = 5
# A recording lasts its batch (at most _MAX_STRETCH_S) and a hand-over (at most
# _ATTACH_TIMEOUT_S): a py-spy older than this has lost perftop.
_ORPHAN_AFTER_S = 60


def unforeseen(exc: Exception) -> ProfilerFailed:
    """A fault of perftop's own, as one line naming it, for the edge to show."""
    what = " ".join(str(exc).split())
    return ProfilerFailed(
        f"py-spy session failed: {type(exc).__name__}" + (f": {what}" if what else "")
    )


class _Transient(ProfilerFailed):
    """py-spy gave up before it attached for a reason that passes: killed by a signal, or
    (with --subprocesses, colliding with the recording it takes over from) "no Python
    processes found" about a target sampled as Python a moment before. Another may attach."""


class PySpyBackend(ProfilerBackend):
    """Live sampling of one process with consecutive, overlapping `py-spy record` runs."""

    def __init__(self, executable: str | None = None) -> None:
        self._explicit = executable
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
        self._tmp: Path | None = None
        self._seq = 0
        self._want_pause = False
        self._want_stop = False
        self._stopped = False
        self._live: set[Recording] = set()
        self._delivered = False  # a batch has gone out: recordings take batch_s from now on
        self._refresh: float | None = None  # batches stretched to this (`_stretched`)
        self._start_cpu: float | None = None  # a py-spy's start, smoothed (`_stretched`)
        self._clock = CoverageClock()
        self._sampled = False  # a py-spy has attached in this session: the target is Python
        self._losses = 0  # recordings lost since the last one that delivered
        self._loss = ""  # why the last one was lost

    # --- the public interface -------------------------------------------------------------

    def start(self, pid: int, options: ProfilerOptions) -> None:
        if self._thread is not None and self._thread.is_alive() and not self._stopped:
            raise ProfilerError("this profiler is already sampling; stop it first")
        options.validate()
        self.stop()  # a session that ended with its target still holds a temporary folder
        self._thread = None
        self._reset()
        self._batches = BatchQueue()
        self._exe = find_pyspy(self._explicit)
        self._pid, self._options = pid, options
        try:
            proc = psutil.Process(pid)
            self._created = proc.create_time()
            self._command = " ".join(proc.cmdline()) or proc.name()
        except psutil.NoSuchProcess:
            raise NoSuchProcess(f"PID {pid} does not exist") from None
        except psutil.Error:
            pass  # not ours to read (py-spy will say so); the PID may still be sampled
        self._tmp = Path(tempfile.mkdtemp(prefix="perftop-pyspy-"))
        children.add_cleanup(self._remove_tmp)  # perftop may die of a signal before stop()
        try:
            first = self._start_recording()
        except BaseException as exc:
            self._stopped = True
            self._remove_tmp()
            if isinstance(exc, ProfilerError) or not isinstance(exc, Exception):
                raise
            raise unforeseen(exc) from exc
        self._thread = threading.Thread(
            target=self._drive, args=(first,), name=f"perftop-pyspy-{pid}", daemon=True
        )
        self._thread.start()

    def next_batch(self, timeout: float) -> Batch | None:
        return self._batches.get(timeout)

    def pause(self) -> None:
        with self._lock:
            if self._thread is None or self._stopped or self._want_pause:
                return
            self._paused_ack.clear()
            self._want_pause = True
        self._wake.set()
        # Returns once no py-spy is attached (normally 10-50 ms: py-spy stops at its next
        # sample), so "paused" means paused for whoever asked.
        self._paused_ack.wait(timeout=self._stop_timeout() + _ATTACH_TIMEOUT_S)

    def resume(self) -> None:
        with self._lock:
            self._want_pause = False
        self._wake.set()

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        if not self._pid:
            raise ProfilerError("no process to dump: start the profiler first")
        try:
            return self._dump(with_locals)
        except TargetTraced:
            if not self._live or self._want_pause or self._stopped:
                raise  # not our recording in the way
        # Our own recording kept winning the race for the target (it pauses it at every
        # sample): let go of it for the moment of the dump, as a pause does, then go on.
        self.pause()
        try:
            return self._dump(with_locals)
        finally:
            self.resume()

    def _dump(self, with_locals: bool) -> list[ThreadStack]:
        return dump_threads(self._pid, with_locals, options=self._options, executable=self._exe)

    def stop(self) -> None:
        with self._lock:
            if self._stopped or self._thread is None:
                self._stopped = True
                return
            self._stopped = self._want_stop = True
        self._wake.set()
        self._thread.join(timeout=self._stop_timeout() + _ATTACH_TIMEOUT_S)
        for rec in list(self._live):  # only if the driver is stuck: never leave py-spy behind
            children.terminate(rec.popen)
            rec.close()
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
    def refresh_s(self) -> float | None:
        return self._refresh

    @property
    def running(self) -> bool:
        # Stays true after the target's exit until its last batch (and any error) was read,
        # so a reader looping on `running` never misses the end.
        return self._thread is not None and not self._stopped and not self._batches.drained

    @property
    def paused(self) -> bool:
        return self._paused_ack.is_set() and self._want_pause

    # --- recordings -------------------------------------------------------------------------

    def _stop_timeout(self) -> float:
        # py-spy checks for SIGINT after each sample, and samples come at random intervals
        # averaging 1/rate: at low rates the wait can be seconds.
        return 2.0 + 10.0 / self._options.rate_hz

    def _start_recording(self) -> Recording:
        """Start py-spy and wait until it has attached; raise what it said if it could not."""
        rec = self._launch()
        if self._attach(rec, _ATTACH_TIMEOUT_S) != "attached":
            self._discard(rec)
            raise ProfilerFailed(f"py-spy did not attach within {_ATTACH_TIMEOUT_S:g} s")
        return rec

    def _launch(self) -> Recording:
        assert self._tmp is not None
        self._seq += 1
        out = self._tmp / f"batch-{self._seq}.txt"
        err = self._tmp / f"batch-{self._seq}.err"
        # --threads: per-thread roots for the model; --full-filenames: frame kinds need paths.
        args = [self._exe, "record", "--pid", str(self._pid), *self._options.to_args()]
        args += ["--threads", "--full-filenames", "--format", "raw", "--output", str(out)]
        # Each is stopped after its batch; the duration only bounds one that outlived perftop
        # (`children.spawn`, bounded: started without a fork of perftop, once a batch).
        args += ["--duration", str(_ORPHAN_AFTER_S)]
        with open(err, "wb") as err_file:
            popen = spawn_pyspy(args, bounded=True, stdout=subprocess.PIPE, stderr=err_file)
        rec = Recording(popen, out, err, spawned_at=time.monotonic())
        self._live.add(rec)
        return rec

    def _attach(self, rec: Recording, timeout: float, abortable: bool = False) -> str:
        """Wait up to `timeout` for `rec` to attach: "attached", "pending" (not yet), or
        "aborted" (`abortable` and a pause or stop was asked for: the asker is not kept
        waiting). Raises what py-spy said if it gave up."""
        deadline = min(time.monotonic() + timeout, rec.spawned_at + _ATTACH_TIMEOUT_S)
        while not rec.attached:
            if abortable and (self._want_pause or self._want_stop):
                self._discard(rec)
                return "aborted"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "pending"
            if not rec.read_stdout(min(remaining, _POLL_S)):
                self._discard(rec)  # py-spy exited before attaching: its stderr says why
                code = rec.popen.returncode
                if code is not None and code < 0 and not rec.errors_text.strip():
                    raise _Transient(f"py-spy was killed (signal {-code})")  # said nothing
                error = translate_error(
                    rec.errors_text, rec.popen.returncode, self._pid, name=process_name(self._pid)
                )
                if isinstance(error, NotPython) and self._sampled:
                    raise _Transient(f"py-spy briefly found no Python in PID {self._pid}")
                raise error
        self._sampled = True
        rec.attached_at = time.monotonic()
        rec.length = self._stretched(rec)
        with self._lock:
            self._clock.attach(rec.attached_at)
        return "attached"

    def _stretched(self, rec: Recording) -> float:
        """How long `rec` records: `batch_s`, or longer where its start cost more than
        _START_SHARE of a core over that (the CPU py-spy took to attach, read now)."""
        asked = self._options.batch_s
        # Smoothed: one start reads 0.04 s of CPU, the next 0.2 s (where py-spy met the
        # processes), and the refresh should not jump with each.
        cost = self._start_cost(rec)
        self._start_cpu = cost if self._start_cpu is None else 0.7 * self._start_cpu + 0.3 * cost
        length = min(max(asked, self._start_cpu / _START_SHARE), _MAX_STRETCH_S)
        self._refresh = length if length > asked * 1.05 else None
        return length

    @staticmethod
    def _start_cost(rec: Recording) -> float:
        """CPU seconds `rec`'s py-spy has used so far (0 if it is gone: `_wait` sees it end)."""
        try:
            cpu = psutil.Process(rec.popen.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(cpu.user + cpu.system)

    def _discard(self, rec: Recording) -> None:
        children.terminate(rec.popen, timeout=0.5)
        rec.errors_text = rec.read_errors()
        if rec.attached_at:
            with self._lock:
                self._clock.detach(rec.attached_at, time.monotonic(), delivered=False)
        self._live.discard(rec)
        rec.close()

    def _finish(self, rec: Recording) -> Batch:
        """Stop a recording (SIGINT, so it writes its output) and read it as a Batch."""
        rec.stopped_at = time.monotonic()
        if rec.popen.poll() is None:
            rec.popen.send_signal(signal.SIGINT)
        loss = ""
        try:
            rec.popen.wait(timeout=self._stop_timeout())
        except subprocess.TimeoutExpired:
            children.terminate(rec.popen, timeout=0.5)
            loss = f"py-spy did not stop within {self._stop_timeout():g} s"
        while rec.read_stdout(0.0):
            pass
        samples, errors, exited = rec.summary()
        # py-spy writes its output only as it ends well: killed, or stuck, it writes none.
        # Unreadable output costs this batch, not the session.
        try:
            profile = read_raw(rec.output.read_text(errors="replace"), str(rec.output), self._pid)
        except (OSError, FormatError) as exc:
            profile = Profile()
            loss = loss or self._why_lost(rec, exc)
        self._live.discard(rec)
        rec.close()
        with self._lock:
            lost_s = self._clock.detach(rec.attached_at, rec.stopped_at, delivered=not loss)
            # Each failed sample is a tick nobody sampled (both py-spys of a hand-over pause
            # the target with ptrace, so ticks can collide): it costs 1/rate of coverage.
            self._clock.failed += errors / self._options.rate_hz
        profile.metadata.update(self._metadata())
        exited = exited or not self._target_alive()
        warnings: list[str] = []
        if loss:
            self._losses, self._loss = self._losses + 1, loss
            errors += round(lost_s * self._options.rate_hz)  # the ticks it took with it
            if not exited:  # the target's end is news enough
                warnings.append(f"{loss}; restarted, {lost_s:.1f} s of samples lost")
        else:
            self._losses = 0
        if exited:
            profile.mark_ended("target exited")
        return Batch(
            profile=profile,
            wall_s=rec.stopped_at - rec.attached_at,
            samples=profile.total_samples if samples is None else samples,
            errors=errors,
            target_exited=exited,
            warnings=warnings,
        )

    @staticmethod
    def _why_lost(rec: Recording, problem: Exception) -> str:
        code = rec.popen.returncode
        if code is not None and code < 0:
            return f"py-spy was killed (signal {-code})"
        if code:
            said = next((x.strip() for x in rec.read_errors().splitlines() if x.strip()), "")
            return f"py-spy ended with status {code}" + (f" ({said})" if said else "")
        if isinstance(problem, OSError):
            return "py-spy wrote no output"
        return f"py-spy wrote output perftop cannot read ({problem})"

    def _metadata(self) -> dict[str, str]:
        return {
            "source": "py-spy",
            "pid": str(self._pid),
            "command": self._command,
            "rate_hz": str(self._options.rate_hz),
        }

    def _target_stopped(self, traced: bool = True) -> bool:
        """Stopped by a signal (state T); with `traced`, also stopped under a debugger (t).
        A py-spy of ours (a recording, a dump) stops it as `t` for each sample's moment:
        that is sampling, so `t` counts only under a tracer that is not ours."""
        state = process_state(self._pid)
        if state == "T" or not traced or state != "t":
            return state == "T"
        tracer = tracer_of(self._pid)
        return tracer > 0 and not tracer_is_ours(tracer)

    def _target_alive(self) -> bool:
        try:
            proc = psutil.Process(self._pid)
            if self._created and proc.create_time() != self._created:
                return False  # the PID now belongs to another process
            return bool(proc.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True

    # --- the driver thread ------------------------------------------------------------------

    def _wait(self, rec: Recording) -> str:
        length = rec.length or self._options.batch_s
        if not self._delivered:
            # The first flame a user waits for: a short first recording shows it sooner.
            length = min(length, _FIRST_BATCH_S)
        due = rec.attached_at + length
        while True:
            if self._want_stop:
                return "stop"
            if self._want_pause:
                return "pause"
            if rec.popen.poll() is not None:
                return "ended"
            # At every poll: a stop noticed late is sampling time lost to py-spy's failed
            # samples (coverage), and the target's stat is one read.
            if self._target_stopped(traced=False):
                return "stopped"
            remaining = due - time.monotonic()
            if remaining <= 0:
                return "due"
            self._wake.wait(min(remaining, _POLL_S))
            self._wake.clear()

    def _deliver(self, batch: Batch) -> bool:
        """Queue a batch; True if it was the last one (the target exited)."""
        self._delivered = True
        self._batches.put(batch)
        return batch.target_exited

    def _drive(self, first: Recording) -> None:
        rec: Recording | None = first
        failures = 0
        error: ProfilerError | None = None  # what ended sampling, told after the batches
        try:
            while rec is not None:
                self._check_losses()
                reason = self._wait(rec)
                if reason == "due":
                    rec, failures = self._hand_over(rec, failures)
                elif reason in ("ended", "stopped"):  # py-spy ended: mostly, the target exited
                    rec = None if self._deliver(self._finish(rec)) else self._restart()
                elif self._deliver(self._finish(rec)) or reason == "stop":
                    rec = None
                else:
                    rec = self._restart() if self._sit_out_pause() else None
        except ProfilerError as exc:
            error = exc
        except OSError as exc:  # pipes, temporary files: the session ends, perftop does not
            error = ProfilerFailed(f"py-spy session failed: {exc}")
        except Exception as exc:
            # A fault nobody foresaw must not end the session in silence (a live view reading
            # 0 samples for ever): the reader gets it, after the batches already queued.
            error = unforeseen(exc)
        finally:
            for leftover in list(self._live):
                self._discard(leftover)  # its samples are lost with it
            self._stop_clock()
            self._paused_ack.set()
            self._batches.close(error)

    def _hand_over(self, rec: Recording, failures: int) -> tuple[Recording | None, int]:
        """Start the next recording, then stop `rec`: the two overlap, so no moment is lost."""
        try:
            following = self._launch()
            state = self._attach(following, self._patience(), abortable=True)
        except ProfilerError as exc:
            if self._target_stopped(traced=False):  # `rec` still holds it: T only
                # A stopped target is let go of until it continues, not given up on.
                if self._deliver(self._finish(rec)):
                    return None, 0
                return self._restart(), 0
            alive = self._target_alive()
            if alive and failures < 2:
                self._wake.wait(0.2)  # `rec` keeps sampling meanwhile; try again shortly
                return rec, failures + 1
            self._deliver(self._finish(rec))
            if alive and isinstance(exc, _Transient | TargetTraced):
                # Both can be `rec` itself in the way: a fresh start, as after a loss.
                return self._restart(), 0
            if alive:
                raise
            return None, 0
        if state == "aborted":
            return rec, failures  # a pause or stop came: `_wait` deals with it at once
        batch = self._finish(rec)
        if state == "pending" and not batch.target_exited:
            # py-spy retries its attach while the two collide (both pause the target with
            # ptrace), seconds on a loaded machine: deliver now and accept the gap rather
            # than stall the live view.
            self._deliver(batch)
            try:
                state = self._attach(following, _ATTACH_TIMEOUT_S)
            except (_Transient, TargetTraced) as exc:
                self._losses, self._loss = self._losses + 1, exc.message
                return self._restart(), 0
            if state != "attached":
                self._discard(following)
                raise ProfilerFailed(f"py-spy did not attach within {_ATTACH_TIMEOUT_S:g} s")
            return following, 0
        if batch.target_exited:
            # Both ended with the target: one last batch holds both.
            if state == "attached":
                last = self._finish(following)
                batch.profile.merge(last.profile)
                batch.samples += last.samples
                batch.errors += last.errors
            else:
                self._discard(following)
            self._deliver(batch)
            return None, 0
        self._deliver(batch)
        return following, 0

    def _check_losses(self) -> None:
        if self._losses >= _MAX_LOSSES:  # something kills every py-spy: give up
            raise ProfilerFailed(
                f"{self._loss}, {self._losses} times in a row; sampling stopped, "
                "the profile so far is kept"
            )

    def _patience(self) -> float:
        # How long the next recording may take to attach while the current one keeps
        # sampling, before that one is delivered anyway: attaching takes 10-80 ms typically,
        # but seconds when py-spy is starved of CPU. Past this, a late view beats a stalled one.
        return min(5.0, max(1.0, 2 * self._options.batch_s))

    def _restart(self) -> Recording | None:
        """Attach again (after the target continues, if it is stopped); None if the session
        ended meanwhile (a stop asked for, the target gone)."""
        collisions = 0
        while True:
            self._check_losses()
            if self._target_stopped() and not self._sit_out_stop():
                return None
            try:
                return self._start_recording()
            except _Transient as exc:  # its time is uncovered already; try another
                self._losses, self._loss = self._losses + 1, exc.message
            except TargetTraced:
                if self._target_stopped():
                    continue  # stopped under a debugger: sat out above
                # A dump of ours held the target as this py-spy attached: try again shortly.
                collisions += 1
                if collisions > _MAX_COLLISIONS:
                    raise
                self._wake.wait(0.05)
            except ProfilerError:
                if not self._target_alive():
                    self._deliver(self._exit_batch())
                    return None
                if not self._target_stopped():
                    raise
                # Stopped while py-spy attached: wait until it continues.

    def _exit_batch(self) -> Batch:
        profile = Profile(self._metadata())
        profile.mark_ended("target exited")
        return Batch(profile, wall_s=0.0, samples=0, errors=0, target_exited=True)

    def _stopped_batch(self) -> Batch:
        pid = self._pid
        tracer = tracer_of(pid) if process_state(pid) == "t" else 0
        if tracer:
            name = process_name(tracer)
            advice = (
                f"PID {pid} is stopped under a debugger, PID {tracer}"
                + (f" ({name})" if name else "")
                + ": sampling resumes when it continues; the profile so far is kept"
            )
        else:
            advice = (
                f"PID {pid} is stopped (SIGSTOP or Ctrl-Z): sampling resumes when it "
                f"continues (kill -CONT {pid}); the profile so far is kept"
            )
        return Batch(
            Profile(self._metadata()),
            wall_s=0.0,
            samples=0,
            errors=0,
            target_exited=False,
            target_stopped=True,
            warnings=[advice],
        )

    def _stop_clock(self) -> None:
        with self._lock:
            self._clock.stop(time.monotonic())

    def _sit_out_stop(self) -> bool:
        """Wait, detached, while the target is stopped: True once it continues (and no pause
        holds), False if a stop was asked for or the target is gone."""
        self._stop_clock()
        self._deliver(self._stopped_batch())
        while not self._want_stop:
            if not self._target_alive():
                self._deliver(self._exit_batch())
                return False
            if self._want_pause:
                self._paused_ack.set()  # nothing is attached: paused, as asked
            elif not self._target_stopped():
                self._paused_ack.clear()
                return True
            self._wake.wait(_STOPPED_POLL_S)
            self._wake.clear()
        return False

    def _sit_out_pause(self) -> bool:
        """Wait, detached, until resumed (True) or stopped or the target is gone (False)."""
        self._stop_clock()
        self._paused_ack.set()
        while self._want_pause and not self._want_stop:
            self._wake.wait(0.25)
            self._wake.clear()
            if not self._target_alive():
                self._deliver(self._exit_batch())
                return False
        if self._want_stop:
            return False
        self._paused_ack.clear()
        return True
