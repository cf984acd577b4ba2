"""Every file format perftop reads or writes, in one table: adding a format touches this file.

A `Format` names itself, the file extensions it is written under, the menu label of its
export, how to recognise it and read it (`Reader`s), and how to write a Profile in it.
detect.py (`read_any`), export.py (`profile_format_for`, `write_profile`) and the UI's
export menu all read `FORMATS`.

Recognising is by content, in three layers tried in this order: the raw bytes (a gzip
stream: pprof's protobuf, else a perftop snapshot), the parsed JSON document (when the text
starts with `{` or `[`), else the decoded text. Within a layer, detectors are tried in table
order and a reader without a detector (`detect=None`, folded stacks for text) takes what no
other claims. pyinstrument costs ~0.1 s to import, so its formats import it only when used;
so does protobuf (pprof).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from perftop.formats.errors import FormatError
from perftop.formats.folded import dumps_folded, loads_folded
from perftop.formats.perf_script import has_event_line, loads_perf_script, looks_like_perf_script
from perftop.formats.snapshot import GZIP_MAGIC, Snapshot, loads_snapshot, snapshot_from_json
from perftop.formats.speedscope import dumps_speedscope, speedscope_from_json
from perftop.model.profile import Profile

__all__ = [
    "FORMATS",
    "Format",
    "Layer",
    "Reader",
    "by_name",
    "format_for_path",
    "profile_formats",
    "writable",
]

Layer = Literal["bytes", "json", "text"]
Loaded = Profile | Snapshot
_PERF_HINT_RE = re.compile(r"(^|[._-])perf([._-]|$)")


@dataclass(frozen=True)
class Reader:
    """One way of recognising and reading a format at one layer.

    `detect` sees what `read` will get: the file's bytes, its parsed JSON document, or its
    text; `read` also gets the file's name for errors, and raises FormatError.
    """

    layer: Layer
    detect: Callable[[Any], bool] | None
    read: Callable[[Any, str], Loaded]


@dataclass(frozen=True)
class Format:
    name: str  # what `write_profile` returns and a read profile's metadata["format"] says
    label: str  # the export menu's words for it
    noun: str = ""  # `a speedscope profile`, in "JSON, but not …" errors
    # Written under these (any case); the first is the one the export menu offers.
    extensions: tuple[str, ...] = ()
    readers: tuple[Reader, ...] = ()
    write: Callable[[Profile], str | bytes] | None = None


# -- the formats' own readers and writers, where the modules' entry points do not fit -------


def _is_snapshot_doc(doc: dict[str, Any]) -> bool:
    return "format" in doc and "version" in doc


def _is_speedscope_doc(doc: dict[str, Any]) -> bool:
    schema = doc.get("$schema")
    return (isinstance(schema, str) and "speedscope" in schema) or (
        "shared" in doc and "profiles" in doc
    )


def _read_speedscope(doc: dict[str, Any], source: str) -> Profile:
    return speedscope_from_json(doc, source, require_schema=False)


def _read_pyisession(doc: dict[str, Any], source: str) -> Profile:
    from perftop.formats.pyisession import profile_from_json

    return profile_from_json(doc, source)


def _dumps_pyisession(profile: Profile) -> str:
    from perftop.formats.pyisession import dumps_pyisession

    return dumps_pyisession(profile)


def _render_html(profile: Profile) -> str:
    from perftop.formats.pyisession import render_html

    return render_html(profile)


def _is_pprof(data: bytes) -> bool:
    from perftop.formats.pprof import looks_like_pprof

    return looks_like_pprof(data)


def _read_pprof(data: bytes, source: str) -> Profile:
    from perftop.formats.pprof import loads_pprof

    return loads_pprof(data, source)


def _dumps_pprof(profile: Profile) -> bytes:
    from perftop.formats.pprof import dumps_pprof

    return dumps_pprof(profile)


def _is_html(text: str) -> bool:
    return text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


def _refuse_html(text: str, source: str) -> Loaded:
    raise FormatError(source, "is a web page; perftop writes HTML for browsers, not to reopen")


def _read_folded(text: str, source: str) -> Profile:
    try:
        return loads_folded(text, source)
    except FormatError:
        # A file named like perf's output that is not folded either: perf's reader says more
        # about it, unless the text is plainly folded stacks with a bad line, or perf's
        # reader would only say that there is no perf event in it.
        if _PERF_HINT_RE.search(os.path.basename(source).lower()) and (
            has_event_line(text) or not _looks_folded(text)
        ):
            return loads_perf_script(text, source)
        raise


def _looks_folded(text: str) -> bool:
    """Whether the first line that says anything is `stack count`-shaped."""
    for line in text.split("\n", 64)[:64]:
        line = line.strip()
        if line and not line.startswith("#"):
            stack, _, count = line.rpartition(" ")
            return bool(stack) and (";" in stack or count[:1].isdigit())
    return False


FORMATS: tuple[Format, ...] = (
    Format(
        "speedscope",
        "speedscope JSON (speedscope.app)",
        "a speedscope profile",
        (".speedscope.json", ".json"),
        (Reader("json", _is_speedscope_doc, _read_speedscope),),
        dumps_speedscope,
    ),
    Format(
        "folded",
        "folded stacks (FlameGraph, inferno)",
        "",
        (".folded", ".txt"),
        (Reader("text", None, _read_folded),),
        dumps_folded,
    ),
    Format(
        "html",
        "pyinstrument HTML page",
        "",
        (".html",),
        (Reader("text", _is_html, _refuse_html),),
        _render_html,
    ),
    Format(
        "pyisession",
        "pyinstrument session",
        "a pyinstrument session",
        (".pyisession",),
        (Reader("json", lambda doc: "frame_records" in doc, _read_pyisession),),
        _dumps_pyisession,
    ),
    Format(
        "pprof",
        "pprof (go tool pprof, Pyroscope, Parca)",
        "",
        (".pb.gz", ".pprof"),
        # Before the snapshot's reader: both are gzip, and that one takes any gzip stream.
        (Reader("bytes", _is_pprof, _read_pprof),),
        _dumps_pprof,
    ),
    Format(
        "perf script",
        "perf script output (Linux perf)",
        "",
        (),
        (Reader("text", looks_like_perf_script, loads_perf_script),),
    ),
    Format(
        "snapshot",
        "perftop snapshot",
        "a perftop snapshot",
        (".perftop",),
        (
            Reader("bytes", lambda data: data[:2] == GZIP_MAGIC, loads_snapshot),
            Reader("json", _is_snapshot_doc, snapshot_from_json),
        ),
    ),
)


def by_name(name: str) -> Format:
    """The format called `name`; KeyError if there is none."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def writable() -> list[Format]:
    """The formats a Profile can be written in, in the export menu's order."""
    return [fmt for fmt in FORMATS if fmt.write is not None]


