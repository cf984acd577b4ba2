"""formats/registry.py is the one table of formats: reading, writing, the export menu and the
extension checks all follow it, so a format added there is added everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from perftop.formats import registry
from perftop.formats.detect import read_any
from perftop.formats.errors import FormatError
from perftop.formats.export import PROFILE_FORMATS, profile_format_for, write_profile
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.ui.screens.profile_dialogs import profile_export_choices


def _dumps_shout(profile: Profile) -> str:
    lines = [";".join(profile.frame(i).name for i in ids) for ids, _, _ in profile.stacks()]
    return "SHOUT\n" + "\n".join(lines) + "\n"


def _loads_shout(text: str, source: str) -> Profile:
    p = Profile({"source": source})
    for line in text.splitlines()[1:]:
        p.add_stack([Frame(name) for name in line.split(";")])
    return p


SHOUT = registry.Format(
    "shout",
    "shouted stacks",
    "",
    (".shout",),
    (registry.Reader("text", lambda text: text.startswith("SHOUT\n"), _loads_shout),),
    _dumps_shout,
)


@pytest.fixture
def with_shout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "FORMATS", (*registry.FORMATS, SHOUT))


def test_the_tables_callers_use_come_from_the_registry() -> None:
    assert registry.profile_formats() == PROFILE_FORMATS
    assert [c.suffix for c in profile_export_choices()] == [
        f.extensions[0] for f in registry.writable()
    ]
    assert [c.label for c in profile_export_choices()] == [f.label for f in registry.writable()]


@pytest.mark.usefixtures("with_shout")
def test_a_format_added_to_the_registry_is_added_everywhere(tmp_path: Path) -> None:
    p = Profile()
    p.add_stack([Frame("main"), Frame("work")], 1)
    path = tmp_path / "p.shout"
    assert profile_format_for(path) == "shout"
    assert write_profile(p, path) == "shout"
    assert path.read_text() == "SHOUT\nmain;work\n"
    back = read_any(path)
    assert isinstance(back, Profile) and back.metadata["format"] == "shout"
    assert back.total_samples == 1
    assert profile_export_choices()[-1].suffix == ".shout"
    with pytest.raises(FormatError, match=r"\.shout"):
        profile_format_for(tmp_path / "p.unknown")


def test_longest_extension_wins_and_every_writer_is_registered() -> None:
    assert registry.format_for_path("a.speedscope.json") == registry.by_name("speedscope")
    assert registry.format_for_path("a.JSON") == registry.by_name("speedscope")
    assert registry.format_for_path(".json") is None
    assert {f.name for f in registry.writable()} == {
        "speedscope",
        "folded",
        "html",
        "pyisession",
        "pprof",
    }
    with pytest.raises(KeyError):
        registry.by_name("nope")


def test_pyinstrument_is_imported_only_when_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from perftop.formats import detect, export, registry; "
        "assert 'pyinstrument' not in sys.modules, 'imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
