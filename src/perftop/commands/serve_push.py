"""`perftop serve --push URL --app NAME`: continuous profiles of chosen processes, sent to a
Pyroscope server's ingest API (`POST /ingest?name=APP{labels}&from=&until=&format=pprof`, the
body a gzipped pprof profile, or `format=folded` with folded stacks) every `every_s` seconds.

Each target (a PID, a process name or a cgroup: serve_pprof.py's `Target`) has a thread that
keeps one profiling session running and cuts it into windows: at the end of a window the
profile so far is encoded and queued, and the session starts the next one from zero (no
re-attach, so nothing is lost between windows). A target that ends is looked for again at
the next window (a restarted service keeps its name and cgroup). One sender thread posts
the windows in order.

Nothing grows without limit while the server is away: the queue holds `queue_size` windows
and drops the oldest to take a new one; a window is tried `attempts` times, each within
`timeout_s`, with a backoff between (a refusal the server means, 4xx but 429, is not
retried). Every dropped window is counted, by reason, and exported with the rest of the
push's figures as Prometheus metrics on the same `/metrics`.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from perftop.commands.serve_pprof import (
    SessionMaker,
    Target,
    TargetError,
    capture_window,
    default_session,
    resolve,
)

if TYPE_CHECKING:
    from perftop.profiling.backend import ProfilerOptions

__all__ = ["PushConfig", "PushError", "Pusher", "ingest_url", "parse_label"]

DEFAULT_EVERY_S = 15.0
MIN_EVERY_S = 1.0
MAX_EVERY_S = 3600.0
QUEUE_SIZE = 32  # windows held while the server is away: 8 minutes at the default
ATTEMPTS = 3
TIMEOUT_S = 10.0
BACKOFF_S = 1.0  # before the second attempt; doubled before each next
Format = Literal["pprof", "folded"]
_APP_RE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,99}")
_VALUE_BAD = re.compile(r"[,{}=\"\s]")
_DROP_REASONS = ("queue_full", "failed", "rejected")


class PushError(Exception):
    """A bad --push, --app or --label; one line for the CLI."""


def parse_label(text: str) -> tuple[str, str]:
    """`--label k=v`: a Pyroscope label (key as a Prometheus label, value without , { } =)."""
    key, sep, value = text.partition("=")
    if not sep or not _KEY_RE.fullmatch(key) or not value or _VALUE_BAD.search(value):
        raise PushError(
            f"bad --label {text!r}: give KEY=VALUE, the value without spaces, commas, "
            "braces, '=' or quotes"
        )
    return key, value


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PushError(f"bad --push {url!r}: give the server's URL, e.g. http://pyroscope:4040")
    return url.rstrip("/")


@dataclass(frozen=True)
class PushConfig:
    url: str  # the Pyroscope server: http://HOST:4040
    app: str
    targets: tuple[Target, ...]
    labels: tuple[tuple[str, str], ...] = ()
    every_s: float = DEFAULT_EVERY_S
    format: Format = "pprof"
    queue_size: int = QUEUE_SIZE
    attempts: int = ATTEMPTS
    timeout_s: float = TIMEOUT_S
    backoff_s: float = BACKOFF_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _check_url(self.url))
        if not _APP_RE.fullmatch(self.app):
            raise PushError(f"bad --app {self.app!r}: letters, digits, '_', '.' and '-' only")
        if not self.targets:
            raise PushError("--push needs a process to profile: --target PID, name:NAME, ...")
        if not MIN_EVERY_S <= self.every_s <= MAX_EVERY_S:
            raise PushError(f"--push-every out of range: {MIN_EVERY_S:g} s to 1 hour")
        keys = [k for k, _ in self.labels]
        if len(set(keys)) != len(keys):
            raise PushError("--label: each key once")


@dataclass
class Window:
    """One target's profile over [start, end] (Unix seconds), encoded for the ingest API."""

    target: Target
    start: float
    end: float
    body: bytes
    rate_hz: str


def ingest_url(config: PushConfig, window: Window) -> str:
    labels = dict(config.labels)
    key, value = window.target.label
    labels.setdefault(key, value)
    name = config.app + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
    query = {
        "name": name,
        "from": str(int(window.start)),
        "until": str(max(int(window.start) + 1, round(window.end))),
        "format": config.format,
        "spyName": "perftop",
    }
    if config.format == "folded":
        query |= {"sampleRate": window.rate_hz, "units": "samples", "aggregationType": "sum"}
    return f"{config.url}/ingest?{urllib.parse.urlencode(query)}"


