"""What the flame shows of a profile (model/view.py, model/idle.py, model/processes.py) and the
top functions by function (model/profile.py), on py-spy's own output: a gunicorn-shaped server
(a master waiting in select, four forked workers, one with three times the work, each with a
waiting heartbeat thread), recorded with `--idle --subprocesses --threads`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.formats.folded import read_folded
from perftop.model.frames import Frame
from perftop.model.idle import is_idle
from perftop.model.processes import process_of_thread, process_shares
from perftop.model.profile import Profile
from perftop.model.view import ProfileView, ViewOptions

DATA = Path(__file__).resolve().parent.parent / "data"
MASTER, SLOW = "7012", "7058"  # the gunicorn fixture's master and its slow worker


def gunicorn() -> Profile:
    return read_folded(DATA / "pyspy-raw-gunicorn.txt")


def names(profile: Profile, ids: tuple[int, ...]) -> list[str]:
    return [profile.frame(i).name for i in ids]


def stacks_of(profile: Profile) -> Counter[tuple[tuple[Frame, ...], str]]:
    """Every stack as frames, with its thread: two profiles compare whatever their ids."""
    return Counter(
        {(tuple(profile.frame(i) for i in ids), thread): n for ids, n, thread in profile.stacks()}
    )


# --- top functions by function -----------------------------------------------------------------


def test_py_spy_lines_of_one_function_are_one_row_by_function() -> None:
    p = gunicorn()
    by_line = [s for s in p.top_functions() if s.frame.name == "slow_prime_sum"]
    assert len({s.frame.line for s in by_line}) >= 2  # a row a line: `for` and `if`
    (row,) = [s for s in p.top_functions(by_function=True) if s.frame.name == "slow_prime_sum"]
    assert row.frame == Frame("slow_prime_sum", "app.py")  # its name and file, no line
    assert row.self_samples == sum(s.self_samples for s in by_line)
    assert sorted(row.frame_ids) == sorted(s.frame_id for s in by_line)
    # The total counts a stack once, whichever of its lines it passes through.
    under = sum(
        n
        for ids, n, _ in p.stacks()
        if "slow_prime_sum" in names(p, ids)[:-1] or names(p, ids)[-1] == "slow_prime_sum"
    )
    assert row.total_samples == under


def test_a_recursive_function_counts_once_a_stack_by_function() -> None:
    p = Profile()
    f7, f9, g = Frame("f", "a.py", 7), Frame("f", "a.py", 9), Frame("g", "a.py", 20)
    p.add_stack([f7, g, f9], 5)  # f calls g calls f again, at another line
    p.add_stack([f7], 2)
    (f,) = [s for s in p.top_functions(by_function=True) if s.frame.name == "f"]
    assert (f.self_samples, f.total_samples) == (7, 7)
    assert sorted(s.total_samples for s in p.top_functions() if s.frame.name == "f") == [5, 7]


def test_function_totals_survive_merge_copy_and_add_tree() -> None:
    whole = gunicorn()
    half = Profile()
    for ids, n, thread in whole.stacks():
        half.add_stack([whole.frame(i) for i in ids], n, thread)
    merged = Profile()
    merged.merge(half)
    copied = merged.copy()
    tree = Profile()  # the evented reader's path: a tree of call paths
    a, b = tree.intern(Frame("f", "a.py", 1)), tree.intern(Frame("f", "a.py", 2))
    tree.add_tree([a, b, a], [-1, 0, 1], [0, 0, 3])
    assert [(s.frame.name, s.total_samples) for s in tree.top_functions(by_function=True)] == [
        ("f", 3)
    ]
    expected = [
        (s.frame, s.self_samples, s.total_samples) for s in whole.top_functions(by_function=True)
    ]
    for p in (half, merged, copied):
        got = [
            (s.frame, s.self_samples, s.total_samples) for s in p.top_functions(by_function=True)
        ]
        assert got == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from("fgh"), st.integers(1, 3)), min_size=1, max_size=6),
            st.integers(1, 5),
            st.sampled_from(["", "T1"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_function_totals_match_a_count_of_the_stacks(
    stacks: list[tuple[list[tuple[str, int]], int, str]],
) -> None:
    p = Profile()
    for frames, n, key in stacks:
        p.add_stack([Frame(name, "m.py", line) for name, line in frames], n, key)
    for thread in (None, "", "T1"):
        got = {
            s.frame.name: (s.self_samples, s.total_samples)
            for s in p.top_functions(thread, by_function=True)
        }
        want: dict[str, list[int]] = {}
        for frames, n, t in stacks:
            if thread is not None and t != thread:
                continue
            for name in {name for name, _ in frames}:
                want.setdefault(name, [0, 0])[1] += n
            want[frames[-1][0]][0] += n
        assert got == {k: (s, t) for k, (s, t) in want.items()}


# --- idle frames -------------------------------------------------------------------------------


def test_waits_are_idle_as_py_spy_and_the_c_libraries_name_them() -> None:
    idle = [
        Frame("Condition.wait", "threading.py", 327),  # py-spy 0.4: qualified, short paths
        Frame("wait", "/usr/lib/python3.12/threading.py", 355),
        Frame("EpollSelector.select", "selectors.py", 468),
        Frame("Arbiter.sleep", "gunicorn/arbiter.py", 357),
        Frame("poll", "/venv/lib/python3.12/site-packages/zmq/sugar/poll.py", 80),
        Frame("__GI___poll", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        Frame("epoll_wait", "libc.so.6"),
        Frame("pthread_cond_timedwait@@GLIBC_2.3.2", "libc.so.6"),
        Frame("take_gil", "Python/ceval_gil.c", 300),
        Frame("intel_idle", "[kernel.kallsyms]"),
    ]
    busy = [
        Frame("select", "/srv/app/select.py", 3),  # one's own `select` is no wait
        Frame("slow_prime_sum", "app.py", 7),
        Frame("PyEval_EvalFrameDefault", "libpython3.12.so"),
        Frame("schedule", "[kernel.kallsyms]"),  # perf: the switch's own cost, on the CPU
        Frame('process 12:"python app.py"'),
    ]
    assert [f for f in idle if not is_idle(f)] == []
    assert [f for f in busy if is_idle(f)] == []


def test_hiding_idle_leaves_the_work_and_says_how_much_it_hid() -> None:
    p = gunicorn()
    view = ProfileView(metadata=p.metadata)
    shown = view.show(p, ViewOptions(hide_idle=True))
    waited = sum(n for ids, n, _ in p.stacks() if is_idle(p.frame(ids[-1])))
    assert view.hidden() == waited and shown.total_samples == p.total_samples - waited
    assert waited / p.total_samples > 0.9  # a waiting server: most of "all" was waits
    leaves = {shown.frame(ids[-1]).name for ids, _, _ in shown.stacks()}
    assert not leaves & {"Arbiter.sleep", "SyncWorker.wait", "Condition.wait"}
    assert "slow_prime_sum" in leaves
    # The master only waited: it is gone, and the heartbeat threads with it.
    assert not [t for t in shown.threads() if process_of_thread(t) == MASTER]
    assert not [t for t in shown.threads() if t.startswith("heartbeat")]
    thread = shown.threads()[0]
    assert view.hidden(thread) == sum(
        n for ids, n, t in p.stacks() if t == thread and is_idle(p.frame(ids[-1]))
    )


def test_a_live_view_absorbs_batches_as_a_rebuild_would_show_them() -> None:
    whole = gunicorn()
    first, second = Profile(whole.metadata), Profile(whole.metadata)
    for i, (ids, n, thread) in enumerate(whole.stacks()):
        (first if i % 2 else second).add_stack([whole.frame(f) for f in ids], n, thread)
    for options in (
        ViewOptions(hide_idle=True),
        ViewOptions(process=SLOW),
        ViewOptions(split=True, hide_idle=True),
    ):
        live = Profile(whole.metadata)
        live.merge(first)
        view = ProfileView(metadata=whole.metadata)
        view.show(live, options)
        live.merge(second)  # what the session does with a batch, then the view
        view.absorb(second)
        again = ProfileView(metadata=whole.metadata)
        assert stacks_of(view.shown) == stacks_of(again.show(live, options)), options
        assert view.hidden() == again.hidden()


def test_every_option_off_is_the_profile_itself() -> None:
    p = gunicorn()
    view = ProfileView(metadata=p.metadata)
    assert view.show(p, ViewOptions()) is p
    view.absorb(p)  # nothing to do: the session merged it already
    assert view.shown is p and view.hidden() == 0


# --- many processes ----------------------------------------------------------------------------


def test_the_slow_worker_stands_out_among_its_siblings_once_idle_is_hidden() -> None:
    p = gunicorn()
    every = process_shares(p)
    assert {s.pid for s in every} == {MASTER, "7054", "7055", SLOW, "7059"}
    view = ProfileView(metadata=p.metadata)
    view.show(p, ViewOptions(hide_idle=True))
    busy = view.processes()
    assert busy[0].pid == SLOW and busy[0].vs_siblings is not None and busy[0].vs_siblings > 2
    assert all(s.vs_siblings is not None and s.vs_siblings < 1.5 for s in busy[1:])
    assert abs(sum(s.percent for s in busy) - 100) < 1e-6
    assert "gunicorn.arbiter" in busy[0].command


def test_one_process_alone_and_processes_side_by_side() -> None:
    p = gunicorn()
    view = ProfileView(metadata=p.metadata)
    alone = view.show(p, ViewOptions(process=SLOW))
    assert {process_of_thread(t) for t in alone.threads()} == {SLOW}
    assert alone.total_samples == next(s.samples for s in process_shares(p) if s.pid == SLOW)
    split = view.show(p, ViewOptions(split=True))
    roots = sorted(split.frame(fid).name for fid in split.root().children)
    assert roots == sorted(
        f'process {pid}:"{process_shares(p)[0].command}"'
        for pid in (MASTER, "7054", "7055", SLOW, "7059")
    )
    assert split.total_samples == p.total_samples


def test_perf_on_every_cpu_roots_split_merge_and_pick() -> None:
    p = Profile({"source": "perf"})
    work, idle = Frame("work", "/usr/bin/app"), Frame("intel_idle", "[kernel.kallsyms]")
    for pid, comm, n in (
        ("10", "app", 30),
        ("11", "app", 90),
        ("12", "app", 30),
        ("0", "swapper", 50),
    ):
        p.add_stack([Frame(f'process {pid}:"{comm}"'), idle if pid == "0" else work], n)
    shares = process_shares(p)
    assert [(s.pid, s.command, s.samples) for s in shares][:2] == [
        ("11", "app", 90),
        ("0", "swapper", 50),
    ]
    assert next(s for s in shares if s.pid == "11").vs_siblings == 3.0
    view = ProfileView()
    assert view.show(p, ViewOptions()) is p and view.split  # already side by side
    merged = view.show(p, ViewOptions(split=False))
    assert [merged.frame(f).name for f in merged.root().children] == ["work", "intel_idle"]
    busy = view.show(p, ViewOptions(hide_idle=True))
    assert view.hidden() == 50 and "0" not in {s.pid for s in view.processes()}
    assert busy.total_samples == 150
    one = view.show(p, ViewOptions(process="11"))
    assert one.total_samples == 90


def test_py_spy_subprocesses_of_a_file_and_of_the_live_backend() -> None:
    p = read_folded(DATA / "pyspy-raw-subprocesses-threads.txt")
    assert [(s.pid, s.samples) for s in process_shares(p)] == [("3184", 121), ("3187", 99)]
    assert process_of_thread("MainThread", own="3184") == "3184"  # the live target's own
    assert process_of_thread("pid 3187") == "3187"
    assert process_of_thread("worker (pid 12) (pid 3187)") == "3187"


def test_taking_back_a_stack_undoes_adding_it() -> None:
    p = gunicorn()
    expected = stacks_of(p)
    counters = (p.top_functions(), p.top_functions(by_function=True), p.threads())
    a, b = Frame("a", "x.py", 1), Frame("wait", "threading.py", 2)
    p.add_stack([a, b], 7, "MainThread (pid 7054)")
    p.add_stack([a, b, b], 3, "extra")  # a thread of its own: it goes when emptied
    p.remove_stack_ids([p.intern(a), p.intern(b)], 7, "MainThread (pid 7054)")
    p.remove_stack_ids([p.intern(a), p.intern(b), p.intern(b)], 3, "extra")
    assert stacks_of(p) == expected
    assert (p.top_functions(), p.top_functions(by_function=True), p.threads()) == counters
    assert p.find([p.intern(a)]) is None  # the emptied nodes went


def test_a_live_whole_machine_view_learns_of_its_process_roots_from_the_first_batch() -> None:
    live = Profile({"source": "perf"})
    view = ProfileView()
    view.show(live, ViewOptions(hide_idle=True))
    assert not view.split  # nothing sampled yet: nothing says there are processes
    batch = Profile()
    batch.add_stack([Frame('process 10:"app"'), Frame("work", "/usr/bin/app")], 5)
    batch.add_stack([Frame('process 0:"swapper"'), Frame("intel_idle", "[kernel.kallsyms]")], 5)
    live.merge(batch)
    view.absorb(batch)
    assert view.split and view.hidden() == 5 and view.shown.total_samples == 5
    assert [s.pid for s in view.processes()] == ["10"]
