"""Writing a profile in the format its file name asks for.

The formats, their extensions and their writers are registry.py's, so the CLI's checks, the
UI's export menu and this writer agree on what `.txt` or `.html` means.
"""

from __future__ import annotations

import os

from perftop.formats import registry
from perftop.formats.atomic import write_atomic
from perftop.formats.errors import FormatError
from perftop.model.profile import Profile

__all__ = ["PROFILE_FORMATS", "profile_format_for", "render_profile", "write_profile"]

# Extension -> format name, for callers that list or check them (`.speedscope.json` first:
# matching takes the longest extension that fits).
PROFILE_FORMATS: dict[str, str] = registry.profile_formats()


def profile_format_for(path: str | os.PathLike[str]) -> str:
    """The format named by `path`'s extension (any case); FormatError listing those known."""
    fmt = registry.format_for_path(path)
    if fmt is None:
        known = ", ".join(registry.profile_formats())
        raise FormatError(
            os.fspath(path), f"unknown profile format; name the file with one of: {known}"
        )
    return fmt.name


def render_profile(profile: Profile, path: str | os.PathLike[str]) -> tuple[str, str | bytes]:
    """(format, contents) of `profile` in the format of `path`'s extension."""
    fmt = registry.by_name(profile_format_for(path))
    write = fmt.write
    assert write is not None  # only writable formats have an extension to name them
    return fmt.name, write(profile)


def write_profile(profile: Profile, path: str | os.PathLike[str]) -> str:
    """Write `profile` atomically (owner-only) in the format of its extension; that format."""
    name, data = render_profile(profile, path)
    write_atomic(path, data, mode=0o600)
    return name
