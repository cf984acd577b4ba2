"""perftop over a real SSH session, as it is meant to be used (issue 7).

The fixture starts Debian's OpenSSH server on a free loopback port with a throw-away host key,
user key and configuration, all in tmp_path (it needs root, for sshd). tmux runs `ssh -tt`
into it at 80x24 with TERM=xterm and with TERM=linux, and reads the screen. A dropped session
(the ssh client killed) must end perftop and its py-spy: the hang-up path, for real.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.e2e.harness import Tmux, perftop_argv, until_sized, wait_until
from tests.e2e.targets import pyspy_of, start_target, wait_gone

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
REPO = Path(__file__).resolve().parents[2]


def _why_not() -> str:
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh") is None:
        return "openssh-server and openssh-client are not installed (scripts/test.sh does it)"
    if os.geteuid() != 0:
        return "sshd needs root"
    return ""


pytestmark = [pytest.mark.skipif(bool(_why_not()), reason=_why_not())]


@dataclass
class Sshd:
    proc: subprocess.Popen[bytes]
    port: int
    key: Path

    def command(self, remote: str, term: str) -> str:
        """A pane command (80x24): ssh into the server with `term` and run `remote` there."""
        ssh = [
            "ssh",
            "-tt",
            "-i",
            str(self.key),
            "-p",
            str(self.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "root@127.0.0.1",
            remote,
        ]
        command = f"exec env TERM={term} " + " ".join(shlex.quote(a) for a in ssh)
        return "bash -c " + shlex.quote(until_sized(80, 24) + command)

    def perftops(self) -> list[psutil.Process]:
        found = []
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process(self.proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if "perftop" in proc.cmdline():
                        found.append(proc)
        return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host_key", "user_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True
        )
    authorized = keys / "authorized_keys"
    authorized.write_text((keys / "user_key.pub").read_text())
    authorized.chmod(0o600)
    port = _free_port()
    config = keys / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {keys / 'host_key'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PidFile none\n"
        "PermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PrintMotd no\n"
        "PrintLastLog no\n"
    )
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation directory
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "sshd.log", "wb"),  # noqa: SIM115 - the child keeps it
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {(tmp_path / 'sshd.log').read_text()}")
            time.sleep(0.1)
        yield Sshd(proc, port, keys / "user_key")
    finally:
        for child in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def small() -> Iterator[Tmux]:
    session = Tmux(width=80, height=24)
    yield session
    session.kill()


def remote_perftop(*args: str) -> str:
    argv = perftop_argv(*args)
    return f"cd {shlex.quote(str(REPO))} && exec " + " ".join(shlex.quote(a) for a in argv)


def wait_no_perftop(sshd: Sshd, timeout: float = 15.0) -> None:
    wait_until(lambda: not sshd.perftops(), "perftop to end with its SSH session", timeout)


@pytest.mark.parametrize("term", ["xterm", "linux"])
def test_dashboard_over_ssh_at_80x24(sshd: Sshd, small: Tmux, term: str) -> None:
    small.start(sshd.command(remote_perftop(), term))
    screen = small.wait_for(lambda s: "PID USER" in s and "cpu" in s and "Mem" in s, 30)
    lines = screen.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    (perftop,) = sshd.perftops()
    assert perftop.environ().get("TERM") == term, "the session's TERM reached perftop"
    small.wait_for(lambda s: "tasks" in s)  # the status line: a tick went through
    assert "Traceback" not in small.screen()
    small.keys("q")
    wait_no_perftop(sshd)


def test_a_dropped_ssh_session_ends_perftop_and_pyspy(
    sshd: Sshd, small: Tmux, tmp_path: Path
) -> None:
    target = start_target(tmp_path, name="t.py")
    try:
        small.start(sshd.command(remote_perftop("--pid", str(target.pid)), "xterm"))
        small.wait_for(lambda s: "LIVE" in s and "perftop_e2e" in s, 30)
        assert pyspy_of(target.pid)
        client = psutil.Process(small.pane_pid())  # env exec'd ssh
        assert client.name() == "ssh"
        client.kill()  # the connection drops: sshd hangs up the session's terminal
        wait_gone(target.pid)
        wait_no_perftop(sshd)
        assert target.poll() is None, "the target itself is left alone"
    finally:
        target.end()
