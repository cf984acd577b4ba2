"""The code perftop runs inside a Python process to see its live allocations (see
perftop.profiling.inject for how it gets there, perftop.profiling.memory for the other end).

It imports what it needs, starts one daemon thread and returns. The thread connects back to
perftop on loopback and then, for as long as that connection is open:

- **memray**, where the target runs the Python perftop's memray is built for: memray is imported
  from perftop's environment (through a folder of links to memray and rich, which it imports, taken
  off `sys.path` again at once, so nothing else of perftop's can be imported by the target) and a
  Tracker streams every allocation to perftop's memray reader;
- **tracemalloc** otherwise (another Python version, memray refused, or a Tracker already
  running): every `interval` seconds, the live allocations grouped by traceback, as one JSON line.

When the connection closes, however perftop ended (quit, a crash, SIGKILL), the thread stops its
tracker, stops tracemalloc if it started it, and ends: the target is left as it was, but for the
modules it imported.
"""

from __future__ import annotations

import json

__all__ = ["payload"]

# `{config}` is a JSON object: port, memray_dir, memray_port, python (perftop's [major, minor]),
# frames, interval, top.
_SOURCE = r"""
import threading as _perftop_threading


def _perftop_prepare(config):
    # Everything the thread imports, imported before it starts, by the thread that runs this
    # payload: a thread importing while the program's own first imports run can catch a module
    # half made (Python 3.13's `import tracemalloc` in the program raised `cannot import name
    # 'Sequence' from 'collections.abc'`, and it ended). The tracker to use, or why not memray.
    import json, select, socket, sys, time, tracemalloc

    why = "memray is for Python %d.%d here" % tuple(config["python"])
    if not (
        config["memray_dir"]
        and list(sys.version_info[:2]) == config["python"]
        and sys.implementation.name == "cpython"
    ):
        return None, why
    try:
        sys.path.insert(0, config["memray_dir"])
        try:
            import memray
            import memray.reporters.module_tools  # the Tracker imports it as it starts
        finally:
            sys.path.remove(config["memray_dir"])
        active = getattr(memray, "_last_tracker", None)  # a `memray attach` of its own
        if active is not None:
            raise RuntimeError("memray attach is already tracking it")
        return memray, why
    except Exception as exc:  # a library it cannot load, another tracker
        return None, "memray could not start: %s" % (exc,)


def _perftop_memory(config, memray, why):
    import json, select, socket, sys, time, tracemalloc  # imported already: see above

    sock = socket.create_connection(("127.0.0.1", config["port"]))

    def closed(timeout):
        # True once perftop has closed its end (or the connection broke).
        readable, _, _ = select.select([sock], [], [], timeout)
        if not readable:
            return False
        try:
            return not sock.recv(64)
        except OSError:
            return True

    try:
        tracker = memray
        if tracker is not None:
            # The Tracker of an attach that just ended may still be winding down (it notices
            # the end within a second): only one can be active at a time.
            for _ in range(50):
                if not getattr(memray, "_perftop_tracking", False):
                    break
                time.sleep(0.1)
            # Said first: the Tracker waits in its constructor for perftop's reader.
            sock.sendall(b"memray\n")
            try:
                # trace_python_allocators: each small object is seen as itself, not as the
                # pymalloc arena that holds it (charged to whoever allocated there first).
                tracker = memray.Tracker(
                    destination=memray.SocketDestination(server_port=config["memray_port"]),
                    trace_python_allocators=True,
                )
                tracker.__enter__()
            except Exception as exc:
                sock.sendall(("error memray could not start: %s\n" % (exc,)).encode())
                return
            memray._perftop_tracking = True
            try:
                while not closed(1.0):
                    pass
            finally:
                tracker.__exit__(None, None, None)
                memray._perftop_tracking = False
                # Said once the Tracker is off: perftop closes its reader only then, so the
                # Tracker never finds its reader gone (it would say so on the target's stderr).
                try:
                    sock.sendall(b"detached\n")
                except OSError:
                    pass
            return
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start(config["frames"])
        sock.sendall(("tracemalloc %s\n" % why.replace("\n", " ")).encode())
        mine = _perftop_memory.__code__.co_filename
        try:
            while not closed(config["interval"]):
                # Grouped first, then this thread's own allocations left out by a look at each
                # group: Snapshot.filter_traces walks every trace and took seconds of the GIL.
                stats = [
                    st
                    for st in tracemalloc.take_snapshot().statistics("traceback")
                    if not any(f.filename == mine for f in st.traceback)
                ]
                top = stats[: config["top"]]
                rest = stats[config["top"]:]
                out = [
                    [[[f.filename, f.lineno] for f in st.traceback], st.size, st.count]
                    for st in top
                ]
                if rest:
                    out.append([[], sum(st.size for st in rest), sum(st.count for st in rest)])
                sock.sendall(json.dumps(out, separators=(",", ":")).encode() + b"\n")
        finally:
            if started:
                tracemalloc.stop()
    finally:
        sock.close()


_perftop_config = {config}
_perftop_threading.Thread(
    target=_perftop_memory,
    args=(_perftop_config, *_perftop_prepare(_perftop_config)),
    name="perftop-memory",
    daemon=True,
).start()
"""


def payload(
    port: int,
    *,
    memray_dir: str,
    memray_port: int,
    python: tuple[int, int],
    frames: int = 64,
    interval: float = 1.0,
    top: int = 4000,
) -> str:
    """The payload's source for a target that connects back to `port`."""
    config = {
        "port": port,
        "memray_dir": memray_dir,
        "memray_port": memray_port,
        "python": list(python),
        "frames": frames,
        "interval": interval,
        "top": top,
    }
    # JSON is also a Python literal here: strings, numbers, lists, and no true/false/null.
    return _SOURCE.replace("{config}", json.dumps(config))
