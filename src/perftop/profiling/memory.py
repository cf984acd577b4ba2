"""Live memory of a Python process: which code holds the bytes that are still allocated.

An allocation tracker is injected into the running target (perftop.profiling.inject, the payload
in perftop.profiling.memory_payload): memray where it loads (the Python perftop's memray is built
for), the standard library's tracemalloc otherwise. Either way the target sends back, once a
batch, what it allocated since the attach and still holds, by stack, and each Batch is that
whole state (`replaces`): a flame weighted by bytes, in which a leak is the box that keeps
growing. The session's mark (perftop.profiling.session) gives what grew between two moments.

tracemalloc knows each frame's file and line but not its function: the name is read from the
target's own source (through /proc/PID/root, so a container's files are found) with `ast`, once
per file. Pause and stop close the connection, and the target's side of the tracker stops itself
on that; so does a perftop that dies. Resume injects again.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from perftop import children
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    Batch,
    BatchQueue,
    NoSuchProcess,
    NotPython,
    PermissionDenied,
    ProfilerBackend,
    ProfilerError,
    ProfilerFailed,
    ProfilerOptions,
    ThreadStack,
)
from perftop.profiling.coverage import CoverageClock
from perftop.profiling.inject import find_gdb, inject
from perftop.profiling.memory_payload import payload
from perftop.profiling.ptrace import PtraceFacts, permission_advice

__all__ = ["MemoryBackend", "function_at"]

_CONNECT_TIMEOUT_S = 15.0
# The file name memray's injector gives the code it runs: the payload's frames carry it.
_HOOK_FILE = "_memray_attach_hook.py"
# Where the payload runs in a program perftop started (MemoryLaunch's file).
_LAUNCH_FILE = "sitecustomize.py"
_POLL_S = 0.1


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@lru_cache(maxsize=512)
def _functions(path: str, mtime_ns: int) -> tuple[tuple[int, int, str], ...]:
    """(first line, last line, name) of every function and class in a source file: the bare
    name, as memray and py-spy give it (a code object's co_name)."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return ()
    spans: list[tuple[int, int, str]] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                end = getattr(child, "end_lineno", None) or child.lineno
                spans.append((child.lineno, end, child.name))
            walk(child)

    walk(tree)
    return tuple(spans)


def function_at(filename: str, line: int, root: str = "/") -> str:
    """The innermost function (or class body) holding `line` of `filename`, read under
    `root`; `<module>` at the top level, and the file's base name where it cannot be read."""
    path = os.path.join(root, filename.lstrip("/")) if filename.startswith("/") else filename
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return f"<{os.path.basename(filename) or '?'}:{line}>"
    best = "<module>"
    best_size = None
    for first, last, name in _functions(path, mtime):
        if first <= line <= last and (best_size is None or last - first < best_size):
            best, best_size = name, last - first
    return best


_SITECUSTOMIZE = """\
# Written by perftop for `perftop run --memory`: starts its allocation tracker in this
# program, then steps aside (off sys.path and PYTHONPATH, so the program's own imports and its
# children see what they would without perftop) and runs the real sitecustomize, if any.
import os as _os, sys as _sys

_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
_paths = [p for p in _os.environ.get("PYTHONPATH", "").split(_os.pathsep) if p and p != _here]
if _paths:
    _os.environ["PYTHONPATH"] = _os.pathsep.join(_paths)
else:
    _os.environ.pop("PYTHONPATH", None)
_mine = _os.environ.pop("PERFTOP_MEMORY", "") == {token!r}
_me = _sys.modules.pop("sitecustomize")
try:
    import sitecustomize  # the real one, now that this folder is off the path
except ImportError:
    pass
_sys.modules["sitecustomize"] = _me  # the import that is running this one expects it there
if _mine:
{payload}
"""


def _is_tracker(function: str, file: str) -> bool:
    """A frame of the payload's: injected by memray's hook, or in a launch's sitecustomize."""
    return file.endswith(_HOOK_FILE) or (
        function.startswith("_perftop_") and file.endswith(_LAUNCH_FILE)
    )


class MemoryLaunch:
    """The tracker of a program perftop starts itself (`perftop run --memory`): set up before it
    starts, through a `sitecustomize` it finds first on its path, so no debugger is needed and
    nothing of its allocations since its first line is missed. Give `environment()` to the
    launch, then `MemoryBackend(launch=this)`."""

    def __init__(self, batch_s: float = 1.0) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.memray_port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="perftop-run-memory-"))
        self.folder.chmod(0o755)
        children.add_cleanup(self.close)
        self.token = os.urandom(8).hex()
        self._links: Path | None = None
        source = payload(
            self.server.getsockname()[1],
            memray_dir=_memray_links(self),
            memray_port=self.memray_port,
            python=(sys.version_info[0], sys.version_info[1]),
            interval=batch_s,
        )
        body = "\n".join("    " + line if line else "" for line in source.splitlines())
        (self.folder / "sitecustomize.py").write_text(
            _SITECUSTOMIZE.replace("{token!r}", repr(self.token)).replace("{payload}", body)
        )

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.folder), env.get("PYTHONPATH", "")) if p
        )
        env["PERFTOP_MEMORY"] = self.token
        return env

    def close(self) -> None:
        children.remove_cleanup(self.close)
        with contextlib.suppress(OSError):
            self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._links is not None:
            shutil.rmtree(self._links, ignore_errors=True)
            self._links = None


