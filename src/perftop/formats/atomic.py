"""Writing a file so that readers see the old contents or the new, never half of it."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from perftop.formats.errors import FormatError

__all__ = ["FormatError", "write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o600) -> None:
    """Write `data` to `path` through a temporary file in the same directory and `os.replace`.

    A new file gets `mode` (owner only by default: profiles show code paths, command lines
    and sometimes arguments); an existing file keeps its permissions. Text is written as
    UTF-8. OSError propagates, and no temporary file is left behind.
    """
    target = os.fspath(path)
    payload = data.encode("utf-8", "replace") if isinstance(data, str) else data
    directory = os.path.dirname(os.path.abspath(target))
    with contextlib.suppress(FileNotFoundError):
        mode = stat.S_IMODE(os.stat(target).st_mode)
    # mkstemp creates the file 0600 and in the same directory, so os.replace is a rename
    # within one filesystem and therefore atomic.
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


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
