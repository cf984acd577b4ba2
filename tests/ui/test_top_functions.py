"""The top-functions table (ui/widgets/top_functions.py): its lines as formatted, the cursor
kept on its function through a live refresh, sorting by a title's click or `s`."""

from __future__ import annotations

from textual.app import App, ComposeResult

from perftop.model.frames import Frame
from perftop.model.profile import FunctionStat
from perftop.ui.widgets.top_functions import TopFunctions, column_widths, format_row
from tests.ui.helpers import until

HOT = Frame("hot", "/srv/app.py", 0)
WARM = Frame("warm", "/srv/app.py", 0)
COLD = Frame("cold_but_with_a_very_long_name_indeed", "/srv/lib/deep/module.py", 0)


def stats(hot: int, warm: int, cold: int) -> list[FunctionStat]:
    return [
        FunctionStat(1, HOT, hot, hot + 5, (1,)),
        FunctionStat(2, WARM, warm, warm + 50, (2, 7)),
        FunctionStat(3, COLD, cold, cold, (3,)),
    ]


def test_a_row_is_exactly_the_width_its_figures_aligned_and_long_names_cut() -> None:
    rows = [
        ("50.00", "55.00", "500", "550", COLD.name, COLD.location),
        ("5.00", "5.0", "5", "5", "f", ""),
    ]
    widths = column_widths(rows, 60)
    lines = [format_row(r, widths, 60) for r in rows]
    assert all(len(line) == 60 for line in lines)
    # Figures end in the same column, whatever their digits.
    assert lines[0].index("50.00") + 5 == lines[1].index("5.00") + 4
    assert "cold_but" in lines[0] and COLD.name not in lines[0], "cut to fit, not wrapped"
    narrow = format_row(rows[0], column_widths(rows, 70), 70)
    assert "module.py" in narrow and "…" in narrow, "a location keeps its file"
    assert len(format_row(rows[0], column_widths(rows, 200), 200)) == 200
    assert COLD.name in format_row(rows[0], column_widths(rows, 200), 200)


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.picked: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield TopFunctions(id="top")

    def on_top_functions_picked(self, event: TopFunctions.Picked) -> None:
        self.picked.append(event.frame_id)


async def test_the_cursor_stays_on_its_function_when_the_order_changes() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        top = app.query_one(TopFunctions)
        top.show_stats(stats(50, 30, 20), 100)
        assert [top.get_row_at(i)[4] for i in range(top.row_count)] == ["hot", "warm", COLD.name]
        top.focus()
        await pilot.press("down")
        assert top.current_key == 2
        await until(pilot, lambda: app.picked[-1:] == [2], "warm picked")
        top.show_stats(stats(10, 30, 60), 100)  # warm is now second of the other two
        assert [top.get_row_at(i)[4] for i in range(top.row_count)] == [COLD.name, "warm", "hot"]
        assert top.current_key == 2 and top.cursor_row == 1, "still on warm"
        top.show_stats(stats(10, 30, 60), 100)
        await pilot.pause()
        assert app.picked.count(2) == 1, "announced once, not at each refresh"


async def test_a_title_click_sorts_by_it_and_s_cycles() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        top = app.query_one(TopFunctions)
        top.show_stats(stats(50, 30, 20), 100)
        header = top.render_line(0).text
        assert "own%▼" in header
        await pilot.click(TopFunctions, offset=(header.index("total%") + 1, 0))
        assert top.sort_by == "total" and top.get_row_at(0)[4] == "warm"  # 80 in all
        assert "total%▼" in top.render_line(0).text
        await pilot.click(TopFunctions, offset=(header.index("function") + 1, 0))
        assert top.sort_by == "function" and top.get_row_at(0)[4] == COLD.name
        top.focus()
        await pilot.press("s")
        assert top.sort_by == "own" and top.get_row_at(0)[4] == "hot"