def _memray_links(owner: MemoryLaunch | MemoryBackend) -> str:
    """A folder holding links to memray (and what it loads: its libraries, rich,
    typing_extensions) alone, readable by any user, for the target's `sys.path`; "" where
    perftop has no memray."""
    try:
        import memray
    except ImportError:
        return ""
    package = Path(memray.__file__).parent
    if owner._links is None:
        links = Path(tempfile.mkdtemp(prefix="perftop-memray-"))
        links.chmod(0o755)  # the target may run as another user
        # What memray imports as it loads and as its Tracker starts, beyond the standard
        # library: rich and typing_extensions (pure Python). Checked by a test that attaches to a
        # virtualenv without memray (tests/e2e/test_memory.py).
        for name in ("memray", "memray.libs", "rich", "typing_extensions.py"):
            source = package.parent / name
            if source.exists():
                (links / name).symlink_to(source)
        owner._links = links
    return str(owner._links)


class MemoryBackend(ProfilerBackend):
    """Live bytes of one Python process, by stack, from a tracker injected into it (or, for a
    program perftop started with `launch`, set up before it ran)."""

    def __init__(self, launch: MemoryLaunch | None = None) -> None:
        self._launch = launch
        self.launched = launch is not None  # its tracker set up at the program's start
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._batches = BatchQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._options = ProfilerOptions()
        self._stopped = False
        self._want_pause = False
        self._paused = threading.Event()
        self._clock = CoverageClock()
        self._links: Path | None = None
        self.mode = ""  # "memray" or "tracemalloc", once attached
        self.why_not_memray = ""
        self._names: dict[tuple[str, int], str] = {}

    # --- the public interface -------------------------------------------------------------

    def start(self, pid: int, options: ProfilerOptions) -> None:
        if self._thread is not None and self._thread.is_alive() and not self._stopped:
            raise ProfilerError("this profiler is already tracking; stop it first")
        options.validate()
        self._pid, self._options = pid, options
        self._stopped = self._want_pause = False
        self._batches = BatchQueue()
        if self._launch is None:
            self.check_target(pid)
            find_gdb()
        # A program perftop started has its tracker already, and no debugger is needed; it may
        # not be Python yet (a pyenv shim, a shell script that runs python): its hook says.
        connection, reader = self._attach()
        self._thread = threading.Thread(
            target=self._drive,
            args=(connection, reader),
            name=f"perftop-memory-{pid}",
            daemon=True,
        )
        self._thread.start()

    def next_batch(self, timeout: float) -> Batch | None:
        return self._batches.get(timeout)

    def pause(self) -> None:
        if self._thread is None or self._stopped:
            return
        self._paused.clear()
        self._want_pause = True
        self._wake.set()
        self._paused.wait(timeout=10.0)

    def resume(self) -> None:
        self._want_pause = False
        self._wake.set()

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        raise ProfilerError(
            "thread dumps are the CPU profiler's: open the process's CPU profile (Enter) for them"
        )

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        self._remove_links()

    @property
    def coverage(self) -> float:
        # A tracker sees every allocation while it is attached: the share of time attached.
        with self._lock:
            return self._clock.fraction(time.monotonic())

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopped and not self._batches.drained

    # --- attaching ----------------------------------------------------------------------------

    @staticmethod
    def check_target(pid: int) -> None:
        """NoSuchProcess or NotPython, in one line, before any injection."""
        from perftop.profiling.backends import is_python

        if pid <= 0 or not os.path.exists(f"/proc/{pid}"):
            raise NoSuchProcess(f"PID {pid} does not exist")
        try:
            os.readlink(f"/proc/{pid}/exe")
        except PermissionError:
            # Another user's process: what it runs cannot even be read, let alone traced.
            raise PermissionDenied(permission_advice(pid, PtraceFacts.read(pid))) from None
        except OSError:
            pass  # gone, or a kernel thread: said below
        if not is_python(pid):
            raise NotPython(
                f"PID {pid} is not a Python process: memory profiling reads Python allocations"
            )

    def _memray_dir(self) -> str:
        directory = _memray_links(self)
        if directory:
            children.add_cleanup(self._remove_links)
        return directory

    def _remove_links(self) -> None:
        children.remove_cleanup(self._remove_links)
        if self._links is not None:
            shutil.rmtree(self._links, ignore_errors=True)
            self._links = None

    def _attach(self) -> tuple[socket.socket, Any]:
        """Inject the tracker and take its connection; the memray reader too, if memray."""
        launched, self._launch = self._launch, None  # its hook runs once: resume injects
        if launched is not None:
            # memray imports parts of itself lazily, as the Tracker starts: its links stay
            # until the session ends.
            self._links, launched._links = launched._links, None
            if self._links is not None:
                children.add_cleanup(self._remove_links)
            return self._take(launched.server, launched.memray_port, launched.close)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with contextlib.closing(server):
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            memray_port = _free_port()
            source = payload(
                server.getsockname()[1],
                memray_dir=self._memray_dir(),
                memray_port=memray_port,
                python=(sys.version_info[0], sys.version_info[1]),
                interval=self._options.batch_s,
            )
            inject(self._pid, source)
            return self._take(server, memray_port, None)

    def _take(
        self, server: socket.socket, memray_port: int, done: Callable[[], None] | None
    ) -> tuple[socket.socket, Any]:
        """The tracker's connection to `server`, its hello, and memray's reader if memray."""
        # A program that perftop starts may take a while to reach its first line on a busy box.
        server.settimeout(_CONNECT_TIMEOUT_S * (2 if done is not None else 1))
        try:
            connection, _ = server.accept()
            connection.settimeout(_CONNECT_TIMEOUT_S)
            hello = _read_line(connection)
        except TimeoutError:
            raise ProfilerFailed(f"the tracker in PID {self._pid} never connected") from None
        finally:
            if done is not None:
                done()
        mode, _, why = hello.partition(" ")
        reader = None
        if mode == "memray":
            reader = self._connect_reader(memray_port, connection)
        elif mode != "tracemalloc":
            connection.close()
            raise ProfilerFailed(f"the tracker in PID {self._pid} said {hello[:80]!r}")
        self.mode, self.why_not_memray = mode, why
        now = time.monotonic()
        with self._lock:
            self._clock.attach(now)
        self._attached_at = now
        return connection, reader

    def _connect_reader(self, port: int, connection: socket.socket) -> Any:
        """memray's reader, connected to the target's Tracker. Its connect blocks, and for ever
        if the Tracker never starts: it runs on a thread of its own while the control connection
        is watched for the tracker's last words."""
        import memray

        reader = memray.SocketReader(port=port)
        done = threading.Event()
        failure: list[BaseException] = []

        def enter() -> None:
            try:
                reader.__enter__()
            except BaseException as exc:  # handed to the thread that waits
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=enter, name="perftop-memray-reader", daemon=True).start()
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        connection.settimeout(_POLL_S)
        said = b""
        while not done.wait(_POLL_S):
            problem = ""
            with contextlib.suppress(TimeoutError):
                chunk = connection.recv(4096)
                said += chunk
                if not chunk or b"\n" in said:
                    words = said.decode("utf-8", "replace").strip().removeprefix("error ")
                    problem = f"PID {self._pid}: {words or 'the tracker ended before it started'}"
            if not problem and time.monotonic() > deadline:
                problem = f"memray's tracker in PID {self._pid} did not start"
            if problem:
                connection.close()
                _unblock(port, done)
                raise ProfilerFailed(problem)
        if failure:
            connection.close()
            raise ProfilerFailed(f"memray's reader could not connect: {failure[0]}")
        return reader

    # --- the driver thread ------------------------------------------------------------------

    def _drive(self, connection: socket.socket, reader: Any) -> None:
        buffer = bytearray()
        error: ProfilerError | None = None  # what ended sampling, told after the batches
        try:
            while True:
                if self._stopped or self._want_pause:
                    self._detach(connection, reader)
                    if self._stopped or not self._sit_out_pause():
                        return
                    connection, reader = self._attach()
                    buffer = bytearray()
                if reader is not None:
                    batch = self._memray_batch(reader, connection)
                else:
                    batch = self._tracemalloc_batch(connection, buffer)
                if batch is not None:
                    self._batches.put(batch)
                    if batch.target_exited:
                        self._detach(connection, reader)
                        return
        except ProfilerError as exc:
            error = exc
        except OSError as exc:
            error = ProfilerFailed(f"memory session failed: {exc}")
        except Exception as exc:  # a fault of ours must reach the reader, not end in silence
            error = ProfilerFailed(f"memory session failed: {type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(OSError):
                connection.close()
            with self._lock:
                self._clock.stop(time.monotonic())
            self._paused.set()
            self._batches.close(error)

    def _sit_out_pause(self) -> bool:
        self._paused.set()
        while self._want_pause and not self._stopped:
            self._wake.wait(0.5)
            self._wake.clear()
        return not self._stopped and self._alive()

    def _detach(self, connection: socket.socket, reader: Any) -> None:
        # Our end closed for writing: the target's tracker stops itself on that; with memray it
        # says when it has, and only then is the reader closed (see memory_payload).
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_WR)
            if reader is not None:
                connection.settimeout(3.0)
                while connection.recv(4096):
                    pass
        with contextlib.suppress(OSError):
            connection.close()
        if reader is not None:
            with contextlib.suppress(Exception):
                reader.__exit__(None, None, None)
        now = time.monotonic()
        with self._lock:
            for at in list(self._clock.attached):
                self._clock.detach(at, now, delivered=True)
            self._clock.stop(now)

    def _alive(self) -> bool:
        """Still running: not gone, and not a zombie (its state follows the last ')')."""
        try:
            with open(f"/proc/{self._pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")

    def _exited_soon(self, within: float = 3.0) -> bool:
        """The tracker's connection ended: the target is exiting (its thread goes first), or
        the tracker died in it. Which, within a moment."""
        deadline = time.monotonic() + within
        while self._alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not (self._stopped or self._want_pause):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(min(left, _POLL_S))
            self._wake.clear()

    def _memray_batch(self, reader: Any, connection: socket.socket) -> Batch | None:
        self._wait(self._options.batch_s)
        if self._stopped or self._want_pause:
            return None
        exited = not reader.is_active or not self._alive()
        records = list(reader.get_current_snapshot(merge_threads=False))
        profile = Profile()
        allocations = 0
        for record in records:
            stack = record.stack_trace()  # innermost first
            if any(_is_tracker(str(fn), str(file)) for fn, file, _line in stack):
                continue  # the tracker's own thread, not the target's bytes
            frames = [Frame(str(fn), str(file), int(line)) for fn, file, line in reversed(stack)]
            profile.add_stack(frames, int(record.size), str(record.thread_name or ""))
            allocations += int(record.n_allocations)
        return self._batch(profile, exited, allocations)

    def _tracemalloc_batch(self, connection: socket.socket, buffer: bytearray) -> Batch | None:
        connection.settimeout(_POLL_S)
        while b"\n" not in buffer:
            if self._stopped or self._want_pause:
                return None
            try:
                data = connection.recv(1 << 20)
            except TimeoutError:
                if not self._alive():
                    return self._batch(Profile(), True)
                continue
            if not data:  # the target closed it: it exited (or its thread died)
                return self._batch(Profile(), True) if self._exited_soon() else self._lost()
            buffer += data
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        try:
            stats = json.loads(line)
        except ValueError:
            raise ProfilerFailed("the tracker sent something that is not JSON") from None
        return self._batch(self._tracemalloc_profile(stats), False)

    def _lost(self) -> Batch:
        raise ProfilerFailed(f"the tracker in PID {self._pid} stopped answering")

    def _tracemalloc_profile(self, stats: Iterable[Any]) -> Profile:
        profile = Profile()
        root = f"/proc/{self._pid}/root"
        allocations = 0
        for entry in stats:
            try:
                where, size, count = entry
                frames = [self._frame(str(f), int(n), root) for f, n in where]
                allocations += int(count)
            except (TypeError, ValueError):
                continue
            if not frames:
                frames = [Frame("(smaller allocations)")]
            profile.add_stack(frames, int(size))
        profile.metadata["allocations"] = str(allocations)
        return profile

    def _frame(self, filename: str, line: int, root: str) -> Frame:
        key = (filename, line)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = function_at(filename, line, root)
        return Frame(name, filename, line)

    def _batch(self, profile: Profile, exited: bool, allocations: int | None = None) -> Batch:
        profile.metadata.update(
            {
                "source": "memory",
                "tracker": self.mode,
                "pid": str(self._pid),
                "unit": "bytes",
                "rate_hz": str(self._options.rate_hz),
            }
        )
        if allocations is not None:
            profile.metadata["allocations"] = str(allocations)
        if exited:
            profile.mark_ended("target exited")
        warnings = []
        if self.why_not_memray and not getattr(self, "_said", False):
            self._said = True
            warnings.append(f"tracemalloc, not memray: {self.why_not_memray}")
        now = time.monotonic()
        wall = now - getattr(self, "_last_cut", self._attached_at)
        self._last_cut = now
        return Batch(
            profile=profile,
            wall_s=wall,
            samples=profile.total_samples,
            errors=0,
            target_exited=exited,
            warnings=warnings,
            # The batch that says the target exited has nothing live to show: the last
            # snapshot stands as the profile (what it held when it ended), not an empty one.
            replaces=not (exited and not profile.total_samples),
        )


def _unblock(port: int, done: threading.Event) -> None:
    """Let memray's reader, waiting to connect to a Tracker that never started, connect to us
    instead and fail: a thread left blocked in its C++ would abort the interpreter at exit."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as stand_in:
        stand_in.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            stand_in.bind(("127.0.0.1", port))
        except OSError:
            return  # taken: the reader is not waiting on it
        stand_in.listen(1)
        stand_in.settimeout(2.0)
        with contextlib.suppress(OSError):
            client, _ = stand_in.accept()
            client.close()
    done.wait(2.0)


def _read_line(connection: socket.socket) -> str:
    data = bytearray()
    while not data.endswith(b"\n"):
        try:
            chunk = connection.recv(1)
        except TimeoutError:
            raise ProfilerFailed("the injected tracker did not say which tracker it runs") from None
        if not chunk:
            raise ProfilerFailed("the injected tracker closed its connection at once")
        data += chunk
    return data.decode("utf-8", "replace").strip()
