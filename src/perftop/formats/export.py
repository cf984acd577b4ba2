"""Writing a profile in the format its file name asks for.

One table maps extensions to formats, so the CLI's checks, the UI's export and this writer
agree on what `.txt` or `.html` means.
"""

from __future__ import annotations

import os

from perftop.formats.atomic import write_atomic
from perftop.formats.errors import FormatError
from perftop.formats.folded import dumps_folded
from perftop.formats.speedscope import dumps_speedscope
from perftop.model.profile import Profile

__all__ = ["PROFILE_FORMATS", "profile_format_for", "write_profile"]

# Longest first where one ends another (`.speedscope.json` before `.json`).
PROFILE_FORMATS: dict[str, str] = {
    ".speedscope.json": "speedscope",
    ".json": "speedscope",
    ".folded": "folded",
    ".txt": "folded",
    ".html": "html",
    ".pyisession": "pyisession",
}


def profile_format_for(path: str | os.PathLike[str]) -> str:
    """The format named by `path`'s extension (any case); FormatError listing those known."""
    name = os.fspath(path)
    lower = os.path.basename(name).lower()
    for ext, fmt in PROFILE_FORMATS.items():
        if lower.endswith(ext) and len(lower) > len(ext):
            return fmt
    known = ", ".join(PROFILE_FORMATS)
    raise FormatError(name, f"unknown profile format; name the file with one of: {known}")


def write_profile(profile: Profile, path: str | os.PathLike[str]) -> str:
    """Write `profile` atomically (0600 if new) in the format of its extension; that format."""
    fmt = profile_format_for(path)
    if fmt == "speedscope":
        data = dumps_speedscope(profile)
    elif fmt == "folded":
        data = dumps_folded(profile)
    else:
        # pyinstrument costs ~0.1 s to import: only for the formats that need it.
        from perftop.formats import pyisession

        if fmt == "html":
            data = pyisession.render_html(profile)
        else:
            data = pyisession.dumps_pyisession(profile)
    write_atomic(path, data, mode=0o600)
    return fmt
