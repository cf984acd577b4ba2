"""perftop's own snapshot: the machine's recent history, its processes and any profile, in one
versioned file that `perftop view` reopens (gzip-compressed JSON, suffix `.perftop`).

Layout (version 4): `{"format": "perftop-snapshot", "version": 4, "created", "hostname",
"redacted", "history": SystemHistory.to_dict(), "sample": SystemSample | null, "processes":
{"timestamp", "core_count", "net_at", "rows": [ProcessRow, ...]}, "profile": speedscope document |
null, "profile_title", "profile_metadata", "profile_ended", "profile_end_reason", "timeline":
Timeline.to_plain() | absent}`. The timeline holds every tick of the last minutes (at most
`SNAPSHOT_TICKS`, delta-encoded as in a recording), so `perftop view` can step back through
them as through a recording; snapshots without one still open, as a single moment. Samples
and rows are their dataclass fields by name; a missing field with a default takes it, unknown
keys are ignored, so later versions can add fields without breaking this reader.

Reading trusts nothing: every field is type-checked against the dataclasses, decompression
stops at `MAX_DECOMPRESSED_BYTES` or as soon as the JSON so far would cost more memory to
parse than decode.py allows (a 489 KB file of `{},` expands to 480 MiB, which would be 11 GB
of dicts), and anything wrong is one FormatError line. Environment
variables are never part of a snapshot; `redact=True` masks command-line arguments too.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import os
import types
import typing
import zlib
from dataclasses import dataclass
from typing import Any

from perftop.formats.atomic import write_atomic
from perftop.formats.decode import MAX_JSON_COST, json_cost, parse_json, too_costly
from perftop.formats.errors import FormatError
from perftop.formats.speedscope import dumps_speedscope, speedscope_from_json
from perftop.model.profile import Profile
from perftop.system.history import SystemHistory
from perftop.system.samples import ProcessRow, ProcessSnapshot, SystemSample
from perftop.system.timeline import Timeline

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_SUFFIX",
    "SNAPSHOT_VERSION",
    "Snapshot",
    "dumps_snapshot",
    "loads_snapshot",
    "read_snapshot",
    "redact_command",
    "write_snapshot",
]

SNAPSHOT_FORMAT = "perftop-snapshot"
# 2: rows with network, waits, containers; the network read's time. 3: rows with htop's
# columns (TIME+, PRI, VIRT, SHR, TTY, faults) and a timeline of codec version 3 ticks. 4: rows
# and samples with their GPUs, a timeline of codec version 4 ticks.
SNAPSHOT_VERSION = 4
SNAPSHOT_SUFFIX = ".perftop"
# A real snapshot is a few MB; a gzip bomb expands ~1000x. Stop well before memory runs out.
MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 4 * 1024 * 1024  # decompressed at a time, between checks of size and cost
_MASK = "***"
# Ticks a snapshot carries to rewind through: ten minutes at the default refresh. A reader
# takes up to an hour's (a snapshot written with a faster refresh or by a later version).
SNAPSHOT_TICKS = 600
MAX_READ_TICKS = 3600
_PROFILE_COMMAND_KEYS = ("command", "title")


@dataclass
class Snapshot:
    created: float  # time.time() when taken
    hostname: str
    history: SystemHistory  # recent system history
    sample: SystemSample | None  # the last system sample: what the meters showed
    processes: ProcessSnapshot  # the process table at that moment
    profile: Profile | None = None
    profile_title: str = ""
    redacted: bool = False
    # Every tick of the window before the moment (the moment last), to rewind through.
    timeline: Timeline | None = None


def redact_command(cmdline: str) -> str:
    """The program, its arguments masked: `python app.py --token x` → `python ***`."""
    words = cmdline.split(maxsplit=1)
    if len(words) < 2:
        return cmdline
    return f"{words[0]} {_MASK}"


# -- writing ----------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """Plain JSON values of a dataclass tree; a non-finite float (which JSON cannot hold)
    becomes 0.0, as a missing reading does everywhere else."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("kept", True)
        }
    if _is_record(type(value)):  # a NamedTuple sample: an object, as a dataclass is
        return {name: _encode(v) for name, v in zip(value._fields, value, strict=True)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return 0.0
    return value


def _redacted_profile(profile: Profile) -> Profile:
    clone = profile.copy()
    for key, value in clone.metadata.items():
        if key in _PROFILE_COMMAND_KEYS or key.startswith("process "):
            clone.metadata[key] = redact_command(value)
    return clone


def dumps_snapshot(snapshot: Snapshot, *, redact: bool = False) -> bytes:
    """The snapshot as gzip-compressed JSON; `redact` masks every command line's arguments."""
    rows = []
    for row in snapshot.processes.rows.values():
        encoded = _encode(row)
        if redact:
            encoded["cmdline"] = redact_command(row.cmdline)
        rows.append(encoded)
    profile = snapshot.profile
    title = snapshot.profile_title
    if redact:
        title = redact_command(title)
        profile = _redacted_profile(profile) if profile is not None else None
    doc: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "created": _encode(float(snapshot.created)),
        "hostname": snapshot.hostname,
        "redacted": bool(snapshot.redacted or redact),
        "history": snapshot.history.to_dict(),
        "sample": _encode(snapshot.sample) if snapshot.sample is not None else None,
        "processes": {
            "timestamp": _encode(float(snapshot.processes.timestamp)),
            "core_count": snapshot.processes.core_count,
            "net_at": snapshot.processes.net_at,
            "rows": rows,
        },
        "profile": json.loads(dumps_speedscope(profile)) if profile is not None else None,
        "profile_title": title,
        "profile_metadata": dict(profile.metadata) if profile is not None else {},
        "profile_ended": profile.ended if profile is not None else False,
        "profile_end_reason": profile.end_reason if profile is not None else "",
    }
    if snapshot.timeline is not None and len(snapshot.timeline):
        plain = snapshot.timeline.to_plain()
        if redact:  # identities are [id, pid, ppid, name, user, start time, command line]
            for identity in plain["identities"]:
                identity[6] = redact_command(identity[6])
        doc["timeline"] = plain
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    # mtime=0: the same snapshot gives the same bytes.
    return gzip.compress(text.encode("utf-8", "replace"), compresslevel=6, mtime=0)


