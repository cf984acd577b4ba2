"""`perftop serve --push`: profiles sent to a Pyroscope-style ingest API, here a local HTTP server
that speaks it; when that server is down or slow, the queue stays bounded, tries are bounded,
and what is dropped is counted and exported as metrics."""

from __future__ import annotations

import gzip
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from perftop import runmode
from perftop.commands import serve_push
from perftop.commands.serve_pprof import Target, TargetError
from perftop.commands.serve_push import PushConfig, Pusher, PushError, parse_label
from perftop.formats.pprof import loads_pprof
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import ProfileSession
from tests.unit.test_cli_files import ScriptedBackend
from tests.waiting import wait_until


class Ingest:
    """A local server for POST /ingest: records each request; `mode` makes it fail or stall."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes, str]] = []
        self.mode = "ok"  # "ok", "slow" (answers after the client gave up), "reject", "error"
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.hits += 1
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                url = urllib.parse.urlsplit(self.path)
                if owner.mode == "slow":
                    time.sleep(1.0)  # the client has given up by now: nothing is taken
                    self.send_response(200)
                elif url.path != "/ingest" or owner.mode == "reject":
                    self.send_response(400)
                elif owner.mode == "error":
                    self.send_response(503)
                else:
                    query = dict(urllib.parse.parse_qsl(url.query))
                    owner.received.append((query, body, self.headers["Content-Type"]))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A slow answer goes to a client that gave up: the broken pipe is expected.
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    server = Ingest()
    yield server
    server.close()


def closed_port() -> str:
    """A loopback URL nothing listens on: a server that is down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"


def maker(every: float = 0.02) -> Callable[[int, ProfilerOptions], ProfileSession]:
    def make(pid: int, options: ProfilerOptions) -> ProfileSession:
        return ProfileSession(pid, options, lambda: ScriptedBackend(every=every), command="app")

    return make


def pusher(config: PushConfig, lines: list[str], **kwargs: Any) -> Pusher:
    kwargs.setdefault("session_maker", maker())
    kwargs.setdefault("resolver", lambda t: int(t.value) if t.kind == "pid" else 4242)
    p = Pusher(config, ProfilerOptions(), say=lines.append, **kwargs)
    return p


def config(server: str, **kwargs: Any) -> PushConfig:
    fields: dict[str, Any] = {
        "url": server,
        "app": "shop",
        "targets": (Target("pid", "4242"),),
        "labels": (("env", "test"),),
        "every_s": 1.0,
        "timeout_s": 0.3,
        "backoff_s": 0.05,
    }
    return PushConfig(**(fields | kwargs))


def metrics(p: Pusher) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(p)
    out = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_profiles_reach_the_ingest_api_every_window(ingest: Ingest) -> None:
    lines: list[str] = []
    p = pusher(config(ingest.url), lines)
    p.start()
    try:
        wait_until(lambda: len(ingest.received) >= 2, 20, "two windows pushed")
    finally:
        p.stop()
    query, body, content_type = ingest.received[0]
    assert query["name"] == "shop{env=test,pid=4242}"
    assert query["format"] == "pprof" and query["spyName"] == "perftop"
    assert int(query["until"]) - int(query["from"]) in (1, 2)
    assert content_type == "application/octet-stream"
    profile = loads_pprof(body, "pushed")
    assert profile.total_samples > 0 and {f.name for f in profile.frames} == {"main", "work"}
    # Windows follow each other: one session, reset between them, no gap.
    second = ingest.received[1][0]
    assert int(second["from"]) >= int(query["from"])
    assert metrics(p)["perftop_push_sent_profiles_total"] >= 2
    assert lines == []


def test_folded_is_the_other_format(ingest: Ingest) -> None:
    p = pusher(config(ingest.url, format="folded"), [])
    p.start()
    try:
        wait_until(lambda: ingest.received, 20, "a window pushed")
    finally:
        p.stop()
    query, body, content_type = ingest.received[0]
    assert query["format"] == "folded" and query["sampleRate"] == "100"
    assert query["units"] == "samples" and content_type == "text/plain"
    assert b"main (app.py:1);work (app.py:5) " in body


