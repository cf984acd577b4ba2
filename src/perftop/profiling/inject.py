"""Running a piece of Python inside another, running Python process, without restarting it.

How: memray's injector (a small stable-ABI library shipped with memray, so it loads into any
CPython 3.7+) is loaded into the target with gdb, using memray's own gdb script. The injector
connects back to a port of ours on loopback, reads Python source until we close our side, runs
it in the target, and sends back what went wrong, if anything. Written here rather than called
through `memray attach` because perftop sends its own payload (perftop.profiling.memory_payload)
and must decide how gdb is run: in a session of its own and never killed half-way, since a gdb
killed while its breakpoints sit in the target's malloc would leave int3s there and crash it.

gdb stops the target for the moment of the injection (about half a second to two seconds) and
needs what any debugger needs: ptrace permission (the same as py-spy: see perftop.profiling.ptrace).

On a CPU with AMX, some gdb builds (Debian 12's 13.1) cannot restore the registers after a call
into the target ("Couldn't write extended state status: Bad address"), and a call that failed
so leaves the system call the target was in returning an error it never expects (Python's
`time.sleep` raised `OSError: [Errno 514]` and the program ended). So on such a CPU gdb is tried
once on a throwaway `sleep` of perftop's own before it touches anyone's process
(`gdb_call_problem`), and a gdb that fails there is refused with that reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

from perftop.profiling.backend import (
    NoSuchProcess,
    NotPython,
    PermissionDenied,
    ProfilerError,
    ProfilerFailed,
    ProfilerMissing,
)
from perftop.profiling.ptrace import PtraceFacts, permission_advice

__all__ = ["INJECT_TIMEOUT_S", "find_gdb", "gdb_call_problem", "inject"]

INJECT_TIMEOUT_S = 30.0  # gdb loading a big process's symbols can take seconds on a busy box
_CONNECT_TIMEOUT_S = 10.0
_XSTATE_FAILURE = "Couldn't write extended state status"
_PROBE_TIMEOUT_S = 20.0
# What gdb_call_problem found, once per perftop: absent until asked.
_call_problems: dict[str, str | None] = {}


def find_gdb() -> str:
    gdb = shutil.which("gdb")
    if gdb is None:
        raise ProfilerMissing(
            "memory profiling injects its tracker with gdb, which is not installed: apt install gdb"
        )
    return gdb


def _cpu_has_amx(cpuinfo: str = "/proc/cpuinfo") -> bool:
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_tile" in line.split()
    except OSError:
        pass
    return False


def gdb_call_problem(gdb: str, *, ask: bool = True) -> str | None:
    """Why `gdb` cannot call into a process on this machine, or None. Tried once (about half a
    second), and only on a CPU with AMX; `ask=False`: only what is known already (the table's
    check before a dialog, which must not wait)."""
    if gdb not in _call_problems:
        if not _cpu_has_amx():
            _call_problems[gdb] = None
        elif not ask:
            return None
        else:
            _call_problems[gdb] = _probe_call(gdb)
    return _call_problems[gdb]


def _probe_call(gdb: str) -> str | None:
    """Call getpid() with `gdb` in a `sleep` of perftop's own; the reason if gdb fails there
    the way that breaks a target, else None (anything else is left to the injection to say)."""
    try:
        sleeper = subprocess.Popen(
            ["sleep", "60"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return None
    try:
        done = subprocess.run(
            [gdb, "-batch", "-nx", "-nw", "-p", str(sleeper.pid), "-ex=call (int)getpid()"],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            check=False,
        )
        output = done.stdout + done.stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        sleeper.kill()
        sleeper.wait()
    if _XSTATE_FAILURE not in output:
        return None
    return (
        f"this gdb ({gdb}) cannot call into a process on this CPU: it fails to restore its AMX "
        f'registers ("{_XSTATE_FAILURE}"), which would break the target\'s system calls; '
        "memory profiling needs a gdb that handles AMX (a newer one), or "
        "`perftop run --memory -- PROGRAM`, which needs no debugger"
    )


def _memray_parts() -> tuple[Path, Path, int]:
    """memray's gdb script, its injector library, and RTLD_NOW as memray passes it."""
    try:
        import memray._memray as native
        from memray.commands import attach
    except ImportError:
        raise ProfilerMissing(
            "memory profiling needs memray: pip install memray (in perftop's environment)"
        ) from None
    here = Path(native.__file__).parent
    injectors = sorted(here.glob("_inject.*.so"))
    if not injectors:
        raise ProfilerMissing(f"memray's injector library is missing from {here}")
    return Path(attach.GDB_SCRIPT), injectors[0], int(native.RTLD_NOW)


