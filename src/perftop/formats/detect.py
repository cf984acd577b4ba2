"""Opening any file perftop reads, recognised by its content; the extension is only a hint.

Order: a gzip stream is a perftop snapshot; JSON is a snapshot (its `format` key), a
speedscope profile (`$schema`, or `shared` and `profiles`) or a pyinstrument session
(`frame_records`); text is `perf script` output when its first record is an event line
followed by an indented stack line, else folded stacks (py-spy raw included). The name
only picks the error to report: JSON promised by `.json` but absent, perf's reader for a
`perf` file that is not folded either, "binary data" for junk. Whatever cannot be read is
one FormatError naming the file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time

from perftop.formats.errors import FormatError
from perftop.formats.folded import loads_folded
from perftop.formats.perf_script import loads_perf_script, looks_like_perf_script
from perftop.formats.recording import looks_like_recording
from perftop.formats.snapshot import (
    GZIP_MAGIC,
    MAX_DECOMPRESSED_BYTES,
    Snapshot,
    loads_snapshot,
    read_limited,
    snapshot_from_json,
)
from perftop.formats.speedscope import loads_speedscope
from perftop.model.profile import Profile

__all__ = ["describe", "read_any"]

_JSON_HINTS = (".json", ".pyisession", ".perftop")
_PERF_HINT_RE = re.compile(r"(^|[._-])perf([._-]|$)")
_SNIFF_BYTES = 8192
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
    if not data.strip():
        raise FormatError(name, "is empty")
    if data[:2] == GZIP_MAGIC:
        return loads_snapshot(data, name)
    try:
        return _read_text(data, name)
    except FormatError:
        # Whatever went wrong, junk such as an executable or perf.data deserves a plain word.
        if _looks_binary(data[:_SNIFF_BYTES]):
            raise FormatError(name, "is binary data, not a profile or snapshot") from None
        raise


def _read_text(data: bytes, name: str) -> Profile | Snapshot:
    text = data.decode("utf-8-sig", "replace")
    head = text.lstrip()
    lower = os.path.basename(name).lower()
    if head.startswith(("{", "[")):
        return _read_json(text, name)
    if head[:15].lower().startswith(("<!doctype html", "<html")):
        raise FormatError(name, "is a web page; perftop writes HTML for browsers, not to reopen")
    if lower.endswith(_JSON_HINTS):
        raise FormatError(name, "is not JSON, which its extension promises")
    if looks_like_perf_script(text):
        return loads_perf_script(text, name)
    try:
        profile = loads_folded(text, name)
    except FormatError:
        if _PERF_HINT_RE.search(lower):
            return loads_perf_script(text, name)  # its error says more about a perf file
        raise
    profile.metadata["format"] = "folded"
    return profile


def _looks_binary(head: bytes) -> bool:
    # Control bytes are rare in text (a stray one may sit in a frame name) and common in
    # executables, core dumps and perf.data.
    controls = sum(1 for b in head if b < 0x20 and b not in _TEXT_CONTROLS)
    return controls * 10 > len(head)


def _read_json(text: str, name: str) -> Profile | Snapshot:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(name, f"not JSON: {e.msg}", e.lineno) from None
    except (ValueError, RecursionError) as e:  # numbers too long, nesting too deep
        raise FormatError(name, f"not JSON: {e}") from None
    except MemoryError:
        raise FormatError(name, "too large to load") from None
    if not isinstance(doc, dict):
        raise FormatError(name, "JSON, but not an object: not a profile or snapshot")
    if "format" in doc and "version" in doc:
        return snapshot_from_json(doc, name)
    schema = doc.get("$schema")
    if (isinstance(schema, str) and "speedscope" in schema) or (
        "shared" in doc and "profiles" in doc
    ):
        if not isinstance(schema, str):
            # speedscope's own reader insists on $schema; a file without it is close enough.
            doc["$schema"] = "https://www.speedscope.app/file-format-schema.json"
            text = json.dumps(doc)
        profile = loads_speedscope(text, name)
        profile.metadata["format"] = "speedscope"
        return profile
    if "frame_records" in doc:
        from perftop.formats.pyisession import profile_from_json  # pyinstrument: lazily

        profile = profile_from_json(doc, name)
        profile.metadata["format"] = "pyisession"
        return profile
    raise FormatError(
        name, "JSON, but not a speedscope profile, a pyinstrument session or a perftop snapshot"
    )


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
