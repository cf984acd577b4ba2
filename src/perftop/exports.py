"""Where exported files go and what they are called; no Textual, so it is tested on its own.

Every file perftop writes for the user is `perftop-<what>-<YYYYmmdd-HHMMSS><suffix>` in one
directory (the current one unless configured): names sort by time, say what they hold, and
never overwrite an earlier export, even two in the same second.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 40


def export_stem(pid: int | None = None, title: str = "") -> str:
    """A short, file-name-safe word for what is exported: the PID, else the source's name.

    The live view's title `PID 4242 python app.py` gives `4242`; a file's, such as
    `/tmp/run.speedscope.json` or `busy.py (fixture)`, its first word without directories
    and suffixes: `run`, `busy`.
    """
    if pid is not None:
        return str(pid)
    words = title.split()
    if len(words) > 1 and words[0] == "PID" and words[1].isdigit():
        return words[1]  # the live view's own title: `PID 4242 python app.py`
    word = words[0] if words else ""
    word = word.rsplit("/", 1)[-1].split(".", 1)[0]
    word = _UNSAFE.sub("-", word).strip("-.")[:_MAX_STEM]
    return word or "profile"


def export_path(directory: Path, stem: str, suffix: str, when: float | None = None) -> Path:
    """A path in `directory` that does not exist yet, for `stem` exported at `when`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    base = f"perftop-{_UNSAFE.sub('-', stem) or 'export'}-{stamp}"
    path = directory / f"{base}{suffix}"
    n = 2
    while path.exists():
        path = directory / f"{base}-{n}{suffix}"
        n += 1
    return path


def describe_error(exc: OSError, path: Path) -> str:
    """One line for a toast: what failed and why, without a traceback."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"could not write {path}: {reason}"
