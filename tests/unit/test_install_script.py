"""The README's install command works as root where sudo is not installed, and through sudo
for a user: scripts/install.sh run against stub commands that record what they were asked."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\necho {name} "$@" >> "$LOG"\n{body}\n')
    path.chmod(0o755)


def run_install(tmp_path: Path, uid: int, with_sudo: bool) -> tuple[int, list[str]]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "install.sh", repo / "scripts" / "install.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    log.touch()
    stub(bin_dir, "id", f"echo {uid}")
    stub(bin_dir, "apt-get", "exit 0")
    if with_sudo:
        stub(bin_dir, "sudo", '"$@"')
    # python3 as on a fresh Debian: no venv module until python3-venv is installed; then a
    # venv whose python (pip) succeeds.
    stub(
        bin_dir,
        "python3",
        'case "$1" in -c) exit 1;; -m) mkdir -p .venv/bin; '
        'printf \'#!/bin/sh\\necho venv-python "$@" >> "$LOG"\\n\' > .venv/bin/python; '
        "chmod +x .venv/bin/python;; esac",
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(repo / "scripts" / "install.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, log.read_text().splitlines()


@pytest.mark.skipif(os.name != "posix", reason="a POSIX shell script")
def test_as_root_without_sudo(tmp_path: Path) -> None:
    code, calls = run_install(tmp_path, uid=0, with_sudo=False)
    assert code == 0, calls
    assert any(c.startswith("apt-get install") and "python3-venv" in c for c in calls), calls
    assert not any(c.startswith("sudo") for c in calls)
    assert any(c.startswith("venv-python -m pip install") for c in calls), calls


def test_as_a_user_through_sudo(tmp_path: Path) -> None:
    code, calls = run_install(tmp_path, uid=1000, with_sudo=True)
    assert code == 0, calls
    assert any(c.startswith("sudo apt-get install") for c in calls), calls


def test_the_readme_gives_that_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/install.sh && .venv/bin/perftop" in readme
    block = readme.split("## Install and run", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert not block.strip().startswith("sudo"), "root shells often have no sudo"
