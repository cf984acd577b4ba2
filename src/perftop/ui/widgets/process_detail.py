"""The process detail pane: everything the table has no room for, for one process.

It renders a ProcessDetail the app read off the UI thread; fields the kernel would not show us
say so instead of disappearing, so a user knows to retry as root.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from perftop.ui.fmt import human_bytes, human_count, printable

if TYPE_CHECKING:  # the reader (psutil calls) loads when a detail is first asked for
    from perftop.system.detail import ProcessDetail

DENIED = "(permission denied)"


def _field(text: Text, label: str, value: object, denied: bool = False) -> None:
    text.append(f"{label:<10}", "bold")
    if denied:
        text.append(DENIED, "dim italic")
    elif value is None or value == "":
        text.append("-", "dim")
    else:
        text.append(printable(str(value)))
    text.append("\n")


def render_detail(d: ProcessDetail, *, show_environ: bool = True) -> Text:
    """The pane's text; pure, so snapshot-free tests can check what it says."""
    denied = set(d.denied)
    text = Text(no_wrap=False)
    text.append(f"{d.pid} {printable(d.name or '')}\n", "bold reverse")
    _field(text, "command", " ".join(d.cmdline) if d.cmdline else None, "cmdline" in denied)
    _field(text, "exe", d.exe, "exe" in denied)
    _field(text, "cwd", d.cwd, "cwd" in denied)
    _field(text, "user", d.user)
    _field(text, "status", d.status)
    if d.create_time:
        _field(text, "started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.create_time)))
    _field(text, "nice", d.nice)
    if d.memory is not None:
        rss, vms, shared = d.memory
        _field(
            text,
            "memory",
            f"rss {human_bytes(rss)}  vms {human_bytes(vms)}  shr {human_bytes(shared)}",
        )
    if d.cpu_times is not None:
        user, system = d.cpu_times
        _field(text, "cpu time", f"user {user:.2f}s  sys {system:.2f}s")
    if d.io is not None:
        rb, wb, rc, wc = d.io
        _field(
            text,
            "I/O",
            f"read {human_bytes(rb)} ({human_count(rc)} ops)  "
            f"write {human_bytes(wb)} ({human_count(wc)} ops)",
        )
    else:
        _field(text, "I/O", None, "io" in denied)
    if d.ctx_switches is not None:
        vol, invol = d.ctx_switches
        _field(text, "ctx sw", f"voluntary {vol}  involuntary {invol}")
    _field(text, "container", d.container)
    _field(text, "cgroup", (d.cgroup or "").strip().replace("\n", " | "), "cgroup" in denied)

    text.append(f"\nthreads ({d.num_threads or 0})\n", "bold underline")
    if d.threads is None:
        text.append(DENIED + "\n", "dim italic")
    for tid, user, system in (d.threads or [])[:50]:
        text.append(f"  {tid:>7}  user {user:7.2f}s  sys {system:7.2f}s\n")

    text.append(f"\nopen files ({len(d.open_files or [])})\n", "bold underline")
    if d.open_files is None:
        text.append(DENIED + "\n", "dim italic")
    for path in (d.open_files or [])[:50]:
        text.append(f"  {printable(path)}\n")

    text.append(f"\nconnections ({len(d.connections or [])})\n", "bold underline")
    if d.connections is None:
        text.append(DENIED + "\n", "dim italic")
    for laddr, raddr, status in (d.connections or [])[:50]:
        text.append(f"  {laddr} -> {raddr or '*'} {status}\n")

    if show_environ:
        text.append(f"\nenvironment ({len(d.environ or {})})\n", "bold underline")
        if d.environ is None:
            text.append(DENIED + "\n", "dim italic")
        for key, value in sorted((d.environ or {}).items()):
            text.append(f"  {printable(key)}=", "bold")
            text.append(f"{printable(value)}\n")
    return text


class ProcessDetailPane(VerticalScroll):
    """A scrollable pane; the app hands it a detail (or a reason there is none)."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    def show_detail(self, detail: ProcessDetail) -> None:
        self.query_one("#detail-body", Static).update(render_detail(detail))

    def show_message(self, message: str) -> None:
        self.query_one("#detail-body", Static).update(Text(message, "italic"))
