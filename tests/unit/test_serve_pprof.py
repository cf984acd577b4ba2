"""`perftop serve`'s `/debug/pprof/profile`: a pprof profile of the process asked for, one at a
time per target, a one-line refusal for what cannot be, and `go tool pprof` reads what it serves.
The backend is scripted here; tests/e2e/test_pprof_serve.py samples a real Python with py-spy."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from perftop.commands.serve import Listen, PerftopCollector, make_registry, start_server
from perftop.commands.serve_pprof import (
    ProfileEndpoint,
    Target,
    TargetError,
    parse_target,
    resolve,
)
from perftop.formats.pprof import loads_pprof
from perftop.profiling.backend import (
    NoSuchProcess,
    PermissionDenied,
    ProfilerError,
    ProfilerOptions,
)
from perftop.profiling.session import ProfileSession
from perftop.system.source import FakeSource
from tests.unit.test_cli_files import ScriptedBackend
from tests.waiting import wait_until

GO = shutil.which("go")


class Gate:
    """A session maker whose sessions sample until the test opens the gate (or time runs out)."""

    def __init__(self, refuse: ProfilerError | None = None) -> None:
        self.open = threading.Event()
        self.started: list[int] = []
        self.refuse = refuse

    def __call__(self, pid: int, options: ProfilerOptions) -> ProfileSession:
        if self.refuse is not None:
            raise self.refuse
        self.started.append(pid)
        gate = self.open

        class Held(ScriptedBackend):
            @property
            def running(self) -> bool:
                return not gate.is_set() and super().running

        return ProfileSession(pid, options, lambda: Held(every=0.02), command="python app.py")


def pids_of(target: Target) -> int:
    if target.kind == "pid":
        return int(target.value)
    raise TargetError(404, f"no process named {target.value!r}")


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[int, ProfileEndpoint]]]:
    servers: list[tuple[object, threading.Thread, ProfileEndpoint]] = []

    def start(
        maker: Callable[..., ProfileSession], **kwargs: object
    ) -> tuple[int, ProfileEndpoint]:
        endpoint = ProfileEndpoint(
            ProfilerOptions(),
            session_maker=maker,
            resolver=pids_of,
            **kwargs,  # type: ignore[arg-type]
        )
        cpu = SimpleNamespace(cpu_times=lambda percpu=False: [])
        registry = make_registry(PerftopCollector(FakeSource(), psutil_module=cpu))
        srv, thread = start_server(Listen("127.0.0.1", 0), registry, endpoint)
        servers.append((srv, thread, endpoint))
        return srv.server_address[1], endpoint

    yield start
    for srv, thread, endpoint in servers:
        endpoint.stop.set()
        srv.shutdown()  # type: ignore[attr-defined]
        srv.server_close()  # type: ignore[attr-defined]
        thread.join(timeout=5)


def get(port: int, query: str, timeout: float = 30.0) -> tuple[int, bytes, dict[str, str]]:
    url = f"http://127.0.0.1:{port}/debug/pprof/profile?{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read(), dict(reply.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


# --- targets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("42", Target("pid", "42")),
        ("pid:42", Target("pid", "42")),
        ("name:postgres", Target("name", "postgres")),
        ("cgroup:/system.slice/x.service", Target("cgroup", "/system.slice/x.service")),
    ],
)
def test_parse_target(text: str, target: Target) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["", "0", "pid:x", "host:a", "name:", "cgroup:/a/../../etc"])
def test_bad_targets_are_400(text: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert info.value.status == 400


def fake_proc(root: Path, pid: int, comm: str, argv0: str, start: int, ppid: int = 1) -> None:
    d = root / str(pid)
    d.mkdir(parents=True)
    (d / "comm").write_text(comm + "\n")
    (d / "cmdline").write_bytes(argv0.encode() + b"\0--flag\0")
    fields = ["S", str(ppid)] + ["0"] * 17 + [str(start)] + ["0"] * 10
    (d / "stat").write_text(f"{pid} ({comm}) " + " ".join(fields) + "\n")


def test_a_name_means_the_oldest_process_of_that_name(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    fake_proc(proc, 300, "gunicorn", "/usr/bin/gunicorn", start=900)
    fake_proc(proc, 200, "gunicorn", "/usr/bin/gunicorn", start=100)  # the master
    fake_proc(proc, 100, "python3", "/srv/venv/bin/celery", start=50)
    fake_proc(proc, 400, "a-very-long-com", "/opt/a-very-long-command-name", start=10)
    assert resolve(Target("name", "gunicorn"), str(proc)) == 200
    assert resolve(Target("name", "celery"), str(proc)) == 100  # by argv[0]'s base name
    assert resolve(Target("name", "a-very-long-command-name"), str(proc)) == 400
    assert resolve(Target("pid", "300"), str(proc)) == 300
    with pytest.raises(TargetError, match="no process named 'nginx'") as info:
        resolve(Target("name", "nginx"), str(proc))
    assert info.value.status == 404
    with pytest.raises(TargetError, match="no process with PID 9"):
        resolve(Target("pid", "9"), str(proc))


def test_a_cgroup_means_the_oldest_process_in_it(tmp_path: Path) -> None:
    proc, cgroups = tmp_path / "proc", tmp_path / "cgroup"
    fake_proc(proc, 300, "worker", "worker", start=900)
    fake_proc(proc, 200, "main", "main", start=100)
    service = cgroups / "system.slice" / "shop.service"
    service.mkdir(parents=True)
    (service / "cgroup.procs").write_text("300\n200\n")
    (cgroups / "empty.slice").mkdir()
    (cgroups / "empty.slice" / "cgroup.procs").write_text("")
    assert resolve(Target("cgroup", "/system.slice/shop.service"), str(proc), str(cgroups)) == 200
    with pytest.raises(TargetError, match="holds no process"):
        resolve(Target("cgroup", "empty.slice"), str(proc), str(cgroups))
    with pytest.raises(TargetError, match="no cgroup"):
        resolve(Target("cgroup", "nope.slice"), str(proc), str(cgroups))


def test_perftop_and_its_profilers_are_never_a_target_by_name(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    me = os.getpid()
    fake_proc(proc, me, "perftop", "/usr/bin/perftop", start=10)
    fake_proc(proc, me + 1, "py-spy", "py-spy", start=20, ppid=me)
    for name in ("perftop", "py-spy"):
        with pytest.raises(TargetError, match="no process named"):
            resolve(Target("name", name), str(proc))


# --- the endpoint ---------------------------------------------------------------------------


def test_a_profile_is_pprof_of_the_target(
    serve: Callable[..., tuple[int, ProfileEndpoint]],
) -> None:
    gate = Gate()
    port, _ = serve(gate)
    status, body, headers = get(port, "seconds=0.5&pid=4242")
    assert status == 200, body
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Perftop-Pid"] == "4242"
    profile = loads_pprof(body, "served")
    assert profile.total_samples > 0 and profile.metadata["pid"] == "4242"
    assert {f.name for f in profile.frames} == {"main", "work"}
    assert float(profile.metadata["duration_s"]) >= 0.5
    assert gate.started == [4242]


def test_one_profile_per_target_at_a_time(
    serve: Callable[..., tuple[int, ProfileEndpoint]],
) -> None:
    gate = Gate()
    port, _ = serve(gate, max_captures=2)
    results: dict[str, int] = {}
    first = threading.Thread(target=lambda: results.update(a=get(port, "seconds=60&pid=1")[0]))
    first.start()
    wait_until(lambda: gate.started == [1], 10, "the first capture to start")
    status, body, _ = get(port, "seconds=1&pid=1")
    assert status == 409 and body.decode().count("\n") == 1 and b"PID 1" in body
    second = threading.Thread(target=lambda: results.update(b=get(port, "seconds=60&pid=2")[0]))
    second.start()
    wait_until(lambda: gate.started == [1, 2], 10, "the second capture to start")
    status, body, headers = get(port, "seconds=1&pid=3")
    assert status == 429 and headers["Retry-After"] == "10"
    # Metrics scrapes are still answered while two profiles are taken.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        assert b"perftop_cpu_busy_percent" in reply.read()
    gate.open.set()
    first.join(10)
    second.join(10)
    assert results == {"a": 200, "b": 200}
    assert get(port, "seconds=0.5&pid=1")[0] == 200  # free again


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("seconds=301&pid=1", 400, "out of range"),
        ("seconds=abc&pid=1", 400, "out of range"),
        ("seconds=1", 400, "say which process"),
        ("seconds=1&pid=1&name=x", 400, "say which process"),
        ("seconds=1&name=nginx", 404, "no process named 'nginx'"),
        ("seconds=1&pid=-4", 400, "bad PID"),
    ],
)
def test_refusals_are_one_line(
    serve: Callable[..., tuple[int, ProfileEndpoint]], query: str, status: int, words: str
) -> None:
    gate = Gate()
    port, _ = serve(gate)
    got, body, headers = get(port, query)
    assert got == status and words in body.decode()
    assert body.decode().count("\n") == 1 and headers["Content-Type"].startswith("text/plain")
    assert gate.started == []


@pytest.mark.parametrize(
    ("refusal", "status"),
    [(NoSuchProcess("no process with PID 7"), 404), (PermissionDenied("run as root"), 403)],
)
def test_a_profilers_refusal_keeps_its_words(
    serve: Callable[..., tuple[int, ProfileEndpoint]], refusal: ProfilerError, status: int
) -> None:
    port, _ = serve(Gate(refuse=refusal))
    got, body, _ = get(port, "seconds=1&pid=7")
    assert got == status and body.decode() == refusal.message + "\n"


def test_other_paths_are_not_profiles(serve: Callable[..., tuple[int, ProfileEndpoint]]) -> None:
    port, _ = serve(Gate())
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/debug/pprof/heap", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404 and b"/debug/pprof/profile" in exc.read()
    else:
        pytest.fail("the heap profile is not served")


@pytest.mark.skipif(GO is None, reason="go is not installed (Debian's golang-go)")
def test_go_tool_pprof_reads_what_the_endpoint_serves(
    serve: Callable[..., tuple[int, ProfileEndpoint]], tmp_path: Path
) -> None:
    assert GO is not None
    port, _ = serve(Gate())
    url = f"http://127.0.0.1:{port}/debug/pprof/profile?seconds=1&pid=4242"
    done = subprocess.run(
        [GO, "tool", "pprof", "-top", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path), "PPROF_TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    flat = {row[-1]: row[0] for row in rows if len(row) == 6 and row[1].endswith("%")}
    assert set(flat) == {"work", "main"} and flat["main"] == "0", done.stdout
    assert "pid: 4242" in done.stdout and "Type: cpu" in done.stdout
