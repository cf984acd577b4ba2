"""A live profile's cap (model/fold.py): the least-sampled subtrees folded into `(other)`,
every count left exact, the folded samples counted, and what comes after a fold (new samples
of a folded path, a view taking back idle stacks) still right."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.model.fold import NO_CHILDREN, OTHER
from perftop.model.frames import Frame, FrameKind
from perftop.model.profile import FOLD_TO, Node, Profile
from perftop.model.view import ProfileView, ViewOptions
from perftop.profiling.backend import Batch, ProfilerOptions
from perftop.profiling.session import MAX_LIVE_NODES, ProfileSession
from tests.hand_backend import HandBackend


def frame(i: int) -> Frame:
    return Frame(f"f{i}", "app.py", i)


def random_profile(seed: int, stacks: int = 400, threads: int = 3) -> Profile:
    rng = random.Random(seed)
    p = Profile()
    for _ in range(stacks):
        depth = rng.randint(1, 8)
        stack = [frame(rng.randrange(12)) for _ in range(depth)]  # recursion too
        count = max(1, int(rng.paretovariate(1.1)))
        p.add_stack(stack, count, f"T{rng.randrange(threads)}")
    return p


def walk(root: Node) -> list[Node]:
    out, pending = [], [root]
    while pending:
        node = pending.pop()
        out.append(node)
        pending.extend(node.children.values())
    return out


def check_tree(p: Profile, thread: str | None) -> None:
    """Every node's total is its own samples and its children's; the index and the count
    are the tree's."""
    tree = p._tree(thread)
    nodes = walk(tree.root)
    for node in nodes:
        assert node.total == node.self_count + sum(c.total for c in node.children.values())
        for fid, child in node.children.items():
            assert child.frame_id == fid and child.parent is node
    assert tree.node_count == len(nodes)
    indexed = [n for ns in tree.by_frame.values() for n in ns]
    assert sorted(map(id, indexed)) == sorted(id(n) for n in nodes[1:])


def figures(p: Profile) -> tuple[object, ...]:
    threads = {t: p.thread_samples(t) for t in p.threads()}
    tops = [(t, p.top_functions(t), p.top_functions(t, by_function=True)) for t in p.threads()]
    return p.total_samples, threads, p.top_functions(), tops


@given(st.integers(0, 10_000), st.integers(2, 300))
@settings(max_examples=60, deadline=None)
def test_folding_keeps_every_count_exact(seed: int, cap: int) -> None:
    p = random_profile(seed)
    before = figures(p)
    total = p.total_samples
    p.max_nodes = cap
    p.bound()
    assert figures(p) == before  # the totals, per thread, and the top table
    for thread in (None, *p.threads()):
        check_tree(p, thread)
    assert p.node_count <= max(cap, len(p.threads()) * 2 + 2)
    assert sum(count for _, count, _ in p.stacks()) == total
    other = p.id_of(OTHER)
    in_other = sum(c for ids, c, _ in p.stacks() if ids and ids[-1] == other)
    assert p.folded_samples() == sum(n.self_count for n in walk(p.root()) if n.frame_id == other)
    assert sum(p.folded_samples(t) for t in p.threads()) == in_other


def test_no_cap_or_under_it_folds_nothing() -> None:
    p = random_profile(1)
    nodes = p.node_count
    assert p.bound() == 0 and p.node_count == nodes and p.folded_samples() == 0
    p.max_nodes = nodes
    assert p.bound() == 0 and p.id_of(OTHER) is None


def test_the_least_sampled_go_first_and_the_hot_path_stays() -> None:
    p = Profile(max_nodes=20)
    main, hot = Frame("main", "a.py", 1), Frame("hot", "a.py", 2)
    p.add_stack([main, hot], 1000)
    for i in range(40):  # rare leaves, one sample each
        p.add_stack([main, Frame(f"rare{i}", "a.py", 10 + i)], 1)
    assert p.bound() > 0
    assert p.node_count <= int(FOLD_TO * 20)
    node = p.find([p.intern(main), p.intern(hot)])
    assert node is not None and node.total == 1000
    other = p.find([p.intern(main), p.intern(OTHER)])
    assert other is not None and other.self_count == p.folded_samples() > 20
    assert p.root().children[p.intern(main)].total == 1040
    # The top table still has the rare frames where they were taken.
    rare = {s.frame.name: s.self_samples for s in p.top_functions()}
    assert rare["rare0"] == 1 and "(other)" not in rare


