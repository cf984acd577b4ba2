"""Benchmarks of the profile model and flame layout against the budgets in ARCHITECTURE.md.

Run on demand: `python bench/bench_flame.py [n_stacks]`. Prints medians and the ratio to each
budget. `build_profile(n_stacks)` makes the synthetic profile; other benches import it.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

from perftop.formats.folded import dumps_folded, loads_folded
from perftop.model.frames import Frame
from perftop.model.layout import layout
from perftop.model.profile import Node, Profile

MERGE_BUDGET_MS = 20.0
LAYOUT_BUDGET_MS = 30.0
WIDTH, ROWS = 120, 40


def _frame_pool(rng: random.Random, n: int) -> list[Frame]:
    # Several lines per function, as py-spy reports them, spread over a few hundred modules.
    frames = []
    for i in range(n):
        func = i // 3
        module = func % 400
        path = (
            f"/usr/lib/python3.12/mod{module}.py"
            if module < 60
            else f"/srv/app/.venv/lib/python3.12/site-packages/pkg{module}/m.py"
            if module < 200
            else f"/srv/app/src/app/mod{module}.py"
        )
        frames.append(Frame(f"func_{func}", path, 10 + rng.randrange(400)))
    return frames


def synthetic_stacks(
    n_stacks: int, seed: int = 0
) -> tuple[list[Frame], list[tuple[tuple[int, ...], int]]]:
    """`n_stacks` distinct stacks of 10-40 frames with heavy-tailed sample counts.

    A random call graph gives each frame a few callees (1-40, most 1-3, as dispatchers are
    rare); each new stack branches off an earlier one a few frames from its end and walks
    the graph from there, favouring each frame's first callees. So stacks share long
    prefixes and differ near the leaves, as real programs' do: about 3 nodes a stack.
    """
    rng = random.Random(seed)
    pool = _frame_pool(rng, max(3_000, n_stacks // 8))
    n_pool = len(pool)
    callees = [
        [rng.randrange(n_pool) for _ in range(min(40, 1 + int(rng.paretovariate(1.3))))]
        for _ in range(n_pool)
    ]

    def walk(stack: list[int], length: int) -> tuple[int, ...]:
        current = stack[-1]
        while len(stack) < length:
            choices = callees[current]
            current = choices[int(len(choices) * rng.random() ** 2)]
            stack.append(current)
        return tuple(stack)

    first = walk([0, 1, 2, 3, 4], 16)
    stacks = [first]
    seen = {first}
    while len(stacks) < n_stacks:
        parent = stacks[rng.randrange(len(stacks))]
        cut = rng.randint(max(5, len(parent) - 6), len(parent) - 1)
        stack = walk(list(parent[:cut]), rng.randint(max(10, cut + 1), min(40, cut + 8)))
        if stack not in seen:
            seen.add(stack)
            stacks.append(stack)
    counts = [max(1, int(rng.paretovariate(1.2) * 8)) for _ in stacks]
    return pool, list(zip(stacks, counts, strict=True))


def build_profile(n_stacks: int = 100_000, seed: int = 0, threads: int = 1) -> Profile:
    """The synthetic profile; with `threads` > 1, stacks spread over that many threads."""
    pool, stacks = synthetic_stacks(n_stacks, seed)
    profile = Profile({"source": "synthetic"})
    ids = [profile.intern(f) for f in pool]
    names = [""] if threads == 1 else [f"Thread-{i}" for i in range(threads)]
    for n, (stack, count) in enumerate(stacks):
        profile.add_stack_ids([ids[i] for i in stack], count, names[n % len(names)])
    return profile


def batch_like(profile: Profile, n_stacks: int = 1_000, seed: int = 1) -> Profile:
    """One second of sampling: mostly stacks already seen, some new ones."""
    rng = random.Random(seed)
    known = [(ids, thread) for ids, _, thread in _sample_stacks(profile, rng, n_stacks)]
    batch = Profile()
    for i, (ids, thread) in enumerate(known):
        frames = [profile.frames[fid] for fid in ids]
        if i % 10 == 0:  # a tenth are new: a new line in a known function
            frames[-1] = Frame(frames[-1].name, frames[-1].filename, 100_000 + i)
        batch.add_stack(frames, rng.randint(1, 5), thread)
    return batch


def _sample_stacks(
    profile: Profile, rng: random.Random, n: int
) -> list[tuple[tuple[int, ...], int, str]]:
    all_stacks = list(profile.stacks())
    return [all_stacks[rng.randrange(len(all_stacks))] for _ in range(n)]


def _busiest_at(root: Node, depth: int) -> Node:
    node = root
    for _ in range(depth):
        if not node.children:
            break
        node = max(node.children.values(), key=lambda n: n.total)
    return node


def median_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _report(name: str, ms: float, budget: float | None = None) -> None:
    ratio = f"  {ms / budget:5.2f}x budget ({budget:g} ms)" if budget else ""
    print(f"{name:<44} {ms:9.2f} ms{ratio}")


def main(n_stacks: int = 100_000) -> None:
    t0 = time.perf_counter()
    profile = build_profile(n_stacks)
    build_s = time.perf_counter() - t0
    tree_nodes = sum(1 for _ in _walk(profile.root()))
    print(
        f"profile: {n_stacks:,} distinct stacks, {profile.total_samples:,} samples, "
        f"{len(profile.frames):,} frames, {tree_nodes:,} nodes (built in {build_s:.1f} s)"
    )
    batch = batch_like(profile)
    batch_text = dumps_folded(batch)
    _report("parse a 1 s batch (1,000 stacks, folded)", median_ms(lambda: loads_folded(batch_text)))
    _report(
        "merge a 1 s batch (1,000 stacks)", median_ms(lambda: profile.merge(batch)), MERGE_BUDGET_MS
    )
    root = profile.root()
    _report(
        f"layout {WIDTH}x{ROWS} at root",
        median_ms(lambda: layout(root, WIDTH, ROWS, profile.frames)),
        LAYOUT_BUDGET_MS,
    )
    _report(
        f"layout {WIDTH}x{ROWS} at root (frame id order)",
        median_ms(lambda: layout(root, WIDTH, ROWS)),
        LAYOUT_BUDGET_MS,
    )
    zoomed = _busiest_at(root, 8)
    _report(
        f"layout {WIDTH}x{ROWS} zoomed (depth 8)",
        median_ms(lambda: layout(zoomed, WIDTH, ROWS, profile.frames)),
        LAYOUT_BUDGET_MS,
    )
    _report("top_functions (all)", median_ms(profile.top_functions, repeat=5))
    _report("top_functions (limit=100)", median_ms(lambda: profile.top_functions(limit=100)))
    rare = profile.frames[len(profile.frames) // 2].name
    _report(f"search rare ({rare!r})", median_ms(lambda: profile.search(rare), repeat=5))
    _report(
        "search common ('site-packages')", median_ms(lambda: profile.search("site-packages"), 5)
    )
    _report("find(path) of a leaf", median_ms(lambda: profile.find(_leaf(root).path())))
    threaded = build_profile(n_stacks, threads=4)
    threaded_batch = batch_like(threaded)
    _report(
        "merge a 1 s batch, 4 threads (+ merged tree)",
        median_ms(lambda: threaded.merge(threaded_batch)),
        MERGE_BUDGET_MS,
    )
    _report("redraw the flame widget 120x40 (layout + strips)", widget_redraw_ms(profile), 30.0)


def widget_redraw_ms(profile: Profile) -> float:
    """The whole redraw the user waits for: FlameView's layout and every strip of a 120x40 view.

    Runs the real widget in Textual's headless test harness (no terminal needed).
    """
    import asyncio

    from textual.app import App, ComposeResult

    from perftop.ui.widgets.flame import FlameView

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            yield FlameView(profile)

    result: list[float] = []

    async def run() -> None:
        app = Bench()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            view = app.query_one(FlameView)

            def redraw() -> None:
                view.relayout()
                for y in range(view.size.height):
                    view.render_line(y)

            result.append(median_ms(redraw))

    asyncio.run(run())
    return result[0]


def _walk(root: Node) -> list[Node]:
    out, pending = [], [root]
    while pending:
        node = pending.pop()
        out.append(node)
        pending.extend(node.children.values())
    return out


def _leaf(root: Node) -> Node:
    node = root
    while node.children:
        node = next(iter(node.children.values()))
    return node


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
