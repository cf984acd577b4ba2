"""Advice that names the real cause: a ptrace collision is not a permission problem, a stop
under a tracer is not a SIGSTOP, and a root that holds CAP_SYS_PTRACE is not told to add it.

The tracers here are real: a small helper seizes the target with ptrace (PTRACE_SEIZE, and
PTRACE_INTERRUPT for a stop under it), exactly what a debugger or another py-spy does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perftop import children
from perftop.profiling.backend import (
    PermissionDenied,
    ProfilerError,
    ProfilerMissing,
    ProfilerOptions,
)
from perftop.profiling.ptrace import PtraceFacts, permission_advice
from perftop.profiling.pyspy import PySpyBackend, dump_threads, find_pyspy
from perftop.profiling.pyspy_cli import TargetTraced, traced_advice, translate_error

HOT = "perftop_advice_hot_loop"
TARGET = textwrap.dedent(
    f"""
    def {HOT}():
        x = 0
        while True:
            x += 1
    print("ready", flush=True)
    {HOT}()
    """
)
# Holds argv[1] under ptrace until its stdin closes; with argv[2] == "stop", stopped too.
# The tracer is a thread of its own, as py-spy's sampler is: /proc names that thread.
TRACER = textwrap.dedent(
    """
    import ctypes, os, sys, threading, time
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    pid = int(sys.argv[1])
    def trace():
        deadline = time.monotonic() + 10
        while libc.ptrace(0x4206, pid, None, None) != 0:  # PTRACE_SEIZE
            if time.monotonic() > deadline:  # another tracer may hold it for a moment
                print(f"cannot seize: errno {ctypes.get_errno()}", flush=True)
                os._exit(1)
            time.sleep(0.001)
        if sys.argv[2] == "stop":
            libc.ptrace(0x4207, pid, None, None)  # PTRACE_INTERRUPT: stopped, state t
        print("held", flush=True)
        threading.Event().wait()  # the tracing thread must live on, or the target is let go
    threading.Thread(target=trace, daemon=True).start()
    sys.stdin.read()
    """
)
COLLISION = (  # py-spy 0.4.3 dump, pausing a target another tracer holds
    "Error: Failed to get stack traces\n\nCaused by:\n    0: Failed to suspend process\n"
    "    1: EPERM: Operation not permitted\n    2: EPERM: Operation not permitted\n"
)

try:
    find_pyspy()
    HAVE_PYSPY = True
except ProfilerMissing:
    HAVE_PYSPY = False
needs_pyspy = pytest.mark.skipif(not HAVE_PYSPY, reason="py-spy is not installed")
needs_ptrace = pytest.mark.skipif(
    not PtraceFacts.read().cap_sys_ptrace, reason="needs CAP_SYS_PTRACE to seize a process"
)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    script = tmp_path / "perftop_advice_target.py"
    script.write_text(TARGET)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    yield proc
    proc.kill()
    proc.wait()


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def hold(pid: int, how: str, *, ours: bool = False) -> subprocess.Popen[bytes]:
    """A real tracer of `pid`: started by perftop's children module (ours) or not."""
    args = [sys.executable, "-c", TRACER, str(pid), how]
    pipe = subprocess.PIPE
    if ours:
        tracer = children.spawn(args, kind=children.ChildKind.TARGET, stdin=pipe, stdout=pipe)
    else:
        tracer = subprocess.Popen(args, stdin=pipe, stdout=pipe)
    assert tracer.stdout is not None
    assert tracer.stdout.readline() == b"held\n"
    deadline = time.monotonic() + 5
    while how == "stop" and state(pid) != "t":  # the interrupt is asynchronous
        assert time.monotonic() < deadline, f"PID {pid} never stopped under its tracer"
        time.sleep(0.01)
    return tracer


