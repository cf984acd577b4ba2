"""The TOML config file: where it lives, what it holds, reading it forgivingly, saving it safely.

A bad value never stops perftop: each problem becomes one line naming the file, the line and
the key ("config.toml:7: [processes] sort: unknown column 'FOO'"), that key keeps its default
and everything else in the file still applies. Textual-free, so `perftop serve` and the CLI
can read it without importing the UI; the app checks what only it knows (theme names, the ids
of key bindings).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from perftop.limits import (
    MAX_DELAY_S,
    MAX_HISTORY,
    MAX_RATE_HZ,
    MIN_DELAY_S,
    MIN_HISTORY,
    MIN_RATE_HZ,
)
from perftop.profiling.backend import BACKEND_CHOICES, ProfilerOptions
from perftop.system.growth import DEFAULT_WINDOW_S, parse_window, window_label
from perftop.system.levels import Band, Thresholds
from perftop.system.processes import DEFAULT_COLUMNS, SortKey, ViewOptions, default_reverse

DEFAULT_THEME = "textual-dark"


def default_path() -> Path:
    """`$XDG_CONFIG_HOME/perftop/config.toml`, or `~/.config/perftop/config.toml`."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "perftop" / "config.toml"


def sort_key_named(text: str) -> SortKey | None:
    """A column by its title ("CPU%", "cpu", "READ/s") or enum name ("THREADS"), any case."""
    wanted = text.strip().upper()
    for key in SortKey:
        if wanted in (key.name, key.value.upper()) or wanted == _bare(key.value):
            return key
    return None


def _bare(title: str) -> str:
    return title.upper().rstrip("%").removesuffix("/S")


@dataclass
class Config:
    delay_s: float = 1.0
    history_len: int = 3600
    theme: str = DEFAULT_THEME
    columns: list[SortKey] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    sort: SortKey = SortKey.CPU
    reverse: bool | None = None  # None: the column's natural direction (biggest first for measures)
    tree: bool = False
    cpu_per_core: bool = True
    growth_window_s: float = DEFAULT_WINDOW_S  # GROWTH's fitted trend, over this long
    rate_hz: int = 100
    nonblocking: bool = False
    profiler: str = "auto"  # one of BACKEND_CHOICES: auto is py-spy for Python, perf else
    dwarf: bool = False  # perf unwinds with DWARF rather than frame pointers
    keys: dict[str, str] = field(default_factory=dict)  # binding id → "key,key"
    export_dir: str = ""  # empty: the current directory
    # [thresholds]: [warn, crit] for each figure the meters colour
    cpu_levels: list[float] = field(default_factory=lambda: [60.0, 85.0])
    memory_levels: list[float] = field(default_factory=lambda: [60.0, 85.0])
    iowait_levels: list[float] = field(default_factory=lambda: [5.0, 20.0])
    load_levels: list[float] = field(default_factory=lambda: [0.7, 1.0])
    gpu_temperature_levels: list[float] = field(default_factory=lambda: [80.0, 88.0])

    def thresholds(self) -> Thresholds:
        def band(pair: list[float]) -> Band:
            return Band(pair[0], pair[1])

        return Thresholds(
            cpu=band(self.cpu_levels),
            memory=band(self.memory_levels),
            iowait=band(self.iowait_levels),
            load=band(self.load_levels),
            gpu_temperature=band(self.gpu_temperature_levels),
        )


def apply_view_settings(settings: Config, view: ViewOptions) -> None:
    """What the settings decide of the table's view (the rest, such as the filter, is the
    session's own): at start-up and again when F2 applies new settings."""
    view.sort_key = settings.sort
    view.reverse = default_reverse(settings.sort) if settings.reverse is None else settings.reverse
    view.tree = settings.tree
    view.cpu_per_core = settings.cpu_per_core
    view.columns = tuple(settings.columns)
    view.growth_window_s = settings.growth_window_s


