"""Opening any file perftop reads, recognised by its content; the extension is only a hint.

The formats and the order they are tried in are registry.py's: a gzip stream is a perftop
snapshot; JSON is a snapshot (its `format` key), a speedscope profile (`$schema`, or
`shared` and `profiles`) or a pyinstrument session (`frame_records`); text is `perf script`
output when its first record is an event line followed by an indented stack line, else
folded stacks (py-spy raw included). The name only picks the error to report: JSON
promised by `.json` but absent, perf's reader for a `perf` file that is not folded either,
"binary data" for junk. Whatever cannot be read is one FormatError naming the file.
"""

from __future__ import annotations

import os
import re
import stat
import time

from perftop.formats import registry
from perftop.formats.decode import decode_text, has_wide_bom, parse_json
from perftop.formats.errors import FormatError
from perftop.formats.recording import looks_like_recording
from perftop.formats.snapshot import MAX_DECOMPRESSED_BYTES, Snapshot, read_limited
from perftop.model.profile import Profile

__all__ = ["describe", "read_any"]

_SNIFF_BYTES = 8192
_LEADING_SPACE_RE = re.compile(r"\s*")
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")


def read_any(path: str | os.PathLike[str]) -> Profile | Snapshot:
    """The profile or snapshot in `path`, whatever its format; FormatError if none fits."""
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except OSError as e:
        raise FormatError(name, f"cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise FormatError(name, "is a directory, not a profile or snapshot")
    try:
        with open(name, "rb") as f:
            head = f.read(100)
    except OSError as e:
        raise FormatError(name, f"cannot read: {e.strerror or e}") from None
    if looks_like_recording(head):  # before reading it all: recordings run to megabytes
        raise FormatError(name, "is a perftop recording, not a profile: `perftop view` replays it")
    data = read_limited(name, MAX_DECOMPRESSED_BYTES)
    if data.isspace() or not data:
        raise FormatError(name, "is empty")
    for fmt, reader in registry.readers("bytes"):
        if reader.detect is not None and reader.detect(data):
            return _named(fmt, reader.read(data, name))
    try:
        return _read_text(data, name)
    except FormatError:
        # Whatever went wrong, junk such as an executable or perf.data deserves a plain word.
        if not has_wide_bom(data) and _looks_binary(data[:_SNIFF_BYTES]):
            raise FormatError(name, "is binary data, not a profile or snapshot") from None
        raise


def _named(fmt: registry.Format, obj: Profile | Snapshot) -> Profile | Snapshot:
    if isinstance(obj, Profile):
        obj.metadata.setdefault("format", fmt.name)  # perf script names its own
    return obj


def _read_text(data: bytes, name: str) -> Profile | Snapshot:
    text = decode_text(data)
    del data  # the caller's copy stays; this frame should not pin a second one
    m = _LEADING_SPACE_RE.match(text)  # no copy of a big file, unlike lstrip()
    start = m.end() if m else 0
    if text[start : start + 1] in ("{", "["):
        return _read_json(text, name)
    lower = os.path.basename(name).lower()
    for fmt, reader in registry.readers("text"):
        if reader.detect is None and lower.endswith(registry.json_extensions()):
            raise FormatError(name, "is not JSON, which its extension promises")
        if reader.detect is None or reader.detect(text):
            return _named(fmt, reader.read(text, name))
    raise FormatError(name, "not a profile or snapshot perftop reads")


def _looks_binary(head: bytes) -> bool:
    # Control bytes are rare in text (a stray one may sit in a frame name) and common in
    # executables, core dumps and perf.data.
    controls = sum(1 for b in head if b < 0x20 and b not in _TEXT_CONTROLS)
    return controls * 10 > len(head)


def _read_json(text: str, name: str) -> Profile | Snapshot:
    doc = parse_json(text, name)
    if not isinstance(doc, dict):
        raise FormatError(name, "JSON, but not an object: not a profile or snapshot")
    json_readers = registry.readers("json")
    for fmt, reader in json_readers:
        if reader.detect is None or reader.detect(doc):
            return _named(fmt, reader.read(doc, name))
    nouns = [fmt.noun for fmt, _ in json_readers if fmt.noun]
    listed = ", ".join(nouns[:-1]) + f" or {nouns[-1]}" if len(nouns) > 1 else "".join(nouns)
    raise FormatError(name, f"JSON, but not {listed}")


def describe(obj: Profile | Snapshot) -> str:
    """One line on what was opened: `speedscope profile, 3 threads, 1234 samples`."""
    if isinstance(obj, Snapshot):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(obj.created))
        parts = [
            f"perftop snapshot of {obj.hostname or 'an unnamed host'} at {when}",
            _plural(len(obj.history), "tick"),
            _plural(len(obj.processes.rows), "process", "processes"),
        ]
        if obj.profile is not None:
            parts.append(f"a profile of {_plural(obj.profile.total_samples, 'sample')}")
        if obj.redacted:
            parts.append("redacted")
        return ", ".join(parts)
    fmt = obj.metadata.get("format", "")
    threads = len(obj.threads())
    parts = [
        f"{fmt} profile" if fmt else "profile",
        _plural(threads, "thread"),
        _plural(obj.total_samples, "sample"),
    ]
    if obj.ended and obj.end_reason:
        parts.append(f"ended: {obj.end_reason}")
    return ", ".join(parts)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
