"""Folded stacks (`a;b;c 12`) as text: the lingua franca of FlameGraph, inferno, speedscope and
py-spy, and the profile model's own text form.

Owns parsing and writing that text, the text form of one frame (py-spy's `name (file:line)`), and
the synthetic root frames py-spy adds: `thread (TID)` / `thread (TID): NAME` with `--threads`
and `process PID:"COMMAND"` with `--subprocesses`. Those name *where* a sample was taken, not
code, so they become the Profile's thread key instead of frames (speedscope.py reuses this).

Thread keys: the thread's name, or its id when it has none; with `--subprocesses`, followed by
the innermost process (`MainThread (pid 1234)`, or `pid 1234` without `--threads`). Process
command lines go to the metadata. Written back, a key becomes `thread (KEY)`, which reads
back as the same key. The live py-spy backend keeps the target's own threads under their
bare names and only child processes' threads carry a pid (see profiling/pyspy_cli.py).

Here because both sides use it: `formats/folded.py` reads and writes folded files with it,
and the py-spy backend parses py-spy's raw output with it, and neither may import the other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from perftop.model.errors import FormatError
from perftop.model.frames import Frame
from perftop.model.profile import Profile

__all__ = [
    "dumps_folded",
    "format_frame",
    "format_thread",
    "loads_folded",
    "parse_frame",
    "split_root_frames",
]

# `name (file:line)` or `name (file)`. The name is matched lazily and the file may not hold
# parentheses, so `f (x) (a.py:3)` is f (x) in a.py, and C++ `operator() (a.cc:1)` works.
_FRAME_RE = re.compile(r"(?P<name>.+?) \((?P<file>[^()]+?)(?::(?P<line>[0-9]+))?\)")
# py-spy: decimal OS thread id on Linux, hex when it only knows Python's id; older versions
# put the name in quotes after the id.
_THREAD_RE = re.compile(
    r'thread \((?P<id>0[xX][0-9A-Fa-f]+|[0-9]+)\)(?:: (?P<name>.*)| "(?P<q>.*)")?'
)
_THREAD_ANY_RE = re.compile(r"thread \((?P<id>.+)\)")  # what `format_thread` writes
# A command line may hold `;` and `"`, just not `";`, which would end the frame early.
_PROCESS_RE = re.compile(r'process (?P<pid>[0-9]+):"(?P<cmd>.*?)"(?=;|\Z)', re.DOTALL)
_PROCESS_START_RE = re.compile(r'process [0-9]+:"')
_MAX_SHOWN = 60
# A count is a number of samples: more digits is junk (and int() refuses past 4300 digits).
_MAX_COUNT_DIGITS = 15


def parse_frame(text: str) -> Frame:
    """A frame from its folded text: `name (file:line)` (py-spy), or a plain name."""
    m = _FRAME_RE.fullmatch(text)
    if m is not None:
        filename, line = m["file"], m["line"]
        # `name (something)` is a file only if it has a line or looks like a path; otherwise
        # the parentheses are part of the name (`thread (12)`, perf's `[unknown] (deleted)`).
        if line is not None:
            return Frame(m["name"], filename, int(line))
        if "/" in filename or "." in filename or filename.startswith("<"):
            return Frame(m["name"], filename)
    return Frame(text)


def format_frame(frame: Frame) -> str:
    """The folded text of a frame, the inverse of `parse_frame` for frames it produced."""
    if not frame.filename:
        text = frame.name
    elif frame.line:
        text = f"{frame.name} ({frame.filename}:{frame.line})"
    else:
        text = f"{frame.name} ({frame.filename})"
    return _one_frame(text)


def format_thread(thread: str) -> str:
    return _one_frame(f"thread ({thread})")


def _one_frame(text: str) -> str:
    # The format has no escapes: a `;` would split the frame and a newline the stack, in our
    # reader and in every other tool's. Rare in Python code; replaced so the file stays valid.
    if ";" in text or "\n" in text or "\r" in text:
        return text.replace(";", ",").replace("\r", " ").replace("\n", " ")
    return text


def split_root_frames(names: Sequence[str]) -> tuple[str | None, int, list[tuple[str, str]]]:
    """Read py-spy's root frames off the start of a stack of frame texts.

    Returns (thread key or None when there are no such frames, how many frames they are,
    [(pid, command)] outermost first).
    """
    processes: list[tuple[str, str]] = []
    i = 0
    while i < len(names) and names[i].startswith("process "):
        m = _PROCESS_RE.fullmatch(names[i])
        if m is None:
            break
        processes.append((m["pid"], m["cmd"]))
        i += 1
    thread = ""
    if i < len(names) and names[i].startswith("thread ("):
        m = _THREAD_RE.fullmatch(names[i]) or _THREAD_ANY_RE.fullmatch(names[i])
        if m is not None:
            groups = m.groupdict()
            thread = groups.get("name") or groups.get("q") or m["id"]
            i += 1
    if i == 0:
        return None, 0, processes
    if processes:
        pid = processes[-1][0]
        thread = f"{thread} (pid {pid})" if thread else f"pid {pid}"
    return thread, i, processes


def _split_stack(text: str) -> list[str]:
    """Frame texts of one stack; a process frame's command line may itself hold `;`."""
    if not text.startswith("process "):
        return text.split(";")
    names: list[str] = []
    pos = 0
    while True:
        m = _PROCESS_RE.match(text, pos)
        if m is None:
            break
        names.append(m.group(0))
        pos = m.end() + 1
        if pos > len(text):
            return names
    return names + text[pos:].split(";")


