"""The cgroup view: the cgroup tree with, per group, CPU use against its quota, throttling,
memory against its limit, OOM kills, I/O, pressure and processes; Enter picks a group and the
screen returns its path (the dashboard filters its table to it), Esc returns None.

A DataTable, not a Line-API widget: a tree of tens to a few hundred groups, shown on demand,
costs little to diff (rows keyed by path; only changed cells are updated, and rows are
rebuilt only when the order changes). The screen owns its own sampling: a thread worker
calls the sampler it was given, posts the snapshot, and re-arms a timer once it is shown, so
reads never overlap (as the dashboard's ticks). Sorting keeps the tree (siblings sorted by
the key, children under their parent) unless `t` flattens it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from perftop.system.cgroups import CgroupSnapshot, CgroupStats
from perftop.system.containers import ContainerNames, parse_container
from perftop.system.pressure import PressureSet
from perftop.ui.fmt import human_bytes, human_rate, printable
from perftop.ui.keys import with_ids
from perftop.ui.widgets.footer import FittingFooter


class CgroupSource(Protocol):
    """What the screen reads: perftop.system.cgroups.CgroupSampler, or a test's fake."""

    def sample(self) -> CgroupSnapshot: ...


def _dash(value: float | None, fmt: Callable[[float], str]) -> str:
    return "-" if value is None else fmt(value)


def _psi(p: PressureSet | None, resource: str) -> float | None:
    got = p.of(resource) if p is not None else None
    return got.some.avg10 if got is not None and got.some is not None else None


def _io(g: CgroupStats) -> float | None:
    if g.io_read_bytes_per_s is None and g.io_write_bytes_per_s is None:
        return None
    return (g.io_read_bytes_per_s or 0.0) + (g.io_write_bytes_per_s or 0.0)


# (key, title, sort value: bigger first; None sorts last)
SORTS: dict[str, tuple[str, Callable[[CgroupStats], float | None]]] = {
    "group": ("GROUP", lambda g: None),
    "procs": ("PROCS", lambda g: g.procs_total),
    "cpu": ("CPU%", lambda g: g.cpu_percent),
    "quota": ("QUOTA", lambda g: g.quota_percent),
    "throttled": ("THR%", lambda g: g.throttled_percent),
    "memory": ("MEM", lambda g: g.memory_bytes),
    "limit": ("LIMIT", lambda g: g.memory_limit_bytes),
    "oom": ("OOM", lambda g: g.oom_kills),
    "io": ("IO/s", _io),
    "psi_cpu": ("PSI cpu", lambda g: _psi(g.pressure, "cpu")),
    "psi_memory": ("PSI mem", lambda g: _psi(g.pressure, "memory")),
    "psi_io": ("PSI io", lambda g: _psi(g.pressure, "io")),
}
CYCLE = ("cpu", "memory", "throttled", "io", "psi_cpu", "procs", "group")


MAX_NAME = 32  # a group's name beyond this is cut in the middle: the table fits 80 columns


def short_name(name: str) -> str:
    """`docker-9c41d2e87b3a…f0f0f.scope`: a 64-hex container ID would push every figure off
    an 80-column screen; CONTAINER beside it names the container in full."""
    return name if len(name) <= MAX_NAME else name[:20] + "…" + name[-(MAX_NAME - 21) :]


def cells(g: CgroupStats, container: str, tree: bool) -> tuple[str, ...]:
    """One group's row, in SORTS' order (GROUP first, then CONTAINER after it)."""
    if tree:
        name = "  " * g.depth + short_name(g.name)
    else:
        name = "/".join(short_name(part) for part in g.path.split("/")) or "/"
    throttled = _dash(g.throttled_percent, lambda v: f"{v:.0f}")
    if g.nr_throttled is not None and g.throttled_s is not None:
        throttled += f" {g.throttled_s:.1f}s"
    return (
        printable(name),
        printable(container),
        str(g.procs_total),
        _dash(g.cpu_percent, lambda v: f"{v:.1f}"),
        _dash(g.quota_percent, lambda v: f"{v:.0f}"),
        throttled,
        _dash(g.memory_bytes, human_bytes),
        _dash(g.memory_limit_bytes, human_bytes),
        _dash(g.oom_kills, lambda v: f"{v:.0f}"),
        human_rate(_io(g)),
        _dash(_psi(g.pressure, "cpu"), lambda v: f"{v:.1f}"),
        _dash(_psi(g.pressure, "memory"), lambda v: f"{v:.1f}"),
        _dash(_psi(g.pressure, "io"), lambda v: f"{v:.1f}"),
    )


COLUMN_KEYS = ("group", "container", *list(SORTS)[1:])
TITLES = ("GROUP", "CONTAINER", *(title for title, _ in list(SORTS.values())[1:]))


def ordered(groups: tuple[CgroupStats, ...], key: str, tree: bool) -> list[CgroupStats]:
    """The rows in the order shown: by `key` (bigger first; `group` by name), within each
    parent when `tree`, so a child stays under its parent. Pure, so tested alone."""
    value = SORTS.get(key, SORTS["group"])[1]

    def rank(g: CgroupStats) -> tuple[int, float, str]:
        v = value(g)
        return (v is None, -(v or 0.0), g.path)

    if not tree:
        return sorted(groups, key=rank)
    children: dict[str | None, list[CgroupStats]] = {}
    present = {g.path for g in groups}
    for g in groups:
        parent = g.parent if g.parent in present else None
        children.setdefault(parent, []).append(g)
    out: list[CgroupStats] = []
    stack = sorted(children.get(None, []), key=rank, reverse=True)
    while stack:
        g = stack.pop()
        out.append(g)
        stack.extend(sorted(children.get(g.path, []), key=rank, reverse=True))
    return out