def release(tracer: subprocess.Popen[bytes]) -> None:
    assert tracer.stdin is not None
    tracer.stdin.close()
    tracer.wait(timeout=10)
    children.untrack(tracer)


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
def test_a_dump_during_a_recording_never_reads_as_a_permission_problem(
    target: subprocess.Popen[bytes],
) -> None:
    backend = PySpyBackend()
    # A high rate: the recording's py-spy holds the target most of the time, so nearly every
    # first try of a dump collides with it.
    backend.start(target.pid, ProfilerOptions(rate_hz=1000, batch_s=0.5))
    try:
        for _ in range(8):
            try:
                stacks = backend.dump_threads()
            except ProfilerError as exc:
                pytest.fail(f"dump during a recording failed: {exc.message}")
            assert any(s.frames and s.frames[0].name == HOT for s in stacks)
        assert backend.running and not backend.paused  # resumed after any pause-and-dump
    finally:
        backend.stop()


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
@needs_ptrace
def test_a_foreign_tracer_is_named_not_taken_for_a_permission_problem(
    target: subprocess.Popen[bytes],
) -> None:
    tracer = hold(target.pid, "run")
    try:
        with pytest.raises(TargetTraced) as caught:
            dump_threads(target.pid, attempts=2)
    finally:
        release(tracer)
    message = caught.value.message
    assert f"PID {target.pid} is traced by PID {tracer.pid} (python" in message
    assert "only one tracer" in message and "Permission" not in message
    assert dump_threads(target.pid)  # once it let go, the dump works


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
@needs_ptrace
def test_a_stop_under_a_tracer_is_not_called_a_sigstop(target: subprocess.Popen[bytes]) -> None:
    tracer = hold(target.pid, "stop")
    try:
        error = translate_error(COLLISION, 1, target.pid)
        assert isinstance(error, TargetTraced)
        assert "SIGSTOP" not in error.message and f"PID {tracer.pid}" in error.message
        backend = PySpyBackend()
        backend._pid = target.pid
        assert backend._target_stopped()  # not sampled while a debugger holds it stopped
        (advice,) = backend._stopped_batch().warnings
        assert advice.startswith(f"PID {target.pid} is stopped under a debugger, PID {tracer.pid}")
        assert "kill -CONT" not in advice
    finally:
        release(tracer)


@pytest.mark.slow  # a real py-spy on a real target
@needs_ptrace
def test_a_stop_under_perftops_own_tracer_is_sampling_not_a_stop(
    target: subprocess.Popen[bytes],
) -> None:
    tracer = hold(target.pid, "stop", ours=True)
    try:
        backend = PySpyBackend()
        backend._pid = target.pid
        assert not backend._target_stopped()  # a py-spy of ours taking a sample
        error = translate_error(COLLISION, 1, target.pid)
        assert isinstance(error, TargetTraced)
        assert f"perftop's own recording (py-spy PID {tracer.pid})" in error.message
    finally:
        release(tracer)


def test_collision_advice_without_a_tracer_left() -> None:
    advice = traced_advice(4242, 0)
    assert advice.startswith("another tracer held PID 4242 at that instant")
    assert "Permission" not in advice


def facts(**kw: object) -> PtraceFacts:
    base: dict[str, object] = dict(euid=0, cap_sys_ptrace=True, ptrace_scope=None)
    base.update(in_container=True)
    base.update(kw)
    return PtraceFacts(**base)  # type: ignore[arg-type]


def test_root_with_cap_sys_ptrace_is_not_told_to_add_it() -> None:
    advice = permission_advice(1, facts())
    assert "lacks" not in advice and "--cap-add" not in advice and "Kubernetes" not in advice
    assert "perftop runs as root with CAP_SYS_PTRACE, so no capability is missing" in advice
    assert "guards PID 1 from ptrace" in advice
    other = permission_advice(1, facts(other_userns=True, lsm="docker-default (enforce)"))
    assert "PID 1 belongs to another user namespace" in other
    assert "security label docker-default (enforce)" in other
    assert "seccomp filter" in permission_advice(1, facts(seccomp=True))


def test_a_container_hint_fits_the_container() -> None:
    docker = permission_advice(5, facts(cap_sys_ptrace=False))
    assert "container lacks the SYS_PTRACE" in docker and "--cap-add SYS_PTRACE" in docker
    assert "securityContext" not in docker
    pod = permission_advice(5, facts(cap_sys_ptrace=False, kubernetes=True))
    assert "securityContext.capabilities.add: [SYS_PTRACE]" in pod and "--cap-add" not in pod
    bare = permission_advice(5, facts(cap_sys_ptrace=False, in_container=False))
    assert "root but without CAP_SYS_PTRACE" in bare and "even with" not in bare


@needs_pyspy
def test_pid_1_refused_as_root_with_the_capability_says_so() -> None:
    here = PtraceFacts.read(1)
    if here.euid != 0 or not here.cap_sys_ptrace:
        pytest.skip("needs root with CAP_SYS_PTRACE")
    try:
        dump_threads(1, timeout=20)
    except PermissionDenied as exc:
        assert "no capability is missing" in exc.message and "lacks" not in exc.message
    except ProfilerError:
        pytest.skip("PID 1 is readable here (or not Python): nothing refused")
    else:
        pytest.skip("PID 1 is readable here: nothing refused")
    assert os.geteuid() == 0
