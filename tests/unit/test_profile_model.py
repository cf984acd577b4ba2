"""The Profile model: trees, merging, threads, function statistics, search and diff."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.model.diff import diff
from perftop.model.frames import Frame
from perftop.model.profile import Node, Profile

A, B, C, D = (Frame(n, f"/app/{n}.py", 1) for n in "abcd")


def make(stacks: list[tuple[str, int]] | list[tuple[str, int, str]]) -> Profile:
    """A profile from ('a;b;c', count[, thread]) with frames named by letter."""
    profile = Profile()
    for entry in stacks:
        names, count = entry[0], entry[1]
        thread = entry[2] if len(entry) > 2 else ""
        profile.add_stack([Frame(n) for n in names.split(";") if n], count, thread)
    return profile


def node(profile: Profile, names: str, thread: str | None = None) -> Node:
    ids = [profile.intern(Frame(n)) for n in names.split(";")]
    found = profile.find(ids, thread)
    assert found is not None, names
    return found


def check_tree(n: Node) -> None:
    """total = self + children's totals, depth and parent links hold, everywhere below n."""
    assert n.total == n.self_count + sum(c.total for c in n.children.values())
    for fid, child in n.children.items():
        assert child.frame_id == fid and child.parent is n and child.depth == n.depth + 1
        check_tree(child)


def test_add_builds_totals_and_self_counts() -> None:
    p = make([("a;b;c", 1), ("a;b;c", 1), ("a;b;d", 4), ("a;b;c", 3), ("a;b", 5)])
    assert p.total_samples == 14
    assert node(p, "a").total == 14
    assert node(p, "a;b").total == 14 and node(p, "a;b").self_count == 5
    assert node(p, "a;b;c").total == 5 and node(p, "a;b;c").self_count == 5
    assert node(p, "a;b;d").path() == tuple(p.intern(Frame(n)) for n in "abd")
    assert p.root().path() == () and p.root().frame_id == -1
    check_tree(p.root())


def test_frames_are_interned_once() -> None:
    p = Profile()
    assert p.intern(A) == p.intern(Frame("a", "/app/a.py", 1)) == 0
    assert p.intern(B) == 1 and p.frame(1) == B and p.frames == [A, B]


def test_zero_count_is_ignored_and_negative_refused() -> None:
    p = make([("a", 0)])
    assert p.total_samples == 0 and not p.root().children
    with pytest.raises(ValueError):
        p.add_stack([A], -1)


def test_merge_adds_totals_and_reinterns_frames() -> None:
    left = make([("a;b", 2), ("a;c", 1)])
    right = Profile()
    right.add_stack([Frame("x")], 7)  # interned first there, so ids differ between the two
    right.add_stack([Frame("a"), Frame("c")], 3)
    left.merge(right)
    assert left.total_samples == 13
    assert node(left, "a;c").total == 4 and node(left, "a;c").self_count == 4
    assert node(left, "x").self_count == 7
    assert node(left, "a").total == 6
    check_tree(left.root())
    assert right.total_samples == 10  # the merged-in profile is unchanged


def test_per_thread_and_merged_roots() -> None:
    p = make([("a;b", 5, "main"), ("a;c", 2, "worker"), ("a;b", 1, "worker")])
    assert p.thread_samples("main") == 5 and p.thread_samples("worker") == 3
    assert p.threads() == ["main", "worker"]  # busiest first
    assert p.total_samples == 8
    assert node(p, "a;b").total == 6
    assert node(p, "a;b", "main").total == 5
    assert node(p, "a;b", "worker").total == 1
    assert p.find([p.intern(Frame("c"))], "main") is None
    assert p.root("nobody").total == 0 and p.thread_samples("nobody") == 0
    for root in (p.root(), p.root("main"), p.root("worker")):
        check_tree(root)


def test_single_thread_tree_is_the_merged_tree_until_a_second_appears() -> None:
    p = make([("a;b", 2, "t1")])
    assert p.root() is p.root("t1")
    p.add_stack([Frame("a")], 1, "t2")
    assert p.root() is not p.root("t1")
    assert p.root().total == 3 and node(p, "a;b").total == 2 and node(p, "a").self_count == 1


def test_merge_of_threads_into_single_thread_profile_counts_once() -> None:
    p = make([("a", 1, "t1")])
    p.merge(make([("a", 2, "t1"), ("b", 4, "t2")]))
    assert p.total_samples == 7
    assert node(p, "a").total == 3 and node(p, "b").total == 4
    assert node(p, "a", "t1").total == 3


