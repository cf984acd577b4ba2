"""Make the README's pictures from the real app: `python scripts/screenshots.py`.

The dashboard is drawn from the deterministic fake machine so the pictures are stable; the flame
views are real profiles of small programs this script starts and samples itself: a Python one
with py-spy, a C one (compiled here with gcc) with perf, kernel frames included, and a leaking
Python one with memray attached (its live bytes).
Each picture is an SVG in screenshots/ (Textual's own screenshot), the size a 120x40 terminal.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from textual.pilot import Pilot

from perftop.app import AppConfig, PerftopApp
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.backends import new_session
from perftop.system.processes import DEFAULT_COLUMNS, SortKey, ViewOptions
from perftop.system.source import FakeSource
from perftop.ui.screens.profile import ProfileScreen

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (120, 40)

TARGET = textwrap.dedent(
    """
    import json, threading, time

    def parse_orders(n):
        return [json.loads(json.dumps({"id": i, "items": list(range(20))})) for i in range(n)]

    def price(order):
        return sum(item * 1.07 for item in order["items"])

    def handle_request():
        return sum(price(o) for o in parse_orders(200))

    def background_compaction():
        while True:
            sorted(str(i) for i in range(20000))
            time.sleep(0.01)

    threading.Thread(target=background_compaction, name="compactor", daemon=True).start()
    while True:
        handle_request()
    """
)


# A native service's hot path: its own functions, libc, and write(2) into the kernel.
NATIVE = textwrap.dedent(
    r"""
    #include <fcntl.h>
    #include <string.h>
    #include <unistd.h>

    static char block[1 << 16], out[1 << 16];

    __attribute__((noipa)) unsigned checksum(const char *p, int n) {
        unsigned s = 0;
        for (int i = 0; i < n; i++) s = s * 31 + p[i];
        return s;
    }
    __attribute__((noipa)) int compress_block(int n) {
        for (int i = 0; i < n; i += 64) memcpy(out + i / 2, block + i, 32);
        return n / 2;
    }
    __attribute__((noipa)) void handle_request(int fd) {
        int n = compress_block(sizeof block);
        block[0] = (char)checksum(out, n / 8);
        write(fd, out, n);
    }
    int main(void) {
        int fd = open("/dev/null", O_WRONLY);
        for (;;) handle_request(fd);
    }
    """
)


async def sample(app: PerftopApp, pilot: Pilot[None], ticks: int) -> None:
    """Step the fake machine's sampler by hand, enough for the graphs to have a shape."""
    for _ in range(ticks):
        app.sample_now()
        await pilot.pause(0.02)
    await pilot.pause(0.2)


async def dashboard() -> None:
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
    async with app.run_test(size=SIZE) as pilot:
        await sample(app, pilot, 60)
        app.save_screenshot("dashboard.svg", str(OUT))
        await pilot.press("f5", "i")
        await pilot.pause(0.3)
        app.save_screenshot("dashboard-tree.svg", str(OUT))
    # 80x24 over SSH: the meters folded into lines, the table keeping its rows.
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
    async with app.run_test(size=(80, 24)) as pilot:
        await sample(app, pilot, 60)
        app.save_screenshot("dashboard-80x24.svg", str(OUT))


async def rewind() -> None:
    """Paused 40 s back while the machine goes on: the graphs mark the moment."""
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
    async with app.run_test(size=SIZE) as pilot:
        await sample(app, pilot, 90)
        await pilot.press("space", *["left_square_bracket"] * 40)
        await pilot.pause(0.3)
        app.save_screenshot("dashboard-paused.svg", str(OUT))


async def flame(seconds: float = 6.0) -> None:
    script = OUT / "_target.py"
    script.write_text(TARGET)
    target = subprocess.Popen([sys.executable, str(script)])
    try:
        time.sleep(0.5)
        app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
        async with app.run_test(size=SIZE) as pilot:
            session = new_session(target.pid, ProfilerOptions(), command="python shop.py")
            screen = ProfileScreen(session, title=f"PID {target.pid} python shop.py")
            await app.push_screen(screen)
            await pilot.pause(seconds)
            await pilot.press("down", "down", "down")
            await pilot.pause(0.3)
            app.save_screenshot("flame.svg", str(OUT))
            await pilot.press("slash", *"price", "enter")
            await pilot.pause(0.5)
            app.save_screenshot("flame-search.svg", str(OUT))
            screen.stop()
    finally:
        target.kill()
        target.wait()
        script.unlink(missing_ok=True)


