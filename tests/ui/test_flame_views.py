"""The flame view's keys, driven with Pilot: `f` (top table by function or line), `i` (idle
hidden), `p` and `P` (one process, processes side by side), on files and on a hand-fed live
session; the diff's `f`, `R` and `u`; `perftop diff --by-function`; the settings dialog's
boxes without colour; and which keys each screen offers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, OptionList, Static

from perftop import cli_args
from perftop.cli_args import CliError
from perftop.formats.folded import read_folded
from perftop.model.frames import Frame
from perftop.model.profile import Node, Profile
from perftop.model.reshape import by_function
from perftop.profiling.backend import Batch, ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from perftop.runmode import DiffFiles, run_mode
from perftop.ui.screens.diff import DiffScreen
from perftop.ui.screens.flame_help import FlameHelp
from perftop.ui.screens.help import screen_actions
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.screens.profile_dialogs import MarkedCheckbox, ProcessPicker, ProfilerSettings
from perftop.ui.start import DiffOfFiles, ProfileFile, SnapshotFile
from perftop.ui.widgets.flame import FlameView
from perftop.ui.widgets.process_shares import ProcessShares
from perftop.ui.widgets.top_functions import TopFunctions
from tests.hand_backend import HandBackend
from tests.ui.files_helpers import fake_snapshot, new_profile, offline_app
from tests.ui.helpers import make_app, ticks, until

DATA = Path(__file__).resolve().parent.parent / "data"
SLOW = "7058"  # the gunicorn fixture's busy worker (tests/data/README.md)
RUN = Frame("SyncWorker.run", "gunicorn/workers/sync.py")


def gunicorn(name: str = "pyspy-raw-gunicorn.txt") -> Profile:
    return read_folded(DATA / name)


def head(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#profile-head", Static).render())


def offered(pilot: Pilot[None]) -> set[str]:
    return {b.binding.action for b in pilot.app.screen.active_bindings.values()}


def flame(pilot: Pilot[None]) -> FlameView:
    return pilot.app.screen.query_one(FlameView)


def top_rows(pilot: Pilot[None]) -> list[tuple[str, str]]:
    table = pilot.app.screen.query_one(TopFunctions)
    return [(str(r[4]), str(r[5])) for r in (table.get_row_at(i) for i in range(table.row_count))]


def leaves(profile: Profile) -> set[str]:
    return {profile.frame(ids[-1]).name for ids, _, _ in profile.stacks()}


def node_of(profile: Profile, frame: Frame) -> Node:
    """The first node of `frame`'s function (any line): the busiest path first."""
    pending = [profile.root()]
    while pending:
        node = pending.pop()
        found = profile.frame(node.frame_id) if node.frame_id >= 0 else None
        if found is not None and (found.name, found.filename) == (frame.name, frame.filename):
            return node
        pending.extend(node.children.values())
    raise AssertionError(frame)


async def opened(pilot: Pilot[None]) -> ProfileScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, ProfileScreen), "the profile screen")
    screen = pilot.app.screen
    assert isinstance(screen, ProfileScreen)
    return screen


# --- f: the top table by function or by line ------------------------------------------------


