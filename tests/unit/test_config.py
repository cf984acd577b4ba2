"""The config file: reading it forgivingly, naming file, line and key; saving and reading back."""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path

import pytest

from perftop.config import (
    Config,
    apply_profiler_settings,
    default_path,
    dumps_config,
    load_config,
    loads_config,
    save_config,
    sort_key_named,
)
from perftop.profiling.backend import ProfilerOptions
from perftop.system.processes import SortKey

GOOD = textwrap.dedent(
    """
    [display]
    refresh = 2
    history = 600
    theme = "perftop-high-contrast"

    [processes]
    columns = ["PID", "cpu", "MEM%", "COMMAND"]
    sort = "mem"
    reverse = false
    tree = true

    [profiler]
    rate = 250
    nonblocking = true
    profiler = "perf"
    dwarf = true

    [keys]
    "dashboard.tree" = "t, f5"
    quit = "q"
    """
)


def test_a_good_file_sets_everything() -> None:
    config, problems = loads_config(GOOD, "c.toml")
    assert problems == []
    assert config.delay_s == 2.0 and config.history_len == 600
    assert config.theme == "perftop-high-contrast"
    assert config.columns == [SortKey.PID, SortKey.CPU, SortKey.MEM, SortKey.COMMAND]
    assert (config.sort, config.reverse, config.tree) == (SortKey.MEM, False, True)
    assert (config.rate_hz, config.nonblocking) == (250, True)
    assert (config.profiler, config.dwarf) == ("perf", True)
    assert config.keys == {"dashboard.tree": "t,f5", "quit": "q"}


def test_a_bad_value_names_file_line_and_key_and_keeps_the_rest() -> None:
    text = GOOD.replace('sort = "mem"', 'sort = "FOO"').replace("rate = 250", "rate = -3")
    config, problems = loads_config(text, "/home/u/.config/perftop/config.toml")
    messages = [str(p) for p in problems]
    assert messages[0].startswith("/home/u/.config/perftop/config.toml:9: [processes] sort:")
    assert "unknown column 'FOO'" in messages[0]
    assert messages[1].startswith("/home/u/.config/perftop/config.toml:14: [profiler] rate:")
    assert "out of range" in messages[1]
    # The broken keys keep their defaults; the good ones still apply.
    assert config.sort == SortKey.CPU and config.rate_hz == 100
    assert config.delay_s == 2.0 and config.tree is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[display]\nrefresh = 'fast'\n", "[display] refresh: expected a number"),
        ("[display]\nrefresh = true\n", "[display] refresh: expected a number"),
        ("[display]\nhistory = 1.5\n", "expected a whole number"),
        ("[display]\nbogus = 1\n", "c.toml:2: [display] bogus: unknown setting"),
        ("[processes]\ncolumns = []\n", "non-empty list"),
        ("[processes]\ncolumns = ['PID', 'pid']\n", "listed twice"),
        ("[processes]\ntree = 'yes'\n", "expected true or false"),
        ("[keys]\nquit = 3\n", "[keys]"),
        ("[profiler]\nprofiler = 'ebpf'\n", "[profiler] profiler: unknown profiler 'ebpf'"),
        ("[profiler]\nprofiler = 3\n", "[profiler] profiler: expected a string"),
        ("[profiler]\ndwarf = 'yes'\n", "[profiler] dwarf: expected true or false"),
        ("[display\nrefresh = 1\n", "c.toml:1:"),
        ("refresh = = 1\n", "c.toml:1:"),
    ],
)
def test_problems_are_one_line_each(text: str, fragment: str) -> None:
    config, problems = loads_config(text, "c.toml")
    assert len(problems) == 1
    assert fragment in str(problems[0])
    assert "\n" not in str(problems[0])
    assert isinstance(config, Config)


def test_dwarf_with_py_spy_is_a_problem_and_left_off() -> None:
    text = "[profiler]\nprofiler = 'py-spy'\ndwarf = true\nrate = 50\n"
    config, problems = loads_config(text, "c.toml")
    (problem,) = problems
    assert str(problem) == (
        "c.toml:3: [profiler] dwarf: DWARF unwinding is perf's: "
        'it does nothing with profiler = "py-spy"'
    )
    assert (config.profiler, config.dwarf, config.rate_hz) == ("py-spy", False, 50)


def test_profiler_settings_apply_to_the_options() -> None:
    options = ProfilerOptions()
    apply_profiler_settings(Config(rate_hz=99, profiler="perf", dwarf=True), options)
    assert (options.rate_hz, options.backend, options.dwarf) == (99, "perf", True)
    options.validate()
    # Made by hand (F2 checks the form), py-spy with DWARF still gives options that work.
    apply_profiler_settings(Config(profiler="py-spy", dwarf=True), options)
    assert (options.backend, options.dwarf) == ("py-spy", False)
    options.validate()


def test_missing_default_file_is_fine_but_a_named_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "perftop" / "config.toml"
    assert load_config() == (Config(), [])
    config, problems = load_config(tmp_path / "nope.toml")
    assert config == Config()
    assert str(problems[0]).endswith("nope.toml: no such file")


def test_unreadable_bytes_are_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    config, problems = load_config(path)
    assert config == Config() and "cannot read" in str(problems[0])


def test_save_then_load_round_trips_with_owner_only_mode(tmp_path: Path) -> None:
    config, _ = loads_config(GOOD)
    config.export_dir = 'C:\\odd "dir"'
    path = save_config(config, tmp_path / "sub" / "config.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, problems = load_config(path)
    assert problems == []
    assert again == config


def test_dumped_defaults_read_back_as_defaults() -> None:
    assert loads_config(dumps_config(Config())) == (Config(), [])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("CPU%", SortKey.CPU),
        ("cpu", SortKey.CPU),
        ("read/s", SortKey.READ),
        ("READ", SortKey.READ),
        ("threads", SortKey.THREADS),
        ("thr", SortKey.THREADS),
        ("nope", None),
    ],
)
def test_sort_key_named(text: str, key: SortKey | None) -> None:
    assert sort_key_named(text) == key
