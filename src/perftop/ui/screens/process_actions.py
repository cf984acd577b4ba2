"""What the dashboard does to the selected process: signals, renice, the detail pane.

In a saved snapshot or a replay there is no live process to act on, so these actions are
not offered at all (footer, help, palette). Live and paused on a past moment, an action makes
sure the PID still names the process of that moment (same start time), so a signal never
lands on a PID reused since. As in htop, F9 and F7/F8 act on every tagged process when some
are tagged (a tag is a PID and its start time, dropped when that process is gone), else on
the selected one. Every effect goes through the system source the data came
from (`machine`), so the fake machine of `--demo` and the tests acts only on itself.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from perftop.system.errors import ProcessError
from perftop.system.processes import display_command
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.ui.fmt import printable
from perftop.ui.screens.rewind import Rewind
from perftop.ui.widgets.process_detail import ProcessDetailPane
from perftop.ui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from perftop.formats.snapshot import Snapshot
    from perftop.system.detail import ProcessDetail
    from perftop.system.source import SystemSource


def snapshot_marker(snapshot: Snapshot) -> str:
    """`snapshot of HOST at 2026-11-22 10:15:03 +0100`: local time, with its offset."""
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(snapshot.created))
    return f"snapshot of {printable(snapshot.hostname) or 'an unnamed host'} at {when}"


# What needs the live machine behind the table (the whole machine's profile too).
LIVE_ACTIONS = frozenset(
    {
        "kill",
        "renice",
        "profile",
        "profile_machine",
        "memory_profile",
        "toggle_detail",
        "tag",
        "untag_all",
    }
)
# A start time read twice may differ by the boot time's rounding (procfs.py); a reused PID's
# start is later than that.
_SAME_START_S = 1.0
# The PIDs a question about tagged processes names before it says "and N more".
_NAMED = 6
# `m` on a row: which code of that Python process holds its bytes. Bound by the app (see
# PerftopApp.check_action), which offers it only while the table is the screen in front.
MEMORY_BINDING = Binding("m", "memory_profile", "Memory profile", show=False)


class MemoryProfileRequested(Message):
    """The user asked for the memory of a process; the app attaches the memory tracker."""

    def __init__(self, pid: int, title: str) -> None:
        super().__init__()
        self.pid = pid
        self.title = title


class ProcessActions:
    """A part the dashboard is composed of: what it does to the selected process. Needs a
    ProcessTable and a `#detail` ProcessDetailPane in `screen`."""

    def __init__(self, screen: Screen[None], rewind: Rewind, saved: Snapshot | None) -> None:
        self.screen = screen
        self.rewind = rewind
        self.saved = saved  # a snapshot shown read-only; None when live
        # The source the table's data comes from, set by the app: where effects go.
        self.machine: Callable[[], SystemSource] | None = None
        self.tags: dict[int, ProcessRow] = {}  # tagged PID -> its row when tagged

    @property
    def read_only(self) -> bool:
        return self.saved is not None or self.rewind.replay is not None or self.machine is None

    def notify(self, message: str, *, severity: SeverityLevel = "information") -> None:
        self.screen.notify(message, severity=severity)

    def _source(self) -> SystemSource:
        assert self.machine is not None  # the actions are not offered without one
        return self.machine()

    # --- tags --------------------------------------------------------------------------------

    def toggle_tag(self, row: ProcessRow) -> None:
        if self.tags.pop(row.pid, None) is None:
            self.tags[row.pid] = row

    def untag_all(self) -> None:
        self.tags.clear()

    def prune_tags(self, snapshot: ProcessSnapshot) -> None:
        """Forget the tags of processes that have exited (or whose PID is another's now)."""
        for pid, tagged in list(self.tags.items()):
            now = snapshot.rows.get(pid)
            if now is None or abs(now.start_time - tagged.start_time) > _SAME_START_S:
                del self.tags[pid]

    def _targets(self) -> list[ProcessRow]:
        """What F9 and F7/F8 act on: the tagged processes, else the selected one (if it is
        still the process of the moment shown)."""
        if self.tags:
            return [row for row in self.tags.values() if not self.gone_since(row)]
        current = self.screen.query_one(ProcessTable).current
        if current is None or self.gone_since(current.row):
            return []
        return [current.row]

    @staticmethod
    def _named(rows: Iterable[ProcessRow]) -> str:
        rows = list(rows)
        if len(rows) == 1:
            return f"{rows[0].pid} ({printable(rows[0].name)})"
        named = ", ".join(str(r.pid) for r in rows[:_NAMED])
        more = f" and {len(rows) - _NAMED} more" if len(rows) > _NAMED else ""
        return f"{len(rows)} tagged processes ({named}{more})"

    # --- signals and nice ----------------------------------------------------------------------

    def kill(self) -> None:
        from perftop.ui.screens.dialogs import Confirm, SignalMenu  # imported once opened

        if self.tags:
            targets = list(self.tags.values())  # checked again when the signal is confirmed
        else:
            current = self.screen.query_one(ProcessTable).current
            targets = [] if current is None else [current.row]
        if not targets:
            return
        named = self._named(targets)

        def confirmed(sig: int, ok: bool | None) -> None:
            if not ok:
                return
            rows = self._targets() if self.tags else targets
            name = signal.Signals(sig).name
            errors: list[str] = []
            for row in rows:
                try:
                    self._source().send_signal(row.pid, sig, row.start_time)
                except ProcessError as exc:
                    errors.append(exc.message)
            sent = len(rows) - len(errors)
            if errors:
                more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
                self.notify(errors[0] + more, severity="error")
            if sent:
                whom = f"{sent} of them" if errors else self._named(rows)
                self.notify(f"sent {name} to {whom}")

        def chosen(sig: int | None) -> None:
            if sig is None:
                return
            question = f"Send {signal.Signals(sig).name} to {named}?"
            self.screen.app.push_screen(Confirm(question), lambda ok: confirmed(sig, ok))

        if len(targets) == 1:
            menu = SignalMenu(targets[0].pid, printable(targets[0].name))
        else:
            menu = SignalMenu(None, f"{len(targets)} tagged processes")
        self.screen.app.push_screen(menu, chosen)

    def memory_profile(self) -> None:
        """Ask for the selected process's memory flame (the app checks that it can be had)."""
        current = self.screen.query_one(ProcessTable).current
        if current is None or self.read_only:
            return
        if self.gone_since(current.row):
            return
        title = printable(display_command(current.row))
        self.screen.post_message(MemoryProfileRequested(current.row.pid, title))

    def gone_since(self, row: ProcessRow) -> bool:
        """Paused, a row may name a process that has exited since, or whose PID another
        process now has: say so (True) rather than act on the wrong one."""
        if not self.rewind.paused:
            return False
        try:
            started = self._source().start_time(row.pid)
        except ProcessError:
            started = -1.0
        if started is not None and abs(started - row.start_time) > 1.0:
            self.notify(
                f"PID {row.pid} ({printable(row.name)}) has exited since that moment",
                severity="warning",
            )
            return True
        return False

    def renice(self, delta: int) -> None:
        rows = self._targets()
        errors: list[str] = []
        niced: list[tuple[ProcessRow, int]] = []
        for row in rows:
            try:
                nice = self._source().renice(row.pid, delta)
            except ProcessError as exc:
                errors.append(exc.message)
            else:
                row.nice = nice
                niced.append((row, nice))
        if errors:
            more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
            self.notify(errors[0] + more, severity="error")
        if len(niced) == 1 and not self.tags:
            row, nice = niced[0]
            self.notify(f"{row.pid} ({printable(row.name)}) nice {nice}")
        elif niced:
            nices = sorted({nice for _, nice in niced})
            said = ", ".join(str(n) for n in nices)
            self.notify(f"{self._named(r for r, _ in niced)}: nice {said}")

    def toggle_detail(self) -> None:
        pane = self.screen.query_one("#detail", ProcessDetailPane)
        pane.display = not pane.display
        if pane.display:
            self.load_detail()

    def load_detail(self) -> None:
        pid = self.screen.query_one(ProcessTable).current_pid
        if pid is None:
            self._show_detail_message("no process selected")
        else:
            self._read_detail(pid)

    def _read_detail(self, pid: int) -> None:
        """Off the UI thread: open files and connections can take tens of milliseconds."""
        source, app = self._source(), self.screen.app

        def read() -> None:
            try:
                detail = source.read_detail(pid)
            except ProcessError as exc:
                app.call_from_thread(self._show_detail_message, exc.message)
            else:
                app.call_from_thread(self._show_detail, detail)

        self.screen.run_worker(
            read, thread=True, exclusive=True, group="detail", description=f"detail {pid}"
        )

    def _show_detail(self, detail: ProcessDetail) -> None:
        self.screen.query_one("#detail", ProcessDetailPane).show_detail(detail)

    def _show_detail_message(self, message: str) -> None:
        self.screen.query_one("#detail", ProcessDetailPane).show_message(message)

    def refresh_detail(self) -> None:
        """Called each tick by the app: the detail pane follows the live process."""
        if self.screen.query_one("#detail").display:
            self.load_detail()
