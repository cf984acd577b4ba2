"""What the perf backend says before and when perf refuses, without running perf: the facts are
made by hand (a paranoid level, a container, hidden kernel symbols), or read from a fake /proc."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from perftop.model.frames import FrameKind
from perftop.model.perf_text import SampleReader, _Flags, perf_frame
from perftop.profiling import perf_cli
from perftop.profiling.backend import (
    NoSuchProcess,
    PermissionDenied,
    ProfilerError,
    ProfilerFailed,
    ProfilerMissing,
    ProfilerOptions,
)
from perftop.profiling.perf_cli import (
    PerfFacts,
    find_perf,
    record_args,
    refusal,
    script_args,
    translate_error,
    warnings_for,
)

USER = PerfFacts(paranoid=2, kptr_restrict=0, privileged=False, can_read_kernel_symbols=False)
ROOT = PerfFacts(paranoid=4, kptr_restrict=0, privileged=True, can_read_kernel_symbols=True)


def facts(**changes: object) -> PerfFacts:
    values = {**USER.__dict__, **changes}
    return PerfFacts(**values)  # type: ignore[arg-type]


def test_paranoid_3_refuses_a_user_with_the_value_and_the_sysctl() -> None:
    why = refusal(facts(paranoid=3), machine=False)
    assert why is not None
    assert "perf_event_paranoid is 3" in why
    assert "sysctl kernel.perf_event_paranoid=2" in why
    assert "\n" not in why


def test_paranoid_2_allows_own_processes_but_not_every_cpu() -> None:
    assert refusal(facts(paranoid=2), machine=False) is None
    why = refusal(facts(paranoid=2), machine=True)
    assert why is not None and "0 or less" in why and "perf_event_paranoid=0" in why
    assert refusal(facts(paranoid=0), machine=True) is None


def test_root_is_not_refused_whatever_the_level() -> None:
    assert refusal(ROOT, machine=True) is None
    assert warnings_for(ROOT) == []


def test_what_perf_will_not_show_is_said() -> None:
    said = warnings_for(facts(paranoid=2))
    assert any("kernel frames are not sampled" in w and "paranoid is 2" in w for w in said)
    hidden = warnings_for(facts(paranoid=1, kptr_restrict=1))
    assert any("kptr_restrict is 1" in w and "kptr_restrict=0" in w for w in hidden)
    # kptr_restrict 1 hides nothing from a holder of CAP_SYSLOG; 2 hides from everyone.
    assert warnings_for(facts(paranoid=1, kptr_restrict=1, can_read_kernel_symbols=True)) == []
    assert any(
        "kptr_restrict is 2" in w
        for w in warnings_for(
            ROOT.__class__(
                paranoid=-1, kptr_restrict=2, privileged=True, can_read_kernel_symbols=True
            )
        )
    )


@pytest.mark.parametrize(
    ("stderr", "kind", "words"),
    [
        ("Couldn't create thread/CPU maps: No such process", NoSuchProcess, "does not exist"),
        (
            "Error:\nAccess to performance monitoring and observability operations is limited.\n"
            "Consider adjusting /proc/sys/kernel/perf_event_paranoid setting",
            PermissionDenied,
            "perf_event_paranoid",
        ),
        (
            "Error:\nNo permission to enable cpu-clock event.\n",
            PermissionDenied,
            "run perftop as root",
        ),
        (
            "perf_event_open(..., PERF_FLAG_FD_CLOEXEC) failed with unexpected error 38 "
            "(Function not implemented)",
            ProfilerFailed,
            "seccomp",
        ),
        ("E: linux-perf-6.18 is not installed.", ProfilerMissing, "apt install linux-perf"),
        ("Error: something new\nmore", ProfilerFailed, "perf: something new"),
    ],
)
def test_perf_errors_are_one_typed_line(stderr: str, kind: type[ProfilerError], words: str) -> None:
    error = translate_error(stderr, 255, 4242, facts(paranoid=2))
    assert type(error) is kind
    assert words in error.message
    assert "\n" not in error.message


def test_a_silent_perf_that_cannot_read_the_targets_maps_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `perf record -q` on a process closed to ptrace even for root (a VM's init) exits 255
    # having said nothing.
    monkeypatch.setattr(perf_cli, "maps_refused", lambda pid: "permission denied")
    error = translate_error("", 255, 4242, facts(paranoid=2))
    assert isinstance(error, PermissionDenied)
    assert "/proc/4242/maps: permission denied" in error.message
    # The whole machine has no one process's maps to blame.
    assert type(translate_error("", 255, 4242, facts(), machine=True)) is ProfilerFailed
    monkeypatch.setattr(perf_cli, "maps_refused", lambda pid: None)
    error = translate_error("", 255, 4242, facts(paranoid=2))
    assert type(error) is ProfilerFailed and error.message == "perf: perf ended with status 255"


def test_maps_refused_is_none_for_a_readable_or_gone_process() -> None:
    assert perf_cli.maps_refused(os.getpid()) is None
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert perf_cli.maps_refused(gone.pid) is None


def test_a_container_gets_the_capabilities_it_needs() -> None:
    error = translate_error(
        "Error:\nNo permission to enable cpu-clock event.", 255, 1, facts(container="docker")
    )
    assert isinstance(error, PermissionDenied)
    assert "docker container" in error.message
    assert "--cap-add PERFMON" in error.message and "seccomp" in error.message


def test_facts_are_read_from_proc(tmp_path: Path) -> None:
    kernel = tmp_path / "proc" / "sys" / "kernel"
    kernel.mkdir(parents=True)
    (kernel / "perf_event_paranoid").write_text("3\n")
    (kernel / "kptr_restrict").write_text("1\n")
    (tmp_path / "proc" / "1").mkdir()
    (tmp_path / "proc" / "1" / "cgroup").write_text("0::/kubepods/besteffort/pod1234/abc\n")
    read = PerfFacts.read(proc=str(tmp_path / "proc"), root=str(tmp_path))
    assert read.paranoid == 3 and read.kptr_restrict == 1
    assert read.container == "kubernetes"
    (tmp_path / ".dockerenv").touch()
    assert PerfFacts.read(proc=str(tmp_path / "proc"), root=str(tmp_path)).container == "docker"


def test_missing_perf_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PERFTOP_PERF", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProfilerMissing, match="perf is not installed: apt install linux-perf"):
        find_perf()
    monkeypatch.setenv("PERFTOP_PERF", str(tmp_path / "nowhere"))
    with pytest.raises(ProfilerMissing, match="not found at"):
        find_perf()


def test_command_lines() -> None:
    fp = record_args("perf", 42, ProfilerOptions(rate_hz=99))
    assert fp[:2] == ["perf", "record"] and "--no-buffering" in fp
    assert fp[fp.index("-F") + 1] == "99" and fp[fp.index("-p") + 1] == "42"
    assert fp[fp.index("--call-graph") + 1] == "fp" and fp[-2:] == ["-o", "-"]
    dwarf = record_args("perf", None, ProfilerOptions(dwarf=True, backend="perf"))
    assert "-a" in dwarf and "-p" not in dwarf
    assert dwarf[dwarf.index("--call-graph") + 1].startswith("dwarf,")
    script = script_args("perf")
    assert script[script.index("perf") :][:4] == ["perf", "script", "-i", "-"]


def test_options_refuse_an_unknown_profiler_and_dwarf_for_pyspy() -> None:
    with pytest.raises(ProfilerError, match="unknown profiler 'gdb'"):
        ProfilerOptions(backend="gdb")
    with pytest.raises(ProfilerError, match="DWARF unwinding is perf's"):
        ProfilerOptions(backend="py-spy", dwarf=True)


def test_a_live_stream_is_read_sample_by_sample_with_addresses_kept() -> None:
    reader = SampleReader(_Flags(offsets=True), "perf")
    text = [
        "app 12/13 1.0: cpu-clock:ppp: ",
        "\t    1142 perftop_native_leaf+0x19 (/srv/app)",
        "\t    11ad [unknown] (/srv/app)",
        "\tffffffff81000000 do_syscall_64+0x1 ([kernel.kallsyms])",
        "\t    2724a __libc_start_call_main+0x7a (/usr/lib/x86_64-linux-gnu/libc.so.6)",
    ]
    assert all(reader.line(line) is None for line in text)
    sample = reader.line("")
    assert sample is not None
    assert (sample.comm, sample.pid, sample.tid) == ("app", "12", "13")
    names = [name for name, _ in sample.frames]
    # Root first; the unresolved address reads as its module plus offset.
    assert names == ["__libc_start_call_main", "do_syscall_64", "app+0x11ad", "perftop_native_leaf"]
    kinds = [perf_frame(*f).kind for f in sample.frames]
    assert kinds == [FrameKind.NATIVE, FrameKind.KERNEL, FrameKind.OWN, FrameKind.OWN]
