"""Which process each sample of a profile comes from, and each process's share.

A profile holds several processes in one of two ways, and this module reads both:

- py-spy `--subprocesses` (live or from a file): each thread's key ends with its process,
  `MainThread (pid 1234)` or `pid 1234` (model/folded.py); the live backend leaves the
  target's own threads bare (profiling/pyspy_cli.py), so a bare key is the target's.
- perf on every CPU: each stack starts with a root frame `process PID:"comm"`
  (profiling/perf.py), all under one thread key.

Command lines come from the metadata (`process PID`, and `command` for the target) or from
the root frame's comm.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import median

from perftop.model.frames import Frame
from perftop.model.profile import Profile

__all__ = [
    "ProcessShare",
    "command_of",
    "has_process_roots",
    "process_frame",
    "process_of_frame",
    "process_of_thread",
    "process_shares",
    "shares_of",
]

_PROCESS_FRAME = re.compile(r'process (?P<pid>[0-9]+):"(?P<cmd>.*)"', re.DOTALL)
# A process with this many siblings (the same command) or more is compared with them.
SIBLINGS = 3


@dataclass(frozen=True, slots=True)
class ProcessShare:
    pid: str  # "" for the target when its PID is not known
    command: str
    samples: int
    percent: float  # of all the processes' samples
    # The share over the median share of the processes with the same command, where there
    # are SIBLINGS of them (a server's workers): the slow one stands out at 2.0.
    vs_siblings: float | None = None


def process_of_thread(key: str, own: str = "") -> str:
    """The PID a thread key names (`MainThread (pid 12)`, `pid 12`); `own` for a bare key."""
    if key.startswith("pid ") and key[4:].isdigit():
        return key[4:]
    if key.endswith(")"):
        cut = key.rfind(" (pid ")
        if cut >= 0 and key[cut + 6 : -1].isdigit():
            return key[cut + 6 : -1]
    return own


def process_of_frame(frame: Frame) -> tuple[str, str] | None:
    """(PID, command) of a root frame `process PID:"comm"`, None for any other frame."""
    if frame.filename or not frame.name.startswith("process "):
        return None
    m = _PROCESS_FRAME.fullmatch(frame.name)
    return (m["pid"], m["cmd"]) if m is not None else None


def process_frame(pid: str, command: str) -> Frame:
    """The root frame that names a process, as py-spy writes it."""
    return Frame(f'process {pid}:"{" ".join(command.split())}"')


def has_process_roots(profile: Profile) -> bool:
    """Whether the stacks start with process frames (perf on every CPU)."""
    root = profile.root()
    return any(process_of_frame(profile.frame(fid)) is not None for fid in root.children)


def command_of(pid: str, metadata: Mapping[str, str]) -> str:
    command = metadata.get(f"process {pid}")
    if command is None and (not pid or pid == metadata.get("pid", "")):
        command = metadata.get("command")
    return command or ""


def process_shares(
    profile: Profile, metadata: Mapping[str, str] | None = None, own: str | None = None
) -> list[ProcessShare]:
    """Every process with samples, busiest first. Costs O(threads x root frames).

    `metadata` names the commands (the profile's own by default: a live session keeps them
    in the session's), `own` is the PID of bare thread keys (the metadata's `pid`).
    """
    meta = profile.metadata if metadata is None else metadata
    target = meta.get("pid", "") if own is None else own
    counts: dict[str, int] = {}
    commands: dict[str, str] = {}
    for thread in profile.threads():
        root = profile.root(thread)
        pid = process_of_thread(thread, target)
        rest = root.total
        for fid, child in root.children.items():
            named = process_of_frame(profile.frame(fid))
            if named is not None:
                counts[named[0]] = counts.get(named[0], 0) + child.total
                commands.setdefault(named[0], named[1])
                rest -= child.total
        if rest:
            counts[pid] = counts.get(pid, 0) + rest
    return shares_of(counts, {p: commands.get(p) or command_of(p, meta) for p in counts})


def shares_of(counts: Mapping[str, int], commands: Mapping[str, str]) -> list[ProcessShare]:
    """ProcessShares from samples by PID, busiest first, each compared with its siblings."""
    total = sum(counts.values()) or 1
    by_command: dict[str, list[int]] = {}
    for pid, n in counts.items():
        by_command.setdefault(commands.get(pid, ""), []).append(n)
    shares = []
    for pid, n in counts.items():
        if n <= 0:
            continue
        siblings = by_command[commands.get(pid, "")]
        typical = median(siblings) if len(siblings) >= SIBLINGS else 0
        ratio = n / typical if typical else None
        shares.append(ProcessShare(pid, commands.get(pid, ""), n, 100.0 * n / total, ratio))
    shares.sort(key=lambda s: (-s.samples, _pid_order(s.pid)))
    return shares


def _pid_order(pid: str) -> int:
    return int(pid) if pid.isdigit() else -1
