"""Claiming a path for a file perftop keeps open and writes in place (a recording, which
SQLite opens by name): never through a symbolic link, never a file that is not ours.

`claim` creates a new file exclusively and owner-only, or vets an existing one by `lstat`
alone; the caller opens it by name and compares `identity` afterwards, so a link or another
file swapped in meanwhile is noticed before anything is written; `unclaim` removes what a
failed open left of a file `claim` created (a full disk left a 0-byte file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from perftop.formats.errors import FormatError

__all__ = ["claim", "identity", "side_file_links", "unclaim"]

# SQLite's side files, created next to the database with its mode.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def identity(path: str) -> tuple[int, int]:
    """(device, inode) of what is at `path`; (-1, -1) for a symbolic link."""
    st = os.lstat(path)
    return (-1, -1) if stat.S_ISLNK(st.st_mode) else (st.st_dev, st.st_ino)


def claim(path: str, not_ours: str) -> tuple[tuple[int, int], bool]:
    """(identity of the file to open, whether it was created here).

    A new file is created with O_EXCL and O_NOFOLLOW, mode 0600 (command lines can carry
    secrets): as root, following a dangling link created a file under /etc. An existing one
    must be a regular, non-empty file (else FormatError `not_ours`); the caller checks its
    content. Only stat, never open an existing file: closing a descriptor drops every POSIX
    lock this process holds on it, SQLite's included.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)  # FileExistsError if another process got there
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        return (st.st_dev, st.st_ino), True
    if stat.S_ISLNK(st.st_mode):
        raise FormatError(path, "is a symbolic link; name the file itself")
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        raise FormatError(path, not_ours)
    return (st.st_dev, st.st_ino), False


def side_file_links(path: str) -> list[str]:
    """SQLite's side files of `path` that are symbolic links (SQLite would follow them)."""
    return [path + s for s in _SIDE_FILES if os.path.islink(path + s)]


def unclaim(path: str, created: bool) -> None:
    """After a failed open, remove the file `claim` created and the side files made with it."""
    if not created:
        return
    for name in (path, *(path + s for s in _SIDE_FILES)):
        with contextlib.suppress(OSError):
            if not os.path.islink(name):
                os.unlink(name)