def _join_lines(lines: list[str], i: int) -> tuple[str, int]:
    """The stack that starts on `lines[i]`, and the index of the line after it.

    py-spy writes a process's command line verbatim, newlines included (`python -c` code),
    so a stack can span lines until its process frames' quotes close: each frame
    `process PID:"…"` ends at `";`, the last at `" COUNT` ending a line. Each line is looked
    at once, so a frame that never closes costs the file's length, not its square.
    """
    parts = [lines[i]]
    i += 1
    line = parts[0]
    pos = 0  # where the next process frame starts in `line`
    while True:
        m = _PROCESS_START_RE.match(line, pos)
        if m is None:
            return "\n".join(parts), i
        end = line.find('";', m.end())
        if end >= 0:
            pos = end + 2
            continue
        if _ends_leaf(line, m.end()):
            return "\n".join(parts), i
        # An open frame: read on, looking only at the new line (the join adds a newline, so
        # no `";` or `" COUNT` spans two lines).
        while True:
            if i >= len(lines):
                return "\n".join(parts), i
            line = lines[i]
            parts.append(line)
            i += 1
            end = line.find('";')
            if end >= 0:
                pos = end + 2
                break
            if _ends_leaf(line, 0):
                return "\n".join(parts), i


def _ends_leaf(line: str, start: int) -> bool:
    """Whether `line[start:]` ends with `" COUNT` and optional white space."""
    text = line.rstrip()
    digits = len(text) - len(text.rstrip("0123456789"))
    cut = len(text) - digits
    return digits > 0 and cut - 2 >= start and text[cut - 2 : cut] == '" '


def _shown(text: str) -> str:
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


def loads_folded(text: str, source: str = "<string>") -> Profile:
    """A Profile from folded text. Blank lines and `#` comments are skipped."""
    profile = Profile({"source": source})
    ids: dict[str, int] = {}  # frame text -> id: most texts repeat, parse each once
    intern = profile.intern
    add = profile.add_stack_ids
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        lineno = i + 1
        line = lines[i]
        i += 1
        if line.startswith("process "):
            line, i = _join_lines(lines, i - 1)
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        stack_text, sep, count_text = line.rpartition(" ")
        if not sep or not (count_text.isascii() and count_text.isdigit()):
            raise FormatError(source, f"expected 'frame;frame;… count', got {_shown(line)}", lineno)
        if len(count_text.lstrip("0")) > _MAX_COUNT_DIGITS:
            raise FormatError(source, f"count {_shown(count_text)} is too large", lineno)
        count = int(count_text)
        stack_text = stack_text.rstrip()
        if not stack_text:
            raise FormatError(source, "a count with no stack", lineno)
        names = _split_stack(stack_text)
        thread, skip, processes = split_root_frames(names)
        for pid, command in processes:
            profile.metadata.setdefault("pid", pid)
            profile.metadata.setdefault("command", command)
            profile.metadata[f"process {pid}"] = command
        stack: list[int] = []
        for name in names[skip:] if skip else names:
            fid = ids.get(name)
            if fid is None:
                # An empty name is a frame without a symbol (`main;;foo 3`, as FlameGraph's
                # stackcollapse-perf.pl writes one): flamegraph.pl and speedscope draw it.
                fid = ids[name] = intern(parse_frame(name))
            stack.append(fid)
        add(stack, count, thread or "")
    return profile


def dumps_folded(profile: Profile) -> str:
    """Folded text of every stack, one line each, thread keys as `thread (KEY)` root frames.

    Samples with an empty stack have no folded form and are left out.
    """
    texts: dict[int, str] = {}
    frames = profile.frames
    out: list[str] = []
    for ids, count, thread in profile.stacks():
        if not ids:
            continue
        parts = [format_thread(thread)] if thread else []
        for fid in ids:
            t = texts.get(fid)
            if t is None:
                t = texts[fid] = format_frame(frames[fid])
            parts.append(t)
        out.append(f"{';'.join(parts)} {count}\n")
    return "".join(out)
