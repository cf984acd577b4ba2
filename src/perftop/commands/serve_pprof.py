"""`perftop serve`'s profiles: `/debug/pprof/profile?seconds=N&pid=PID` answers a pprof profile
of that process, sampled for N seconds, as Go's net/http/pprof does for a Go program, so that
Parca's and Pyroscope's scrapers and `go tool pprof http://HOST:PORT/debug/pprof/profile`
profile a box's processes with no agent inside them.

A target is a PID (`pid=`), a process name (`name=`: its comm, or the base name of its
program or its first argument, as `pgrep -x` matches) or a cgroup (`cgroup=`: a path under
/sys/fs/cgroup, as /proc/PID/cgroup shows it); a name or a cgroup that matches several
processes means the oldest of them, as `pgrep -o` (a service's main process, usually), and
the answer's `X-Perftop-Pid` header says which. The push (`commands/serve_push.py`) takes
its targets in the same words.

The backend is chosen as `perftop record` chooses it (profiling/backends.py): py-spy for
Python, perf for the rest. One profile per target at a time (409 otherwise), and at most
`MAX_CAPTURES` at once (429), so that the server's other workers are left for metrics
scrapes; `seconds` past `MAX_SECONDS` is 400. Every refusal is one line of text.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from perftop.model.profile import Profile
    from perftop.profiling.backend import ProfilerOptions
    from perftop.profiling.session import ProfileSession

__all__ = [
    "MAX_CAPTURES",
    "MAX_SECONDS",
    "PATH",
    "ProfileEndpoint",
    "Target",
    "TargetError",
    "capture",
    "capture_window",
    "parse_target",
    "resolve",
]

PATH = "/debug/pprof/profile"
DEFAULT_SECONDS = 30.0  # Go's own default
MAX_SECONDS = 300.0
MIN_SECONDS = 0.5
MAX_CAPTURES = 2  # of the server's workers (serve_http.WORKERS); the others answer scrapes
POLL_S = 0.2
PROC = "/proc"
CGROUP_ROOT = "/sys/fs/cgroup"

Kind = Literal["pid", "name", "cgroup"]
SessionMaker = Callable[[int, "ProfilerOptions"], "ProfileSession"]


class TargetError(Exception):
    """A request that cannot be answered with a profile: its HTTP status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())


@dataclass(frozen=True)
class Target:
    kind: Kind
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"

    @property
    def label(self) -> tuple[str, str]:
        """The label a pushed profile of it carries: `pid`, `process` or `cgroup`."""
        return ("process" if self.kind == "name" else self.kind, self.value)


def parse_target(text: str) -> Target:
    """`1234`, `pid:1234`, `name:postgres` or `cgroup:/system.slice/x.service`."""
    kind, sep, value = text.partition(":")
    if not sep:
        kind, value = "pid", text
    if kind not in ("pid", "name", "cgroup") or not value:
        raise TargetError(400, f"bad target {text!r}: give PID, pid:PID, name:NAME or cgroup:PATH")
    if kind == "pid" and not (value.isdigit() and 0 < int(value) < 2**22):
        raise TargetError(400, f"bad PID {value!r}")
    if kind == "cgroup":
        _cgroup_dir(value)  # refuse a path that leaves the cgroup tree now
    return Target(kind, value)  # type: ignore[arg-type]  # checked above


def target_of_query(query: dict[str, list[str]]) -> Target:
    given = [(k, query[k][-1]) for k in ("pid", "name", "cgroup") if query.get(k)]
    if len(given) != 1:
        raise TargetError(400, "say which process: one of pid=PID, name=NAME or cgroup=PATH")
    kind, value = given[0]
    return parse_target(f"{kind}:{value}")


# --- which process --------------------------------------------------------------------------