class _Counts:
    """What the push did, read by the metrics collector from another thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.failed_requests = 0
        self.capture_errors = 0
        self.dropped = dict.fromkeys(_DROP_REASONS, 0)

    def add(self, what: str, reason: str = "") -> None:
        with self.lock:
            if what == "dropped":
                self.dropped[reason] += 1
            else:
                setattr(self, what, getattr(self, what) + 1)


class Pusher(Collector):
    """The push: its threads, its bounded queue, and its metrics (a Prometheus collector)."""

    def __init__(
        self,
        config: PushConfig,
        options: ProfilerOptions,
        *,
        session_maker: SessionMaker = default_session,
        resolver: Callable[[Target], int] = resolve,
        say: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.options = options
        self.session_maker = session_maker
        self.resolver = resolver
        self.say = say
        self.counts = _Counts()
        self.stop_event = threading.Event()
        self._queue: deque[Window] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._server_down = False

    # --- the threads ----------------------------------------------------------------------

    def start(self) -> None:
        for target in self.config.targets:
            self._spawn(f"perftop-push {target}", functools.partial(self._sample, target))
        self._spawn("perftop-push-sender", self._send_all)

    def _spawn(self, name: str, run: Callable[[], None]) -> None:
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sampling (each target's last window is queued) and sending; bounded."""
        self.stop_event.set()
        with self._ready:
            self._ready.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _sample(self, target: Target) -> None:
        """One target: windows of `every_s` from one session, found again if it ends."""
        last_problem = ""
        while not self.stop_event.is_set():
            try:
                pid = self.resolver(target)
                session = self.session_maker(pid, self.options)
                for start, end, profile in capture_window(
                    session, self.config.every_s, self.stop_event
                ):
                    last_problem = ""
                    if profile.total_samples:
                        self._enqueue(self._window(target, start, end, profile))
            except TargetError as exc:
                problem = exc.message
            except Exception as exc:  # a profiler's refusal (ProfilerError) or its failure
                problem = getattr(exc, "message", "") or f"{type(exc).__name__}: {exc}"
            else:
                problem = "ended"
            if self.stop_event.is_set():
                return
            if problem != last_problem:
                self.counts.add("capture_errors")
                self.say(f"perftop: push: {target}: {problem}; trying again every window")
                last_problem = problem
            self.stop_event.wait(self.config.every_s)

    def _window(self, target: Target, start: float, end: float, profile: object) -> Window:
        from perftop.formats.folded import dumps_folded
        from perftop.formats.pprof import dumps_pprof
        from perftop.model.profile import Profile

        assert isinstance(profile, Profile)
        body = (
            dumps_pprof(profile)
            if self.config.format == "pprof"
            else dumps_folded(profile).encode("utf-8", "replace")
        )
        return Window(target, start, end, body, profile.metadata.get("rate_hz", "100"))

    def _enqueue(self, window: Window) -> None:
        with self._ready:
            if len(self._queue) >= self.config.queue_size:
                self._queue.popleft()  # the oldest goes: the newest says most about now
                self.counts.add("dropped", "queue_full")
            self._queue.append(window)
            self._ready.notify()

    def _send_all(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self.stop_event.is_set():
                    self._ready.wait(1.0)
                if not self._queue:
                    return  # stopping, and everything was sent
                window = self._queue.popleft()
            # Stopping: one try each for what is left, and no backoff, so stopping is bounded.
            self._send(window, 1 if self.stop_event.is_set() else self.config.attempts)

    def _send(self, window: Window, attempts: int) -> None:
        config = self.config
        content_type = "application/octet-stream" if config.format == "pprof" else "text/plain"
        wait = config.backoff_s
        problem = ""
        for attempt in range(attempts):
            if attempt:
                if self.stop_event.wait(wait):
                    attempts = attempt  # stopping: no more tries
                    break
                wait *= 2
            request = urllib.request.Request(
                ingest_url(config, window),
                data=window.body,
                method="POST",
                headers={"Content-Type": content_type, "User-Agent": "perftop"},
            )
            try:
                with urllib.request.urlopen(request, timeout=config.timeout_s) as reply:
                    reply.read(65536)
                self.counts.add("sent")
                if self._server_down:
                    self._server_down = False
                    self.say(f"perftop: push: {config.url} answers again")
                return
            except urllib.error.HTTPError as exc:
                self.counts.add("failed_requests")
                problem = f"HTTP {exc.code} {exc.reason}"
                if 400 <= exc.code < 500 and exc.code != 429:
                    self.counts.add("dropped", "rejected")
                    self.say(f"perftop: push: {config.url} refused a profile: {problem}")
                    return
            except (OSError, ValueError) as exc:  # refused, unreachable, timed out, reset
                self.counts.add("failed_requests")
                problem = str(getattr(exc, "reason", "") or exc) or type(exc).__name__
        self.counts.add("dropped", "failed")
        if not self._server_down:
            self._server_down = True
            self.say(
                f"perftop: push: {config.url} did not take a profile after "
                f"{max(attempts, 1)} tries ({problem}); dropped profiles are counted in "
                "perftop_push_dropped_profiles_total"
            )

    # --- metrics --------------------------------------------------------------------------

    def collect(self) -> Iterable[Metric]:
        return list(self._metrics())

    def _metrics(self) -> Iterator[Metric]:
        c = self.counts
        with c.lock:
            sent, failed, errors = c.sent, c.failed_requests, c.capture_errors
            dropped = dict(c.dropped)
        with self._ready:
            queued = len(self._queue)
        yield CounterMetricFamily(
            "perftop_push_sent_profiles", "Profiles the push server took.", value=sent
        )
        drops = CounterMetricFamily(
            "perftop_push_dropped_profiles",
            "Profiles dropped: the queue was full, every try failed, or the server refused it.",
            labels=["reason"],
        )
        for reason, count in dropped.items():
            drops.add_metric([reason], count)
        yield drops
        yield CounterMetricFamily(
            "perftop_push_failed_requests", "Ingest requests that failed (tries).", value=failed
        )
        yield CounterMetricFamily(
            "perftop_push_capture_errors",
            "Times a target could not be found or profiled.",
            value=errors,
        )
        yield GaugeMetricFamily(
            "perftop_push_queued_profiles", "Profiles waiting to be sent.", value=queued
        )
        yield GaugeMetricFamily(
            "perftop_push_queue_capacity",
            "Profiles the queue holds before it drops the oldest.",
            value=self.config.queue_size,
        )
