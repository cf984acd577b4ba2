"""Shared test set-up: a fixed timezone so clock columns render the same everywhere, a config
directory of the tests' own so a developer's ~/.config/perftop never changes a result, and the
`slow` marker on every end-to-end test (so `pytest -m "not slow"` is the fast inner loop).

Hypothesis runs under the `default` profile; `--hypothesis-profile=fast` (or
PERFTOP_HYPOTHESIS=fast) caps the examples of the property tests that do not set their own.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import settings

os.environ["TZ"] = "UTC"
time.tzset()
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="perftop-tests-config-")

settings.register_profile("fast", max_examples=20)
settings.load_profile(os.environ.get("PERFTOP_HYPOTHESIS", "default"))

E2E = Path(__file__).parent / "e2e"


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/e2e runs the real perftop in tmux, with py-spy, Prometheus or sshd: all slow.

    Slow tests go first: a long test picked up last would leave the other worker idle."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