def resolve(target: Target, proc: str = PROC, cgroup_root: str = CGROUP_ROOT) -> int:
    """The PID a target means now; TargetError 404 if no process fits."""
    if target.kind == "pid":
        pid = int(target.value)
        if not os.path.exists(f"{proc}/{pid}/stat"):
            raise TargetError(404, f"no process with PID {pid}")
        return pid
    ours = _ours(proc)
    if target.kind == "name":
        pids = [p for p in _pids(proc) if p not in ours and target.value in _names(proc, p)]
        if not pids:
            raise TargetError(404, f"no process named {target.value!r}")
    else:
        path = os.path.join(_cgroup_dir(target.value, cgroup_root), "cgroup.procs")
        try:
            with open(path, encoding="ascii") as f:
                pids = [int(line) for line in f if line.strip().isdigit()]
        except OSError as exc:
            raise TargetError(404, f"no cgroup {target.value}: {exc.strerror or exc}") from None
        pids = [pid for pid in pids if pid not in ours]
        if not pids:
            raise TargetError(404, f"cgroup {target.value} holds no process")
    return min(pids, key=lambda pid: (_start_ticks(proc, pid), pid))


def _cgroup_dir(path: str, root: str = CGROUP_ROOT) -> str:
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise TargetError(400, f"bad cgroup path {path!r}")
    return os.path.join(root, *parts)


def _ours(proc: str) -> set[int]:
    """perftop and its children (py-spy, perf): never a target by name or cgroup."""
    me = os.getpid()
    return {me} | {pid for pid in _pids(proc) if _ppid(proc, pid) == me}


def _pids(proc: str) -> Iterable[int]:
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    return [int(n) for n in names if n.isdigit()]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(65536)
    except OSError:
        return b""


def _names(proc: str, pid: int) -> set[str]:
    """What `name=` matches: the comm, and the base names of the program and argv[0]."""
    names = {_read(f"{proc}/{pid}/comm").decode("utf-8", "replace").strip()}
    argv = _read(f"{proc}/{pid}/cmdline").split(b"\0")
    if argv and argv[0]:
        names.add(os.path.basename(argv[0].decode("utf-8", "replace")))
    with contextlib.suppress(OSError):
        names.add(os.path.basename(os.readlink(f"{proc}/{pid}/exe")))
    return names - {""}


def _stat_fields(proc: str, pid: int) -> list[bytes]:
    stat = _read(f"{proc}/{pid}/stat")
    # The comm is in parentheses and may hold spaces or ')': split after the last one.
    return stat[stat.rfind(b")") + 2 :].split()


def _start_ticks(proc: str, pid: int) -> int:
    fields = _stat_fields(proc, pid)
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else 2**63


def _ppid(proc: str, pid: int) -> int:
    fields = _stat_fields(proc, pid)
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0


# --- sampling -------------------------------------------------------------------------------


def default_session(pid: int, options: ProfilerOptions) -> ProfileSession:
    """The session `perftop record PID` would make, after the same check."""
    from perftop.profiling.backends import check_target, new_session

    command = check_target(pid, options)
    return new_session(pid, options, command=command)


def capture(
    session: ProfileSession, seconds: float, stop: threading.Event | None = None
) -> Profile:
    """Sample with `session` for `seconds` (less if the target exits or `stop` is set); the
    profile, with the metadata an export carries. ProfilerError if it cannot start."""
    _start(session)
    try:
        _pump(session, time.monotonic() + seconds, stop)
    finally:
        session.stop()
        session.drain()
    return session.profile_for_export()


def capture_window(
    session: ProfileSession, every_s: float, stop: threading.Event
) -> Iterator[tuple[float, float, Profile]]:
    """(start, end as Unix seconds, profile) of each `every_s` window of one session, until
    the target ends or `stop` is set (the last window cut short). The session is not
    restarted between windows: reset, it samples on. ProfilerError if it cannot start."""
    _start(session)
    try:
        while True:
            began = time.time()
            going = _pump(session, time.monotonic() + every_s, stop)
            if not going:
                session.stop()
                session.drain()
            yield began, time.time(), session.profile_for_export()
            if not going:
                return
            session.reset()
    finally:
        session.stop()


def _start(session: ProfileSession) -> None:
    from perftop.profiling.backend import ProfilerFailed
    from perftop.profiling.session import SessionState

    session.start()
    if session.state is SessionState.FAILED:
        raise ProfilerFailed(session.error or f"cannot profile PID {session.pid}")


