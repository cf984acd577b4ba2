"""`perftop diff --check BASE NEW`: the significant regressions between two profiles, for CI.

No TUI. A regression is a function (name and file: lines move between versions) whose share
of self samples grew beyond sampling noise (model/diff.py: a two-proportion z-test,
Holm-corrected); it fails the check when it grew by at least `--threshold` points of the
samples (10 % → 15 % is 5 points), since two runs differ by more than sampling noise alone.
Printed as text, `--json`, or a Markdown table a CI job can post on the change. Exit codes:
0 none passes the threshold, 1 one does, 2 a file cannot be read (the CLI's usage error).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Literal, TextIO

from perftop.commands.common import UsageError, plural, say

if TYPE_CHECKING:
    from perftop.model.diff import DiffEntry
    from perftop.model.profile import Profile

__all__ = ["DEFAULT_THRESHOLD_POINTS", "Output", "check_diff"]

DEFAULT_THRESHOLD_POINTS = 5.0
EXIT_REGRESSED = 1
TEST_NAME = "two-proportion z-test, Holm-corrected"
Output = Literal["text", "json", "markdown"]


def check_diff(
    base_path: str,
    new_path: str,
    threshold_points: float = DEFAULT_THRESHOLD_POINTS,
    output: Output = "text",
    *,
    alpha: float | None = None,
    out: TextIO | None = None,
) -> int:
    """Print the significant regressions from `base_path` to `new_path`; the exit code.
    UsageError (one line, exit 2) for a file that cannot be read or compared."""
    from perftop.model.diff import DEFAULT_ALPHA, diff

    out = out or sys.stdout
    level = DEFAULT_ALPHA if alpha is None else alpha
    base, new = _read(base_path), _read(new_path)
    compared = diff(base, new)
    if not compared.testable:
        raise UsageError(
            "memory profiles count bytes, not samples: the significance test needs samples"
        )
    grew = [
        e
        for e in compared.significant_changes(by_function=True, alpha=level)
        if e.delta_percent > 0
    ]
    grew.sort(key=lambda e: (-e.delta_percent, e.p_value or 0.0))
    failing = [e for e in grew if e.delta_percent >= threshold_points]
    render = {"text": _text, "json": _json, "markdown": _markdown}[output]
    say(
        out,
        render(
            _Report(base_path, new_path, base, new, grew, failing, threshold_points, level)
        ).rstrip("\n"),
    )
    return EXIT_REGRESSED if failing else 0


def _read(path: str) -> Profile:
    from perftop.formats.detect import read_any
    from perftop.formats.errors import FormatError
    from perftop.formats.snapshot import Snapshot

    try:
        opened = read_any(path)
    except FormatError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    if isinstance(opened, Snapshot):
        if opened.profile is None:
            raise UsageError(f"{path}: this snapshot holds no profile to compare")
        opened = opened.profile
    if not opened.total_samples:
        raise UsageError(f"{path}: the profile holds no samples to compare")
    return opened


class _Report:
    def __init__(
        self,
        base_path: str,
        new_path: str,
        base: Profile,
        new: Profile,
        grew: list[DiffEntry],
        failing: list[DiffEntry],
        threshold: float,
        alpha: float,
    ) -> None:
        self.base_path, self.new_path = base_path, new_path
        self.base_samples, self.new_samples = base.total_samples, new.total_samples
        self.grew, self.failing = grew, failing
        self.threshold, self.alpha = threshold, alpha

    def fails(self, entry: DiffEntry) -> bool:
        return entry in self.failing


def _printable(text: str) -> str:
    """Control characters escaped: a frame name comes from the profiled program."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _p(entry: DiffEntry) -> str:
    return f"{entry.p_value:.2g}" if entry.p_value is not None else "-"


def _text(r: _Report) -> str:
    lines = [
        f"perftop diff --check: {_printable(os.path.basename(r.base_path))} "
        f"({r.base_samples:,} samples) → {_printable(os.path.basename(r.new_path))} "
        f"({r.new_samples:,} samples); {TEST_NAME}, alpha {r.alpha:g}"
    ]
    if not r.grew:
        lines.append("no significant regression")
        return "\n".join(lines)
    lines.append(
        f"{plural(len(r.grew), 'significant regression')}; {len(r.failing)} beyond the "
        f"{r.threshold:g}-point threshold:"
    )
    for e in r.grew:
        where = f"  ({_printable(e.frame.filename)})" if e.frame.filename else ""
        lines.append(
            f"  {'FAIL' if r.fails(e) else '    '}  {e.delta_percent:+6.2f} pts  "
            f"{e.base_percent:6.2f}% → {e.new_percent:6.2f}%  p={_p(e):<8} "
            f"{_printable(e.frame.name)}{where}"
        )
    return "\n".join(lines)


def _json(r: _Report) -> str:
    doc = {
        "base": r.base_path,
        "new": r.new_path,
        "base_samples": r.base_samples,
        "new_samples": r.new_samples,
        "test": TEST_NAME,
        "alpha": r.alpha,
        "threshold_points": r.threshold,
        "failed": bool(r.failing),
        "regressions": [
            {
                "function": e.frame.name,
                "file": e.frame.filename,
                "base_percent": round(e.base_percent, 4),
                "new_percent": round(e.new_percent, 4),
                "delta_points": round(e.delta_percent, 4),
                "p_value": e.p_value,
                "passes_threshold": r.fails(e),
            }
            for e in r.grew
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: no pipe, backtick or line break can break out."""
    return _printable(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")


def _markdown(r: _Report) -> str:
    verdict = (
        f"{plural(len(r.failing), 'regression')} beyond {r.threshold:g} points"
        if r.failing
        else f"no regression beyond {r.threshold:g} points"
    )
    lines = [
        f"### perftop diff --check: {verdict}",
        "",
        f"`{_cell(os.path.basename(r.base_path))}` ({r.base_samples:,} samples) → "
        f"`{_cell(os.path.basename(r.new_path))}` ({r.new_samples:,} samples); "
        f"{TEST_NAME}, alpha {r.alpha:g}.",
    ]
    if not r.grew:
        lines += ["", "No significant regression."]
        return "\n".join(lines)
    lines += [
        "",
        "| | function | file | before | after | change | p-value |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for e in r.grew:
        lines.append(
            f"| {'❌' if r.fails(e) else ''} | `{_cell(e.frame.name)}` | "
            f"{_cell(e.frame.filename)} | {e.base_percent:.2f}% | {e.new_percent:.2f}% | "
            f"{e.delta_percent:+.2f} pts | {_p(e)} |"
        )
    return "\n".join(lines)
