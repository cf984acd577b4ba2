"""Running a reader on hostile input in a child process, bounded in time and memory.

A reader that regresses to exponential time or to building gigabytes must fail its test,
not hang the run or swap the machine: the child gets `RLIMIT_AS` and the parent a time-out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

_WRAPPER = """
import json, resource, sys
limit = {limit}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
out = {{"error": None, "result": None}}
try:
    scope = {{}}
    exec(sys.stdin.read(), scope)
    out["result"] = scope.get("result")
except BaseException as e:
    out["error"] = type(e).__name__ + ": " + str(e)[:500]
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Outcome:
    result: object  # what the code left in `result`
    error: str | None  # `FormatError: …` when it raised
    maxrss_mb: float  # the child's peak resident memory


def run_bounded(code: str, *, timeout_s: float = 120.0, memory_mb: int = 2048) -> Outcome:
    """Run Python `code` in a fresh interpreter; what it sets as `result`, or its error.

    Fails the calling test if the child runs past `timeout_s` or dies.
    """
    wrapper = _WRAPPER.format(limit=memory_mb * 1024 * 1024)
    try:
        done = subprocess.run(
            [sys.executable, "-c", wrapper],
            input=textwrap.dedent(code),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout_s:.0f} s: not linear time")
    if done.returncode != 0 or not done.stdout.strip():
        pytest.fail(f"the child died (status {done.returncode}): {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Outcome(out["result"], out["error"], out["maxrss_mb"])
