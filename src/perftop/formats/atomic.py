"""Writing a file so that readers see the old contents or the new, never half of it.

`write_atomic` replaces whatever is at the path (a symbolic link itself, never the file it
points to); `write_new` only ever creates, and refuses a path that exists in any form.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile

from perftop.formats.errors import FormatError

__all__ = ["FormatError", "write_atomic", "write_new"]

# Hard links are refused by some filesystems (FAT, some FUSE and network mounts): those
# get an exclusive create written in place instead.
_NO_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK})


def write_atomic(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o600) -> None:
    """Write `data` to `path` through a temporary file in the same directory and `os.replace`.

    A new file gets `mode` (owner only by default: profiles show code paths, command lines
    and sometimes arguments). An existing regular file keeps its permission bits (not
    set-user-ID and the like); a symbolic link is replaced by the new file, which gets
    `mode` whatever the link pointed to (it came out 0644 when that file was). Text is
    written as UTF-8. OSError propagates, and no temporary file is left behind.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    with contextlib.suppress(FileNotFoundError):
        st = os.lstat(target)
        if stat.S_ISREG(st.st_mode):
            mode = stat.S_IMODE(st.st_mode) & 0o777
    tmp = _write_temp(directory, os.path.basename(target), data, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def write_new(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o600) -> None:
    """Create `path` holding `data`, owner-only by default; never overwrite, never follow.

    FileExistsError if anything is at `path` (a file, a directory, a symbolic link, even a
    dangling one), and then nothing is written. Readers see the whole file or none: it is
    written under a temporary name and hard-linked into place, which fails rather than
    replaces. Any other OSError (a full disk) leaves nothing behind either.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    if os.path.lexists(target):  # fail before writing a byte; the link below re-checks
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    tmp = _write_temp(directory, os.path.basename(target), data, mode)
    try:
        try:
            os.link(tmp, target, follow_symlinks=False)
        except OSError as e:
            if e.errno not in _NO_LINKS:
                raise
            _write_exclusive(target, _payload(data), mode)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(directory)


def _payload(data: bytes | str) -> bytes:
    return data.encode("utf-8", "replace") if isinstance(data, str) else data


def _write_temp(directory: str, base: str, data: bytes | str, mode: int) -> str:
    """A complete, synced file of `data` with `mode`, next to where it will go; its path."""
    payload = _payload(data)
    # mkstemp creates the file 0600 and in the same directory, so os.replace is a rename
    # within one filesystem and therefore atomic.
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def _write_exclusive(target: str, payload: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(target, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(target, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)  # ours: O_EXCL created it
        raise


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable; some filesystems refuse to open a directory, and the
    # data is already safe in the file, so a failure here is not worth an error.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
