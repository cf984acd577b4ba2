"""The one profile model behind the live flame view, the file viewer, the exports and the diff.

A Profile owns interned frames (a frame's id is its index in `frames`) and one call tree per
thread, plus the tree of all threads merged. Every sample is added by walking its path from the
root (O(depth)); trees are never rebuilt, so a Node the UI holds stays valid and keeps growing,
and `find(path)` finds it again after any number of adds. The diff of two profiles is in
diff.py.

Function statistics (self and recursion-aware total per frame, and the total per function:
name and file, whatever the line) are kept as counters updated on each add, so
`top_functions` costs O(distinct frames), never a walk of a big tree. A function's total is
its own counter, not the sum of its lines': a stack that passes through two lines of one
function (recursion) counts once. The merged
tree costs memory and time only once a second thread appears: until then it *is* the only
thread's tree.

A live profile has a cap (`max_nodes`): its owner calls `bound()` after each batch, and past
the cap the least-sampled subtrees are folded into `(other)` nodes (fold.py), every count
left exact; `folded_samples` says how many samples that holds.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from perftop.model.fold import NO_CHILDREN, OTHER, fold_tree
from perftop.model.frames import Frame

__all__ = [
    "OTHER",
    "ROOT_ID",
    "FunctionStat",
    "Node",
    "Profile",
    "SearchResult",
    "growth_between",
]

ROOT_ID = -1
# A profile past its cap folds down to this share of it: folding (O(n log n)) comes once
# every fifth of the cap's new nodes, not with every batch.
FOLD_TO = 0.8

# `search` walks up from the matching nodes when that costs less than walking down the whole
# tree: about (matching nodes x typical depth) against (all nodes). Same answer either way.
_TYPICAL_DEPTH = 16


class Node:
    """One call path in a tree: a frame below its parent, with the samples under it."""

    __slots__ = ("children", "depth", "frame_id", "parent", "self_count", "total")

    def __init__(self, frame_id: int, parent: Node | None, depth: int) -> None:
        self.frame_id = frame_id
        self.parent = parent
        self.children: dict[int, Node] = NO_CHILDREN  # a dict of its own from the first child
        self.total = 0
        self.self_count = 0
        self.depth = depth

    def path(self) -> tuple[int, ...]:
        """Frame ids from the root's child down to this node (empty for the root)."""
        ids: list[int] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            ids.append(node.frame_id)
            node = node.parent
        ids.reverse()
        return tuple(ids)

    def __repr__(self) -> str:
        return f"Node(frame_id={self.frame_id}, total={self.total}, self={self.self_count})"


@dataclass(frozen=True, slots=True)
class FunctionStat:
    frame_id: int  # by function: its first frame (the lowest id: a stable key while live)
    frame: Frame  # by function: its name and file, line 0
    self_samples: int
    total_samples: int
    # Every frame the row stands for: the one frame, or each line of the function.
    frame_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchResult:
    matched_frame_ids: frozenset[int]
    matched_samples: int
    total_samples: int

    @property
    def percent(self) -> float:
        return 100.0 * self.matched_samples / self.total_samples if self.total_samples else 0.0