def test_a_server_that_is_down_costs_a_bounded_queue_and_counted_drops() -> None:
    lines: list[str] = []
    p = pusher(config(closed_port(), every_s=1.0, queue_size=2, attempts=2), lines)
    p.start()
    try:
        wait_until(
            lambda: metrics(p)['perftop_push_dropped_profiles_total{reason="failed"}'] >= 2,
            30,
            "two windows dropped after their tries",
        )
    finally:
        p.stop()
    figures = metrics(p)
    assert figures["perftop_push_sent_profiles_total"] == 0
    assert figures["perftop_push_failed_requests_total"] >= 4  # two tries each
    assert figures["perftop_push_queued_profiles"] <= 2
    assert figures["perftop_push_queue_capacity"] == 2
    # Said once, not once a window.
    assert len([line for line in lines if "did not take a profile" in line]) == 1


def test_a_slow_server_fills_the_queue_and_the_oldest_go(ingest: Ingest) -> None:
    ingest.mode = "slow"  # answers after a second; the client waits 0.3 s
    p = pusher(config(ingest.url, every_s=1.0, queue_size=1, attempts=3, backoff_s=0.5), [])
    p.start()
    try:
        wait_until(
            lambda: metrics(p)['perftop_push_dropped_profiles_total{reason="queue_full"}'] >= 1,
            30,
            "a window dropped from the full queue",
        )
    finally:
        p.stop(timeout=10)
    assert metrics(p)["perftop_push_queued_profiles"] <= 1
    assert ingest.received == []
    # Back to normal: the next window goes through, and that is said.
    ingest.mode = "ok"
    lines: list[str] = []
    p = pusher(config(ingest.url, every_s=1.0), lines)
    p.start()
    try:
        wait_until(lambda: ingest.received, 20, "a window pushed")
    finally:
        p.stop()


def test_a_refusal_is_not_retried(ingest: Ingest) -> None:
    ingest.mode = "reject"
    lines: list[str] = []
    p = pusher(config(ingest.url, attempts=3), lines)
    p.start()
    try:
        wait_until(
            lambda: metrics(p)['perftop_push_dropped_profiles_total{reason="rejected"}'] >= 1,
            20,
            "a window rejected",
        )
    finally:
        p.stop()
    figures = metrics(p)
    assert (
        figures["perftop_push_failed_requests_total"]
        == figures['perftop_push_dropped_profiles_total{reason="rejected"}']
    )
    assert any("HTTP 400" in line for line in lines)


def test_a_target_that_is_gone_is_looked_for_again(ingest: Ingest) -> None:
    found = threading.Event()

    def resolver(target: Target) -> int:
        if not found.is_set():
            raise TargetError(404, "no process named 'shop'")
        return 77

    lines: list[str] = []
    p = pusher(config(ingest.url, targets=(Target("name", "shop"),)), lines, resolver=resolver)
    p.start()
    try:
        wait_until(lambda: lines, 10, "the missing target said")
        assert metrics(p)["perftop_push_capture_errors_total"] == 1
        found.set()
        wait_until(lambda: ingest.received, 20, "a window pushed once it is there")
    finally:
        p.stop()
    assert lines == ["perftop: push: name shop: no process named 'shop'; trying again every window"]
    assert ingest.received[0][0]["name"] == "shop{env=test,process=shop}"


def test_stopping_is_bounded_even_with_the_server_down() -> None:
    p = pusher(config(closed_port(), every_s=1.0, attempts=3, backoff_s=5.0), [])
    p.start()
    time.sleep(0.2)  # let the sampler start; what is measured is the stop below
    started = time.monotonic()
    p.stop(timeout=10)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"url": "pyroscope:4040"}, "bad --push"),
        ({"app": "my app"}, "bad --app"),
        ({"targets": ()}, "needs a process"),
        ({"every_s": 0.5}, "out of range"),
        ({"labels": (("a", "1"), ("a", "2"))}, "each key once"),
    ],
)
def test_bad_configs_are_one_line(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(PushError, match=words):
        config("http://127.0.0.1:4040", **fields)


@pytest.mark.parametrize("text", ["env", "=x", "env=", "env=a,b", "env=a}", "1x=y", "k=a b"])
def test_bad_labels(text: str) -> None:
    with pytest.raises(PushError):
        parse_label(text)


def test_labels_and_the_default_window_agree_with_the_command_line() -> None:
    assert parse_label("env=prod") == ("env", "prod")
    assert runmode.PushTo._field_defaults["every_s"] == serve_push.DEFAULT_EVERY_S


def test_the_body_is_what_pprof_readers_take(ingest: Ingest) -> None:
    p = pusher(config(ingest.url), [])
    p.start()
    try:
        wait_until(lambda: ingest.received, 20, "a window pushed")
    finally:
        p.stop()
    body = ingest.received[0][1]
    assert body[:2] == b"\x1f\x8b" and gzip.decompress(body)
