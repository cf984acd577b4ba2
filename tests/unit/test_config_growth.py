"""[processes] growth_window and the GROWTH column in the config file."""

from __future__ import annotations

from perftop.config import Config, apply_view_settings, dumps_config, loads_config
from perftop.system.processes import SortKey, ViewOptions


def test_growth_window_reads_writes_and_reaches_the_view() -> None:
    config, problems = loads_config('[processes]\ngrowth_window = "10m"\n')
    assert problems == [] and config.growth_window_s == 600.0
    view = ViewOptions()
    apply_view_settings(config, view)
    assert view.growth_window_s == 600.0
    assert 'growth_window = "10m"' in dumps_config(config)
    again, problems = loads_config(dumps_config(config))
    assert problems == [] and again.growth_window_s == 600.0
    assert Config().growth_window_s == 300.0 and 'growth_window = "5m"' in dumps_config(Config())


def test_a_bad_growth_window_is_one_line_and_keeps_the_default() -> None:
    for value in ('"5 parsecs"', '"10s"', '"2h"', "true", "[1]"):
        config, problems = loads_config(f"[processes]\ngrowth_window = {value}\n", "c.toml")
        assert config.growth_window_s == 300.0
        (problem,) = problems
        assert str(problem).startswith("c.toml:2: [processes] growth_window: "), str(problem)


def test_growth_is_a_column_the_config_can_choose_but_not_a_default() -> None:
    assert SortKey.GROWTH not in Config().columns
    config, problems = loads_config('[processes]\ncolumns = ["pid", "growth", "command"]\n')
    assert problems == [] and config.columns == [SortKey.PID, SortKey.GROWTH, SortKey.COMMAND]
    config, problems = loads_config('[processes]\nsort = "GROWTH"\n')
    assert problems == [] and config.sort is SortKey.GROWTH
