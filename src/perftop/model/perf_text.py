"""`perf script` text (Linux perf), read as FlameGraph's stackcollapse-perf.pl reads it.

Here, in the model, because two layers read it: the file format (`perftop.formats.perf_script`)
and the live perf backend (`perftop.profiling.perf`), which feeds `SampleReader` a stream.

`collapse_perf_script` reproduces the Perl script line for line (its regular expressions, its
tidying of names, `--pid`, `--tid`, `--kernel`, `--jit`, `--all`, `--addrs`, the filter to the
first event type, the sample period as the weight), so its output can be checked against
FlameGraph's own test results; `perftop.formats.perf_script` builds Profiles from the same
parse, with the process name (comm) as the root frame, as the script does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from perftop.model.errors import FormatError
from perftop.model.frames import Frame

__all__ = [
    "SampleReader",
    "collapse_perf_script",
    "has_event_line",
    "looks_like_perf_script",
    "perf_frame",
]

# The Perl script's patterns, with ASCII \s \d \w as in Perl reading bytes:
#   event:  ^(\S.+?)\s+(\d+)/*(\d+)*\s+          period: :\s*(\d+)*\s+(\S+):\s*$
#   stack:  ^\s*(\w+)\s*(.+) \((\S*)\)          Go method: \.\(.*\)\.
# Python's backtracking engine takes exponential time on the first two (`(\d+)*` splits a
# run of digits every possible way before failing: a folded line with a 30-digit count took
# 76 s) and quadratic time on the others, so each is matched by hand below, in one pass,
# with the captures the Perl script gets. tests/unit/test_perf_script.py checks them against
# the patterns on random lines.
_SPACE = frozenset(" \t\n\r\f\v")
_DIGITS = "0123456789"
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_SPACE_RUN_RE = re.compile(r"[ \t\n\r\f\v]+")
_NON_SPACE_RUN_RE = re.compile(r"[^ \t\n\r\f\v]*")
_PID_TID_RE = re.compile(r"([0-9]++)/*+([0-9]*+)(?=[ \t\n\r\f\v])")
_OFFSET_RE = re.compile(r"\+0x[\da-f]+$", re.ASCII)
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
    # Not the script's: an unresolved address reads `module+0xPC` (the live view's names),
    # where the script writes `[module]` and drops the address.
    offsets: bool = False


@dataclass(slots=True)
class _Sample:
    pname: str
    frames: list[tuple[str, str]]  # (tidied name, module), root first
    period: int
    comm: str = ""
    pid: str = ""  # "?" when perf printed only a thread id
    tid: str = ""


def _truthy(value: str | None) -> bool:
    # Perl's truth: "" and "0" are false, anything else (even "00") is true.
    return value is not None and value not in ("", "0")


def _event(line: str) -> tuple[str, str, str | None] | None:
    """(comm, pid, tid or None) as `^(\\S.+?)\\s+(\\d+)/*(\\d+)*\\s+` captures them."""
    if not line or line[0] in _SPACE or "\n" in line:
        return None
    # The lazy comm ends where the first white space run does that is followed by the
    # numbers and more white space; its `.+?` takes at least one character after the first.
    for run in _SPACE_RUN_RE.finditer(line, 1):
        if run.end() - max(run.start(), 2) < 1:
            continue
        m = _PID_TID_RE.match(line, run.end())
        if m is not None:
            return line[: max(run.start(), 2)], m[1], m[2] or None
    return None


def _rstrip_set(text: str, end: int, chars: frozenset[str] | str) -> int:
    """The start of the run of `chars` ending at `end` in `text`."""
    i = end
    while i > 0 and text[i - 1] in chars:
        i -= 1
    return i


def _period_event(line: str) -> tuple[str | None, str] | None:
    """(period or None, event) as `:\\s*(\\d+)*\\s+(\\S+):\\s*$` captures them."""
    end = _rstrip_set(line, len(line), _SPACE)
    if end < 1 or line[end - 1] != ":":
        return None
    end -= 1  # the event ends at the last colon of the line
    event_start = end
    while event_start > 0 and line[event_start - 1] not in _SPACE:
        event_start -= 1
    space_start = _rstrip_set(line, event_start, _SPACE)
    if event_start == end or space_start == event_start:
        return None
    digits_start = _rstrip_set(line, space_start, _DIGITS)
    colon = _rstrip_set(line, digits_start, _SPACE) - 1
    if colon < 0 or line[colon] != ":":
        return None
    return line[digits_start:space_start] or None, line[event_start:end]


def _stack(line: str) -> tuple[str, str, str] | None:
    """(pc, function, module) as `^\\s*(\\w+)\\s*(.+) \\((\\S*)\\)` captures them."""
    start = len(line) - len(line.lstrip(" \t\n\r\f\v"))
    if start >= len(line) or line[start] not in _WORD or "\n" in line:
        return None
    word_end = start
    while word_end < len(line) and line[word_end] in _WORD:
        word_end += 1
    after_space = word_end
    while after_space < len(line) and line[after_space] in _SPACE:
        after_space += 1
    # The greedy `(.+)` ends at the last ` (` whose following non-space run holds a `)`.
    # Each run is scanned once: a later ` (` ends the run of an earlier one.
    p = len(line)
    while True:
        p = line.rfind(" (", 0, p)
        if p < start + 2:  # (\w+) and (.+) take a character each
            return None
        run = _NON_SPACE_RUN_RE.match(line, p + 2)
        close = line.rfind(")", p + 2, run.end() if run else p + 2)
        if close >= 0:
            break
    # With \w+ and \s* greedy, (.+) starts after them, or gives back what it must.
    func_start = min(after_space, p - 1)
    pc = line[start : min(word_end, func_start)]
    return pc, line[func_start:p], line[p + 2 : close]


def _is_go_method(func: str) -> bool:
    """`\\.\\(.*\\)\\.` found in `func`: a `.(` with a `).` after it."""
    i = func.find(".(")
    return i >= 0 and func.find(").", i + 2) >= 0


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
            if flags.offsets:
                func = f"{func}+0x{pc}"
            else:
                func = f"[{func} <{pc}>]" if flags.addrs else f"[{func}]"
        func = func.replace(";", ":")
        if not _is_go_method(func):
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


class SampleReader:
    """Reads `perf script` text a line at a time and hands over each sample as it ends, as
    stackcollapse-perf.pl reads them (only the first event type). The live perf backend
    feeds it a stream; `collapse_perf_script` and the file reader feed it a whole text."""

    def __init__(self, flags: _Flags, source: str = "<string>") -> None:
        self.flags = flags
        self.source = source
        self._stack: list[tuple[str, str]] = []  # leaf first while reading, as perf prints it
        self._pname: str | None = None
        self._comm = ""
        self._pid = ""
        self._tid = ""
        self._period = 1
        self._event_filter = ""

    def line(self, line: str, lineno: int = 0) -> _Sample | None:
        """Read one line (without its newline); the sample it ended, if it ended one."""
        if line.startswith("#"):
            return None
        if not line:
            # End of a sample. A stack line seen without a process name (a filtered event)
            # stays pending, as in the script.
            return self.end()
        m = _event(line)
        if m is not None:
            self._event_line(line, m, lineno)
            return None
        pname = self._pname
        s = _stack(line)
        if s is None or pname is None or not _truthy(pname):
            return None  # the script warns about unrecognised lines and goes on
        pc, rawfunc, mod = s[0], _OFFSET_RE.sub("", s[1], count=1), s[2]
        if rawfunc.startswith("("):
            return None  # a process name, not a function
        self._stack.extend(reversed(_tidy(rawfunc, pc, mod, pname, self.flags)))
        return None

    def end(self) -> _Sample | None:
        """The sample being read, if any (at a blank line, or the end of the text)."""
        pname = self._pname
        if pname is None or not _truthy(pname):
            return None
        sample = _Sample(pname, self._stack[::-1], self._period, self._comm, self._pid, self._tid)
        self._stack = []
        self._pname = None
        return sample

    def _event_line(self, line: str, m: tuple[str, str, str | None], lineno: int) -> None:
        comm, pid, tid = m
        if not _truthy(tid):
            tid, pid = pid, "?"
        period_text: str | None = None
        e = _period_event(line)
        if e is not None:
            period_text, event = e
            if not self._event_filter:
                # Only the first event type: adding cycles to instructions misleads.
                self._event_filter = event
            elif event != self._event_filter:
                return
        if period_text is None or not _truthy(period_text):
            self._period = 1
        else:
            if len(period_text) > _MAX_PERIOD_DIGITS:
                raise FormatError(self.source, "sample period is too large", lineno)
            self._period = int(period_text)
        flags = self.flags
        if flags.tid:
            pname = f"{comm}-{pid}/{tid}"
        elif flags.pid:
            pname = f"{comm}-{pid}"
        else:
            pname = comm
        self._pname = pname.replace(" ", "_")
        self._comm, self._pid, self._tid = comm, pid, tid or ""


def _samples(text: str, flags: _Flags, source: str, keep_last: bool) -> Iterator[_Sample]:
    """The samples of the first event type, as stackcollapse-perf.pl reads them."""
    reader = SampleReader(flags, source)
    # CRLF is read as LF: the script would take "\r" for a line, never ending a sample.
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # the text's final newline ends its last line; it is not a blank line
    for lineno, line in enumerate(lines, 1):
        sample = reader.line(line, lineno)
        if sample is not None:
            yield sample
    if keep_last:
        last = reader.end()
        if last is not None:
            yield last


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
                _event(line) is not None
                and following[:1].isspace()
                and _stack(following) is not None
            )
    return False


def has_event_line(text: str) -> bool:
    """Whether any line of `text` is a perf event line (`comm pid time: event:`)."""
    return any(_event(line) for line in text.split("\n") if line[:1] != "#")


def perf_frame(name: str, mod: str) -> Frame:
    """A Frame of a perf stack entry: the module is its file when there is one, so the flame's
    colours follow `classify` (shared libraries and binaries native, `[kernel.kallsyms]` and
    kernel modules the kernel, `/tmp/perf-PID.map` JIT code). `[unknown]` gets no file."""
    if mod and mod != "[unknown]":
        return Frame(name, mod)
    return Frame(name)
