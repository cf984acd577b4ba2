"""`perf script` text files (Linux perf) as Profiles; the parse is `perftop.model.perf_text`.

Deliberate differences from stackcollapse-perf.pl for the Profile: each record counts one
sample (not its period), a last stack not followed by a blank line is kept (the script drops
it), and a text with no perf event line at all is a FormatError rather than an empty result.
"""

from __future__ import annotations

import os
from pathlib import Path

from perftop.formats.errors import FormatError
from perftop.model.perf_text import (
    _Flags,
    _samples,
    collapse_perf_script,
    has_event_line,
    looks_like_perf_script,
    perf_frame,
)
from perftop.model.profile import Profile

__all__ = [
    "collapse_perf_script",
    "has_event_line",
    "loads_perf_script",
    "looks_like_perf_script",
    "read_perf_script",
]


def loads_perf_script(text: str, source: str = "<string>") -> Profile:
    """A Profile of `perf script` output: one sample per record, whatever its period.

    The script weighs a record by its period (cycles, nanoseconds of cpu-clock); a Profile
    counts samples, as speedscope's importer of this format does.
    """
    if not has_event_line(text):
        raise FormatError(source, "no perf script sample (a 'comm pid time: event:' line)")
    profile = Profile({"source": source, "format": "perf script"})
    for line in text.split("\n"):
        if line.startswith("# cmdline : "):
            profile.metadata["command"] = line[len("# cmdline : ") :].strip()
            break
    frames: dict[tuple[str, str], int] = {}
    intern = profile.intern
    for sample in _samples(text, _Flags(), source, keep_last=True):
        ids = []
        for key in [(sample.pname, ""), *sample.frames]:
            fid = frames.get(key)
            if fid is None:
                fid = frames[key] = intern(perf_frame(*key))
            ids.append(fid)
        profile.add_stack_ids(ids, 1)
    return profile


def read_perf_script(path: str | os.PathLike[str]) -> Profile:
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        raise FormatError(name, f"cannot read: {e.strerror or e}") from None
    return loads_perf_script(data.decode("utf-8", "replace"), name)
