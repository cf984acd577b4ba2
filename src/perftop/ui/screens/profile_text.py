"""The profile screen's lines of text: the head line (state, figures, profiler, thread, error,
title), the selected frame's status line, and the flame's colour key. Pure functions of what
they are given, so the screen only places them and the tests read them without a terminal.
"""

from __future__ import annotations

from rich.text import Text

from perftop.model.profile import OTHER, Node, Profile, SearchResult
from perftop.model.view import ProfileView
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from perftop.ui.fmt import printable
from perftop.ui.memory_text import is_bytes, weight_text
from perftop.ui.screens.memory_view import MemoryView
from perftop.ui.screens.profile_dialogs import PYSPY_FLAGS
from perftop.ui.widgets.flame import INTO_NATIVE, KIND_COLOURS, KIND_NAMES

__all__ = [
    "folded_text",
    "frame_status",
    "head_line",
    "legend",
    "process_text",
    "sampling_text",
]

_STATE_STYLES = {
    SessionState.LIVE: "bold green",
    SessionState.PAUSED: "bold yellow",
    SessionState.STOPPED: "bold yellow",
    SessionState.ENDED: "bold magenta",
    SessionState.FAILED: "bold red",
}


def legend() -> str:
    """Colour key for the flame's border, as Textual markup."""
    kinds = " ".join(
        f"[black on {KIND_COLOURS[kind][0]}] {name} [/]" for kind, name in KIND_NAMES.items()
    )
    return f"{kinds} {INTO_NATIVE} Python→native"


def sampling_text(source: str, options: ProfilerOptions) -> str:
    """Which profiler samples and how, for the head line: `py-spy 100 Hz gil`,
    `perf 99 Hz frame pointers`, `perf 100 Hz dwarf`."""
    parts = [source, f"{options.rate_hz} Hz"] if source else [f"{options.rate_hz} Hz"]
    if source == "perf":
        parts.append("dwarf" if options.dwarf else "frame pointers")
    else:  # py-spy's own flags; perf has none of them
        parts += [name for name in PYSPY_FLAGS if getattr(options, name)]
    return " ".join(parts)


def head_line(
    state: SessionState,
    profile: Profile,
    session: ProfileSession | None,
    memory: MemoryView | None,
    thread: str | None,
    title: str,
    view: ProfileView | None = None,
) -> Text:
    """` LIVE   samples 1,234  py-spy 100 Hz  coverage 99%  thread: all  TITLE`; for a memory
    session (`memory` given) the tracker, the live bytes and the view instead of the samples,
    the profiler and the coverage. With `view`: the idle samples hidden and the process shown,
    beside the samples."""
    text = Text(no_wrap=True, overflow="ellipsis")
    # The labels people already know: FAILED reads ERROR.
    label = "error" if state is SessionState.FAILED else state.value
    text.append(f" {label.upper()} ", f"reverse {_STATE_STYLES.get(state, 'bold')}")
    # Why it failed or ended comes first: the figures after it are zero or final, and the line
    # is cut at the screen's edge.
    failed = state is SessionState.FAILED and session is not None and bool(session.error)
    reason = None  # a stopped target's advice is long: it goes after the figures, below
    if session is not None and state is SessionState.ENDED:
        reason = session.end_reason  # "target exited", or why sampling ended
    if failed:
        assert session is not None
        text.append(f"  {session.error}", "red")
    elif reason:
        text.append(f"  {reason}", "yellow")
    # The figures first, then the error, the title (a command line, often long) last: the
    # line is cut at the screen's edge, and what is cut must be the least useful part.
    if memory is not None:
        text.append_text(memory.head(profile))
    elif is_bytes(profile.metadata):  # a memory profile opened from a file
        text.append(f"  live bytes {weight_text(profile.total_samples, profile.metadata)}")
    else:
        text.append(f"  samples {profile.total_samples:,}")
        text.append_text(folded_text(profile, thread))
        if view is not None and view.options.hide_idle:
            hidden = view.hidden(thread)
            shown = profile.thread_samples(thread) if thread is not None else profile.total_samples
            share = 100 * hidden / (hidden + shown) if hidden + shown else 0.0
            text.append(f"  idle hidden: {share:.0f} %", "bold")
    if view is not None:  # what is shown, before how it was sampled: the line is cut at 80
        text.append_text(process_text(view))
    if session is not None and memory is None:
        text.append("  " + sampling_text(session.metadata.get("source", ""), session.options))
        if session.refresh_s is not None:  # py-spy's restarts for a pool: batches stretched
            text.append(f" every {session.refresh_s:.1f} s")
        text.append(f"  coverage {100 * session.coverage:.0f}%")
    text.append(f"  thread: {printable(thread) if thread is not None else 'all'}")
    if session is not None and session.error and not failed:
        text.append(f"  {session.error}", "red")
    elif session is not None and state is SessionState.STOPPED and session.stopped_reason:
        text.append(f"  {session.stopped_reason}", "yellow")

    if title:
        text.append(f"  {printable(title)}", "bold")
    return text


def folded_text(profile: Profile, thread: str | None) -> Text:
    """`  3 % in (other)` once the profile's cap folded call paths (model/fold.py): those
    samples still count, in the flame's `(other)` boxes and the top table, but their paths
    are gone. Nothing before."""
    folded = profile.folded_samples(thread)
    if not folded:
        return Text()
    total = profile.thread_samples(thread) if thread is not None else profile.total_samples
    share = 100 * folded / total if total else 0.0
    return Text(f"  {share:.0f} % in (other)" if share >= 1 else "  <1 % in (other)", "bold")


def process_text(view: ProfileView) -> Text:
    """`  process: 1234 gunicorn: worker`, `  processes: side by side`, or nothing."""
    text = Text()
    picked = view.options.process
    if picked is not None:
        command = next((s.command for s in view.processes() if s.pid == picked), "")
        text.append(f"  process: {picked or 'target'}", "bold")
        if command:
            text.append(f" {printable(' '.join(command.split()))}")
    elif view.split and view.options.split is not None:  # asked for, not as recorded
        text.append("  processes: side by side", "bold")
    elif view.options.split is False:
        text.append("  processes: merged", "bold")
    return text


def frame_status(
    profile: Profile,
    node: Node | None,
    total: int,
    search: tuple[str, SearchResult | None] = ("", None),
) -> Text:
    """The selected frame: name, location, self and total (sizes where counts are bytes), as
    shares of `total`; the search's share after it."""
    text = Text(no_wrap=True, overflow="ellipsis")
    meta = profile.metadata
    total = max(total, 1)
    if node is not None and node.frame_id >= 0:
        frame = profile.frame(node.frame_id)
        text.append(printable(frame.name), "bold")
        text.append(f"  {printable(frame.location)}")
        own, under = weight_text(node.self_count, meta), weight_text(node.total, meta)
        text.append(f"  self {own} ({100 * node.self_count / total:.1f}%)")
        text.append(f"  total {under} ({100 * node.total / total:.1f}%)")
        if frame == OTHER:
            text.append("  the least-sampled call paths here, folded: memory stays bounded")
    else:
        text.append("←→↑↓/hjkl move · Enter zoom · Esc out · / search · t threads · F1 keys", "dim")
    pattern, result = search
    if result is not None:
        what = "bytes" if is_bytes(meta) else "samples"
        text.append(
            f"   search {printable(pattern)!r}: {result.percent:.1f}% of {what}",
            "bold yellow",
        )
    return text