def _run_gdb(pid: int, port: int, timeout: float) -> str | None:
    """Load the injector into `pid`; None on success, else what went wrong in one line."""
    gdb = find_gdb()
    script, injector, rtld_now = _memray_parts()
    argv = [
        gdb,
        "-batch",
        "-p",
        str(pid),
        "-nx",
        "-nw",
        "-iex=set auto-solib-add off",
        f"-ex=set $rtld_now={rtld_now}",
        f'-ex=set $libpath="{injector}"',
        f"-ex=set $port={port}",
        f"-x={script}",
    ]
    try:
        # Its own session: a Ctrl-C or hang-up at the terminal must not reach a gdb that holds
        # the target; and not one of perftop's tracked children, which are ended with it.
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"gdb did not finish injecting within {timeout:g} s"
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if not line.startswith("(gdb)")]
    if done.returncode == 0 and any(' "SUCCESS"' in line for line in lines):
        return None
    return _why(output, pid)


def _why(output: str, pid: int) -> str:
    # What memray's own attach reads from the same script's output.
    if "ptrace: " in output or "error: attach failed" in output:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "no such process"
        except PermissionError:
            return "permission"
        return "permission"
    if "MEMRAY: Checking if process is Python 3.7+." in output and (
        "MEMRAY: Process is Python 3.7+." not in output
    ):
        return "not python"
    if "cannot open shared object file" in output:
        return (
            "the target cannot read memray's injector library (perftop's environment must be "
            "readable by the target's user)"
        )
    first = next((line.strip() for line in output.splitlines() if "rror" in line), "")
    return f"gdb could not inject into PID {pid}" + (f": {first}" if first else "")


def inject(pid: int, payload: str, timeout: float = INJECT_TIMEOUT_S) -> None:
    """Run `payload` (Python source) inside the Python process `pid`. It must return at once
    (start a thread for anything long). Raises a ProfilerError with one line of advice."""
    problem = gdb_call_problem(find_gdb())
    if problem is not None:
        raise ProfilerFailed(problem)  # before gdb touches the target
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with contextlib.closing(server):
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        why = _run_gdb(pid, server.getsockname()[1], timeout)
        if why is not None:
            raise _error(why, pid)
        server.settimeout(_CONNECT_TIMEOUT_S)
        try:
            client, _ = server.accept()
        except TimeoutError:
            raise ProfilerFailed(
                f"PID {pid} took the injector but never called back (within "
                f"{_CONNECT_TIMEOUT_S:g} s): is its interpreter stuck holding the GIL?"
            ) from None
    with contextlib.closing(client):
        client.settimeout(_CONNECT_TIMEOUT_S)
        client.sendall(payload.encode("utf-8"))
        client.shutdown(socket.SHUT_WR)
        said = b"".join(iter(lambda: client.recv(4096), b"")).decode("utf-8", "replace")
    if said.strip():
        last = said.strip().splitlines()[-1]
        raise ProfilerFailed(f"the tracker failed to start in PID {pid}: {last}")


def _error(why: str, pid: int) -> ProfilerError:
    if why == "no such process":
        return NoSuchProcess(f"PID {pid} does not exist (it may have exited)")
    if why == "permission":
        return PermissionDenied(permission_advice(pid, PtraceFacts.read(pid)))
    if why == "not python":
        return NotPython(f"PID {pid} is not a Python 3.7+ process")
    return ProfilerFailed(why)