def test_new_samples_of_a_folded_path_grow_it_again() -> None:
    p = Profile(max_nodes=4)
    a, b, c = frame(1), frame(2), frame(3)
    p.add_stack([a, b], 100)
    p.add_stack([a, c, b], 1)
    p.add_stack([a, c, c], 1)
    p.bound()
    assert p.find([p.intern(a), p.intern(c)]) is None
    p.add_stack([a, c, b], 5)
    node = p.find([p.intern(a), p.intern(c), p.intern(b)])
    assert node is not None and node.total == 5 and p.total_samples == 107
    check_tree(p, None)


def test_taking_back_a_folded_stack_takes_it_from_other() -> None:
    p = Profile(max_nodes=5)  # folds to 4 nodes: the root, a, b and a's (other)
    a, b, c, d, e = frame(1), frame(2), frame(3), frame(4), frame(5)
    p.add_stack([a, b], 50, "T")
    p.add_stack([a, c], 2, "T")
    p.add_stack([a, d], 1, "T")
    p.add_stack([a, e], 1, "T")
    p.bound()
    assert p.folded_samples() == 4 and p.node_count == 4
    p.remove_stack_ids([p.intern(a), p.intern(c)], 2, "T")
    assert p.folded_samples() == 2 and p.total_samples == 52
    assert {s.frame.name for s in p.top_functions()} == {"f1", "f2", "f4", "f5"}
    check_tree(p, None)
    with pytest.raises(ValueError):
        p.remove_stack_ids([p.intern(b)], 1, "T")  # never added


def test_copies_and_views_keep_the_cap() -> None:
    p = random_profile(3)
    p.max_nodes = 50
    p.bound()
    assert p.copy().max_nodes == 50
    view = ProfileView()
    shown = view.show(p, ViewOptions(hide_idle=True))
    assert shown is not p and shown.max_nodes == 50 and shown.node_count <= 50
    batch = random_profile(4)
    p.merge(batch)
    p.bound()
    view.absorb(batch)
    assert shown.node_count <= 50 and shown.total_samples == p.total_samples


def test_other_is_a_synthetic_frame() -> None:
    assert OTHER.kind is FrameKind.THREAD  # grey, and left out of the top table


def test_leaves_share_one_read_only_empty_mapping() -> None:
    p = Profile()
    p.add_stack([frame(1), frame(2)])
    leaf = p.find([p.intern(frame(1)), p.intern(frame(2))])
    assert leaf is not None and leaf.children is NO_CHILDREN
    with pytest.raises(TypeError):
        leaf.children[5] = leaf  # type: ignore[index]
    p.add_stack([frame(1), frame(2), frame(3)])
    assert leaf.children is not NO_CHILDREN and len(NO_CHILDREN) == 0


def test_a_live_session_stays_under_its_cap() -> None:
    backend = HandBackend()
    session = ProfileSession(1, ProfilerOptions(), lambda: backend)
    assert session.profile.max_nodes == MAX_LIVE_NODES
    session.profile.max_nodes = 100
    session.start()
    rng = random.Random(5)
    hot = [Frame("main", "a.py", 1), Frame("hot", "a.py", 2)]
    for _ in range(200):
        batch = Profile()
        batch.add_stack(hot, 30, "MainThread")
        for _ in range(20):  # new paths every batch
            stack = [frame(rng.randrange(50)) for _ in range(rng.randint(2, 6))]
            batch.add_stack(stack, 1, "MainThread")
        session.absorb(Batch(batch, 1.0, 50, 0, False))
        assert session.profile.node_count <= 100
    p = session.profile
    assert p.total_samples == 10_000 and 0 < p.folded_samples() <= 4000
    node = p.find([p.intern(f) for f in hot])
    assert node is not None and node.total == 6000


def test_the_head_line_and_the_status_line_say_what_was_folded() -> None:
    from perftop.profiling.session import SessionState
    from perftop.ui.screens.profile_text import frame_status, head_line

    p = Profile(max_nodes=5)
    a = frame(1)
    p.add_stack([a, frame(2)], 90)
    for i in range(3, 8):
        p.add_stack([a, frame(i)], 2)
    assert "(other)" not in head_line(SessionState.FILE, p, None, None, None, "").plain
    p.bound()
    assert p.folded_samples() == 10
    assert "10 % in (other)" in head_line(SessionState.FILE, p, None, None, None, "").plain
    other = p.find([p.intern(a), p.intern(OTHER)])
    assert "folded" in frame_status(p, other, p.total_samples).plain