def profile_formats() -> dict[str, str]:
    """Extension -> format name of every writable format, in the export menu's order."""
    return {ext: fmt.name for fmt in writable() for ext in fmt.extensions}


def format_for_path(path: str | os.PathLike[str]) -> Format | None:
    """The writable format `path`'s extension (any case) names, the longest match first
    (`.speedscope.json` before `.json`); None if none does."""
    lower = os.path.basename(os.fspath(path)).lower()
    matches = [
        (len(ext), fmt)
        for fmt in writable()
        for ext in fmt.extensions
        if lower.endswith(ext) and len(lower) > len(ext)
    ]
    return max(matches, key=lambda m: m[0])[1] if matches else None


def readers(layer: Layer) -> list[tuple[Format, Reader]]:
    """The readers of one layer: detectors in table order, then the fallback, if any."""
    found = [(fmt, r) for fmt in FORMATS for r in fmt.readers if r.layer == layer]
    return [p for p in found if p[1].detect is not None] + [p for p in found if p[1].detect is None]


def json_extensions() -> tuple[str, ...]:
    """Extensions that promise JSON (or a snapshot): text in such a file is an error."""
    return tuple(
        ext
        for fmt in FORMATS
        if any(r.layer in ("json", "bytes") for r in fmt.readers)
        for ext in fmt.extensions
    )
