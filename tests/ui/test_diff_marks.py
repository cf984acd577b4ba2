"""The diff screen marks what changed beyond sampling noise: ✱ and the p-value in the table,
bold underlined boxes in the flame, and `s` sorts the flagged rows first."""

from __future__ import annotations

from textual.pilot import Pilot

from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.ui.start import DiffOfFiles
from perftop.ui.widgets.changes import FLAGGED_MARK, ChangesTable
from perftop.ui.widgets.flame import FlameView
from tests.ui.files_helpers import offline_app
from tests.ui.helpers import until
from tests.ui.test_viewer import box_style, text_of

MAIN = Frame("main", "app.py", 1)
GREW = Frame("grew", "app.py", 10)
STEADY = Frame("steady", "app.py", 20)
WOBBLE = Frame("wobble", "app.py", 30)
REST = Frame("rest", "app.py", 40)


def pair() -> tuple[Profile, Profile]:
    """5,000 samples each: grew 10 % → 15 % (flagged), wobble 20.0 % → 20.4 % (noise; the
    largest change after grew and rest, which made room for it), steady as it was."""
    base, new = Profile(), Profile()
    for p, counts in ((base, (500, 1000, 1000, 2500)), (new, (750, 1000, 1020, 2230))):
        for frame, count in zip((GREW, STEADY, WOBBLE, REST), counts, strict=True):
            p.add_stack([MAIN, frame], count)
    return base, new


def rows(table: ChangesTable) -> list[list[str]]:
    return [[str(c).strip() for c in table.get_row_at(i)] for i in range(table.row_count)]


async def shown(pilot: Pilot[None]) -> ChangesTable:
    table = pilot.app.screen.query_one(ChangesTable)
    await until(pilot, lambda: table.row_count > 0, "the table filled")
    return table


async def test_flagged_frames_are_marked_in_the_table_the_flame_and_the_head() -> None:
    base, new = pair()
    app = offline_app(start=DiffOfFiles(base, new, "a → b"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = await shown(pilot)
        by_name = {row[4]: row for row in rows(table)}
        assert by_name["grew"][3].startswith(FLAGGED_MARK)
        assert by_name["rest"][3].startswith(FLAGGED_MARK)
        assert not by_name["wobble"][3].startswith(FLAGGED_MARK)
        assert float(by_name["wobble"][3]) > 0.01  # its p-value, shown dim
        view = pilot.app.screen.query_one(FlameView)
        assert box_style(view, "grew").underline and box_style(view, "grew").bold
        assert not box_style(view, "wobble").underline
        assert f"{FLAGGED_MARK} 2 flagged" in text_of(pilot, "#profile-head")
        assert "beyond sampling noise" in str(table.border_subtitle)


async def test_s_sorts_the_flagged_rows_first_and_back() -> None:
    base, new = pair()
    base.add_stack([MAIN, Frame("tiny", "app.py", 50)], 3)  # gone from new: a small change
    app = offline_app(start=DiffOfFiles(base, new, "a → b"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = await shown(pilot)
        by_change = [row[4] for row in rows(table)]
        await pilot.press("s")
        await until(pilot, lambda: "flagged first" in str(table.border_title), "sorted")
        flagged = [row[4] for row in rows(table)]
        marks = [row[3].startswith(FLAGGED_MARK) for row in rows(table)]
        assert marks == sorted(marks, reverse=True)  # every flagged row before the others
        # By change, rest (-5.4 points) leads; flagged first, grew's stronger evidence does.
        assert by_change[:2] == ["rest", "grew"] and flagged[:2] == ["grew", "rest"]
        assert set(flagged) == set(by_change)
        await pilot.press("s")
        await until(pilot, lambda: "by change" in str(table.border_title), "sorted back")
        assert [row[4] for row in rows(table)] == by_change


async def test_memory_diffs_are_not_tested() -> None:
    base, new = Profile({"unit": "bytes"}), Profile({"unit": "bytes"})
    base.add_stack([MAIN, GREW], 1000)
    new.add_stack([MAIN, GREW], 100_000)
    new.add_stack([MAIN, REST], 100)
    app = offline_app(start=DiffOfFiles(base, new, "a → b"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = await shown(pilot)
        assert all(row[3] == "" for row in rows(table))
        assert "not tested" in str(table.border_subtitle)
        assert "flagged" not in text_of(pilot, "#profile-head")
