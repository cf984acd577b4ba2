"""What the flame shows of a profile: idle stacks hidden, one process alone, or each process
side by side under its own root frame.

With every option off the view *is* the profile: no copy, no cost. Otherwise it is a
Profile of its own, with frame ids of its own (a split adds root frames the source does not
have: `Profile.id_of` carries a path from one to the other), built from the source on a key
press and kept up to date with each live batch the source merges, in one of two ways:

- idle hidden, one process alone by its threads: the source's (or the batch's) trees merged
  (`Profile.merge`, what the session does anyway), then each idle stack taken back
  (`Profile.remove_stack_ids`, O(depth) each; a program has few distinct places it waits);
- what changes the trees' shape (processes split under root frames of their own, or merged
  from perf's; one process of perf's): a walk of every node into `Profile.add_tree`, a few
  times the cost of a merge.

Either way it counts, per process, what it kept and what it hid: the head line's "idle
hidden" and the share of each process, idle left out, are read from those counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from perftop.model.idle import is_idle
from perftop.model.processes import (
    ProcessShare,
    command_of,
    has_process_roots,
    process_frame,
    process_of_frame,
    process_of_thread,
    process_shares,
    shares_of,
)
from perftop.model.profile import Node, Profile

__all__ = ["ProfileView", "ViewOptions"]


@dataclass(frozen=True, slots=True)
class ViewOptions:
    hide_idle: bool = False
    process: str | None = None  # a PID: that process alone
    # Each process under a root frame of its own. None: as the profile has it (perf on every
    # CPU has them; py-spy's processes are in the thread keys and merge).
    split: bool | None = None


@dataclass
class _Counts:
    kept: dict[str, int] = field(default_factory=dict)  # PID -> samples shown (or showable)
    hidden: dict[str, int] = field(default_factory=dict)  # PID -> idle samples hidden
    hidden_by_thread: dict[str, int] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)  # PID -> comm of a root frame


class ProfileView:
    """The shown profile of one source, under ViewOptions; `absorb` each batch the source
    merges, `show` again when the source or the options change."""

    def __init__(self, own_pid: str = "", metadata: Mapping[str, str] | None = None) -> None:
        self.own_pid = own_pid  # the PID of bare thread keys: the target's
        self.metadata: Mapping[str, str] = metadata if metadata is not None else {}
        self.options = ViewOptions()
        self.source = Profile()
        self.shown = self.source
        self._counts = _Counts()
        self._roots = False  # the source's stacks start with process frames

    @property
    def identity(self) -> bool:
        """Whether the view is the source itself."""
        o = self.options
        return not o.hide_idle and o.process is None and o.split in (None, self._roots)

    @property
    def split(self) -> bool:
        return self._roots if self.options.split is None else self.options.split

    def show(self, source: Profile, options: ViewOptions) -> Profile:
        """Build the view of `source` afresh and return it."""
        self.source, self.options = source, options
        self._roots = has_process_roots(source)
        self._counts = _Counts()
        if self.identity:
            self.shown = source
            return source
        # As bounded as the source: past the cap it folds as the source does (model/fold.py).
        self.shown = Profile(source.metadata, max_nodes=source.max_nodes)
        self.shown.ended, self.shown.end_reason = source.ended, source.end_reason
        self._add(source)
        self.shown.bound()
        return self.shown

    def absorb(self, batch: Profile) -> None:
        """Samples the source has just merged: add what the view keeps of them. A batch that
        brings the first process frames rebuilds the view (they decide how it splits)."""
        if not self._roots and has_process_roots(batch):
            self.show(self.source, self.options)  # the source has them now too
            return
        if self.identity:
            return
        self._add(batch)
        self.shown.bound()  # after the idle is taken back: it is found where it was added
        self.shown.ended, self.shown.end_reason = self.source.ended, self.source.end_reason

    # --- what the head line and the process table read --------------------------------------

    def hidden(self, thread: str | None = None) -> int:
        """Idle samples hidden, of the process shown (all where none is picked), or of one
        thread of the view."""
        if not self.options.hide_idle:
            return 0
        counts = self._counts
        if thread is not None:
            return counts.hidden_by_thread.get(thread, 0)
        picked = self.options.process
        if picked is not None:
            return counts.hidden.get(picked, 0)
        return sum(counts.hidden.values())

    def processes(self) -> list[ProcessShare]:
        """Every process by share, idle left out where it is hidden."""
        if not self.options.hide_idle and self.options.process is None:
            return process_shares(self.source, self.metadata, self.own_pid)
        counts = self._counts
        pids = counts.kept.keys() | counts.hidden.keys()
        commands = {p: counts.commands.get(p) or command_of(p, self.metadata) for p in pids}
        return shares_of({p: counts.kept.get(p, 0) for p in pids}, commands)

    # --- adding samples ---------------------------------------------------------------------

    def _add(self, src: Profile) -> None:
        reshaped = self.split != self._roots or (self._roots and self.options.process is not None)
        if reshaped:
            self._walk(src)
        else:
            self._merge(src)

    def _merge(self, src: Profile) -> None:
        """Merge `src`'s trees (the picked process's threads), then take the idle back."""
        shown, counts, options = self.shown, self._counts, self.options
        pids = {t: process_of_thread(t, self.own_pid) for t in src.threads()}
        keep = (
            None
            if options.process is None
            else {t for t, p in pids.items() if p == options.process}
        )
        shown.merge(src, keep)
        for thread, pid in pids.items():  # the processes' shares, before idle is taken back
            for fid, child in src.root(thread).children.items():
                top = self._process_of(src, fid, pid)
                counts.kept[top] = counts.kept.get(top, 0) + child.total
            own = src.root(thread).self_count
            if own:
                counts.kept[pid] = counts.kept.get(pid, 0) + own
        if not options.hide_idle:
            return
        waits = [fid for fid, frame in enumerate(src.frames) if is_idle(frame)]
        for thread, pid in pids.items():
            for fid in waits:
                for node in list(src.nodes_of(fid, thread)):
                    n = node.self_count
                    if not n:
                        continue
                    path = node.path()
                    top = self._process_of(src, path[0], pid)
                    counts.kept[top] -= n
                    counts.hidden[top] = counts.hidden.get(top, 0) + n
                    if keep is None or thread in keep:
                        ids = [shown.id_of(src.frame(i)) for i in path]
                        shown.remove_stack_ids([i for i in ids if i is not None], n, thread)
                        by_thread = counts.hidden_by_thread
                        by_thread[thread] = by_thread.get(thread, 0) + n

    def _process_of(self, src: Profile, top: int, pid: str) -> str:
        """The PID a stack whose first frame is `top` comes from (in a thread of `pid`)."""
        named = process_of_frame(src.frame(top))
        if named is None:
            return pid
        self._counts.commands.setdefault(named[0], named[1])
        return named[0]

    def _walk(self, src: Profile) -> None:
        shown, counts, options = self.shown, self._counts, self.options
        ids = [shown.intern(f) for f in src.frames]
        idle = [options.hide_idle and is_idle(f) for f in src.frames]
        named = [process_of_frame(f) for f in src.frames]
        split = self.split
        for thread in src.threads():
            root = src.root(thread)
            own = process_of_thread(thread, self.own_pid)
            frame_ids: list[int] = []
            parents: list[int] = []
            selfs: list[int] = []
            prefixes: dict[str, int] = {}  # PID -> index of its added root frame
            hidden = 0
            for fid, child in root.children.items():
                pid = own
                top = -1  # what the child hangs under: the root, or a process frame
                process = named[fid]
                if process is not None:
                    pid = process[0]
                    counts.commands.setdefault(pid, process[1])
                wanted = options.process is None or options.process == pid
                if wanted and process is None and split:
                    top = prefixes.get(pid, -1)
                    if top < 0:
                        command = command_of(pid, self.metadata) or thread
                        top = prefixes[pid] = len(frame_ids)
                        frame_ids.append(shown.intern(process_frame(pid or "?", command)))
                        parents.append(-1)
                        selfs.append(0)
                kept, lost, at_root = _subtree(
                    child,
                    top,
                    ids,
                    idle,
                    (frame_ids, parents, selfs) if wanted else None,
                    skip_root=process is not None and not split,
                )
                counts.kept[pid] = counts.kept.get(pid, 0) + kept
                if at_root:
                    shown.add_stack_ids([], at_root, thread)
                if lost:
                    counts.hidden[pid] = counts.hidden.get(pid, 0) + lost
                    if wanted:
                        hidden += lost
            if root.self_count:  # empty stacks: the root's own samples
                counts.kept[own] = counts.kept.get(own, 0) + root.self_count
                if options.process is None or options.process == own:
                    shown.add_stack_ids([], root.self_count, thread)
            if hidden:
                by_thread = counts.hidden_by_thread
                by_thread[thread] = by_thread.get(thread, 0) + hidden
            if any(selfs):
                shown.add_tree(frame_ids, parents, selfs, thread)


def _subtree(
    top: Node,
    under: int,
    ids: list[int],
    idle: list[bool],
    out: tuple[list[int], list[int], list[int]] | None,
    *,
    skip_root: bool = False,
) -> tuple[int, int, int]:
    """Append `top`'s subtree to `out` (frame ids, parent indices, self counts) below index
    `under` (-1: the root), idle leaves' samples left out; `skip_root`: its children go
    where `top` would have. Returns (samples kept, idle samples left out, samples that end
    at a skipped `top`: the root's own); with `out` None it only counts."""
    kept = lost = at_root = 0
    pending: list[tuple[Node, int]] = [(top, under)]
    while pending:
        node, parent = pending.pop()
        own = node.self_count
        if own and idle[node.frame_id]:
            lost += own
            own = 0
        kept += own
        if out is None:
            index = parent
        elif skip_root and node is top:
            index, at_root = parent, own
        else:
            index = len(out[0])
            out[0].append(ids[node.frame_id])
            out[1].append(parent)
            out[2].append(own)
        pending.extend((child, index) for child in node.children.values())
    return kept, lost, at_root
