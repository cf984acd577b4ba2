"""speedscope JSON (https://www.speedscope.app/file-format-schema.json): write and read.

Writes one sampled profile per thread: `samples` of frame indices root first, `weights` of
the same length, in sample counts (unit "none"), or in bytes (unit "bytes") for a memory
profile (metadata `unit` = "bytes": the live bytes by stack), frames shared; a file whose
profiles are all in bytes reads back as a memory profile. Reads sampled and evented
profiles, validating every field it uses; anything malformed is a FormatError.

Weights and event times become whole sample counts: integral values are taken as they are;
otherwise they are counted in units of the smallest positive value (py-spy writes 0.01 s per
sample at 100 Hz, which gives 1 a sample), and that unit is noted in the metadata.
py-spy's thread and process root frames become thread keys as in folded files.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeGuard

from perftop.formats.atomic import write_atomic
from perftop.formats.decode import decode_text, parse_json
from perftop.formats.errors import FormatError
from perftop.formats.folded import split_root_frames
from perftop.model.frames import Frame
from perftop.model.profile import Profile

__all__ = [
    "SCHEMA",
    "dumps_speedscope",
    "loads_speedscope",
    "read_speedscope",
    "speedscope_from_json",
    "write_speedscope",
]

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
EXPORTER = "perftop"
_PYSPY_PROFILE_NAME = re.compile(r'Thread (?P<id>\S+) "(?P<name>.*)"')
# Beyond these a number is junk, not a measurement: a 400-digit weight would overflow the
# float arithmetic below (OverflowError), a count of 1e300 samples every sum after it.
_MAX_NUMBER = 1e18  # event times and weights, in whatever unit the file uses
_MAX_COUNT = 10**15  # samples in one stack (a week at 1 MHz is 6e11)
_MAX_LINE = 2**31 - 1


def dumps_speedscope(profile: Profile) -> str:
    frames = []
    for f in profile.frames:
        entry: dict[str, Any] = {"name": f.name}
        if f.filename:
            entry["file"] = f.filename
        if f.line:
            entry["line"] = f.line
        frames.append(entry)
    profiles = []
    unit = "bytes" if profile.metadata.get("unit") == "bytes" else "none"
    for thread in profile.threads():
        samples: list[list[int]] = []
        weights: list[int] = []
        for ids, count, _ in profile.stacks(thread):
            samples.append(list(ids))
            weights.append(count)
        profiles.append(
            {
                "type": "sampled",
                # Read back verbatim, since EXPORTER marks the file as ours (see _thread_of).
                "name": thread,
                "unit": unit,
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        )
    doc = {
        "$schema": SCHEMA,
        "exporter": EXPORTER,
        "name": profile.metadata.get("command", "perftop profile"),
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": profiles,
    }
    return json.dumps(doc, separators=(",", ":"))


def write_speedscope(profile: Profile, path: str | os.PathLike[str]) -> None:
    write_atomic(path, dumps_speedscope(profile))


def read_speedscope(source: str | bytes | os.PathLike[str]) -> Profile:
    """A Profile from a speedscope file, or from its text (same rules as `read_folded`)."""
    if isinstance(source, bytes):
        return loads_speedscope(decode_text(source), "<bytes>")
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        path = os.fspath(source)
        return loads_speedscope(decode_text(Path(path).read_bytes()), path)
    return loads_speedscope(source)


def loads_speedscope(text: str, source: str = "<string>") -> Profile:
    return speedscope_from_json(parse_json(text, source), source)


def speedscope_from_json(doc: object, source: str, *, require_schema: bool = True) -> Profile:
    """A Profile from a parsed speedscope document (detect.py parses only once).

    speedscope's own reader insists on `$schema`; `require_schema=False` takes a document
    that has `shared` and `profiles` without it, which is close enough.
    """
    return _Reader(source).read(doc, require_schema)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.profile = Profile({"source": source})

    def fail(self, problem: str) -> FormatError:
        return FormatError(self.source, problem)

    def read(self, doc: object, require_schema: bool = True) -> Profile:
        if not isinstance(doc, dict):
            raise self.fail("not a speedscope file: expected a JSON object")
        schema = doc.get("$schema")
        if require_schema and (not isinstance(schema, str) or "speedscope" not in schema):
            raise self.fail(f"not a speedscope file: no $schema {SCHEMA!r}")
        shared = doc.get("shared")
        if not isinstance(shared, dict) or not isinstance(shared.get("frames"), list):
            raise self.fail("shared.frames is missing or not a list")
        raw_frames: list[Any] = shared["frames"]
        parsed = [self.frame(i, f) for i, f in enumerate(raw_frames)]
        # py-spy's thread/process pseudo-frames, recognised by name, only ever at the root:
        # they become thread keys, so they are interned only if found anywhere else.
        names = [
            f.name if not f.filename and f.name.startswith(("thread (", "process ")) else ""
            for f in parsed
        ]
        intern = self.profile.intern
        ids = [-1 if name else intern(f) for f, name in zip(parsed, names, strict=True)]
        profiles = doc.get("profiles")
        if not isinstance(profiles, list):
            raise self.fail("profiles is missing or not a list")
        ours = isinstance(doc.get("exporter"), str) and doc["exporter"].startswith(EXPORTER)
        name = doc.get("name")
        if isinstance(name, str) and name:
            self.profile.metadata.setdefault("command", name)
        if profiles and all(isinstance(p, dict) and p.get("unit") == "bytes" for p in profiles):
            self.profile.metadata["unit"] = "bytes"  # a memory profile: counts are bytes
        for n, p in enumerate(profiles):
            if not isinstance(p, dict):
                raise self.fail(f"profile {n} is not an object")
            thread = self.thread_of(p, n, len(profiles), ours)
            kind = p.get("type")
            if kind == "sampled":
                stacks, counts = self.sampled(p, n, len(ids))
                for stack, count in zip(stacks, counts, strict=True):
                    self.add(stack, count, thread, ids, names, parsed)
            elif kind == "evented":
                self.evented(p, n, thread, ids, parsed)
            else:
                raise self.fail(f"profile {n}: unknown type {kind!r}")
        return self.profile

    def frame(self, i: int, f: object) -> Frame:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise self.fail(f"frame {i} has no name")
        file = f.get("file")
        line = f.get("line")
        if file is not None and not isinstance(file, str):
            raise self.fail(f"frame {i}: file is not a string")
        if line is not None and (not _is_int(line) or not 0 <= line <= _MAX_LINE):
            raise self.fail(f"frame {i}: line is not a line number")
        return Frame(f["name"], file or "", line or 0)

    def thread_of(self, p: dict[str, Any], n: int, count: int, ours: bool) -> str:
        name = p.get("name")
        if name is not None and not isinstance(name, str):
            raise self.fail(f"profile {n}: name is not a string")
        # A lone profile from another tool is the whole program, named after the file;
        # several are threads (py-spy names them `Thread 123 "MainThread"`).
        if not name or (count == 1 and not ours):
            return ""
        m = _PYSPY_PROFILE_NAME.fullmatch(name)
        return (m["name"] or m["id"]) if m is not None and not ours else name

    def add(
        self,
        stack: Sequence[int],
        count: int,
        thread: str,
        ids: list[int],
        names: list[str],
        parsed: list[Frame],
    ) -> None:
        if count <= 0:
            return
        skip = 0
        if stack and names[stack[0]]:
            key, skip, processes = split_root_frames([names[i] for i in stack[:8]])
            if key is not None:
                thread = key
                for pid, command in processes:
                    self.profile.metadata.setdefault("pid", pid)
                    self.profile.metadata[f"process {pid}"] = command
        frame_ids = [ids[i] for i in stack[skip:]]
        if -1 in frame_ids:  # a pseudo-frame below the root: keep it as a frame
            for n, i in enumerate(stack[skip:]):
                if ids[i] < 0:
                    ids[i] = self.profile.intern(parsed[i])
                frame_ids[n] = ids[i]
        self.profile.add_stack_ids(frame_ids, count, thread)

    def sampled(self, p: dict[str, Any], n: int, n_frames: int) -> tuple[list[Any], list[int]]:
        samples, weights = p.get("samples"), p.get("weights")
        if not isinstance(samples, list) or not isinstance(weights, list):
            raise self.fail(f"profile {n}: samples and weights must be lists")
        if len(samples) != len(weights):
            raise self.fail(f"profile {n}: {len(samples)} samples but {len(weights)} weights")
        for s in samples:
            if not isinstance(s, list) or not all(_is_int(i) and 0 <= i < n_frames for i in s):
                raise self.fail(f"profile {n}: a sample is not a list of frame indices")
        return samples, self.counts(weights, n)

    def evented(
        self, p: dict[str, Any], n: int, thread: str, ids: list[int], parsed: list[Frame]
    ) -> None:
        """Time between events, summed per open call path, as samples.

        The open paths form a tree (node i: file frame `frames[i]` below node `parents[i]`),
        so each event costs O(1) whatever the depth, and the tree is added to the profile in
        one pass: copying the open stack at each event made a deep file quadratic (1.6 MB
        took 156 s and 1.6 GB).
        """
        events = p.get("events")
        if not isinstance(events, list):
            raise self.fail(f"profile {n}: events must be a list")
        n_frames = len(ids)
        frames: list[int] = []
        parents: list[int] = []
        durations: list[float] = []
        children: dict[tuple[int, int], int] = {}
        node = -1  # the innermost open path; -1: nothing open
        last: float | None = None
        for e, ev in enumerate(events):
            if not isinstance(ev, dict):
                raise self.fail(f"profile {n}: event {e} is not an object")
            kind, frame, at = ev.get("type"), ev.get("frame"), ev.get("at")
            if kind not in ("O", "C") or not _is_int(frame) or not 0 <= frame < n_frames:
                raise self.fail(f"profile {n}: event {e} needs type O or C and a frame index")
            if not _is_number(at):
                raise self.fail(f"profile {n}: event {e} has no time ('at') it can use")
            if last is not None:
                if at < last:
                    raise self.fail(f"profile {n}: event {e} goes back in time")
                if node >= 0 and at > last:
                    durations[node] += at - last
            last = at
            if kind == "O":
                child = children.get((node, frame))
                if child is None:
                    child = children[(node, frame)] = len(frames)
                    frames.append(frame)
                    parents.append(node)
                    durations.append(0.0)
                node = child
            elif node < 0 or frames[node] != frame:
                raise self.fail(f"profile {n}: event {e} closes frame {frame}, not the open one")
            else:
                node = parents[node]
        if node >= 0:
            raise self.fail(f"profile {n}: frame {frames[node]} is opened but never closed")
        counts = self.counts(durations, n)
        for fi in frames:
            if ids[fi] < 0:  # py-spy's pseudo-frames only ever come in sampled profiles
                ids[fi] = self.profile.intern(parsed[fi])
        self.profile.add_tree([ids[fi] for fi in frames], parents, counts, thread)

    def counts(self, values: Sequence[Any], n: int) -> list[int]:
        if not all(_is_number(v) and v >= 0 for v in values):
            raise self.fail(f"profile {n}: weights must be non-negative numbers it can count")
        if all(float(v).is_integer() for v in values):
            if any(v > _MAX_COUNT for v in values):
                raise self.fail(f"profile {n}: a weight is too large to be a sample count")
            return [int(v) for v in values]
        unit = min(v for v in values if v > 0)
        counts = []
        for v in values:
            ratio = v / unit
            if not math.isfinite(ratio) or ratio > 1e15:
                raise self.fail(f"profile {n}: weights too far apart to count")
            counts.append(round(ratio))
        self.profile.metadata["sample_weight"] = repr(unit)
        return counts


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> TypeGuard[int | float]:
    """A finite number of sensible size (comparing an int first: float() of a 400-digit
    one raises OverflowError)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return -_MAX_NUMBER <= v <= _MAX_NUMBER
