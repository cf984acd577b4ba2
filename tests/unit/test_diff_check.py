"""`perftop diff --check BASE NEW`: the significant regressions as text, JSON or Markdown; exit 1
when one grew past the threshold, 0 when none did, 2 on a file it cannot read."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from perftop.formats.export import write_profile
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from tests.unit.test_cli_files import assert_one_line_error, run_cli

MAIN = Frame("main", "/srv/app.py", 1)
HOT = Frame("parse", "/srv/app.py", 20)


def profile(shares: list[float], n: int, seed: int, hot: Frame = HOT) -> Profile:
    rng = random.Random(seed)
    frames = [hot] + [Frame(f"f{i}", "/srv/lib.py", i) for i in range(1, len(shares))]
    p = Profile({"rate_hz": "100"})
    counts = [0] * len(shares)
    for i in rng.choices(range(len(shares)), weights=shares, k=n):
        counts[i] += 1
    for frame, count in zip(frames, counts, strict=True):
        p.add_stack([MAIN, frame], count)
    return p


BEFORE = [0.10] + [0.90 / 9] * 9
AFTER = [0.16] + [0.84 / 9] * 9


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "base": tmp_path / "main.pb.gz",
        "grown": tmp_path / "change.speedscope.json",
        "same": tmp_path / "same.folded",
    }
    write_profile(profile(BEFORE, 5000, 1), paths["base"])
    write_profile(profile(AFTER, 5000, 2), paths["grown"])
    write_profile(profile(BEFORE, 5000, 3), paths["same"])
    return paths


def test_a_regression_past_the_threshold_fails(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, out, err = run_cli(capsys, "diff", "--check", str(files["base"]), str(files["grown"]))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert "two-proportion z-test, Holm-corrected" in lines[0]
    assert "1 significant regression; 1 beyond the 5-point threshold:" in lines[1]
    (row,) = [line for line in lines if "parse" in line]
    assert row.lstrip().startswith("FAIL") and "→" in row and "p=" in row
    assert "(/srv/app.py)" in row


def test_below_the_threshold_or_within_the_noise_passes(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    base, grown, same = (str(files[k]) for k in ("base", "grown", "same"))
    code, out, _ = run_cli(capsys, "diff", "--check", base, grown, "--threshold", "10%")
    assert code == 0 and "0 beyond the 10-point threshold" in out and "parse" in out
    code, out, _ = run_cli(capsys, "diff", "--check", base, same)
    assert code == 0 and "no significant regression" in out
    # The other way round, parse shrank: an improvement is no regression.
    code, out, _ = run_cli(capsys, "diff", "--check", grown, base, "--threshold", "0")
    assert code == 0 and "parse" not in out


def test_json(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, _ = run_cli(
        capsys, "diff", "--check", str(files["base"]), str(files["grown"]), "--json"
    )
    doc = json.loads(out)
    assert code == 1 and doc["failed"] is True and doc["threshold_points"] == 5.0
    assert doc["base_samples"] == doc["new_samples"] == 5000
    (regression,) = doc["regressions"]
    assert regression["function"] == "parse" and regression["file"] == "/srv/app.py"
    assert regression["passes_threshold"] is True
    assert regression["delta_points"] == pytest.approx(
        regression["new_percent"] - regression["base_percent"], abs=1e-3
    )
    assert 0 < regression["p_value"] < 1e-6


def test_markdown_is_a_table_a_hostile_name_cannot_break(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile = Frame("a|b`c\n| injected |", "/srv/x|y.py", 3)
    base, new = tmp_path / "a.speedscope.json", tmp_path / "b.speedscope.json"
    write_profile(profile(BEFORE, 5000, 1, hot=hostile), base)
    write_profile(profile(AFTER, 5000, 2, hot=hostile), new)
    code, out, _ = run_cli(capsys, "diff", "--check", str(base), str(new), "--markdown")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "### perftop diff --check: 1 regression beyond 5 points"
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| | function | file | before | after | change | p-value |"
    (row,) = table[2:]
    assert row.startswith("| ❌ |")
    # Seven cells, whatever the name holds: its pipes are escaped, its newline shown as \x0a.
    assert len(row.replace("\\|", "").split("|")) == 9
    assert "\\x0a" in row and "`" not in row.split("`", 1)[1].rsplit("`", 1)[0]


def test_bad_files_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pb.gz"
    bad.write_bytes(gzip.compress(b"\x12\x05\x0a\x01"))
    code, _, err = run_cli(capsys, "diff", "--check", str(files["base"]), str(bad))
    assert_one_line_error(code, err, "bad.pb.gz")
    code, _, err = run_cli(capsys, "diff", "--check", str(tmp_path / "none"), str(bad))
    assert_one_line_error(code, err, "none")
    mem = Profile({"unit": "bytes"})
    mem.add_stack([MAIN], 4096)
    write_profile(mem, tmp_path / "m.speedscope.json")
    code, _, err = run_cli(
        capsys, "diff", "--check", str(tmp_path / "m.speedscope.json"), str(files["base"])
    )
    assert_one_line_error(code, err, "bytes")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["diff", "--threshold", "3", "a", "b"], "--threshold goes with perftop diff --check"),
        (["diff", "--json", "a", "b"], "--json goes with perftop diff --check"),
        (["diff", "--threshold", "0", "a", "b"], "--threshold goes with perftop diff --check"),
        (["--sort", "PID", "diff", "--check", "a", "b"], "--sort does not go with perftop diff"),
        (["diff", "--check", "--threshold", "x", "a", "b"], "invalid threshold"),
        (["diff", "--check", "--threshold", "101%", "a", "b"], "invalid threshold"),
        (["diff", "--check", "--json", "--markdown", "a", "b"], "not allowed with"),
    ],
)
def test_flags_that_do_not_fit_are_refused(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, words)
