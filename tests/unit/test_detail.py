"""read_detail: a live child's detail, a gone PID, denied fields, container guesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from perftop.system.detail import guess_container, read_detail
from perftop.system.errors import ProcessGone


@pytest.fixture
def child(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    code = "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n"
    code += "f = open(__import__('sys').argv[1], 'w')\nprint('ready', flush=True)\ntime.sleep(60)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "held.txt")],
        cwd=tmp_path,
        env={**os.environ, "PERFTOP_DETAIL_TEST": "yes"},
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    yield proc
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_detail_of_own_child(child: subprocess.Popen[bytes], tmp_path: Path) -> None:
    detail = read_detail(child.pid)
    assert detail.pid == child.pid
    assert detail.cmdline is not None and detail.cmdline[0] == sys.executable
    assert detail.cmdline[-1] == str(tmp_path / "held.txt")
    assert detail.cwd == str(tmp_path)
    assert detail.environ is not None and detail.environ["PERFTOP_DETAIL_TEST"] == "yes"
    assert detail.user == psutil.Process().username()
    assert detail.status in ("sleeping", "running")
    assert detail.create_time == pytest.approx(time.time(), abs=60)
    assert detail.num_threads and detail.num_threads >= 1
    assert detail.threads and detail.threads[0].tid == child.pid
    assert detail.memory is not None and detail.memory.rss > 0
    assert detail.cpu_times is not None and detail.ctx_switches is not None
    assert detail.nice == psutil.Process(child.pid).nice()
    assert detail.open_files is not None and str(tmp_path / "held.txt") in detail.open_files
    assert detail.connections is not None
    listening = [c for c in detail.connections if c.status == psutil.CONN_LISTEN]
    assert listening and listening[0].laddr.startswith("127.0.0.1:") and listening[0].raddr == ""
    if sys.platform.startswith("linux"):
        assert detail.io is not None and detail.cgroup is not None
    assert detail.denied == ()


def test_detail_of_a_gone_pid() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with pytest.raises(ProcessGone) as info:
        read_detail(proc.pid)
    assert str(proc.pid) in info.value.message


class DeniedProcess:
    """A psutil.Process whose private parts are refused, as for another user's process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._real = psutil.Process(pid)

    def oneshot(self) -> Any:
        return self._real.oneshot()

    def __getattr__(self, name: str) -> Any:
        if name in ("environ", "cwd", "open_files", "io_counters", "net_connections", "exe"):

            def refuse(*_args: object) -> Any:
                raise psutil.AccessDenied(self.pid)

            return refuse
        return getattr(self._real, name)


class DeniedPsutil:
    AccessDenied = psutil.AccessDenied
    NoSuchProcess = psutil.NoSuchProcess
    ZombieProcess = psutil.ZombieProcess
    Error = psutil.Error
    Process = DeniedProcess


def test_denied_fields_are_none_and_listed() -> None:
    detail = read_detail(os.getpid(), psutil_module=DeniedPsutil)
    assert set(detail.denied) == {"environ", "cwd", "open_files", "io", "connections", "exe"}
    assert detail.environ is None and detail.cwd is None and detail.io is None
    assert detail.name == psutil.Process().name()  # what is allowed is still read
    assert detail.cmdline is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0::/system.slice/docker-3f2a.scope\n", "docker"),
        ("0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-ab.scope\n", "kubernetes"),
        ("12:pids:/kubepods/besteffort/pod1/docker-ab\n", "kubernetes"),
        ("0::/machine.slice/libpod-1234.scope/container\n", "podman"),
        ("0::/lxc.payload.web/\n", "lxc"),
        ("0::/user.slice/user-1000.slice/session-2.scope\n", None),
        ("", None),
        (None, None),
    ],
)
def test_guess_container(text: str | None, expected: str | None) -> None:
    assert guess_container(text) == expected
