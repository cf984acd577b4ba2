"""What the app shows first, as one typed value: the run mode with its files already opened.

`perftop.runmode` decides the mode from the command line (paths, flags); the TUI command opens
what it names (a profile, a snapshot, a recording, two profiles to compare) and hands the app
one of these. The app matches on it once, at mount; nothing else asks which mode it is in.
NamedTuples, as `perftop.runmode`'s modes are: immutable, and cheap to define at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from perftop.formats.recording import RecordingReader, RecordingWriter
    from perftop.formats.snapshot import Snapshot
    from perftop.model.profile import Profile

__all__ = ["AppStart", "DiffOfFiles", "LiveStart", "ProfileFile", "RecordingFile", "SnapshotFile"]


class LiveStart(NamedTuple):
    """The live machine; `attach`: a process to profile from the start; `recorder`: where
    every tick is also written (`--record`)."""

    attach: int | None = None
    title: str = ""  # the attached process's command line
    recorder: RecordingWriter | None = None


class ProfileFile(NamedTuple):
    profile: Profile
    title: str = ""


class SnapshotFile(NamedTuple):
    """A saved moment: the dashboard of then, read-only."""

    snapshot: Snapshot


class RecordingFile(NamedTuple):
    """A recording made with `--record`, replayed with the rewind keys."""

    reader: RecordingReader


class DiffOfFiles(NamedTuple):
    base: Profile
    new: Profile
    title: str = ""


AppStart = LiveStart | ProfileFile | SnapshotFile | RecordingFile | DiffOfFiles
