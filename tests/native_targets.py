"""Native and JIT targets for the perf backend's tests: a C program the test compiles, and a
Node program run with `--perf-basic-prof`.

Like the Python targets (tests/e2e/targets.py), each lives until the test closes its stdin
(a thread blocked on reading it ends the process at EOF), so it is never gone before the test
is done with it and never outlives the test; `start_*` returns once it has been busy.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import psutil

from tests.e2e.targets import Target

# Three functions of its own, called outer → middle → leaf, with frame pointers kept in every
# one, and no inlining or noreturn guessing (noipa: `main`'s return address stays in `main`),
# so that perf's default unwinding sees each one.
C_SOURCE = textwrap.dedent(
    r"""
    #include <pthread.h>
    #include <stdlib.h>
    #include <unistd.h>

    volatile unsigned long perftop_sink;

    static void *lifeline(void *arg) {
        char buf[256];
        (void)arg;
        while (read(0, buf, sizeof buf) > 0) {}
        _exit(0);  /* stdin closed: the test is done, or died */
    }

    __attribute__((noipa)) unsigned long perftop_native_leaf(unsigned long n) {
        unsigned long s = 0;
        for (unsigned long i = 0; i < n; i++) s += (i * i) ^ (s >> 3);
        return s;
    }

    __attribute__((noipa)) unsigned long perftop_native_middle(unsigned long n) {
        unsigned long s = perftop_native_leaf(n);
        return s + perftop_native_leaf(n / 2) + 1;
    }

    __attribute__((noipa)) void perftop_native_outer(void) {
        for (;;) perftop_sink += perftop_native_middle(200000 + (perftop_sink & 1));
    }

    int main(void) {
        pthread_t t;
        pthread_create(&t, NULL, lifeline, NULL);
        perftop_native_outer();
        return 0;
    }
    """
)
C_FUNCTIONS = ("perftop_native_outer", "perftop_native_middle", "perftop_native_leaf")
# -O0: gcc 12 at -O1 leaves the frame pointer out of leaf functions whatever the flags say
# (-mno-omit-leaf-frame-pointer included), and the leaf's caller would vanish from its stacks.
C_FLAGS = ("-O0", "-g", "-fno-omit-frame-pointer")

NODE_SOURCE = textwrap.dedent(
    """
    // Busy in slices, so that the event loop still sees stdin close.
    function perftopJsLeaf(n) {
      let s = 0;
      for (let i = 0; i < n; i++) s = (s + i * i) % 1000003;
      return s;
    }
    function perftopJsHot() {
      let s = 0;
      for (let k = 0; k < 200; k++) s += perftopJsLeaf(5000);
      return s;
    }
    function tick() {
      perftopJsHot();
      setImmediate(tick);
    }
    process.stdin.on("data", () => {});
    process.stdin.on("end", () => process.exit(0));
    tick();
    """
)
NODE_FUNCTIONS = ("perftopJsHot", "perftopJsLeaf")


def have(program: str) -> bool:
    return shutil.which(program) is not None


def build_c(
    directory: Path, name: str = "perftop_native", flags: tuple[str, ...] = C_FLAGS
) -> Path:
    """Compile C_SOURCE into `directory/name`."""
    source = directory / f"{name}.c"
    source.write_text(C_SOURCE)
    binary = directory / name
    subprocess.run(
        ["gcc", *flags, "-pthread", "-o", str(binary), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return binary


def _start(argv: list[str], cwd: Path, label: Path, busy_s: float) -> Target:
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE)
    target = Target(proc, label)
    try:
        target.wait_busy(busy_s)
    except BaseException:
        target.kill()
        raise
    return target


def start_c(
    directory: Path,
    name: str = "perftop_native",
    busy_s: float = 0.2,
    flags: tuple[str, ...] = C_FLAGS,
) -> Target:
    """The C program, built in `directory` (with `flags`) and running there, busy."""
    binary = build_c(directory, name, flags)
    return _start([str(binary)], directory, binary, busy_s)


def start_node(directory: Path, busy_s: float = 0.5) -> Target:
    """The Node program with `--perf-basic-prof` (it writes /tmp/perf-PID.map), busy."""
    script = directory / "perftop_node.js"
    script.write_text(NODE_SOURCE)
    node = shutil.which("node") or shutil.which("nodejs") or "node"
    return _start([node, "--perf-basic-prof", script.name], directory, script, busy_s)


def perfs_on(pid: int) -> list[psutil.Process]:
    """The perf record processes sampling `pid` (`-p PID`)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"].startswith("perf") and "-p" in cmdline and str(pid) in cmdline:
            found.append(proc)
    return found