def apply_profiler_settings(settings: Config, options: ProfilerOptions) -> None:
    """What the settings decide of how the profiler samples; flags may add to it after."""
    options.rate_hz = settings.rate_hz
    options.nonblocking = settings.nonblocking
    options.backend = settings.profiler
    options.dwarf = settings.dwarf and settings.profiler != "py-spy"


def profiler_conflict(settings: Config) -> str | None:
    """Why the [profiler] settings cannot go together, or None: DWARF is perf's unwinding."""
    if settings.dwarf and settings.profiler == "py-spy":
        return 'DWARF unwinding is perf\'s: it does nothing with profiler = "py-spy"'
    return None


class Problem(NamedTuple):
    path: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


# (section, key) → (Config field, converter raising ValueError with a short reason)
def _number(low: float, high: float, integer: bool = False) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        if integer and not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{value} out of range: {low:g} to {high:g}")
        return value if integer else float(value)

    return convert


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _profiler(value: Any) -> str:
    text = _text(value)
    if text not in BACKEND_CHOICES:
        raise ValueError(f"unknown profiler {text!r}; choose one of: {', '.join(BACKEND_CHOICES)}")
    return text


def _column(value: Any) -> SortKey:
    key = sort_key_named(_text(value))
    if key is None:
        names = ", ".join(k.value for k in SortKey)
        raise ValueError(f"unknown column {value!r}; columns: {names}")
    return key


def _columns(value: Any) -> list[SortKey]:
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty list of column names")
    keys = [_column(v) for v in value]
    if len(set(keys)) != len(keys):
        raise ValueError("a column is listed twice")
    return keys


def _window(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f'expected a duration such as "5m", got {value!r}')
    return parse_window(value)


def _band(high: float) -> Callable[[Any], list[float]]:
    """`[warn, crit]`: two numbers from 0 to `high`, warn no higher than crit."""
    number = _number(0, high)

    def convert(value: Any) -> list[float]:
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"expected [warn, crit], got {value!r}")
        warn, crit = number(value[0]), number(value[1])
        if warn > crit:
            raise ValueError(f"warn {warn:g} is above crit {crit:g}")
        return [float(warn), float(crit)]

    return convert


def _keys(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError('expected a table of action = "key,key"')
    keys: dict[str, str] = {}
    for action, spec in value.items():
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(f'{action}: expected keys such as "f5,t", got {spec!r}')
        keys[action] = ",".join(part.strip() for part in spec.split(","))
    return keys


_SCHEMA: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    ("display", "refresh"): ("delay_s", _number(MIN_DELAY_S, MAX_DELAY_S)),
    ("display", "history"): ("history_len", _number(MIN_HISTORY, MAX_HISTORY, integer=True)),
    ("display", "theme"): ("theme", _text),
    ("display", "export_dir"): ("export_dir", _text),
    ("processes", "columns"): ("columns", _columns),
    ("processes", "sort"): ("sort", _column),
    ("processes", "reverse"): ("reverse", _boolean),
    ("processes", "tree"): ("tree", _boolean),
    ("processes", "cpu_per_core"): ("cpu_per_core", _boolean),
    ("processes", "growth_window"): ("growth_window_s", _window),
    ("profiler", "rate"): ("rate_hz", _number(MIN_RATE_HZ, MAX_RATE_HZ, integer=True)),
    ("profiler", "nonblocking"): ("nonblocking", _boolean),
    ("profiler", "profiler"): ("profiler", _profiler),
    ("profiler", "dwarf"): ("dwarf", _boolean),
    ("thresholds", "cpu"): ("cpu_levels", _band(100)),
    ("thresholds", "memory"): ("memory_levels", _band(100)),
    ("thresholds", "iowait"): ("iowait_levels", _band(100)),
    ("thresholds", "load"): ("load_levels", _band(1000)),
    ("thresholds", "gpu_temperature"): ("gpu_temperature_levels", _band(150)),
}


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """Where `[section]` (or `key` inside it) is written, for the message; None if not found."""
    in_section = False
    header = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]")
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("["):
            in_section = bool(header.match(line))
            if in_section and key is None:
                return number
            continue
        if in_section and key is not None:
            name = line.split("=", 1)[0].strip().strip("\"'")
            if "=" in line and name == key:
                return number
    return None