def test_find_keeps_working_across_adds() -> None:
    p = make([("a;b;c", 1)])
    path = node(p, "a;b;c").path()
    held = p.find(path)
    for i in range(20):
        p.add_stack([Frame("a"), Frame("b"), Frame("c")], 1)
        p.add_stack([Frame("a"), Frame(f"new{i}")], 1)
    again = p.find(path)
    assert again is held and again is not None and again.total == 21


def test_top_functions_counts_recursion_once_per_stack() -> None:
    p = make([("a;b;a;b;c", 2), ("a;a;a", 3), ("b;b", 1)])
    stats = {s.frame.name: s for s in p.top_functions()}
    assert stats["a"].total_samples == 5 and stats["a"].self_samples == 3
    assert stats["b"].total_samples == 3 and stats["b"].self_samples == 1
    assert stats["c"].total_samples == 2 and stats["c"].self_samples == 2
    assert [s.frame.name for s in p.top_functions()] == ["a", "c", "b"]  # by self, desc
    assert [s.frame.name for s in p.top_functions(limit=2)] == ["a", "c"]


def test_top_functions_per_thread() -> None:
    p = make([("a;b", 5, "main"), ("a;c", 2, "worker")])
    names = {s.frame.name: s.self_samples for s in p.top_functions("worker")}
    assert names == {"c": 2, "a": 0}


