"""F1: every key of the screen underneath, generated from its bindings so it never drifts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from perftop import __version__
from perftop.ui.widgets.process_table import STALE_MARK

ABOUT = (
    "perftop shows the machine, its processes and the inside of one process (py-spy for\n"
    "Python, perf for native code) or of the whole machine (W, perf on every CPU).\n"
    "m on a Python process: which code holds its memory (memray or tracemalloc, via gdb);\n"
    "there, m marks a moment and g shows what grew since.\n"
    "CPU% is per core (100% = one core, as htop) unless toggled to whole-machine with c.\n"
    "Mouse: click a column title to sort, click a row to select, scroll to move."
)


def measures() -> str:
    """What the columns F2 adds and the pressure meters measure; NOT_COUNTED said here, once
    (imported here: the network's sampler is left out of a start that does not show it)."""
    from perftop.system.netsockets import NOT_COUNTED

    return (
        "WAIT%: the share of the tick a process was runnable but waiting for a CPU (100% = one "
        "thread all along): who is starved when every core is busy. PSI: the share of the last "
        "10 s some task stalled on CPU, memory or I/O (the kernel's pressure figures). "
        "CONTAINER: the container or systemd unit its cgroup names; C shows the cgroup tree, "
        "Enter there shows a group's processes alone (Esc clears it).\n"
        f"NET/s, RX/s, TX/s: TCP bytes a second. {NOT_COUNTED} The network is read as often as "
        f"its CPU budget allows: a {STALE_MARK} after a figure says it is older than the last "
        "tick.\n"
        "htop's columns (F2): TIME+ the CPU time used since it started; NCPU% CPU% of the whole "
        "machine (100% = every core); PRI the kernel's priority, NI its nice; VIRT its address "
        "space, SHR its resident pages shared with others; TTY its terminal; MINFLT/MAJFLT its "
        "page faults without and with a disk read. H shows user threads as rows, in their own "
        "colour, under their process in the tree.\n"
        "GPU%, GPU MEM (F2, NVIDIA GPUs): a process's SM use, summed over its GPUs, and the GPU "
        "memory it holds (NVML's per-process accounting); blank for a process on no GPU."
    )


@dataclass
class ScreenAction:
    """One action a screen offers, with every key bound to it; help and the palette list these."""

    action: str
    description: str
    keys: list[str]
    node: DOMNode


def screen_actions(screen: Screen[Any]) -> list[ScreenAction]:
    """The described actions active on `screen`, one entry per action, in binding order."""
    by_action: dict[str, ScreenAction] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        entry = by_action.setdefault(
            binding.action, ScreenAction(binding.action, binding.description, [], active.node)
        )
        display = screen.app.get_key_display(binding) or key
        if display not in entry.keys:
            entry.keys.append(display)
    return list(by_action.values())


def bindings_table(screen: Screen[Any]) -> Table:
    """One row per action: all the keys bound to it, and what it does."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("keys", style="bold", no_wrap=True)
    table.add_column("action")
    for entry in screen_actions(screen):
        table.add_row(", ".join(entry.keys), entry.description)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "app.pop_screen", "Close help")]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(f"[b]perftop {__version__}[/b]\n{ABOUT}\n", classes="dialog-title")
            yield Static(measures() + "\n", markup=False)
            yield Static(bindings_table(self.under))
