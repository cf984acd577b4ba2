"""The real `perftop serve` profiling a real Python process with py-spy, pulled by `go tool pprof`
over HTTP as a Go program's /debug/pprof/profile would be, by PID and by name; and pushing the
same process's profiles to a local ingest server while the metrics show the push's figures."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from perftop.formats.pprof import loads_pprof
from tests.e2e.harness import log_tail, perftop_argv
from tests.e2e.targets import LIFELINE, TARGET, Target, pyspy_of
from tests.waiting import wait_until

GO = shutil.which("go")
pytestmark = pytest.mark.skipif(GO is None, reason="go is not installed (Debian's golang-go)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return bytes(reply.read())


def serve(tmp_path: Path, *args: str) -> Iterator[int]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            perftop_argv("serve", "--listen", f"127.0.0.1:{port}", *args),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def up() -> bool:
            assert proc.poll() is None, log_tail(log)
            try:
                return bool(get(f"http://127.0.0.1:{port}/metrics"))
            except OSError:
                return False

        wait_until(up, 60, "perftop serve to answer")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.returncode == 0, log_tail(log)


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    yield from serve(tmp_path)


def go_top(url: str, tmp_path: Path) -> str:
    assert GO is not None
    done = subprocess.run(
        [GO, "tool", "pprof", "-top", "-nodecount=100", url],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(tmp_path), "PPROF_TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_go_tool_pprof_pulls_a_profile_of_a_python_process(
    port: int, target: Target, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{port}/debug/pprof/profile?seconds=3"
    out = go_top(f"{base}&pid={target.pid}", tmp_path)
    assert "perftop_e2e_hot_function" in out and "perftop_e2e_leaf" in out, out
    assert f"pid: {target.pid}" in out and "source: py-spy" in out and "Type: cpu" in out


def test_a_process_is_found_by_its_name(port: int, tmp_path: Path) -> None:
    """A Python run through a link named like a service's program (as a console script
    runs): its comm and argv[0] are that name, which `name=` matches."""
    link = tmp_path / "perftop-e2e-svc"
    link.symlink_to(sys.executable)
    script = tmp_path / "svc.py"
    script.write_text(LIFELINE + TARGET)
    proc = subprocess.Popen([str(link), script.name], cwd=tmp_path, stdin=subprocess.PIPE)
    named = Target(proc, script)
    try:
        named.wait_busy()
        base = f"http://127.0.0.1:{port}/debug/pprof/profile?seconds=2"
        out = go_top(f"{base}&name=perftop-e2e-svc", tmp_path)
        assert "perftop_e2e_hot_function" in out and f"pid: {named.pid}" in out, out
    finally:
        named.end()


def test_a_second_profile_of_the_same_process_waits_its_turn(port: int, target: Target) -> None:
    url = f"http://127.0.0.1:{port}/debug/pprof/profile?seconds=4&pid={target.pid}"
    first: list[bytes] = []
    thread = threading.Thread(target=lambda: first.append(get_slow(url)))
    thread.start()
    try:
        # Once py-spy samples it for the first (4 s long), a second is refused.
        wait_until(lambda: pyspy_of(target.pid), 30, "py-spy sampling the target")
        with pytest.raises(urllib.error.HTTPError) as info:
            get(url)
        assert info.value.code == 409
    finally:
        thread.join(30)
    profile = loads_pprof(first[0], "first")
    assert any(f.name == "perftop_e2e_hot_function" for f in profile.frames)


def get_slow(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as reply:
        return bytes(reply.read())


class Ingest(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        Ingest.received.append((query, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_push_sends_the_process_profiles_and_counts_them(target: Target, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Ingest.received.clear()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        args = ("--push", url, "--app", "e2e", "--label", "env=test", "--push-every", "2s")
        for port in serve(tmp_path, *args, "--target", str(target.pid)):
            wait_until(lambda: Ingest.received, 60, "a profile pushed")
            metrics = get(f"http://127.0.0.1:{port}/metrics").decode()
            assert "perftop_push_sent_profiles_total" in metrics
    finally:
        server.shutdown()
        server.server_close()
    query, body = Ingest.received[0]
    assert query["name"] == f"e2e{{env=test,pid={target.pid}}}" and query["format"] == "pprof"
    profile = loads_pprof(body, "pushed")
    assert any(f.name == "perftop_e2e_hot_function" for f in profile.frames)
