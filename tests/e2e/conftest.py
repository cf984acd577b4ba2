"""Fixtures every end-to-end module shares: a tmux pane and the usual target (tests/e2e/harness.py,
tests/e2e/targets.py). Every test here is marked `e2e` and `slow` by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Tmux
from tests.e2e.targets import Target, start_target


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    """The usual target (targets.TARGET), busy, in this test's own directory."""
    proc = start_target(tmp_path)
    yield proc
    proc.end()