def _pump(session: ProfileSession, deadline: float, stop: threading.Event | None) -> bool:
    """Absorb batches until `deadline`; False if sampling ended first (the target exited,
    the profiler failed, or `stop` was set)."""
    from perftop.profiling.backend import ProfilerError

    while session.pumping:
        if stop is not None and stop.is_set():
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        try:
            batch = session.next_batch(min(POLL_S, left))
        except ProfilerError as exc:
            session.fail(exc)
            return False
        if batch is not None and session.absorb(batch).exited:
            return False
    return False


def profiler_status(exc: Exception) -> int:
    """The HTTP status of a profiler's refusal."""
    from perftop.profiling.backend import NoSuchProcess, PermissionDenied, ProfilerMissing

    if isinstance(exc, NoSuchProcess):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, ProfilerMissing):
        return 503
    return 500


# --- the endpoint ---------------------------------------------------------------------------


class ProfileEndpoint:
    """The WSGI app of `/debug/pprof/profile`: one capture per target, `MAX_CAPTURES` at once."""

    def __init__(
        self,
        options: ProfilerOptions,
        *,
        session_maker: SessionMaker = default_session,
        resolver: Callable[[Target], int] = resolve,
        max_seconds: float = MAX_SECONDS,
        max_captures: int = MAX_CAPTURES,
    ) -> None:
        self.options = options
        self.session_maker = session_maker
        self.resolver = resolver
        self.max_seconds = max_seconds
        self.max_captures = max_captures
        self.stop = threading.Event()  # set when serve ends: captures cut short
        self._lock = threading.Lock()
        self._busy: set[int] = set()  # PIDs being profiled

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO", "") != PATH:
            return _reply(start_response, 404, f"not found; profiles are at {PATH}")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _reply(start_response, 405, "use GET")
        try:
            pid, profile = self.profile(urllib.parse.parse_qs(environ.get("QUERY_STRING", "")))
        except TargetError as exc:
            return _reply(start_response, exc.status, exc.message)
        from perftop.formats.pprof import dumps_pprof

        body = dumps_pprof(profile)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/octet-stream"),
                ("Content-Disposition", 'attachment; filename="profile"'),
                ("Content-Length", str(len(body))),
                ("X-Perftop-Pid", str(pid)),
            ],
        )
        return [body]

    def profile(self, query: dict[str, list[str]]) -> tuple[int, Profile]:
        seconds = self.seconds(query)
        pid = self.resolver(target_of_query(query))
        with self._lock:
            if pid in self._busy:
                raise TargetError(409, f"PID {pid} is being profiled already; try again later")
            if len(self._busy) >= self.max_captures:
                raise TargetError(429, f"{len(self._busy)} profiles are being taken; try later")
            self._busy.add(pid)
        try:
            return pid, self.sample(pid, seconds)
        finally:
            with self._lock:
                self._busy.discard(pid)

    def seconds(self, query: dict[str, list[str]]) -> float:
        text = query.get("seconds", [""])[-1]
        if not text:
            return min(DEFAULT_SECONDS, self.max_seconds)
        try:
            seconds = float(text)
        except ValueError:
            seconds = -1.0
        if not MIN_SECONDS <= seconds <= self.max_seconds:
            raise TargetError(
                400, f"seconds={text} out of range: {MIN_SECONDS:g} to {self.max_seconds:g}"
            )
        return seconds

    def sample(self, pid: int, seconds: float) -> Profile:
        from perftop.profiling.backend import ProfilerError

        try:
            session = self.session_maker(pid, self.options)
            profile = capture(session, seconds, self.stop)
        except ProfilerError as exc:
            raise TargetError(profiler_status(exc), exc.message) from None
        if session.error and not profile.total_samples:
            raise TargetError(500, session.error)
        return profile


def _reply(start_response: Callable[..., Any], status: int, text: str) -> list[bytes]:
    reasons = {
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    body = (" ".join(text.split()) + "\n").encode("utf-8", "replace")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    if status == 429:
        headers.append(("Retry-After", "10"))
    start_response(f"{status} {reasons.get(status, 'Error')}", headers)
    return [body]
