"""Pressure stall files: the system's and a cgroup's, present, absent and malformed."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from perftop.system.pressure import (
    Pressure,
    PressureLine,
    parse_pressure,
    read_cgroup_pressure,
    read_pressure_file,
    read_system_pressure,
    stall_seconds,
)

CPU = "some avg10=1.53 avg60=0.87 avg300=0.40 total=12345678\n"
MEMORY = (
    "some avg10=0.00 avg60=0.10 avg300=0.00 total=2500000\n"
    "full avg10=0.00 avg60=0.05 avg300=0.00 total=1000000\n"
)


def test_some_and_full_lines() -> None:
    p = parse_pressure(MEMORY)
    assert p == Pressure(
        PressureLine(0.0, 0.10, 0.0, 2_500_000), PressureLine(0.0, 0.05, 0.0, 1_000_000)
    )


def test_an_older_kernel_has_no_full_line_for_cpu() -> None:
    p = parse_pressure(CPU)
    assert p is not None and p.full is None
    assert p.some == PressureLine(1.53, 0.87, 0.40, 12_345_678)


def test_junk_is_none() -> None:
    assert parse_pressure("") is None
    assert parse_pressure("some avg10=x avg60=0 avg300=0 total=1") is None
    assert parse_pressure("some avg10=nan avg60=0 avg300=0 total=1") is None
    assert parse_pressure("other avg10=1 avg60=0 avg300=0 total=1") is None


def test_system_pressure_where_the_kernel_has_it(tmp_path: Path) -> None:
    d = tmp_path / "pressure"
    d.mkdir()
    (d / "cpu").write_text(CPU)
    (d / "memory").write_text(MEMORY)
    found = read_system_pressure(str(tmp_path))
    assert found is not None
    assert found.cpu is not None and found.memory is not None
    assert found.io is None and found.irq is None, "a file the kernel lacks is None"
    names = {name: seconds for name, _r, _k, seconds in stall_seconds(found)}
    assert names == {
        "node_pressure_cpu_waiting_seconds_total": 12.345678,
        "node_pressure_memory_waiting_seconds_total": 2.5,
        "node_pressure_memory_stalled_seconds_total": 1.0,
    }


def test_no_psi_at_all(tmp_path: Path) -> None:
    assert read_system_pressure(str(tmp_path)) is None
    assert read_cgroup_pressure(str(tmp_path)) is None
    assert read_pressure_file(str(tmp_path / "missing")) is None
    assert read_pressure_file(str(tmp_path)) is None, "a directory is not a pressure file"


def test_a_cgroups_pressure(tmp_path: Path) -> None:
    (tmp_path / "io.pressure").write_text(MEMORY)
    found = read_cgroup_pressure(str(tmp_path))
    assert found is not None and found.io is not None and found.cpu is None


@given(st.text(max_size=300))
def test_any_text_parses_or_is_none(text: str) -> None:
    p = parse_pressure(text)
    assert p is None or p.some is not None or p.full is not None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["some", "full", "sum", ""]),
            st.lists(
                st.tuples(
                    st.sampled_from(["avg10", "avg60", "avg300", "total", "x"]),
                    st.one_of(
                        st.integers(-5, 10**20).map(str),
                        st.floats(allow_nan=True).map(str),
                        st.text(max_size=4),
                    ),
                ),
                max_size=6,
            ),
        ),
        max_size=4,
    )
)
def test_near_miss_lines_never_raise(lines: list[tuple[str, list[tuple[str, str]]]]) -> None:
    text = "\n".join(kind + " " + " ".join(f"{k}={v}" for k, v in fields) for kind, fields in lines)
    p = parse_pressure(text)
    for line in (p.some, p.full) if p is not None else ():
        if line is not None:
            assert line.total_us >= 0 and min(line.avg10, line.avg60, line.avg300) >= 0