def write_snapshot(
    snapshot: Snapshot, path: str | os.PathLike[str], *, redact: bool = False
) -> None:
    """Write atomically, readable by the owner only (command lines and code paths inside)."""
    write_atomic(path, dumps_snapshot(snapshot, redact=redact), mode=0o600)


# -- reading ----------------------------------------------------------------------------------


def _gunzip(data: bytes, source: str) -> bytes:
    out: list[bytes] = []
    size = cost = 0
    rest = data
    while rest:
        d = zlib.decompressobj(wbits=31)
        try:
            while rest:
                chunk = d.decompress(rest, min(_CHUNK, MAX_DECOMPRESSED_BYTES + 1 - size))
                size += len(chunk)
                cost += json_cost(chunk)
                out.append(chunk)
                if size > MAX_DECOMPRESSED_BYTES:
                    limit = MAX_DECOMPRESSED_BYTES // (1024 * 1024)
                    raise FormatError(source, f"decompresses to more than {limit} MiB")
                if cost > MAX_JSON_COST:
                    raise too_costly(source)
                rest = d.unconsumed_tail
                if d.eof:
                    break
        except zlib.error as e:
            raise FormatError(source, f"corrupt gzip data ({e})") from None
        if not d.eof:
            raise FormatError(source, "truncated gzip data")
        rest = d.unused_data.lstrip(b"\x00")  # gzip pads with zeros; another member may follow
    return b"".join(out)


def loads_snapshot(data: bytes, source: str = "<bytes>") -> Snapshot:
    """A Snapshot from its bytes, gzip-compressed or plain JSON."""
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError(source, "not a perftop snapshot: not UTF-8 text") from None
    del data  # the decompressed bytes: the text is a copy
    return snapshot_from_json(parse_json(text, source), source)


def read_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    name = os.fspath(path)
    return loads_snapshot(read_limited(name), name)


