"""Profiles reshaped so that two runs of a program line up: frames by function, stacks re-rooted.

A diff matches call paths frame by frame, and two things break that between runs of the same
code. Lines move (an edit above a function shifts every line below), so `by_function` makes
each frame its function (name and file, line 0): siblings that were lines of one function
become one node. And ancestry changes (a gunicorn reload forks every new worker from
another call path than the first workers; perf names each process by its new PID), so
`rerooted` keeps, of each stack, only what is below the outermost call of a chosen
function: both profiles then start at it, wherever it was called from.

Each is one walk of the source's trees into `Profile.add_tree` (O(nodes)); the thread keys
are kept.
"""

from __future__ import annotations

from collections.abc import Callable

from perftop.model.frames import Frame
from perftop.model.profile import Node, Profile

__all__ = ["ByFunction", "by_function", "rerooted"]


class ByFunction(Profile):
    """A profile whose frames are functions, which remembers the one by line it was made of,
    so a view can go back to it."""

    def __init__(self, lines: Profile) -> None:
        super().__init__(lines.metadata)
        self.lines = lines


def by_function(profile: Profile) -> Profile:
    """Each frame as its function (name and file, line 0); a ByFunction profile as it is."""
    if isinstance(profile, ByFunction):
        return profile
    shaped = ByFunction(profile)
    ids = [shaped.intern(Frame(f.name, f.filename)) for f in profile.frames]
    _reshape(profile, shaped, lambda node: ids[node.frame_id], None)
    return shaped


def rerooted(profile: Profile, name: str, filename: str) -> Profile:
    """Of each stack, the part from the outermost call of function (`name`, `filename`) down,
    any line of it; stacks that never call it are left out. Frame ids are `profile`'s."""
    # Still by function after a re-root: keep the way back to the lines.
    lines = profile.lines if isinstance(profile, ByFunction) else None
    shaped = ByFunction(lines) if lines is not None else Profile(profile.metadata)
    shaped.metadata = dict(profile.metadata)
    shaped.share_frames(profile)
    frames = profile.frames

    def starts(node: Node) -> bool:
        frame = frames[node.frame_id]
        return frame.name == name and frame.filename == filename

    _reshape(profile, shaped, lambda node: node.frame_id, starts)
    return shaped


def _reshape(
    src: Profile,
    dst: Profile,
    frame_id: Callable[[Node], int],
    start: Callable[[Node], bool] | None,
) -> None:
    """Copy `src`'s trees into `dst`, each node as frame `frame_id(node)`; with `start`, only
    the subtrees of the outermost nodes where it holds, each hung from the root."""
    for thread in src.threads():
        frame_ids: list[int] = []
        parents: list[int] = []
        counts: list[int] = []
        # (node, index of its parent in the arrays or -1, inside a started subtree)
        pending: list[tuple[Node, int, bool]] = [
            (child, -1, start is None) for child in src.root(thread).children.values()
        ]
        while pending:
            node, parent, inside = pending.pop()
            if not inside and start is not None and start(node):
                inside, parent = True, -1
            index = parent
            if inside:
                index = len(frame_ids)
                frame_ids.append(frame_id(node))
                parents.append(parent)
                counts.append(node.self_count)
            pending.extend((child, index, inside) for child in node.children.values())
        if any(counts):
            dst.add_tree(frame_ids, parents, counts, thread)
        root_self = src.root(thread).self_count
        if root_self and start is None:
            dst.add_stack_ids([], root_self, thread)
