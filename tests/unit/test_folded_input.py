"""Folded files as other tools write them: frames without a symbol, UTF-16 with a byte-order
mark, process frames spanning lines; and errors that name the real problem."""

from __future__ import annotations

import codecs
from collections import Counter
from pathlib import Path

import pytest

from perftop.formats.detect import read_any
from perftop.formats.errors import FormatError
from perftop.formats.folded import dumps_folded, loads_folded, read_folded
from perftop.model.frames import Frame
from perftop.model.profile import Profile

DATA = Path(__file__).parent.parent / "data"


def named(p: Profile) -> Counter[str]:
    out: Counter[str] = Counter()
    for ids, count, _ in p.stacks():
        out[";".join(p.frame(i).name for i in ids)] += count
    return out


def test_a_frame_with_no_symbol_is_an_empty_frame() -> None:
    # stackcollapse-perf.pl writes one for a frame perf could not name; flamegraph.pl and
    # speedscope draw it as a box with no label.
    p = loads_folded("main;;foo 3\nmain;bar; 2\n")
    assert named(p) == Counter({"main;;foo": 3, "main;bar;": 2})
    assert Frame("") in p.frames
    assert dumps_folded(p) == "main;;foo 3\nmain;bar; 2\n"  # and it is written back as read


def test_an_empty_frame_lays_out_and_labels() -> None:
    from perftop.model.layout import layout
    from perftop.ui.widgets.flame import box_label

    p = loads_folded("main;;foo 3\n")
    rows = layout(p.root(), 80, frames=p.frames)
    assert [len(row) for row in rows] == [1, 1, 1, 1]  # all, main, the empty frame, foo
    empty = rows[2][0]
    assert p.frame(empty.node.frame_id) == Frame("") and empty.width == 80
    assert box_label(p.frame(empty.node.frame_id).label, empty.width).strip() == ""


@pytest.mark.parametrize("name", ["perf.folded", "out.perf.txt", "perf-stacks.txt"])
def test_a_bad_folded_line_in_a_perf_named_file_is_reported_as_such(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_text("main;foo 3\nmain;bar x\n")
    with pytest.raises(FormatError) as info:
        read_any(path)
    assert "perf script" not in str(info.value)
    assert str(info.value) == f"{path}:2: expected 'frame;frame;… count', got 'main;bar x'"


def test_a_perf_named_file_with_stackcollapse_output_opens(tmp_path: Path) -> None:
    path = tmp_path / "perf.folded"
    path.write_text("main;;foo 3\n")
    got = read_any(path)
    assert isinstance(got, Profile) and got.metadata["format"] == "folded"
    assert named(got) == Counter({"main;;foo": 3})


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_utf16_with_a_byte_order_mark(tmp_path: Path, bom: bytes, encoding: str) -> None:
    text = (DATA / "simple.txt").read_text().replace("\n", "\r\n") + "héllo;wörld 2\r\n"
    path = tmp_path / "stacks.txt"
    path.write_bytes(bom + text.encode(encoding))
    expected = named(loads_folded(text))
    got = read_any(path)
    assert isinstance(got, Profile) and named(got) == expected
    assert got.metadata["format"] == "folded"
    assert named(read_folded(path)) == expected
    assert named(read_folded(path.read_bytes())) == expected


def test_utf16_that_is_not_a_profile_is_not_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "just words\r\n".encode("utf-16-le"))
    with pytest.raises(FormatError, match="expected 'frame;frame"):
        read_any(path)


def test_a_process_frame_left_open_is_read_in_linear_time() -> None:
    # Each line used to be joined to the stack and the whole stack scanned again.
    text = 'process 1:"python -c \n' + "x\n" * 100_000 + '";main 3\n'
    p = loads_folded(text)
    assert p.total_samples == 3
    assert p.metadata["command"].startswith("python -c \nx\nx")
    with pytest.raises(FormatError):
        loads_folded('process 1:"python\n' + "  \n" * 100_000)
