"""The first tick read beside the TUI's imports (commands/first_tick.py): once, then the
sampler's own; an error is the sampler's to meet, not lost."""

from __future__ import annotations

import os

import pytest

from perftop.commands.first_tick import FirstTick
from perftop.system import source as source_module


def test_the_first_tick_is_taken_once_from_the_source_it_came_from() -> None:
    first = FirstTick()
    source = first.source()
    tick = first.take()
    assert tick is not None
    sample, snapshot = tick
    assert snapshot.rows and sample.core_count >= 1
    assert first.take() is None, "the next ticks are the sampler's own"
    assert first.source() is source
    assert os.getpid() in snapshot.rows


def test_a_source_that_cannot_be_made_raises_where_it_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> None:
        raise PermissionError("no /proc")

    monkeypatch.setattr(source_module, "LiveSource", broken)
    first = FirstTick()
    assert first.take() is None
    with pytest.raises(PermissionError, match="no /proc"):
        first.source()