LEAKY = textwrap.dedent(
    """
    import time

    sessions = {}

    def remember_session(n):
        sessions[n] = {"id": n, "token": "x" * 1500, "history": list(range(40))}

    def render_page(n):
        scratch = [bytearray(8_000) for _ in range(10)]
        remember_session(n)
        return len(scratch)

    n = 0
    while True:
        n += 1
        render_page(n)
        time.sleep(0.002)
    """
)


async def memory_flame(seconds: float = 8.0) -> None:
    """A leaking Python service's live bytes, memray tracking it from its first line as
    `perftop run --memory` does (no debugger: the picture can be made on any machine)."""
    from perftop.profiling.memory import MemoryBackend, MemoryLaunch

    script = OUT / "_leaky.py"
    script.write_text(LEAKY)
    launched = MemoryLaunch()
    target = subprocess.Popen([sys.executable, str(script)], env=launched.environment())
    try:
        app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
        async with app.run_test(size=SIZE) as pilot:
            options = ProfilerOptions(backend="memory")
            session = new_session(
                target.pid,
                options,
                command="python webapp.py",
                factory=lambda: MemoryBackend(launch=launched),
            )
            screen = ProfileScreen(session, title=f"PID {target.pid} python webapp.py")
            await app.push_screen(screen)
            await pilot.pause(seconds)
            await pilot.press("down", "down", "down")
            await pilot.pause(0.3)
            app.save_screenshot("flame-memory.svg", str(OUT))
            screen.stop()
    finally:
        target.kill()
        target.wait()
        launched.close()
        script.unlink(missing_ok=True)


async def native_flame(seconds: float = 6.0) -> None:
    source = OUT / "_native.c"
    binary = OUT / "blockd"
    source.write_text(NATIVE)
    flags = ["-O0", "-g", "-fno-omit-frame-pointer"]
    subprocess.run(["gcc", *flags, "-o", str(binary), str(source)], check=True)
    target = subprocess.Popen([str(binary)])
    try:
        time.sleep(0.3)
        app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
        async with app.run_test(size=SIZE) as pilot:
            options = ProfilerOptions(backend="perf")
            session = new_session(target.pid, options, command="./blockd")
            screen = ProfileScreen(session, title=f"PID {target.pid} ./blockd")
            await app.push_screen(screen)
            await pilot.pause(seconds)
            await pilot.press("down", "down", "down", "down")
            await pilot.pause(0.3)
            app.save_screenshot("flame-native.svg", str(OUT))
            screen.stop()
    finally:
        target.kill()
        target.wait()
        source.unlink(missing_ok=True)
        binary.unlink(missing_ok=True)


async def gpus() -> None:
    """A GPU box (the fake machine's two GPUs, read through a fake NVML): the panel with its
    graphs, sorted by the GPU memory column F2 adds."""
    columns = (*DEFAULT_COLUMNS[:-1], SortKey.GPU, SortKey.GPU_MEM, SortKey.COMMAND)
    view = ViewOptions(columns=columns, sort_key=SortKey.GPU_MEM, reverse=True)
    app = PerftopApp(lambda: FakeSource(gpus=2), AppConfig(delay_s=3600, view=view))
    async with app.run_test(size=(120, 50)) as pilot:
        await sample(app, pilot, 60)
        app.save_screenshot("dashboard-gpus.svg", str(OUT))


PICTURES = {
    "dashboard": dashboard,
    "rewind": rewind,
    "gpus": gpus,
    "flame": flame,
    "native": native_flame,
    "memory": memory_flame,
}


def main() -> None:
    """All the pictures, or those named: `python scripts/screenshots.py gpus dashboard`."""
    OUT.mkdir(exist_ok=True)
    for name in sys.argv[1:] or PICTURES:
        asyncio.run(PICTURES[name]())
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(OUT.parent))


if __name__ == "__main__":
    main()