stack_lists = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcde"), max_size=8),
        st.integers(1, 5),
        st.sampled_from(["", "t1", "t2"]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(stack_lists)
def test_top_functions_matches_brute_force(stacks: list[tuple[list[str], int, str]]) -> None:
    p = Profile()
    for names, count, thread in stacks:
        p.add_stack([Frame(n) for n in names], count, thread)
    for thread in [None, "", "t1", "t2"]:
        want_self: Counter[str] = Counter()
        want_total: Counter[str] = Counter()
        for names, count, t in stacks:
            if thread is not None and t != thread:
                continue
            if names:
                want_self[names[-1]] += count
            for n in set(names):
                want_total[n] += count
        got = {s.frame.name: (s.self_samples, s.total_samples) for s in p.top_functions(thread)}
        assert got == {n: (want_self[n], want_total[n]) for n in want_total}


@settings(max_examples=60, deadline=None)
@given(stack_lists, stack_lists)
def test_merge_equals_adding_everything(
    first: list[tuple[list[str], int, str]], second: list[tuple[list[str], int, str]]
) -> None:
    def build(stacks: list[tuple[list[str], int, str]]) -> Profile:
        p = Profile()
        for names, count, thread in stacks:
            p.add_stack([Frame(n) for n in names], count, thread)
        return p

    merged = build(first)
    merged.merge(build(second))
    direct = build(first + second)

    def as_counts(p: Profile, thread: str | None) -> Counter[tuple[tuple[str, ...], str]]:
        out: Counter[tuple[tuple[str, ...], str]] = Counter()
        for ids, count, t in p.stacks(thread):
            out[tuple(p.frame(i).name for i in ids), t] += count
        return out

    assert as_counts(merged, None) == as_counts(direct, None)
    assert merged.total_samples == direct.total_samples
    assert sorted(merged.threads()) == sorted(direct.threads())
    check_tree(merged.root())
    for t in merged.threads():
        check_tree(merged.root(t))
        assert merged.root(t).total == direct.root(t).total


def test_search_counts_each_sample_once() -> None:
    p = Profile()
    p.add_stack([Frame("main", "/app/x.py"), Frame("Handler", "/app/y.py")], 3)
    p.add_stack([Frame("main", "/app/x.py"), Frame("handler", "/app/z.py")], 2)
    p.add_stack([Frame("main", "/app/x.py"), Frame("other", "/lib/q.py")], 5)
    result = p.search("HANDLER")  # any case; in name
    assert result.matched_samples == 5 and result.total_samples == 10
    assert result.percent == pytest.approx(50.0)
    assert {p.frame(i).name for i in result.matched_frame_ids} == {"Handler", "handler"}
    assert p.search("/app/").matched_samples == 10  # in file name; main matches every stack
    assert p.search("nothing").matched_samples == 0 and p.search("").percent == 0.0


def test_search_nested_and_recursive_matches_are_not_double_counted() -> None:
    p = make([("a;x1;b;x2", 4), ("x1;x1", 2), ("a;b", 3)])
    assert p.search("x").matched_samples == 6
    assert p.search("x", "nobody").total_samples == 0


@settings(max_examples=60, deadline=None)
@given(stack_lists, st.sampled_from(["a", "b", "e", "ab"]))
def test_search_matches_brute_force(stacks: list[tuple[list[str], int, str]], pat: str) -> None:
    p = Profile()
    for names, count, thread in stacks:
        p.add_stack([Frame(n) for n in names], count, thread)
    want = sum(c for names, c, _ in stacks if any(pat in n for n in names))
    assert p.search(pat).matched_samples == want


def test_search_walk_up_and_walk_down_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make([("a;b;c", 1), ("a;c;c", 2), ("c", 4), ("b;a", 8)] * 3)
    from perftop.model import profile as model

    results = set()
    for depth in (0, 10**9):  # forces one strategy, then the other
        monkeypatch.setattr(model, "_TYPICAL_DEPTH", depth)
        results.add(p.search("c").matched_samples)
    assert results == {21}


def test_stacks_round_trip_and_empty_stacks() -> None:
    p = make([("a;b", 2, "t1"), ("a", 1, "t1"), ("c", 4, "t2")])
    p.add_stack([], 3, "t2")
    got = sorted((tuple(p.frame(i).name for i in ids), n, t) for ids, n, t in p.stacks())
    assert got == [((), 3, "t2"), (("a",), 1, "t1"), (("a", "b"), 2, "t1"), (("c",), 4, "t2")]
    assert p.total_samples == 10
    assert {t for _, _, t in p.stacks("t1")} == {"t1"}


def test_copy_is_independent() -> None:
    p = make([("a;b", 2, "t1"), ("a", 1, "t2")])
    p.metadata["pid"] = "12"
    p.mark_ended("target exited")
    q = p.copy()
    q.add_stack([Frame("a")], 5, "t1")
    q.metadata["pid"] = "13"
    assert p.total_samples == 3 and q.total_samples == 8
    assert p.metadata["pid"] == "12" and q.ended and q.end_reason == "target exited"


def test_diff_normalises_by_each_profile_total() -> None:
    base = make([("main;slow", 50), ("main;fast", 50)])  # 100 samples
    new = make([("main;slow", 10), ("main;fast", 30), ("main;added", 10)])  # 50 samples
    d = diff(base, new)
    slow, fast, added = node(d, "main;slow"), node(d, "main;fast"), node(d, "main;added")
    assert d.base_fraction(slow) == pytest.approx(0.5)
    assert d.new_fraction(slow) == pytest.approx(0.2)
    assert d.delta_fraction(slow) == pytest.approx(-0.3)
    assert d.delta_fraction(fast) == pytest.approx(0.1)
    assert d.delta_fraction(added) == pytest.approx(0.2)
    assert d.delta_fraction(node(d, "main")) == pytest.approx(0.0)
    changes = d.biggest_changes(2)
    assert [(c.frame.name, round(c.delta_percent)) for c in changes] == [
        ("slow", -30),
        ("added", 20),
    ]
    assert changes[0].base_percent == pytest.approx(50.0) and changes[0].new_percent == 20.0


def test_diff_tree_is_the_union_and_keeps_new_counts() -> None:
    base = make([("main;gone", 4), ("main;kept", 4)])
    new = make([("main;kept", 2)])
    d = diff(base, new)
    gone = node(d, "main;gone")
    assert gone.total == 0 and d.base_total(gone) == 4
    assert d.delta_fraction(gone) == pytest.approx(-0.5)
    assert d.total_samples == 2 and d.base.total_samples == 8
    assert [(ids, n) for ids, n, _ in d.stacks()] == [(node(d, "main;kept").path(), 2)]
    assert diff(Profile(), Profile()).delta_fraction(Profile().root()) == 0.0


def test_diff_per_thread() -> None:
    base = make([("a", 1, "t1"), ("b", 1, "t2")])
    new = make([("a", 3, "t1"), ("b", 1, "t2")])
    d = diff(base, new)
    a1 = node(d, "a", "t1")
    assert d.base_total(a1) == 1 and a1.total == 3
    assert d.delta_fraction(node(d, "a")) == pytest.approx(0.75 - 0.5)


def test_copy_of_a_diff_keeps_base_only_paths() -> None:
    d = diff(make([("main;gone", 4)]), make([("main;kept", 2)]))
    q = d.copy()
    assert q.total_samples == 2 and q.find(node(d, "main;gone").path()) is not None
