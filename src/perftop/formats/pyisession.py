"""pyinstrument sessions (`.pyisession`) and pyinstrument's interactive HTML page.

A pyinstrument Session holds frame records: (stack of frame infos root first, seconds). A
frame info is `function\\0file\\0line`, optionally followed by `\\1`-separated attributes. Each
distinct stack of a Profile becomes one record of `count * interval` seconds, and reading
divides by the interval again, rounding to whole samples, so counts survive exactly.

Time: pyinstrument shows a session's duration, its CPU time and, at the root, the sum of its
records. A Profile of several threads or processes holds one sample per thread per tick, so
samples x interval adds the threads' time up (5 s of 4 threads read "Duration: 19.8 s").
Written, the duration is the wall time (metadata `duration_s` as `perftop record` sets it,
else the busiest thread's samples x interval, each thread being sampled at most once a
tick), the CPU time is every sample's interval (py-spy samples only running threads unless
told `--idle`), and the records are scaled down where the threads overlap, so the root lasts
the duration; `min_interval` is the time a record counts per sample, so reading back (ours
or pyinstrument's) finds the same counts.

Threads: pyinstrument starts every stack with a `name\\0<thread>\\0ident` frame; a Profile's
thread key is written as that frame and read back from it, so threads survive the round
trip. The Profile's metadata rides along under an extra `perftop_metadata` key, which
pyinstrument ignores. Reading validates every field it uses: bad input is a FormatError.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pyinstrument.renderers.html import HTMLRenderer, JSONForHTMLRenderer
from pyinstrument.session import Session

from perftop.formats.atomic import write_atomic
from perftop.formats.errors import FormatError
from perftop.model.frames import Frame
from perftop.model.profile import Profile

__all__ = [
    "DEFAULT_INTERVAL_S",
    "dumps_pyisession",
    "loads_pyisession",
    "profile_to_session",
    "read_pyisession",
    "render_html",
    "session_to_profile",
    "write_html",
    "write_pyisession",
]

DEFAULT_INTERVAL_S = 0.01  # py-spy's default 100 Hz
THREAD_FILE = "<thread>"  # what pyinstrument puts in a thread root frame's file field
_METADATA_KEY = "perftop_metadata"
_SEPARATORS = str.maketrans({"\x00": "\ufffd", "\x01": "\ufffd"})
_LINE_RE = re.compile(r"[0-9]{1,18}")
# A sample interval outside these is junk (1 / 5e-324 is infinite): from 1 GHz to an hour.
_MIN_INTERVAL_S, _MAX_INTERVAL_S = 1e-9, 3600.0
# `</script` or `<!--` in a frame name would end pyinstrument's inline <script> early.
_SCRIPT_BREAK_RE = re.compile(r"</|<!--", re.IGNORECASE)


def _interval_of(profile: Profile, interval_s: float | None) -> float:
    if interval_s is not None:
        if not (math.isfinite(interval_s) and interval_s > 0):
            raise ValueError(f"sample interval must be a positive number, got {interval_s!r}")
        return interval_s
    rate = _float_metadata(profile, "rate_hz")
    if rate is None or not _MIN_INTERVAL_S <= 1.0 / rate <= _MAX_INTERVAL_S:
        return DEFAULT_INTERVAL_S
    return 1.0 / rate


def _float_metadata(profile: Profile, key: str) -> float | None:
    """A positive finite number from the metadata, or None."""
    try:
        value = float(profile.metadata.get(key, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _timing(profile: Profile, interval: float) -> tuple[float, float, float]:
    """(wall duration, CPU time, seconds a record counts per sample): see the docstring."""
    total = profile.total_samples
    cpu = total * interval
    if total == 0:
        return 0.0, 0.0, interval
    duration = _float_metadata(profile, "duration_s")
    if duration is None:
        busiest = max((profile.thread_samples(t) for t in profile.threads()), default=total)
        duration = busiest * interval
    # Never more than an interval a sample: one thread, some ticks lost or idle, stays true.
    # The floor keeps the file readable (by the check in session_to_profile).
    per_sample = max(min(interval, duration / total), _MIN_INTERVAL_S)
    return duration, cpu, per_sample


def _info(frame: Frame) -> str:
    # The separators cannot be escaped in a frame info; a name holding one is mangled, not
    # allowed to shift the fields.
    name, filename = frame.name.translate(_SEPARATORS), frame.filename.translate(_SEPARATORS)
    return f"{name}\x00{filename}\x00{frame.line}"


def _prefixes(profile: Profile) -> tuple[list[str], list[str]]:
    """(sys_path, sys_prefixes) as the profiled machine had them, guessed from its files.

    pyinstrument shortens paths against sys_path and tells library code by sys_prefixes;
    this machine's would be wrong for a profile taken elsewhere.
    """
    paths: set[str] = set()
    prefixes: set[str] = set()
    for f in profile.frames:
        i = f.filename.find("/lib/python")
        if i <= 0:
            continue
        prefixes.add(f.filename[:i])
        end = f.filename.find("/", i + len("/lib/python"))
        if end > 0:
            paths.add(f.filename[:end])
            j = f.filename.find("-packages/", end)
            if j > 0:
                paths.add(f.filename[: j + len("-packages")])
    return sorted(paths), sorted(prefixes)


def profile_to_session(profile: Profile, interval_s: float | None = None) -> Session:
    """A pyinstrument Session of `profile`: one frame record per distinct stack and thread.

    The interval is `interval_s`, else 1 / metadata["rate_hz"], else 0.01 s. Duration, CPU
    time and record times as the module's docstring says.
    """
    interval = _interval_of(profile, interval_s)
    duration, cpu_time, per_sample = _timing(profile, interval)
    infos = [_info(f) for f in profile.frames]
    records: list[tuple[list[str], float]] = []
    for ids, count, thread in profile.stacks():
        stack = [f"{thread.translate(_SEPARATORS)}\x00{THREAD_FILE}\x000"] if thread else []
        stack.extend(infos[i] for i in ids)
        records.append((stack, count * per_sample))
    total = profile.total_samples
    sys_path, sys_prefixes = _prefixes(profile)
    try:
        start = float(profile.metadata.get("start_time", ""))
    except ValueError:
        start = time.time()
    return Session(
        frame_records=records,
        start_time=start,
        duration=duration,
        min_interval=per_sample,
        max_interval=per_sample,
        sample_count=total,
        # Matches no root frame, so pyinstrument trims nothing (and an empty one crashes it).
        start_call_stack=["[perftop]"],
        target_description=profile.metadata.get("command", "") or "perftop profile",
        cpu_time=cpu_time,
        sys_path=sys_path,
        sys_prefixes=sys_prefixes,
    )


def _frame(info: str, cache: dict[str, Frame]) -> Frame:
    frame = cache.get(info)
    if frame is None:
        identifier, _, attributes = info.partition("\x01")
        parts = identifier.split("\x00")
        name = parts[0]
        filename = parts[1] if len(parts) > 1 else ""
        line = int(parts[2]) if len(parts) > 2 and _LINE_RE.fullmatch(parts[2]) else 0
        for attribute in attributes.split("\x01") if attributes else ():
            if attribute.startswith("c") and len(attribute) > 1 and "." not in name:
                name = f"{attribute[1:]}.{name}"  # a method: pyinstrument keeps its class apart
                break
        frame = cache[info] = Frame(name, filename, line)
    return frame


def session_to_profile(session: Session, source: str = "<session>") -> Profile:
    """A Profile of a Session: each record is round(seconds / min_interval) samples.

    A root frame whose file is `<thread>` names the record's thread. A record shorter than
    half an interval still counts one sample (pyinstrument's own sampler jitters).
    """
    interval = session.min_interval
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise FormatError(source, "min_interval is not a number")
    if not (math.isfinite(interval) and _MIN_INTERVAL_S <= interval <= _MAX_INTERVAL_S):
        raise FormatError(
            source, f"min_interval must be from {_MIN_INTERVAL_S:g} to {_MAX_INTERVAL_S:g} s"
        )
    profile = Profile({"source": source, "rate_hz": _rate(interval)})
    if session.target_description:
        profile.metadata["command"] = session.target_description
    profile.metadata["start_time"] = repr(session.start_time)
    cache: dict[str, Frame] = {}
    intern = profile.intern
    ids_of: dict[str, int] = {}
    for n, record in enumerate(session.frame_records):
        stack, seconds = _record(record, n, source)
        thread = ""
        if stack:
            head = stack[0].partition("\x01")[0].split("\x00")
            if len(head) > 1 and head[1] == THREAD_FILE:
                thread, stack = head[0], stack[1:]
        ratio = seconds / interval
        if not math.isfinite(ratio) or ratio > 1e15:
            raise FormatError(source, f"frame record {n}: time too large for its interval")
        count = round(ratio)
        if count == 0 and seconds > 0:
            count = 1
        ids: list[int] = []
        for info in stack:
            fid = ids_of.get(info)
            if fid is None:
                fid = ids_of[info] = intern(_frame(info, cache))
            ids.append(fid)
        profile.add_stack_ids(ids, count, thread)
    return profile


def _rate(interval: float) -> str:
    rate = 1.0 / interval
    return str(round(rate)) if abs(rate - round(rate)) < 1e-6 else repr(rate)


def _record(record: object, n: int, source: str) -> tuple[list[str], float]:
    if not isinstance(record, list | tuple) or len(record) != 2:
        raise FormatError(source, f"frame record {n} is not [stack, time]")
    stack, seconds = record
    if not isinstance(stack, list) or not all(isinstance(s, str) for s in stack):
        raise FormatError(source, f"frame record {n}: the stack is not a list of strings")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise FormatError(source, f"frame record {n}: the time is not a number")
    if not math.isfinite(seconds) or seconds < 0:
        raise FormatError(source, f"frame record {n}: the time is not a non-negative number")
    return stack, float(seconds)


# -- files ----------------------------------------------------------------------------------


def dumps_pyisession(profile: Profile, interval_s: float | None = None) -> str:
    doc = profile_to_session(profile, interval_s).to_json()
    doc[_METADATA_KEY] = dict(profile.metadata)
    return json.dumps(doc, separators=(",", ":"))


def write_pyisession(profile: Profile, path: str | os.PathLike[str]) -> None:
    """A `.pyisession` file that `pyinstrument --load` (and perftop) opens."""
    write_atomic(path, dumps_pyisession(profile))


def loads_pyisession(text: str, source: str = "<string>") -> Profile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(source, f"not JSON: {e.msg}", e.lineno) from None
    except (ValueError, RecursionError) as e:  # numbers too long, nesting too deep
        raise FormatError(source, f"not JSON: {e}") from None
    return profile_from_json(doc, source)


def profile_from_json(doc: object, source: str) -> Profile:
    """A Profile from a parsed `.pyisession` document (detect.py parses only once)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("frame_records"), list):
        raise FormatError(source, "not a pyinstrument session: no frame_records list")
    start = doc.get("start_time", 0.0)
    if isinstance(start, bool) or not isinstance(start, int | float) or not math.isfinite(start):
        raise FormatError(source, "start_time is not a number")
    interval = doc.get("min_interval", 0.001)  # pyinstrument's own default for old files
    description = doc.get("target_description", "")
    if not isinstance(description, str):
        raise FormatError(source, "target_description is not a string")
    session = Session(
        frame_records=doc["frame_records"],
        start_time=float(start),
        duration=0.0,
        min_interval=interval,
        max_interval=interval,
        sample_count=0,
        start_call_stack=[],
        target_description=description,
        cpu_time=0.0,
        sys_path=[],
        sys_prefixes=[],
    )
    profile = session_to_profile(session, source)
    extra = doc.get(_METADATA_KEY)
    if isinstance(extra, dict):
        # Written by perftop: the original metadata, rather than what the session implies.
        derived = profile.metadata
        profile.metadata = {
            k: v for k, v in extra.items() if isinstance(k, str) and isinstance(v, str)
        }
        profile.metadata["source"] = source
        profile.metadata.setdefault("rate_hz", derived["rate_hz"])
    return profile


def read_pyisession(path: str | os.PathLike[str]) -> Profile:
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        raise FormatError(name, f"cannot read: {e.strerror or e}") from None
    return loads_pyisession(data.decode("utf-8-sig", "replace"), name)


def render_html(profile: Profile) -> str:
    """pyinstrument's interactive page for `profile`, scripts and styles inline."""
    session = profile_to_session(profile)
    depth = max((len(ids) for ids, _, _ in profile.stacks()), default=0)
    # pyinstrument writes its frame tree recursively, one Python call per level.
    with _recursion_limit(depth * 2 + 200):
        # resample_interval=0: our records are totals per stack, not a timeline to thin out.
        page: str = HTMLRenderer(resample_interval=0).render(session)
        if any(_SCRIPT_BREAK_RE.search(text) for text in _strings(session)):
            data: str = JSONForHTMLRenderer().render(session)
            page = page.replace(data, data.replace("<", "\\u003c"), 1)
    return page


def _strings(session: Session) -> Iterator[str]:
    yield session.target_description
    for stack, _ in session.frame_records:
        yield from stack


def write_html(profile: Profile, path: str | os.PathLike[str]) -> None:
    write_atomic(path, render_html(profile))


@contextlib.contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    if limit > old:
        sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
