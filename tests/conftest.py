"""Shared test set-up: a fixed timezone so clock columns render the same everywhere, a config
directory of the tests' own so a developer's ~/.config/perftop never changes a result, and the
fast inner loop, `pytest -m "not slow"`:

- every end-to-end test (tests/e2e: tmux, py-spy, Prometheus, sshd) is marked `slow` here,
  and the unit tests that run a real py-spy on a real target mark themselves;
- with "not slow" in `-m` (and no `--hypothesis-profile` given) the property tests run under
  the `fast` profile: at most FAST_EXAMPLES examples each, their own `@settings` included, and
  their `@example`s always. The full run keeps every test's own count.
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

E2E = Path(__file__).parent / "e2e"
LONGEST = {"test_long_run.py"}  # minutes each: started first, one on each worker
FAST_EXAMPLES = 50
settings.register_profile("fast", max_examples=FAST_EXAMPLES)


def pytest_configure(config: pytest.Config) -> None:
    fast_loop = "not slow" in (config.option.markexpr or "")
    if fast_loop and not config.getoption("--hypothesis-profile", None):
        settings.load_profile("fast")


def _cap_examples(item: pytest.Item) -> None:
    """A test's own `@settings(max_examples=...)` wins over any profile: cap it by hand."""
    test = getattr(item, "obj", None)
    own = getattr(test, "_hypothesis_internal_use_settings", None)  # what @given runs with
    if isinstance(own, settings) and own.max_examples > FAST_EXAMPLES:
        test._hypothesis_internal_use_settings = settings(own, max_examples=FAST_EXAMPLES)


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/e2e runs the real perftop in tmux, with py-spy, Prometheus or sshd: all slow. In
    the fast loop the property tests' examples are capped.

    The longest go first: a long test picked up last would leave the other worker idle. The
    in-process long runs (the simulated day: minutes) before the end-to-end tests, which come
    before the rest."""
    fast = settings.get_current_profile_name() == "fast"
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
        elif fast:
            _cap_examples(item)

    def order(item: pytest.Item) -> int:
        if item.path.name in LONGEST:
            return 0
        if item.get_closest_marker("slow") is None:
            return 3
        return 2 if item.get_closest_marker("e2e") is not None else 1

    items.sort(key=order)