class _Tree:
    """A call tree with its per-frame counters and an index of its nodes by frame."""

    __slots__ = (
        "by_frame",
        "node_count",
        "root",
        "self_by_frame",
        "total_by_frame",
        "total_by_function",
    )

    def __init__(self) -> None:
        self.root = Node(ROOT_ID, None, 0)
        self.self_by_frame: dict[int, int] = {}
        # Samples whose stack holds the frame at least once: recursion counts once per stack.
        self.total_by_frame: dict[int, int] = {}
        # The same by function id (`Profile.function_of`): any of its lines, once per stack.
        self.total_by_function: dict[int, int] = {}
        # Lets `search` reach the few nodes of a rare frame without walking the whole tree.
        self.by_frame: dict[int, list[Node]] = {}
        self.node_count = 1

    def _new_child(self, parent: Node, frame_id: int) -> Node:
        child = Node(frame_id, parent, parent.depth + 1)
        if parent.children is NO_CHILDREN:
            parent.children = {}
        parent.children[frame_id] = child
        nodes = self.by_frame.get(frame_id)
        if nodes is None:
            self.by_frame[frame_id] = [child]
        else:
            nodes.append(child)
        self.node_count += 1
        return child

    def child(self, parent: Node, frame_id: int) -> Node:
        node = parent.children.get(frame_id)
        return node if node is not None else self._new_child(parent, frame_id)

    def add(
        self, ids: Sequence[int], count: int, distinct: Iterable[int], functions: Iterable[int]
    ) -> None:
        node = self.root
        node.total += count
        for fid in ids:
            child = node.children.get(fid)
            if child is None:
                child = self._new_child(node, fid)
            child.total += count
            node = child
        node.self_count += count
        if ids:
            leaf = ids[-1]
            self.self_by_frame[leaf] = self.self_by_frame.get(leaf, 0) + count
        totals = self.total_by_frame
        for fid in distinct:
            totals[fid] = totals.get(fid, 0) + count
        by_function = self.total_by_function
        for fn in functions:
            by_function[fn] = by_function.get(fn, 0) + count

    def remove(
        self,
        ids: Sequence[int],
        count: int,
        distinct: Iterable[int],
        functions: Iterable[int],
        other_id: int | None = None,
    ) -> None:
        """`add` undone for `count` samples of a stack it added; nodes left empty go. A stack
        folded away (fold.py) is taken from the `(other)` node (`other_id`) that holds it."""
        path = [self.root]
        for fid in ids:
            child = path[-1].children.get(fid)
            if child is None:
                # Folded: its samples are in the (other) under the deepest node left of it.
                other = path[-1].children.get(other_id) if other_id is not None else None
                if other is None:
                    raise ValueError("samples to take back from a stack that was never added")
                path.append(other)
                break
            path.append(child)
        leaf = path[-1]
        if leaf.self_count < count:
            raise ValueError(
                f"{count} samples to take back from a stack that holds {leaf.self_count}"
            )
        leaf.self_count -= count
        for node in path:
            node.total -= count
        if ids:
            _take(self.self_by_frame, ids[-1], count)
        for fid in distinct:
            _take(self.total_by_frame, fid, count)
        for fn in functions:
            _take(self.total_by_function, fn, count)
        for node in reversed(path[1:]):
            if node.total:
                break
            parent = node.parent
            assert parent is not None
            del parent.children[node.frame_id]
            self.by_frame[node.frame_id].remove(node)
            self.node_count -= 1

    def add_tree(
        self,
        frame_ids: Sequence[int],
        parents: Sequence[int],
        counts: Sequence[int],
        function_of: Sequence[int],
    ) -> None:
        """`Profile.add_tree` on this tree, in O(nodes)."""
        n = len(frame_ids)
        totals = list(counts)
        for i in range(n - 1, -1, -1):  # children come after their parents
            if parents[i] >= 0:
                totals[parents[i]] += totals[i]
        nodes: list[Node | None] = [None] * n
        kids: list[list[int]] = [[] for _ in range(n)]
        tops: list[int] = []
        for i in range(n):
            if totals[i]:
                (kids[parents[i]] if parents[i] >= 0 else tops).append(i)
        root = self.root
        root.total += sum(totals[i] for i in tops)
        self_by, total_by = self.self_by_frame, self.total_by_frame
        fn_total_by = self.total_by_function
        # Depth first, with the frames (and functions) on the current path counted, so a
        # recursive frame's total counts each sample once, as `add` does with its `distinct`.
        on_path: dict[int, int] = {}
        fn_on_path: dict[int, int] = {}
        pending: list[tuple[int, bool]] = [(i, True) for i in reversed(tops)]
        while pending:
            i, entering = pending.pop()
            fid = frame_ids[i]
            fn = function_of[fid]
            if not entering:
                on_path[fid] -= 1
                fn_on_path[fn] -= 1
                continue
            parent = nodes[parents[i]] if parents[i] >= 0 else root
            node = nodes[i] = self.child(parent or root, fid)
            node.total += totals[i]
            if counts[i]:
                node.self_count += counts[i]
                self_by[fid] = self_by.get(fid, 0) + counts[i]
            if not on_path.get(fid):
                total_by[fid] = total_by.get(fid, 0) + totals[i]
            on_path[fid] = on_path.get(fid, 0) + 1
            if not fn_on_path.get(fn):
                fn_total_by[fn] = fn_total_by.get(fn, 0) + totals[i]
            fn_on_path[fn] = fn_on_path.get(fn, 0) + 1
            pending.append((i, False))
            pending.extend((k, True) for k in reversed(kids[i]))

    def merge_from(self, src: _Tree, ids: Sequence[int], functions: Sequence[int]) -> None:
        """Add `src` node by node: O(nodes of src), not O(sum of its stack depths).

        `ids[frame id in src]` is the frame's id here, `functions[function id in src]` the
        function's.
        """
        self.root.total += src.root.total
        self.root.self_count += src.root.self_count
        new_child = self._new_child
        pending = [(self.root, src.root)]
        while pending:
            dst, node = pending.pop()
            dst_children = dst.children
            for sid, schild in node.children.items():
                fid = ids[sid]
                dchild = dst_children.get(fid)
                if dchild is None:
                    dchild = new_child(dst, fid)
                dchild.total += schild.total
                if schild.self_count:
                    dchild.self_count += schild.self_count
                if schild.children:
                    pending.append((dchild, schild))
        for counters, other, remap in (
            (self.self_by_frame, src.self_by_frame, ids),
            (self.total_by_frame, src.total_by_frame, ids),
            (self.total_by_function, src.total_by_function, functions),
        ):
            get = counters.get
            for sid, n in other.items():
                fid = remap[sid]
                counters[fid] = get(fid, 0) + n

    def copy(self, n_frames: int, n_functions: int) -> _Tree:
        tree = _Tree()
        tree.merge_from(self, range(n_frames), range(n_functions))
        return tree