class CgroupScreen(Screen[str | None]):
    """The cgroup tree, live; returns the path of the group picked with Enter."""

    # Its looks are in ui/perftop.tcss, with the other screens'.

    BINDINGS = with_ids(
        "cgroups",
        [
            Binding("enter", "pick", "Show its processes"),
            Binding("s", "cycle_sort", "Sort"),
            Binding("t", "toggle_tree", "Tree/flat"),
            Binding("escape,q", "close", "Back"),
        ],
    )

    class Sampled(Message):
        def __init__(self, snapshot: CgroupSnapshot | None, error: str | None) -> None:
            super().__init__()
            self.snapshot = snapshot
            self.error = error

    def __init__(
        self,
        sampler: CgroupSource,
        *,
        interval_s: float = 1.0,
        names: ContainerNames | None = None,
    ) -> None:
        super().__init__()
        self.sampler = sampler
        self.interval_s = interval_s
        self.names = names
        self.sort_key = "cpu"
        self.as_tree = True
        self.snapshot: CgroupSnapshot | None = None
        self.error: str | None = None
        self.reads = 0  # snapshots shown (tests wait on it)
        self._order: list[str] = []  # paths in the order the table has them
        self._shown: dict[str, tuple[str, ...]] = {}  # path -> cells on screen
        self._labels: dict[str, str] = {}
        self._answered = False

    def compose(self) -> ComposeResult:
        yield Static(id="cgroup-head")
        yield DataTable(id="cgroups", cursor_type="row", zebra_stripes=True)
        yield FittingFooter(("toggle_tree", "cycle_sort"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, title in zip(COLUMN_KEYS, TITLES, strict=True):
            table.add_column(title, key=key)
        table.focus()
        self._read()

    # --- sampling ---------------------------------------------------------------------------------

    def _read(self) -> None:
        sampler = self.sampler

        def read() -> None:
            try:
                snapshot, error = sampler.sample(), None
            except OSError as e:  # a cgroupfs gone under us: say it, keep trying
                snapshot, error = None, f"cannot read the cgroups: {e.strerror or e}"
            self.post_message(self.Sampled(snapshot, error))

        self.run_worker(read, thread=True, exclusive=True, group="cgroups", description="cgroups")

    def on_cgroup_screen_sampled(self, message: CgroupScreen.Sampled) -> None:
        self.error = message.error
        if message.snapshot is not None:
            self.snapshot = message.snapshot
        self._show()
        self.reads += 1
        self.set_timer(self.interval_s, self._read)

    # --- drawing ----------------------------------------------------------------------------------

    def _label(self, path: str) -> str:
        label = self._labels.get(path)
        if label is None:
            c = parse_container(path)
            if c is not None and self.names is not None:
                c = self.names.named(c)
            label = self._labels[path] = c.label() if c is not None else ""
        return label

    def _head(self) -> Text:
        snap = self.snapshot
        text = Text()
        if snap is None:
            text.append(self.error or "reading the cgroups…")
            return text
        text.append(f"cgroup {snap.layout}", "bold")
        text.append(f" · {len(snap.groups)} groups")
        if snap.truncated:
            text.append(" (the first ones)")
        text.append(f" · sorted by {SORTS[self.sort_key][0]}")
        text.append(" · tree" if self.as_tree else " · flat")
        if self.error:
            text.append(f" · {self.error}", "bold red")
        return text

    def _show(self) -> None:
        self.query_one("#cgroup-head", Static).update(self._head())
        snap = self.snapshot
        if snap is None:
            return
        table = self.query_one(DataTable)
        rows = ordered(snap.groups, self.sort_key, self.as_tree)
        order = [g.path for g in rows]
        fresh = {g.path: cells(g, self._label(g.path), self.as_tree) for g in rows}
        keep = self.current_path
        with self.app.batch_update():
            if order != self._order:
                table.clear()
                for path in order:
                    table.add_row(*fresh[path], key=path)
                if keep is not None and keep in fresh:
                    table.move_cursor(row=order.index(keep), animate=False)
            else:
                for path, row in fresh.items():
                    old = self._shown.get(path, ())
                    for column, (was, now) in enumerate(zip(old, row, strict=True)):
                        if was != now:
                            table.update_cell(path, COLUMN_KEYS[column], now)
        self._order, self._shown = order, fresh

    @property
    def current_path(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def _resort(self) -> None:
        self._order = []  # rebuild in the new order, the cursor kept on its group
        self._show()

    # --- actions ----------------------------------------------------------------------------------

    def _answer(self, path: str | None) -> None:
        if not self._answered and self.is_current:  # a second Enter queued behind the first
            self._answered = True
            self.dismiss(path)

    def action_pick(self) -> None:
        path = self.current_path
        if path is not None:
            self._answer(path)

    def action_close(self) -> None:
        self._answer(None)

    def action_cycle_sort(self) -> None:
        at = CYCLE.index(self.sort_key) if self.sort_key in CYCLE else -1
        self.sort_key = CYCLE[(at + 1) % len(CYCLE)]
        self._resort()

    def action_toggle_tree(self) -> None:
        self.as_tree = not self.as_tree
        self._resort()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        self.sort_key = key if key in SORTS else "group"
        self._resort()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on a DataTable selects its row (the table has focus): the same as `pick`.
        event.stop()
        if event.row_key.value is not None:
            self._answer(event.row_key.value)
