"""Stack frames as every profiler source, file format and view shares them.

A frame is (function, file, line). Its *kind* (the target's own code, the standard library,
third-party packages, native code, the kernel, JIT-compiled code) drives the flame view's
colours; it is derived from the file path (for perf's frames, the module), so readers of every
format get it for free.
"""

from __future__ import annotations

import enum
import sysconfig
from dataclasses import dataclass
from functools import lru_cache


class FrameKind(enum.Enum):
    OWN = "own"
    STDLIB = "stdlib"
    THIRD_PARTY = "third_party"
    NATIVE = "native"  # compiled user-space code: binaries and shared libraries
    KERNEL = "kernel"
    JIT = "jit"  # code a runtime compiled, named through /tmp/perf-PID.map or jitdump
    # Synthetic frames: a root naming a thread or process, the `(other)` of a folded tree.
    THREAD = "thread"


@dataclass(frozen=True, slots=True)
class Frame:
    name: str
    filename: str = ""
    line: int = 0

    @property
    def location(self) -> str:
        """`file:line` as people read it, or the empty string when unknown."""
        if not self.filename:
            return ""
        return f"{self.filename}:{self.line}" if self.line else self.filename

    @property
    def label(self) -> str:
        """The short form shown in a flame box: `name (basename:line)`."""
        if not self.filename:
            return self.name
        base = self.filename.rsplit("/", 1)[-1]
        return f"{self.name} ({base}:{self.line})" if self.line else f"{self.name} ({base})"

    @property
    def kind(self) -> FrameKind:
        return classify(self.filename, self.name)

    @property
    def is_python(self) -> bool:
        """Python code (a .py file, or `<string>`, `<frozen ...>`): the own-code kind covers a
        native program's own binary too, so the kind alone cannot say where Python calls C."""
        name = self.filename
        return name.endswith((".py", ".pyw", ".pyx")) or (name.startswith("<") and len(name) > 2)


def _stdlib_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    prefixes = {paths.get("stdlib", ""), paths.get("platstdlib", "")}
    # Other interpreters' stdlibs are recognised by their shape: .../lib/pythonX.Y/
    return tuple(p for p in prefixes if p)


_STDLIB = _stdlib_prefixes()
_NATIVE_SUFFIXES = (".so", ".c", ".cpp", ".cc", ".h", ".rs", ".S")
# perf's bracketed modules that are user space; the others ([kernel.kallsyms], [ext4], ...)
# are the kernel and its modules.
_USER_BRACKETS = ("[vdso]", "[vsyscall]", "[vectors]", "[heap]", "[stack]", "[uprobes]")


@lru_cache(maxsize=65536)
def classify(filename: str, name: str = "") -> FrameKind:
    """Guess where a frame's code comes from, from its file path alone."""
    if not filename and (name.startswith(("thread (", "process ")) or name == "(other)"):
        return FrameKind.THREAD
    # stackcollapse-perf.pl's --kernel and --jit mark names, not files: read those back too.
    if name.endswith("_[k]"):
        return FrameKind.KERNEL
    if name.endswith("_[j]"):
        return FrameKind.JIT
    if filename.startswith("["):
        if filename.startswith(_USER_BRACKETS) or filename.startswith("[anon"):
            return FrameKind.JIT if filename.startswith("[anon") else FrameKind.NATIVE
        return FrameKind.KERNEL
    if filename.endswith("vmlinux"):
        return FrameKind.KERNEL
    if _is_jit_module(filename):
        return FrameKind.JIT
    if not filename or filename.startswith("<"):
        # `<frozen importlib._bootstrap>` and friends are the standard library; `<string>`
        # is code the target ran itself.
        if filename.startswith("<frozen"):
            return FrameKind.STDLIB
        return FrameKind.OWN if filename else FrameKind.NATIVE
    if (
        filename.endswith(_NATIVE_SUFFIXES)
        or ".so." in filename.rsplit("/", 1)[-1]  # versioned: libpython3.11.so.1.0
        or "/lib/x86_64-linux-gnu/" in filename
    ):
        return FrameKind.NATIVE
    if "site-packages/" in filename or "dist-packages/" in filename:
        return FrameKind.THIRD_PARTY
    if filename.startswith(_STDLIB) or _looks_like_stdlib(filename):
        return FrameKind.STDLIB
    return FrameKind.OWN


def _is_jit_module(filename: str) -> bool:
    # perf names JIT code by the map a runtime writes (/tmp/perf-PID.map), the .so perf
    # inject makes of a jitdump (jitted-PID-N.so), or anonymous executable memory (//anon).
    base = filename.rsplit("/", 1)[-1]
    return (
        (base.startswith("perf-") and base.endswith(".map"))
        or (base.startswith("jitted-") and base.endswith(".so"))
        or filename.startswith("//anon")
    )


def _looks_like_stdlib(filename: str) -> bool:
    # /usr/lib/python3.12/threading.py, ~/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py
    marker = "/lib/python"
    i = filename.find(marker)
    if i < 0:
        return False
    rest = filename[i + len(marker) :]
    version, _, tail = rest.partition("/")
    return bool(tail) and version[:1].isdigit()