async def test_f_splits_the_top_table_by_line_and_back() -> None:
    app = offline_app(start=ProfileFile(gunicorn(), "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        table = app.screen.query_one(TopFunctions)
        assert table.border_title == "top functions · by function"
        rows = [r for r in top_rows(pilot) if r[0] == "slow_prime_sum"]
        assert rows == [("slow_prime_sum", "app.py")]  # one row, no line
        await pilot.press("f")
        assert table.border_title == "top functions · by line"
        lines = [loc for name, loc in top_rows(pilot) if name == "slow_prime_sum"]
        assert len(lines) >= 2 and all(loc.startswith("app.py:") for loc in lines)
        await pilot.press("f")
        assert [r for r in top_rows(pilot) if r[0] == "slow_prime_sum"] == rows


async def test_the_top_table_highlights_every_line_of_its_function() -> None:
    app = offline_app(start=ProfileFile(gunicorn(), "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        table = screen.query_one(TopFunctions)
        table.focus()
        row = next(i for i, r in enumerate(top_rows(pilot)) if r[0] == "slow_prime_sum")
        table.move_cursor(row=row)
        view = flame(pilot)
        await until(pilot, lambda: len(view.highlight_ids) >= 2, "each line highlighted")
        assert {screen.profile.frame(i).name for i in view.highlight_ids} == {"slow_prime_sum"}


# --- i: idle stacks hidden -------------------------------------------------------------------


async def test_i_hides_the_waits_and_says_how_much() -> None:
    profile = gunicorn()
    app = offline_app(start=ProfileFile(profile, "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        assert "idle hidden" not in head(pilot)
        await pilot.press("i")
        assert "idle hidden: 9" in head(pilot)  # 9x %: a server that mostly waits
        assert "Arbiter.sleep" not in leaves(screen.profile)
        assert screen.profile.total_samples < profile.total_samples
        assert flame(pilot).profile is screen.profile
        names = {n for n, _ in top_rows(pilot)}
        assert "SyncWorker.wait" not in names and "slow_prime_sum" in names
        await pilot.press("i")
        assert "idle hidden" not in head(pilot) and screen.profile is profile


async def test_the_zoom_stays_on_its_frames_across_i() -> None:
    profile = gunicorn()
    app = offline_app(start=ProfileFile(profile, "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        view = flame(pilot)
        view.select(node_of(profile, RUN))
        await pilot.press("enter")
        frames = [profile.frame(i) for i in view.zoom_path]
        await pilot.press("i")
        assert [screen.profile.frame(i) for i in view.zoom_path] == frames
        assert screen.profile.frame(view.zoom_root.frame_id).name == RUN.name


async def test_a_live_profile_keeps_idle_hidden_batch_after_batch() -> None:
    backend = HandBackend()
    work, wait = Frame("work", "app.py", 3), Frame("Condition.wait", "threading.py", 327)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(4242, ProfilerOptions(), lambda: backend, source="py-spy")
        screen = ProfileScreen(session, title="PID 4242")
        await app.push_screen(screen)
        await until(pilot, lambda: session.state is SessionState.LIVE, "the session live")

        def feed(busy: int, idle: int) -> None:
            batch = Profile()
            batch.add_stack([Frame("main", "app.py", 1), work], busy, "MainThread")
            batch.add_stack([Frame("main", "app.py", 1), wait], idle, "MainThread")
            backend.items.put(Batch(batch, 1.0, busy + idle, 0, False))

        feed(10, 30)
        await until(pilot, lambda: session.profile.total_samples == 40, "the first batch")
        await pilot.press("i")
        assert "idle hidden: 75 %" in head(pilot)
        feed(30, 10)
        await until(pilot, lambda: session.profile.total_samples == 80, "the second batch")
        await until(pilot, lambda: "idle hidden: 50 %" in head(pilot), "the head line")
        assert screen.profile.total_samples == 40 and leaves(screen.profile) == {"work"}
        await pilot.press("r")  # a reset starts the view afresh too
        assert screen.profile.total_samples == 0 and "idle hidden: 0 %" in head(pilot)


# --- p, P: many processes --------------------------------------------------------------------


async def test_p_shows_one_process_picked_by_share() -> None:
    app = offline_app(start=ProfileFile(gunicorn(), "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("i", "p")
        await until(pilot, lambda: isinstance(app.screen, ProcessPicker), "the process picker")
        picker = app.screen
        assert isinstance(picker, ProcessPicker)
        assert picker.shares[0].pid == SLOW  # the busiest first, idle left out
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.screen is screen, "the picker closed")
        assert f"process: {SLOW}" in head(pilot)
        assert {t.rsplit(" (pid ", 1)[-1] for t in screen.profile.threads()} == {f"{SLOW})"}
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ProcessPicker), "the picker again")
        listed = app.screen.query_one(OptionList)
        assert listed.highlighted == 1  # on the process shown
        await pilot.press("home", "enter")  # all processes
        await until(pilot, lambda: "process:" not in head(pilot), "all processes again")


async def test_split_processes_side_by_side_with_their_shares() -> None:
    app = offline_app(start=ProfileFile(gunicorn(), "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        shares = screen.query_one(ProcessShares)
        assert not shares.display
        await pilot.press("i", "P")
        assert shares.display and "processes: side by side" in head(pilot)
        roots = [screen.profile.frame(f).name for f in screen.profile.root().children]
        assert len(roots) == 4 and all(r.startswith("process ") for r in roots)
        assert shares.row_count == 4 and str(shares.get_row_at(0)[0]) == SLOW
        assert "▲" in str(shares.get_row_at(0)[2])  # far busier than its siblings
        shares.focus()
        await pilot.press("enter")
        await until(pilot, lambda: f"process: {SLOW}" in head(pilot), "that process alone")
        await pilot.press("P")
        assert not shares.display


async def test_process_keys_only_where_there_are_processes() -> None:
    app = offline_app(start=ProfileFile(read_folded(DATA / "pyspy-raw-threads.txt"), "busy"))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        keys = offered(pilot)
        assert {"toggle_idle", "by_line", "threads"} <= keys
        assert not keys & {"processes", "split_processes"}


async def test_no_line_numbers_no_by_line_key_and_bytes_no_idle_key() -> None:
    perf = Profile({"source": "perf"})
    perf.add_stack([Frame("main", "/usr/bin/app"), Frame("work", "/usr/bin/app")], 10)
    app = offline_app(start=ProfileFile(perf, "perf"))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        assert "by_line" not in offered(pilot) and "toggle_idle" in offered(pilot)
    memory = Profile({"unit": "bytes"})
    memory.add_stack([Frame("alloc", "app.py", 3)], 4096)
    app = offline_app(start=ProfileFile(memory, "memory"))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        assert "toggle_idle" not in offered(pilot)


async def test_q_reads_quit_where_it_quits_and_back_where_it_goes_back() -> None:
    def q_says(pilot: Pilot[None]) -> set[str]:
        screen = pilot.app.screen
        return {b.binding.description for k, b in screen.active_bindings.items() if k == "q"}

    app = offline_app(start=ProfileFile(gunicorn(), "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        assert q_says(pilot) == {"Quit"}
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "perftop ended")
    app = offline_app(start=SnapshotFile(fake_snapshot(profile=new_profile())))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("v")
        screen = await opened(pilot)
        assert q_says(pilot) == {"Back"} and "pause" not in offered(pilot)
        await pilot.press("q")
        await until(pilot, lambda: app.screen is not screen, "back to the snapshot")
        assert app.is_running


# --- the diff: by function, re-rooted --------------------------------------------------------


def diff_app(by_functions: bool = False) -> object:
    base, new = gunicorn(), gunicorn("pyspy-raw-gunicorn-reloaded.txt")
    if by_functions:
        base, new = by_function(base), by_function(new)
    return offline_app(start=DiffOfFiles(base, new, "before → after"))


async def opened_diff(pilot: Pilot[None]) -> DiffScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, DiffScreen), "the diff")
    screen = pilot.app.screen
    assert isinstance(screen, DiffScreen)
    return screen


async def test_diff_f_matches_by_function_so_moved_lines_are_no_change() -> None:
    app = diff_app()
    async with app.run_test(size=(120, 40)) as pilot:  # type: ignore[attr-defined]
        screen = await opened_diff(pilot)
        assert screen.flagged and "by function" not in head(pilot)
        await pilot.press("f")
        assert not screen.flagged and "by function" in head(pilot)
        assert all(f.line == 0 for f in screen.profile.frames)
        await pilot.press("f")
        assert screen.flagged


async def test_perftop_diff_by_function_starts_matched_by_function() -> None:
    app = diff_app(by_functions=True)
    async with app.run_test(size=(120, 40)) as pilot:  # type: ignore[attr-defined]
        screen = await opened_diff(pilot)
        assert screen.profile.matching.by_function and not screen.flagged
        await pilot.press("f")  # and back to lines: the files' own frames are kept
        assert not screen.profile.matching.by_function and screen.flagged


async def test_diff_r_re_roots_at_the_selected_function_and_u_goes_back() -> None:
    app = diff_app(by_functions=True)
    async with app.run_test(size=(120, 40)) as pilot:  # type: ignore[attr-defined]
        screen = await opened_diff(pilot)
        assert "unroot" not in offered(pilot)  # nothing re-rooted yet
        await pilot.press("R")  # nothing selected: it says what it needs
        assert "re-rooted" not in head(pilot)
        view = flame(pilot)
        view.select(node_of(screen.profile, RUN))
        await pilot.press("R")
        assert "re-rooted at SyncWorker.run" in head(pilot)
        (top,) = screen.profile.root().children.values()
        assert screen.profile.frame(top.frame_id) == RUN and view.selected is top
        assert screen.profile.base_total(top) == screen.profile.base.total_samples  # lined up
        assert "unroot" in offered(pilot)
        await pilot.press("u")
        assert "re-rooted" not in head(pilot) and "unroot" not in offered(pilot)


def test_the_by_function_flag_goes_with_the_tui_diff_only() -> None:
    parse = cli_args.build_parser().parse_args
    assert run_mode(parse(["diff", "--by-function", "a", "b"])) == DiffFiles("a", "b", True)
    assert run_mode(parse(["diff", "a", "b"])) == DiffFiles("a", "b", False)
    with pytest.raises(CliError, match="--by-function does not go with perftop diff --check"):
        run_mode(parse(["diff", "--check", "--by-function", "a", "b"]))


# --- the settings dialog without colour ------------------------------------------------------


async def test_settings_boxes_read_x_or_blank_without_colour() -> None:
    backend = HandBackend()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        options = ProfilerOptions(idle=True)
        session = ProfileSession(4242, options, lambda: backend, source="py-spy")
        await app.push_screen(ProfileScreen(session, title="PID 4242"))
        await until(pilot, lambda: session.state is SessionState.LIVE, "the session live")
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ProfilerSettings), "the settings")
        boxes = {b.id: b for b in app.screen.query(Checkbox)}
        assert all(isinstance(b, MarkedCheckbox) for b in boxes.values())
        assert boxes["idle"].render().plain.startswith("[x]")
        assert boxes["gil"].render().plain.startswith("[ ]")
        boxes["gil"].toggle()
        assert boxes["gil"].render().plain.startswith("[x]")


# --- F1 and the baseline across a view change ------------------------------------------------


async def test_f1_lists_what_the_screen_offers_and_says_what_its_terms_mean() -> None:
    app = offline_app(start=ProfileFile(gunicorn(), "gunicorn"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, FlameHelp), "the help")
        described = {a.description for a in screen_actions(screen)}
        assert {"Hide idle", "Processes", "Top: by line/function", "Export"} <= described
        assert not described & {"Pause/resume", "Thread dump", "Profiler settings", "Reset"}
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Idle hidden" in text and "WAIT%" not in text  # the flame's terms, not the table's
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the help closed")


async def test_a_baseline_goes_off_when_the_view_changes() -> None:
    backend = HandBackend()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(4242, ProfilerOptions(), lambda: backend, source="py-spy")
        screen = ProfileScreen(session, title="PID 4242")
        await app.push_screen(screen)
        await until(pilot, lambda: session.state is SessionState.LIVE, "the session live")
        backend.feed(20)
        await until(pilot, lambda: session.profile.total_samples == 20, "a batch")
        await pilot.press("b")
        assert screen.baseline is not None
        await pilot.press("i")  # the baseline was of the view with the waits in
        assert screen.baseline is None and flame(pilot).colour_of is None
