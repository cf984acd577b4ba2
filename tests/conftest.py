"""Shared test set-up: a fixed timezone so clock columns render the same everywhere."""

from __future__ import annotations

import os
import time

os.environ["TZ"] = "UTC"
time.tzset()