def loads_config(text: str, path: str = "<config>") -> tuple[Config, list[Problem]]:
    """Parse `text`; every problem is reported and leaves that setting at its default."""
    import tomllib  # here: most starts have no config file to parse (5 ms of a first screen)

    config = Config()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return config, [Problem(path, int(match.group(1)) if match else None, "", reason)]
    except ValueError as exc:  # an integer past Python's 4300-digit limit on conversion
        return config, [Problem(path, None, "", str(exc).split(":")[0])]
    except RecursionError:  # arrays or inline tables nested a thousand deep
        return config, [Problem(path, None, "", "values nested too deeply")]
    problems: list[Problem] = []
    for section, table in doc.items():
        if section == "keys":
            try:
                config.keys = _keys(table)
            except ValueError as exc:
                problems.append(Problem(path, _line_of(text, section, None), "[keys]", str(exc)))
            continue
        if not isinstance(table, dict):
            problems.append(Problem(path, None, section, "unknown setting"))
            continue
        for key, value in table.items():
            entry = _SCHEMA.get((section, key))
            line = _line_of(text, section, key)
            if entry is None:
                problems.append(Problem(path, line, f"[{section}] {key}", "unknown setting"))
                continue
            name, convert = entry
            try:
                setattr(config, name, convert(value))
            except ValueError as exc:
                problems.append(Problem(path, line, f"[{section}] {key}", str(exc)))
    conflict = profiler_conflict(config)
    if conflict is not None:
        config.dwarf = False
        line = _line_of(text, "profiler", "dwarf")
        problems.append(Problem(path, line, "[profiler] dwarf", conflict))
    return config, problems


def load_config(path: Path | None = None) -> tuple[Config, list[Problem]]:
    """The config at `path` (default: the XDG place). A missing default file is not a problem;
    a missing file the user named is."""
    explicit = path is not None
    target = path if path is not None else default_path()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            return Config(), [Problem(str(target), None, "", "no such file")]
        return Config(), []
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Config(), [Problem(str(target), None, "", f"cannot read: {reason}")]
    return loads_config(text, str(target))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A TOML basic string is a JSON string for everything we write (escapes included).
    return json.dumps(str(value), ensure_ascii=False)


def dumps_config(config: Config) -> str:
    """The whole config as TOML, every setting written out so the file documents itself.

    Written by hand rather than with a TOML writer library: the file is four flat tables of
    scalars and lists, and a hand-written layout keeps the comments people read.
    """
    lines = ["# perftop settings; F2 in perftop edits and saves this file.", ""]
    sections: dict[str, list[str]] = {}
    for (section, key), (name, _convert) in _SCHEMA.items():
        value = getattr(config, name)
        if name == "reverse" and value is None:
            continue  # the column's own direction
        if isinstance(value, SortKey):
            value = value.value
        elif name == "growth_window_s":
            value = window_label(value)
        elif isinstance(value, list):
            value = [v.value if isinstance(v, SortKey) else v for v in value]
        sections.setdefault(section, []).append(f"{key} = {_toml_value(value)}")
    for section, body in sections.items():
        lines += [f"[{section}]", *body, ""]
    lines.append('[keys]  # action id = "key,key"; F1 lists the actions')
    lines += [
        f"{_toml_value(action)} = {_toml_value(spec)}" for action, spec in config.keys.items()
    ]
    return "\n".join(lines) + "\n"


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write atomically (0600); returns where it went."""
    from perftop.formats.atomic import write_atomic

    target = path if path is not None else default_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, dumps_config(config))
    return target


def set_value(config: Config, section: str, key: str, value: Any) -> None:
    """Set one setting as the file would (same checks); ValueError with the reason if bad."""
    entry = _SCHEMA.get((section, key))
    if entry is None:
        raise ValueError(f"unknown setting [{section}] {key}")
    name, convert = entry
    setattr(config, name, convert(value))


def set_keys(config: Config, keys: dict[str, str]) -> None:
    config.keys = _keys(keys)
