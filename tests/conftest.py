"""Shared test set-up: a fixed timezone so clock columns render the same everywhere, and a
config directory of the tests' own so a developer's ~/.config/perftop never changes a result."""

from __future__ import annotations

import os
import tempfile
import time

os.environ["TZ"] = "UTC"
time.tzset()
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="perftop-tests-config-")