class Profile:
    """Sampled stacks of one or more threads, as call trees that grow in place."""

    def __init__(
        self, metadata: dict[str, str] | None = None, *, max_nodes: int | None = None
    ) -> None:
        self.frames: list[Frame] = []
        self._ids: dict[Frame, int] = {}
        # A function is a name in a file, whatever the line: frame id -> function id.
        self.function_of: list[int] = []
        self._function_ids: dict[tuple[str, str], int] = {}
        self._threads: dict[str, _Tree] = {}
        # None while there is at most one thread: the merged view is then that thread's tree.
        self._merged: _Tree | None = None
        self._haystacks: list[str] = []  # casefolded search text per frame, filled lazily
        self.metadata: dict[str, str] = dict(metadata or {})
        self.ended = False
        self.end_reason = ""
        # The most nodes its trees (every thread's and the merged) may hold after `bound()`;
        # None: no bound (a file's profile is shown whole).
        self.max_nodes = max_nodes

    # -- frames ---------------------------------------------------------------------------

    def intern(self, frame: Frame) -> int:
        fid = self._ids.get(frame)
        if fid is None:
            fid = len(self.frames)
            self.frames.append(frame)
            self._ids[frame] = fid
            functions = self._function_ids
            fn = functions.setdefault((frame.name, frame.filename), len(functions))
            self.function_of.append(fn)
        return fid

    def frame(self, frame_id: int) -> Frame:
        return self.frames[frame_id]

    def id_of(self, frame: Frame) -> int | None:
        """The frame's id here, None where it was never seen: finds a path again in another
        profile of the same program."""
        return self._ids.get(frame)

    def share_frames(self, other: Profile) -> None:
        """Use `other`'s frame table (ids and functions) from now on: two profiles whose ids
        mean the same frames. Only for an empty profile."""
        assert not self.frames and not self._threads
        self.frames, self._ids = other.frames, other._ids
        self.function_of, self._function_ids = other.function_of, other._function_ids

    @property
    def n_functions(self) -> int:
        return len(self._function_ids)

    # -- adding samples -------------------------------------------------------------------

    def add_stack(self, stack: Sequence[Frame], count: int = 1, thread: str = "") -> None:
        """Add `count` samples of `stack` (root first). An empty stack counts at the root."""
        intern = self.intern
        self.add_stack_ids([intern(f) for f in stack], count, thread)

    def add_stack_ids(self, ids: Sequence[int], count: int = 1, thread: str = "") -> None:
        if count <= 0:
            if count == 0:
                return
            raise ValueError(f"sample count must not be negative, got {count}")
        function_of = self.function_of
        if len(ids) > 1:
            distinct: Iterable[int] = set(ids)
            functions: Iterable[int] = {function_of[i] for i in distinct}
        else:
            distinct, functions = ids, [function_of[i] for i in ids]
        self._tree_for_add(thread).add(ids, count, distinct, functions)
        if self._merged is not None:
            self._merged.add(ids, count, distinct, functions)

    def add_tree(
        self,
        frame_ids: Sequence[int],
        parents: Sequence[int],
        counts: Sequence[int],
        thread: str = "",
    ) -> None:
        """Add samples given as a tree of call paths, in O(nodes).

        Node i is frame `frame_ids[i]` below node `parents[i]` (-1: the root; a parent comes
        before its children), and `counts[i]` samples end there. Adding each node's stack
        would cost the sum of their depths: quadratic for a path thousands of frames deep,
        which an evented speedscope file describes in a few bytes per frame.
        """
        if any(c < 0 for c in counts):
            raise ValueError("sample counts must not be negative")
        self._tree_for_add(thread).add_tree(frame_ids, parents, counts, self.function_of)
        if self._merged is not None:
            self._merged.add_tree(frame_ids, parents, counts, self.function_of)

    def merge(self, other: Profile, threads: Collection[str] | None = None) -> None:
        """Add every sample of `other` (its frames re-interned here), thread by thread;
        with `threads`, of those threads only."""
        remap = [self.intern(f) for f in other.frames]
        fn_remap = [0] * other.n_functions
        function_of = self.function_of
        for sid, fn in enumerate(other.function_of):
            fn_remap[fn] = function_of[remap[sid]]
        picked = other._threads
        if threads is not None:
            picked = {t: tree for t, tree in picked.items() if t in threads}
        if self._merged is None and len(self._threads.keys() | picked.keys()) > 1:
            # Materialise before merging threads in, or the copy would count them twice.
            self._materialise_merged()
        for thread, src in picked.items():
            self._tree_for_add(thread).merge_from(src, remap, fn_remap)
        if self._merged is not None:
            if threads is None:
                self._merged.merge_from(other._all(), remap, fn_remap)
            else:
                for src in picked.values():
                    self._merged.merge_from(src, remap, fn_remap)

    def remove_stack_ids(self, ids: Sequence[int], count: int, thread: str = "") -> None:
        """Take back `count` samples of a stack added before: what a view that hides some
        samples (model/view.py) does after merging a batch, in O(depth). Nodes, and a
        thread, left without samples go."""
        tree = self._threads[thread]
        function_of = self.function_of
        distinct = set(ids)
        functions = {function_of[i] for i in distinct}
        other_id = self._ids.get(OTHER)
        tree.remove(ids, count, distinct, functions, other_id)
        if self._merged is not None:
            self._merged.remove(ids, count, distinct, functions, other_id)
        if not tree.root.total:
            del self._threads[thread]

    def nodes_of(self, frame_id: int, thread: str | None = None) -> Sequence[Node]:
        """Every node of a frame in one thread's tree (None: all threads merged)."""
        return self._tree(thread).by_frame.get(frame_id, ())

    # -- bounding the trees (fold.py) --------------------------------------------------------

    @property
    def node_count(self) -> int:
        """Nodes of every tree, the merged one included (roots count)."""
        count = sum(tree.node_count for tree in self._threads.values())
        return count + (self._merged.node_count if self._merged is not None else 0)

    def bound(self) -> int:
        """Past `max_nodes`, fold each tree's least-sampled subtrees into `(other)` nodes
        until all of them together hold `FOLD_TO` of the cap. Returns the nodes taken out.
        Called by the owner of a live profile after each batch: never in the middle of one,
        so a view that takes back what a batch added finds it where it was added."""
        cap = self.max_nodes
        count = self.node_count
        if cap is None or count <= cap:
            return 0
        other_id = self.intern(OTHER)
        share = FOLD_TO * cap / count
        trees = [*self._threads.values(), *([self._merged] if self._merged is not None else [])]
        return sum(
            fold_tree(tree, max(1, int(tree.node_count * share)), other_id) for tree in trees
        )

    def folded_samples(self, thread: str | None = None) -> int:
        """Samples in `(other)` nodes, of one thread or all merged: what `bound()` folded
        (and any `(other)` of a file written from a folded profile)."""
        other_id = self._ids.get(OTHER)
        if other_id is None:
            return 0
        return sum(node.self_count for node in self._tree(thread).by_frame.get(other_id, ()))

    def clear_samples(self) -> None:
        """Forget every sample, keeping the interned frames (and so their ids): a live memory
        view replaces its bytes with each snapshot, and the flame's zoom path stays valid."""
        self._threads = {}
        self._merged = None

    def mark_ended(self, reason: str) -> None:
        """The target went away: keep what was collected and say why it stopped."""
        self.ended = True
        self.end_reason = reason

    def copy(self) -> Profile:
        clone = Profile(self.metadata, max_nodes=self.max_nodes)
        clone.frames, clone._ids = list(self.frames), dict(self._ids)
        clone.function_of, clone._function_ids = list(self.function_of), dict(self._function_ids)
        n, n_fn = len(self.frames), self.n_functions
        clone._threads = {t: tree.copy(n, n_fn) for t, tree in self._threads.items()}
        clone._merged = self._merged.copy(n, n_fn) if self._merged is not None else None
        clone.ended, clone.end_reason = self.ended, self.end_reason
        return clone

    def _tree_for_add(self, thread: str) -> _Tree:
        tree = self._threads.get(thread)
        if tree is None:
            if self._threads:
                self._materialise_merged()
            tree = self._threads[thread] = _Tree()
        return tree

    def _materialise_merged(self) -> _Tree:
        if self._merged is None:
            only = next(iter(self._threads.values()), None)
            n, n_fn = len(self.frames), self.n_functions
            self._merged = only.copy(n, n_fn) if only is not None else _Tree()
        return self._merged

    def _all(self) -> _Tree:
        if self._merged is not None:
            return self._merged
        return next(iter(self._threads.values()), None) or _Tree()

    def _tree(self, thread: str | None) -> _Tree:
        if thread is None:
            return self._all()
        # A thread with no samples (yet) reads as an empty tree rather than an error: the UI
        # may ask for a thread it remembers from another profile.
        return self._threads.get(thread) or _Tree()

    # -- reading --------------------------------------------------------------------------

    @property
    def total_samples(self) -> int:
        return self._all().root.total

    def threads(self) -> list[str]:
        """Thread names, busiest first."""
        return sorted(self._threads, key=lambda t: (-self._threads[t].root.total, t))

    def thread_samples(self, thread: str) -> int:
        tree = self._threads.get(thread)
        return tree.root.total if tree is not None else 0

    def root(self, thread: str | None = None) -> Node:
        """The root of one thread's tree, or of all threads merged (None).

        Nodes stay valid while samples are added, except that the merged root is replaced
        once, when a second thread first appears; `find(path)` bridges that.
        """
        return self._tree(thread).root

    def find(self, path: Sequence[int], thread: str | None = None) -> Node | None:
        node = self._tree(thread).root
        for fid in path:
            child = node.children.get(fid)
            if child is None:
                return None
            node = child
        return node

    def top_functions(
        self, thread: str | None = None, limit: int | None = None, *, by_function: bool = False
    ) -> list[FunctionStat]:
        """Frames by self samples, highest first (then by total), the first `limit` of them;
        `by_function`: functions (a name in a file, its lines together) the same way.

        Costs O(distinct frames): the counts are kept up to date on every add.
        """
        tree = self._tree(thread)
        if by_function:
            return self._top_by_function(tree, limit)
        selfs = tree.self_by_frame
        # Sort plain tuples and build objects only for what is returned: on a big profile the
        # objects cost more than the sort, and a table shows a screenful.
        rows = [(-selfs.get(fid, 0), -total, fid) for fid, total in tree.total_by_frame.items()]
        frames = self.frames
        return [FunctionStat(fid, frames[fid], -s, -t, (fid,)) for s, t, fid in _top(rows, limit)]

    def _top_by_function(self, tree: _Tree, limit: int | None) -> list[FunctionStat]:
        function_of = self.function_of
        selfs: dict[int, int] = {}
        lines: dict[int, list[int]] = {}  # function -> its frames sampled in this tree
        for fid in tree.total_by_frame:
            fn = function_of[fid]
            selfs[fn] = selfs.get(fn, 0) + tree.self_by_frame.get(fid, 0)
            lines.setdefault(fn, []).append(fid)
        rows = [(-selfs.get(fn, 0), -total, fn) for fn, total in tree.total_by_function.items()]
        stats = []
        frames = self.frames
        for s, t, fn in _top(rows, limit):
            fids = tuple(sorted(lines.get(fn, ())))
            if not fids:
                continue
            frame = frames[fids[0]]
            stats.append(FunctionStat(fids[0], Frame(frame.name, frame.filename), -s, -t, fids))
        return stats

    def search(self, pattern: str, thread: str | None = None) -> SearchResult:
        """Frames whose name or file contains `pattern` (any case), and the samples under them."""
        tree = self._tree(thread)
        needle = pattern.casefold()
        if not needle:
            return SearchResult(frozenset(), 0, tree.root.total)
        haystacks = self._haystacks
        for f in self.frames[len(haystacks) :]:
            haystacks.append(f"{f.name}\0{f.filename}".casefold())
        matched = frozenset(i for i, h in enumerate(haystacks) if needle in h)
        return SearchResult(matched, _samples_under(tree, matched), tree.root.total)

    def stacks(self, thread: str | None = None) -> Iterator[tuple[tuple[int, ...], int, str]]:
        """(frame ids root first, count, thread) for every distinct stack, per thread."""
        threads = self.threads() if thread is None else [thread]
        for name in threads:
            tree = self._threads.get(name)
            if tree is None:
                continue
            pending: list[tuple[Node, tuple[int, ...]]] = [(tree.root, ())]
            while pending:
                node, path = pending.pop()
                if node.self_count:
                    yield path, node.self_count, name
                for fid, child in reversed(node.children.items()):
                    pending.append((child, (*path, fid)))


