"""`perf script` text (Linux perf), collapsed as FlameGraph's stackcollapse-perf.pl does.

`collapse_perf_script` reproduces the Perl script line for line (its regular expressions, its
tidying of names, `--pid`, `--tid`, `--kernel`, `--jit`, `--all`, `--addrs`, the filter to the
first event type, the sample period as the weight), so its output can be checked against
FlameGraph's own test results. `loads_perf_script` builds a Profile from the same parse, with
the process name (comm) as the root frame, as the script does. Deliberate differences for the
Profile: each record counts one sample (not its period), a last stack not followed by a blank
line is kept (the script drops it), and a text with no perf event line at all is a
FormatError rather than an empty result.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from perftop.formats.errors import FormatError
from perftop.model.frames import Frame
from perftop.model.profile import Profile

__all__ = [
    "collapse_perf_script",
    "loads_perf_script",
    "looks_like_perf_script",
    "read_perf_script",
]

# The Perl script reads bytes, so its \s \d \w are ASCII: re.ASCII keeps Python's the same.
_EVENT_RE = re.compile(r"^(\S.+?)\s+(\d+)/*(\d+)*\s+", re.ASCII)
_PERIOD_EVENT_RE = re.compile(r":\s*(\d+)*\s+(\S+):\s*$", re.ASCII)
_STACK_RE = re.compile(r"^\s*(\w+)\s*(.+) \((\S*)\)", re.ASCII)
_OFFSET_RE = re.compile(r"\+0x[\da-f]+$", re.ASCII)
_GO_METHOD_RE = re.compile(r"\.\(.*\)\.")
_ARGS_RE = re.compile(r"\((?!anonymous namespace\)).*")
_KERNEL_MOD_RE = re.compile(r"(^\[|vmlinux$)")
_JIT_MOD_RE = re.compile(r"/tmp/perf-\d+\.map|/jitted-\d+-\d+\.so", re.ASCII)
_QUOTES = str.maketrans("", "", "\"'")
# Perl adds periods as numbers; a longer run of digits is junk, not a sample period (and
# Python refuses to parse integers of more than 4300 digits).
_MAX_PERIOD_DIGITS = 30


@dataclass(frozen=True, slots=True)
class _Flags:
    pid: bool = False
    tid: bool = False
    kernel: bool = False
    jit: bool = False
    addrs: bool = False


@dataclass(slots=True)
class _Sample:
    pname: str
    frames: list[tuple[str, str]]  # (tidied name, module), root first
    period: int


def _truthy(value: str | None) -> bool:
    # Perl's truth: "" and "0" are false, anything else (even "00") is true.
    return value is not None and value not in ("", "0")


def _split_inline(rawfunc: str) -> list[str]:
    # Perl's split drops trailing empty fields (and returns nothing for "" or "->").
    parts = rawfunc.split("->")
    while parts and not parts[-1]:
        parts.pop()
    return parts


def _tidy(rawfunc: str, pc: str, mod: str, pname: str, flags: _Flags) -> list[tuple[str, str]]:
    """One stack line's frames, caller first (perf's `a->b` inline chains give several)."""
    out: list[tuple[str, str]] = []
    for part in _split_inline(rawfunc):
        func = part
        if func == "[unknown]":
            func = mod.rsplit("/", 1)[-1] if mod != "[unknown]" else "unknown"
            func = f"[{func} <{pc}>]" if flags.addrs else f"[{func}]"
        func = func.replace(";", ":")
        if not _GO_METHOD_RE.search(func):
            # Argument lists are noise, but Go's `net/http.(*Client).Do` keeps its parens.
            func = _ARGS_RE.sub("", func, count=1)
        func = func.translate(_QUOTES)
        if pname == "java" and "/" in func and func.startswith("L"):
            func = func[1:]  # Lorg/foo/Bar;.baz -> org/foo/Bar:.baz
        if out:
            func += "_[i]"
        elif flags.kernel and _KERNEL_MOD_RE.search(mod) and "unknown" not in mod:
            func += "_[k]"
        elif flags.jit and _JIT_MOD_RE.search(mod):
            func += "_[j]"
        out.append((func, mod))
    return out


def _samples(text: str, flags: _Flags, source: str, keep_last: bool) -> Iterator[_Sample]:
    """The samples of the first event type, as stackcollapse-perf.pl reads them."""
    stack: list[tuple[str, str]] = []  # leaf first while reading, as perf prints it
    pname: str | None = None
    period = 1
    event_filter = ""
    # CRLF is read as LF: the script would take "\r" for a line, never ending a sample.
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # the text's final newline ends its last line; it is not a blank line
    for lineno, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if not line:
            # End of a sample. A stack line seen without a process name (a filtered event)
            # stays pending, as in the script.
            if pname is not None and _truthy(pname):
                yield _Sample(pname, stack[::-1], period)
                stack = []
                pname = None
            continue
        m = _EVENT_RE.search(line)
        if m is not None:
            comm, pid, tid = m.group(1), m.group(2), m.group(3)
            if not _truthy(tid):
                tid, pid = pid, "?"
            period_text: str | None = None
            e = _PERIOD_EVENT_RE.search(line)
            if e is not None:
                period_text, event = e.group(1), e.group(2)
                if not event_filter:
                    # Only the first event type: adding cycles to instructions misleads.
                    event_filter = event
                elif event != event_filter:
                    continue
            if period_text is None or not _truthy(period_text):
                period = 1
            else:
                if len(period_text) > _MAX_PERIOD_DIGITS:
                    raise FormatError(source, "sample period is too large", lineno)
                period = int(period_text)
            if flags.tid:
                pname = f"{comm}-{pid}/{tid}"
            elif flags.pid:
                pname = f"{comm}-{pid}"
            else:
                pname = comm
            pname = pname.replace(" ", "_")
            continue
        s = _STACK_RE.search(line)
        if s is None or pname is None or not _truthy(pname):
            continue  # the script warns about unrecognised lines and goes on
        pc, rawfunc, mod = s.group(1), _OFFSET_RE.sub("", s.group(2), count=1), s.group(3)
        if rawfunc.startswith("("):
            continue  # a process name, not a function
        stack.extend(reversed(_tidy(rawfunc, pc, mod, pname, flags)))
    if keep_last and pname is not None and _truthy(pname):
        yield _Sample(pname, stack[::-1], period)


def collapse_perf_script(
    text: str,
    *,
    pid: bool = False,
    tid: bool = False,
    kernel: bool = False,
    jit: bool = False,
    addrs: bool = False,
    source: str = "<string>",
) -> dict[str, int]:
    """Folded stack line → count, sorted, exactly as `stackcollapse-perf.pl` with these flags.

    Its `--all` is `kernel=True, jit=True`. Sample periods are the counts, as in the script.
    """
    flags = _Flags(pid=pid, tid=tid, kernel=kernel, jit=jit, addrs=addrs)
    collapsed: dict[str, int] = {}
    for sample in _samples(text, flags, source, keep_last=False):
        key = ";".join([sample.pname, *(name for name, _ in sample.frames)])
        collapsed[key] = collapsed.get(key, 0) + sample.period
    return dict(sorted(collapsed.items()))


def looks_like_perf_script(text: str) -> bool:
    """Whether the first record is an event line followed by an indented stack line."""
    lines = iter(text.split("\n"))
    for line in lines:
        if line.strip() and not line.startswith("#"):
            following = next(lines, "")
            return (
                _EVENT_RE.search(line) is not None
                and following[:1].isspace()
                and _STACK_RE.search(following) is not None
            )
    return False


def _frame(name: str, mod: str) -> Frame:
    # The module is the frame's file when it is one, so the flame view's colours follow
    # `classify` (shared libraries are native, the program's own binary its own code).
    # Kernel and unknown modules get no file, which `classify` makes native.
    if mod.startswith("/") and not _KERNEL_MOD_RE.search(mod):
        return Frame(name, mod)
    return Frame(name)


def loads_perf_script(text: str, source: str = "<string>") -> Profile:
    """A Profile of `perf script` output: one sample per record, whatever its period.

    The script weighs a record by its period (cycles, nanoseconds of cpu-clock); a Profile
    counts samples, as speedscope's importer of this format does.
    """
    if not any(_EVENT_RE.search(line) for line in text.split("\n") if line[:1] != "#"):
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
                fid = frames[key] = intern(_frame(*key))
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
