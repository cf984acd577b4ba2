"""Folded-stack files: reading one (whatever its encoding) and writing one atomically.

The text form itself (frames, thread and process root frames, parsing and writing) is the
profile model's, in `perftop.model.folded`; it is re-exported here for the formats' users.
"""

from __future__ import annotations

import os
from pathlib import Path

from perftop.formats.atomic import write_atomic
from perftop.formats.decode import decode_text
from perftop.model.folded import (
    dumps_folded,
    format_frame,
    format_thread,
    loads_folded,
    parse_frame,
    split_root_frames,
)
from perftop.model.profile import Profile

__all__ = [
    "dumps_folded",
    "format_frame",
    "format_thread",
    "loads_folded",
    "parse_frame",
    "read_folded",
    "split_root_frames",
    "write_folded",
]


def read_folded(source: str | bytes | os.PathLike[str]) -> Profile:
    """A Profile from a folded file, or from folded text.

    A path-like is a file; bytes are the contents; a str is a file name if it is one line
    naming an existing file, else the text itself. Bytes are decoded by `decode_text`
    (byte-order marks honoured, undecodable bytes U+FFFD).
    """
    if isinstance(source, bytes):
        return loads_folded(_decode(source), "<bytes>")
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        path = os.fspath(source)
        return loads_folded(_decode(Path(path).read_bytes()), path)
    return loads_folded(source)


def _decode(data: bytes) -> str:
    return decode_text(data)  # UTF-16 with a byte-order mark too, as Windows tools write


def write_folded(profile: Profile, path: str | os.PathLike[str]) -> None:
    write_atomic(path, dumps_folded(profile))
