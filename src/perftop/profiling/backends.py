"""The profiler backends perftop knows, in one registry, and the check made before attaching.

A backend declares its name, how to make one, and how to check, before any screen opens,
that it can sample a given process (a refusal then is one line on stderr, not a screen with
an error on it). Adding a backend (native code, memory) touches this file and its own module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop.profiling.backend import (
    NoSuchProcess,
    ProfilerBackend,
    ProfilerFailed,
    ProfilerOptions,
)
from perftop.profiling.session import ProfileSession

__all__ = ["BACKENDS", "BackendSpec", "check_target", "new_session"]


@dataclass(frozen=True)
class BackendSpec:
    name: str
    factory: Callable[[], ProfilerBackend]
    # Raises ProfilerError (one line of advice) if `pid` cannot be sampled with `options`.
    preflight: Callable[[int, ProfilerOptions], None]


_CHECK_ATTEMPTS = 3


def _pyspy_factory() -> ProfilerBackend:
    from perftop.profiling.pyspy import PySpyBackend

    return PySpyBackend()


def _pyspy_preflight(pid: int, options: ProfilerOptions) -> None:
    from perftop.profiling.pyspy_cli import dump_threads

    attempts = _CHECK_ATTEMPTS
    while True:
        try:
            dump_threads(pid, options=options)
            return
        except ProfilerFailed:
            # py-spy's own failures (not permission, not Python, no such PID) can be a race it
            # lost: "Failed to get stack traces" from a target starting and ending threads by
            # the hundred. The live session retries such a sample; so does this one check.
            attempts -= 1
            if not attempts:
                raise
            time.sleep(0.1)


BACKENDS: dict[str, BackendSpec] = {
    "py-spy": BackendSpec("py-spy", _pyspy_factory, _pyspy_preflight),
}
DEFAULT_BACKEND = "py-spy"


def command_line(pid: int) -> str:
    """The target's command line, for titles and metadata; empty if it cannot be read."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def check_target(pid: int, options: ProfilerOptions, backend: str = DEFAULT_BACKEND) -> str:
    """Fail before any screen opens: ProfilerError with one line if `pid` cannot be sampled.
    Returns the target's command line."""
    if pid <= 0 or not psutil.pid_exists(pid):
        raise NoSuchProcess(f"no process with PID {pid}")
    BACKENDS[backend].preflight(pid, options)
    return command_line(pid)


def new_session(
    pid: int,
    options: ProfilerOptions,
    *,
    command: str = "",
    backend: str = DEFAULT_BACKEND,
    factory: Callable[[], ProfilerBackend] | None = None,
) -> ProfileSession:
    """A session on `pid`, not yet started. `factory` replaces the registry's (tests)."""
    spec = BACKENDS[backend]
    return ProfileSession(pid, options, factory or spec.factory, command=command, source=spec.name)
