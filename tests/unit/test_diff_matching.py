"""A diff that survives a reload (model/diff.py's Matching, model/reshape.py): the gunicorn-shaped
server of tests/data recorded, its application edited (every line moved by two), reloaded
with SIGHUP (new workers forked from `Arbiter.reload`, not `Arbiter.run`), and recorded
again. Nothing changed in what the code does, so a diff that matches well flags nothing."""

from __future__ import annotations

from pathlib import Path

from perftop.formats.folded import read_folded
from perftop.model.diff import Matching, diff
from perftop.model.frames import Frame
from perftop.model.profile import Node, Profile
from perftop.model.reshape import ByFunction, by_function, rerooted

DATA = Path(__file__).resolve().parent.parent / "data"
RUN = ("SyncWorker.run", "gunicorn/workers/sync.py")


def before() -> Profile:
    return read_folded(DATA / "pyspy-raw-gunicorn.txt")


def after() -> Profile:
    return read_folded(DATA / "pyspy-raw-gunicorn-reloaded.txt")


def test_moved_lines_are_flagged_by_line_and_not_by_function() -> None:
    by_line = diff(before(), after())
    moved = {e.frame.name for e in by_line.significant_changes()}
    assert "slow_prime_sum" in moved  # its old lines "shrank", its new ones "grew"
    assert diff(before(), after(), Matching(by_function=True)).significant_changes() == []


def test_re_rooted_at_the_worker_both_sides_line_up_whatever_forked_it() -> None:
    whole = diff(before(), after(), Matching(by_function=True))
    # Whole stacks: the workers sit under Arbiter.run before, under Arbiter.reload after, so
    # no path to the worker is in both: each is all red or all blue.
    runs = [n for n in _nodes(whole) if whole.frame(n.frame_id) == Frame(*RUN)]
    assert len(runs) == 2 and all(not (n.total and whole.base_total(n)) for n in runs)
    rooted = diff(before(), after(), Matching(by_function=True, root=RUN))
    (top,) = rooted.root().children.values()
    assert rooted.frame(top.frame_id) == Frame(*RUN)
    assert top.total == rooted.total_samples and rooted.base_total(top) == rooted.base.total_samples
    assert rooted.significant_changes() == []
    base_share, new_share = rooted.under_root()
    assert 0.3 < base_share < 0.6 and 0.3 < new_share < 0.6  # 4 of 9 threads work


def test_the_significance_test_still_finds_a_real_change_when_re_rooted() -> None:
    grown = after()
    work = [grown.frame(i) for i in _path(grown, "handle_request")]
    grown.add_stack([*work, Frame("json_dumps", "app.py", 40)], 400, "MainThread (pid 7118)")
    rooted = diff(before(), grown, Matching(by_function=True, root=RUN))
    flagged = [e.frame.name for e in rooted.significant_changes()]
    assert flagged[0] == "json_dumps"


def test_by_function_keeps_the_lines_and_re_rooting_leaves_out_other_stacks() -> None:
    p = before()
    functions = by_function(p)
    assert isinstance(functions, ByFunction) and functions.lines is p
    assert by_function(functions) is functions
    assert all(f.line == 0 for f in functions.frames)
    assert functions.total_samples == p.total_samples
    rooted = rerooted(functions, *RUN)
    assert isinstance(rooted, ByFunction) and rooted.lines is p  # still a way back
    under = sum(n for ids, n, _ in p.stacks() if any(p.frame(i).name == RUN[0] for i in ids))
    assert rooted.total_samples == under


def test_two_by_function_profiles_diff_as_their_lines_matched_by_function() -> None:
    """`perftop diff --by-function` hands the TUI two ByFunction profiles."""
    compared = diff(by_function(before()), by_function(after()))
    assert compared.matching == Matching(by_function=True)
    assert all(not isinstance(side, ByFunction) for side in compared.sources)
    again = diff(*compared.sources)  # what `f` in the diff screen goes back to
    assert again.matching == Matching() and again.significant_changes()


def _nodes(profile: Profile) -> list[Node]:
    found, pending = [], list(profile.root().children.values())
    while pending:
        node = pending.pop()
        found.append(node)
        pending.extend(node.children.values())
    return found


def _path(profile: Profile, name: str) -> list[int]:
    """The frame ids from the root to the first node of `name`."""
    pending = [profile.root()]
    while pending:
        node = pending.pop()
        if node.frame_id >= 0 and profile.frame(node.frame_id).name == name:
            return list(node.path())
        pending.extend(node.children.values())
    raise AssertionError(name)