def read_limited(name: str, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """A file's bytes, refusing one larger than `limit` (FormatError, not MemoryError)."""
    try:
        with open(name, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise FormatError(name, f"cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise FormatError(name, f"larger than {limit // (1024 * 1024)} MiB")
    return data


def snapshot_from_json(doc: object, source: str) -> Snapshot:
    """A Snapshot from its parsed JSON document (detect.py parses only once)."""
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise FormatError(source, f"not a perftop snapshot: no format {SNAPSHOT_FORMAT!r}")
    version = doc.get("version")
    if not _is_int(version) or version < 1:
        raise FormatError(source, "snapshot version is missing or not a positive integer")
    if version > SNAPSHOT_VERSION:
        raise FormatError(
            source,
            f"snapshot version {version} is newer than this perftop reads "
            f"(version {SNAPSHOT_VERSION}); upgrade perftop to open it",
        )
    try:
        history = SystemHistory.from_dict(_get(doc, "history", dict))
        raw_sample = doc.get("sample")
        sample = None if raw_sample is None else _decode(SystemSample, raw_sample, "sample")
        processes = _processes(_get(doc, "processes", dict))
        snapshot = Snapshot(
            created=_decode(float, doc.get("created"), "created"),
            hostname=_decode(str, doc.get("hostname", ""), "hostname"),
            history=history,
            sample=sample,
            processes=processes,
            profile_title=_decode(str, doc.get("profile_title", ""), "profile_title"),
            redacted=_decode(bool, doc.get("redacted", False), "redacted"),
        )
        metadata = _decode(dict[str, str], doc.get("profile_metadata", {}), "profile_metadata")
        ended = _decode(bool, doc.get("profile_ended", False), "profile_ended")
        reason = _decode(str, doc.get("profile_end_reason", ""), "profile_end_reason")
    except ValueError as e:
        raise FormatError(source, str(e)) from None
    raw_timeline = doc.get("timeline")
    if raw_timeline is not None:
        try:
            snapshot.timeline = Timeline.from_plain(raw_timeline, MAX_READ_TICKS)
        except (ValueError, TypeError, IndexError) as e:  # a damaged tick, whatever its shape
            raise FormatError(source, str(e)) from None
    raw_profile = doc.get("profile")
    if raw_profile is not None:
        if not isinstance(raw_profile, dict):
            raise FormatError(source, "profile is not a speedscope document")
        profile = speedscope_from_json(raw_profile, f"{source} (profile)")
        profile.metadata.update(metadata)
        if ended:
            profile.mark_ended(reason)
        snapshot.profile = profile
    return snapshot


def _get(doc: dict[str, Any], key: str, kind: type) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"{key} is missing or not a JSON {kind.__name__}")
    return value


def _processes(raw: dict[str, Any]) -> ProcessSnapshot:
    rows = raw.get("rows")
    if not isinstance(rows, list):
        raise ValueError("processes.rows is not a list")
    table: dict[int, ProcessRow] = {}
    for n, raw_row in enumerate(rows):
        row = _decode(ProcessRow, raw_row, f"processes.rows[{n}]")
        table[row.pid] = row
    return ProcessSnapshot(
        timestamp=_decode(float, raw.get("timestamp"), "processes.timestamp"),
        rows=table,
        core_count=_decode(int, raw.get("core_count", 1), "processes.core_count"),
        net_at=_decode(float | None, raw.get("net_at"), "processes.net_at"),
    )


def _is_int(v: object) -> typing.TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


_HINTS: dict[type, dict[str, Any]] = {}


def _decode(tp: Any, value: Any, where: str) -> Any:
    """`value` checked against the type `tp` (the few shapes the sample dataclasses use)."""
    origin = typing.get_origin(tp)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} is not a number")
        try:
            f = float(value)
        except OverflowError:
            raise ValueError(f"{where} is too large") from None
        if not math.isfinite(f):
            raise ValueError(f"{where} is not finite")
        return f
    if tp is int:
        if _is_int(value):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # a writer that kept a count as a float
        raise ValueError(f"{where} is not an integer")
    if tp is str or tp is bool:
        if not isinstance(value, tp):
            raise ValueError(f"{where} is not a {'string' if tp is str else 'boolean'}")
        return value
    if origin is types.UnionType or origin is typing.Union:
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _decode(inner, value, where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{where} does not hold {len(args)} values")
        return tuple(
            _decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        return {
            _decode(key_type, k, where): _decode(value_type, v, f"{where}[{k!r:.40}]")
            for k, v in value.items()
        }
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or _is_record(tp)):
        return _decode_dataclass(tp, value, where)
    raise NotImplementedError(f"cannot decode {tp!r}")  # a field type not taught here


def _decode_dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, required in _fields_of(cls):
        if name in value:
            kwargs[name] = _decode(hints[name], value[name], f"{where}.{name}")
        elif required:
            raise ValueError(f"{where} has no {name}")
    return cls(**kwargs)


def _is_record(cls: type) -> bool:
    """A NamedTuple class (the samples that are not dataclasses)."""
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _fields_of(cls: type) -> list[tuple[str, bool]]:
    """(name, required) of a dataclass's or a NamedTuple's fields, in their order."""
    if _is_record(cls):
        defaults: dict[str, Any] = getattr(cls, "_field_defaults", {})
        return [(name, name not in defaults) for name in getattr(cls, "_fields", ())]
    return [
        (f.name, f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls)
    ]