def _take(counts: dict[int, int], key: int, n: int) -> None:
    left = counts[key] - n
    if left:
        counts[key] = left
    else:
        del counts[key]


def _top(rows: list[tuple[int, int, int]], limit: int | None) -> list[tuple[int, int, int]]:
    if limit is not None and limit < len(rows):
        return heapq.nsmallest(max(limit, 0), rows)
    rows.sort()
    return rows


def _samples_under(tree: _Tree, matched: frozenset[int]) -> int:
    """Samples whose stack holds any matched frame, each counted once."""
    if not matched:
        return 0
    candidates = [tree.by_frame.get(fid, []) for fid in matched]
    cost = sum(len(nodes) for nodes in candidates)
    if cost * _TYPICAL_DEPTH < tree.node_count:
        # Rare frames: a node counts unless an ancestor matched too (its samples are already in).
        total = 0
        for nodes in candidates:
            for node in nodes:
                up = node.parent
                while up is not None and up.frame_id not in matched:
                    up = up.parent
                if up is None:
                    total += node.total
        return total
    # Common frames: walk down and stop at the first match on each path.
    total = 0
    pending = [tree.root]
    while pending:
        node = pending.pop()
        for child in node.children.values():
            if child.frame_id in matched:
                total += child.total
            elif child.children:
                pending.append(child)
    return total


def growth_between(base: Profile, now: Profile) -> Profile:
    """What grew from `base` to `now`: each stack's count in `now` less its count in `base`
    (matched by frames and thread), where that is positive. For memory snapshots: the bytes
    allocated between two moments and still live."""
    before: dict[tuple[tuple[Frame, ...], str], int] = {}
    for ids, count, thread in base.stacks():
        before[(tuple(base.frame(i) for i in ids), thread)] = count
    grown = Profile(now.metadata)
    for frame in now.frames:  # the same frame ids as `now`: a zoom path means the same there
        grown.intern(frame)
    for ids, count, thread in now.stacks():
        frames = tuple(now.frame(i) for i in ids)
        delta = count - before.get((frames, thread), 0)
        if delta > 0:
            grown.add_stack(frames, delta, thread)
    return grown
