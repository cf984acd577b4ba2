"""formats/atomic.py: replacing a file never follows a link nor copies its permissions;
creating one never overwrites anything, and a failure leaves nothing behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from perftop.formats import atomic
from perftop.formats.atomic import write_atomic, write_new
from perftop.formats.export import write_profile
from perftop.formats.folded import loads_folded


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_an_export_over_a_link_to_a_shared_file_is_owner_only(tmp_path: Path) -> None:
    shared, link = tmp_path / "shared.txt", tmp_path / "out.folded"
    shared.write_text("theirs\n")
    shared.chmod(0o644)
    link.symlink_to(shared)
    write_profile(loads_folded("a;b 1\n"), link)
    assert not link.is_symlink() and mode_of(link) == 0o600  # came out 0644
    assert shared.read_text() == "theirs\n" and mode_of(shared) == 0o644  # not followed


def test_an_existing_file_keeps_its_permissions_but_not_special_bits(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o4640)
    write_atomic(path, "new")
    assert path.read_text() == "new" and mode_of(path) == 0o640


def test_write_new_creates_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new.speedscope.json"
    old = os.umask(0)
    try:
        write_new(path, "data")
    finally:
        os.umask(old)
    assert path.read_text() == "data" and mode_of(path) == 0o600
    assert os.listdir(tmp_path) == ["new.speedscope.json"]  # no temporary left


@pytest.mark.parametrize("kind", ["file", "link", "dangling link", "directory"])
def test_write_new_never_overwrites_nor_follows(tmp_path: Path, kind: str) -> None:
    path, target = tmp_path / "out.txt", tmp_path / "target"
    if kind == "file":
        path.write_text("theirs")
    elif kind == "link":
        target.write_text("theirs")
        path.symlink_to(target)
    elif kind == "dangling link":
        path.symlink_to(target)
    else:
        path.mkdir()
    with pytest.raises(FileExistsError):
        write_new(path, "ours")
    if kind == "file":
        assert path.read_text() == "theirs"
    elif kind == "link":
        assert target.read_text() == "theirs" and path.is_symlink()
    elif kind == "dangling link":
        assert not target.exists() and path.is_symlink()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_write_new_loses_the_race_without_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Something appears between the check and the link: the link refuses to replace it.
    path = tmp_path / "out.txt"
    real_link = os.link

    def racing_link(src: str, dst: str, **kw: bool) -> None:
        Path(dst).write_text("theirs")
        real_link(src, dst, **kw)

    monkeypatch.setattr(atomic.os, "link", racing_link)
    with pytest.raises(FileExistsError):
        write_new(path, "ours")
    assert path.read_text() == "theirs" and os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("failure", ["full disk", "no hard links"])
def test_write_new_on_a_full_disk_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    path = tmp_path / "out.txt"
    if failure == "full disk":

        def no_space(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(atomic.os, "fsync", no_space)
    else:

        def refuse(src: str, dst: str, **kw: bool) -> None:
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))

        monkeypatch.setattr(atomic.os, "link", refuse)
    if failure == "full disk":
        with pytest.raises(OSError, match="No space"):
            write_new(path, "ours")
        assert os.listdir(tmp_path) == []
    else:
        write_new(path, "ours")  # written in place, exclusively, where links are refused
        assert path.read_text() == "ours" and mode_of(path) == 0o600
        assert os.listdir(tmp_path) == ["out.txt"]
