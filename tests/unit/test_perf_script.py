"""`perf script` text: collapsed exactly as FlameGraph's stackcollapse-perf.pl, and as a Profile.

The expected results are FlameGraph's own (test/results), for every input and flag it tests.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perftop.formats.errors import FormatError
from perftop.formats.perf_script import (
    collapse_perf_script,
    loads_perf_script,
    looks_like_perf_script,
    read_perf_script,
)
from perftop.model import perf_text as perf_script
from perftop.model.frames import Frame, FrameKind
from perftop.model.profile import Profile
from tests.unit.bounded import run_bounded

PERF = Path(__file__).parent.parent / "data" / "perf"
INPUTS = ["perf-cycles-instructions-01", "perf-dd-stacks-01", "perf-funcab-cmd-01"]
INPUTS.append("perf-java-stacks-01")
FLAGS: dict[str, dict[str, bool]] = {
    "pid": {"pid": True},
    "tid": {"tid": True},
    "kernel": {"kernel": True},
    "jit": {"jit": True},
    "all": {"kernel": True, "jit": True},
    "addrs": {"addrs": True},
}


def text_of(name: str) -> str:
    return (PERF / f"{name}.txt").read_text()


def folded(collapsed: dict[str, int]) -> str:
    return "".join(f"{stack} {count}\n" for stack, count in collapsed.items())


def named(p: Profile) -> Counter[str]:
    out: Counter[str] = Counter()
    for ids, count, _ in p.stacks():
        out[";".join(p.frame(i).name for i in ids)] += count
    return out


# -- the script's own test results -----------------------------------------------------------------


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("name", INPUTS)
def test_matches_stackcollapse_perf_results(name: str, flag: str) -> None:
    expected = (PERF / "results" / f"{name}-collapsed-{flag}.txt").read_text()
    # Byte for byte, order included: the script prints its stacks sorted.
    assert folded(collapse_perf_script(text_of(name), **FLAGS[flag])) == expected


@pytest.mark.parametrize("name", INPUTS)
def test_default_flags_are_the_kernel_results_without_annotations(name: str) -> None:
    kernel = (PERF / "results" / f"{name}-collapsed-kernel.txt").read_text().splitlines()
    expected: Counter[str] = Counter()
    for line in kernel:
        stack, _, count = line.rpartition(" ")
        expected[stack.replace("_[k]", "")] += int(count)
    got = collapse_perf_script(text_of(name))
    assert got == dict(expected) and list(got) == sorted(got)


# -- the script's rules, one by one ----------------------------------------------------------------

RECORD = "app 12 100.0: 1 cycles: \n\t{frames}\n\n"


def one(frames: str, **flags: bool) -> dict[str, int]:
    return collapse_perf_script(RECORD.format(frames=frames.replace("\n", "\n\t")), **flags)


@pytest.mark.parametrize(
    ("frames", "stack"),
    [
        ("1 f+0x1f (/bin/app)", "app;f"),  # symbol offsets are stripped
        ("1 f(int, char) (/bin/app)", "app;f"),  # argument lists are noise
        ("1 net/http.(*Client).Do (/bin/app)", "app;net/http.(*Client).Do"),  # Go keeps them
        ("1 n::(anonymous namespace)::g(int) (/bin/app)", "app;n::(anonymous namespace)::g"),
        ("1 (anonymous namespace)::g (/bin/app)", "app"),  # a leading paren: skipped
        ("1 a;b'\"c (/bin/app)", "app;a:bc"),  # `;` would split the stack; quotes go
        ("1 [unknown] (/usr/lib/libfoo.so)", "app;[libfoo.so]"),
        ("1 [unknown] ([unknown])", "app;[unknown]"),
        ("1 (/bin/app) (/bin/app)", "app"),  # a process name where a function would be
        ("1 inner->outer (/bin/app)", "app;inner;outer_[i]"),  # perf's inline chains
        ("1 leaf (/bin/app)\n2 main (/bin/app)", "app;main;leaf"),  # leaf first in perf
    ],
)
def test_names_are_tidied_as_the_script_does(frames: str, stack: str) -> None:
    assert one(frames) == {stack: 1}


def test_annotations() -> None:
    frames = "1 jitted (/tmp/perf-12.map)\n2 sys_read ([kernel.kallsyms])\n3 x (/x/vmlinux)"
    assert one(frames, kernel=True, jit=True) == {"app;x_[k];sys_read_[k];jitted_[j]": 1}
    assert one("1 [unknown] ([unknown])", kernel=True, addrs=True) == {"app;[unknown <1>]": 1}


def test_java_signatures_lose_their_l_prefix_only_in_java() -> None:
    record = "java 12 1.0: cycles:\n\t1 Lorg/a/B;.run(I)V (/tmp/perf-1.map)\n\n"
    assert collapse_perf_script(record) == {"java;org/a/B:.run": 1}
    assert collapse_perf_script(record.replace("java", "node")) == {"node;Lorg/a/B:.run": 1}


def test_pid_tid_period_and_perl_truthiness() -> None:
    text = (
        "swapper 0/0 [000] 1.0: 250 cpu-clock:\n\t1 idle ([kernel.kallsyms])\n\n"
        "V8 Worker 5/7 1.0: 0 cpu-clock:\n\t1 run (/bin/node)\n\n"
    )
    # A tid of "0" is false in Perl, so the script takes the pid for the tid; a period of 0
    # is false too, and counts 1.
    assert collapse_perf_script(text, tid=True) == {
        "V8_Worker-5/7;run": 1,
        "swapper-?/0;idle": 250,
    }
    assert collapse_perf_script(text, pid=True) == {"V8_Worker-5;run": 1, "swapper-?;idle": 250}


def test_only_the_first_event_type_counts_and_a_stack_needs_its_blank_line() -> None:
    text = (
        "ab 1 1.0: cycles:\n\t1 f (/bin/a)\n\n"
        "ab 1 1.1: instructions:\n\t1 g (/bin/a)\n\n"
        "ab 1 1.2: cycles:\n\t1 h (/bin/a)"  # no blank line after the last stack
    )
    assert collapse_perf_script(text) == {"ab;f": 1}
    assert named(loads_perf_script(text)) == Counter({"ab;f": 1, "ab;h": 1})


def test_a_one_letter_comm_is_no_event_line_for_the_script() -> None:
    # `^(\S.+?)\s+(\d+)` needs two characters before the pid: the script skips the record.
    assert collapse_perf_script("a 1 1.0: cycles:\n\t1 f (/bin/a)\n\n") == {}


def test_crlf_is_read_as_lf() -> None:
    text = "ab 1 1.0: cycles:\r\n\t1 f (/bin/a)\r\n\r\n"
    assert collapse_perf_script(text) == {"ab;f": 1}


# -- as a Profile ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["perf-funcab-cmd-01", "perf-cycles-instructions-01"])
def test_profile_has_the_collapsed_stacks(name: str) -> None:
    # These files end with a blank line and have no periods: one sample per record.
    p = read_perf_script(PERF / f"{name}.txt")
    assert named(p) == Counter(collapse_perf_script(text_of(name)))


def test_profile_counts_samples_not_periods_and_keeps_the_last_stack() -> None:
    p = read_perf_script(PERF / "perf-dd-stacks-01.txt")
    collapsed = collapse_perf_script(text_of("perf-dd-stacks-01"))
    assert set(collapsed.values()) <= {10101010, 20202020}
    expected = Counter({k: v // 10101010 for k, v in collapsed.items()})
    expected["dd;[unknown];system_call"] += 1  # the last record, not followed by a blank line
    assert named(p) == expected
    assert p.metadata["format"] == "perf script"


def test_speedscope_perf_fixtures() -> None:
    simple = read_perf_script(PERF / "simple.linux-perf.txt")
    assert named(simple) == Counter(
        {"simple-terminat;[unknown];__libc_start_main;main;_Z5deltav;_Z4betav": 1}
    )
    with_pid = read_perf_script(PERF / "simple-with-pid.linux-perf.txt")
    records = sum(
        1 for line in text_of("simple-with-pid.linux-perf").splitlines() if "cpu-clock:" in line
    )
    assert with_pid.total_samples == records > 100
    assert all(s.startswith("simple-terminat;") for s in named(with_pid))


def test_frame_kinds_and_metadata() -> None:
    p = read_perf_script(PERF / "perf-java-stacks-01.txt")
    kinds = {f.name: f.kind for f in p.frames}
    assert kinds["sys_write"] is FrameKind.KERNEL  # [kernel.kallsyms]: what --kernel marks _[k]
    assert kinds["__write_nocancel"] is FrameKind.NATIVE  # libpthread .so
    assert Frame("sys_write", "[kernel.kallsyms]") in p.frames  # the module is the file
    funcab = read_perf_script(PERF / "perf-funcab-cmd-01.txt")
    assert Frame("func_a", "/root/lang/func_ab").kind is FrameKind.OWN
    assert Frame("func_a", "/root/lang/func_ab") in funcab.frames
    assert funcab.metadata["command"].endswith("perf record -F 99 -g ./func_ab")
    assert [f.name for f in funcab.frames[:1]] == ["func_ab"]  # comm is the root frame


def test_kinds_of_perf_modules() -> None:
    assert Frame("tcp_sendmsg", "[kernel.kallsyms]").kind is FrameKind.KERNEL
    assert Frame("ext4_file_write_iter", "[ext4]").kind is FrameKind.KERNEL
    assert Frame("do_syscall_64", "/boot/vmlinux").kind is FrameKind.KERNEL
    assert Frame("__vdso_clock_gettime", "[vdso]").kind is FrameKind.NATIVE
    assert Frame("LazyCompile:*fib /srv/a.js:3", "/tmp/perf-4242.map").kind is FrameKind.JIT
    assert Frame("Interpreter", "/tmp/jitted-4242-17.so").kind is FrameKind.JIT
    assert Frame("[unknown]", "//anon").kind is FrameKind.JIT
    assert Frame("memcpy", "/usr/lib/x86_64-linux-gnu/libc.so.6").kind is FrameKind.NATIVE
    assert Frame("PyEval_EvalCode", "/usr/lib64/libpython3.11.so.1.0").kind is FrameKind.NATIVE
    # Names stackcollapse-perf.pl marked with --kernel / --jit, read back from folded text.
    assert Frame("schedule_[k]").kind is FrameKind.KERNEL
    assert Frame("fib_[j]").kind is FrameKind.JIT


def test_detection() -> None:
    assert looks_like_perf_script(text_of("perf-funcab-cmd-01"))
    assert not looks_like_perf_script("a;b 1\nc;d 2\n")
    assert not looks_like_perf_script("a;b 1 \n\tx (y)\n")  # no `\S\s+\d+\s` then stack


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no perf script sample"),
        ("a;b;c 12\n", "no perf script sample"),
        ("# only a comment\n", "no perf script sample"),
        ("ab 1 1.0: " + "9" * 40 + " cycles:\n\t1 f (x)\n\n", "period is too large"),
    ],
)
def test_errors(text: str, words: str) -> None:
    with pytest.raises(FormatError, match=words):
        loads_perf_script(text, "f.txt")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_perf_script(tmp_path / "missing.txt")


# -- fuzzing: only FormatError escapes -------------------------------------------------------------

ALPHABET = [*"ab 0123456789:/;()[]<>+x->\t\n#'\"L.-?", "cycles:", " ([kernel.kallsyms])"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=80).map("".join))
@example("a 0 1: 00 e:\n\t1 -> (m)\n\n")
@example("0 1 1.0: e:\n\t1 f (m)\n\n")
@example("a 1 1: e:\n\t1 +0x1 (m)\n\n")
def test_fuzz_text(text: str) -> None:
    with contextlib.suppress(FormatError):
        loads_perf_script(text)
    with contextlib.suppress(FormatError):
        collapse_perf_script(text, kernel=True, jit=True, addrs=True, tid=True)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        loads_perf_script(data.decode("utf-8", "replace"))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(INPUTS), st.integers(0, 10**6), st.integers(0, 200), st.binary(max_size=8))
def test_fuzz_mutated_files(name: str, cut: int, span: int, junk: bytes) -> None:
    text = text_of(name)
    at = cut % (len(text) + 1)
    mutated = text[:at] + junk.decode("latin-1") + text[at + span :]
    with contextlib.suppress(FormatError):
        p = loads_perf_script(mutated)
        assert p.total_samples >= 0


# -- the hand-written matchers: the script's patterns, in linear time ------------------------------

# The stackcollapse-perf.pl patterns as they were used here: right on short lines, but
# exponential (the first two) or quadratic on long runs of digits or spaces.
EVENT_RE = re.compile(r"^(\S.+?)\s+(\d+)/*(\d+)*\s+", re.ASCII)
PERIOD_EVENT_RE = re.compile(r":\s*(\d+)*\s+(\S+):\s*$", re.ASCII)
STACK_RE = re.compile(r"^\s*(\w+)\s*(.+) \((\S*)\)", re.ASCII)
GO_METHOD_RE = re.compile(r"\.\(.*\)\.")
LINE_ALPHABET = [*"ab_ 01:/()\t.\r\x0b-", " (", ") ", "0/1 ", ": ", ").", ".("]
LINES = st.lists(st.sampled_from(LINE_ALPHABET), max_size=24).map("".join)


def groups(m: re.Match[str] | None) -> tuple[str | None, ...] | None:
    return None if m is None else m.groups()


@settings(max_examples=3000, deadline=None)
@given(LINES)
@example("ab 1/2 x")
@example("a  1 ")
@example("a 1 ")
@example("ab 12/ x: 3 cycles: ")
@example("x: 5 a:b:")
@example(" 1 f (a) (b)")
@example("a  b (c)")
@example("ab (c)")
def test_matchers_agree_with_the_scripts_patterns(line: str) -> None:
    assert perf_script._event(line) == groups(EVENT_RE.search(line))
    assert perf_script._period_event(line) == groups(PERIOD_EVENT_RE.search(line))
    assert perf_script._stack(line) == groups(STACK_RE.search(line))
    assert perf_script._is_go_method(line) == (GO_METHOD_RE.search(line) is not None)


@pytest.mark.parametrize(
    "text",
    [
        "main;foo " + "1" * 5000 + "\n",  # a folded line with a long count: never ended
        "a " + "1" * 200_000 + "x\n\t1 f (m)\n",
        "a" + " " * 200_000 + "1x\n",
        "a 1 1: " + "1" * 200_000 + "x cycles:\n",
        "a 1 1:" + " " * 200_000 + "cycles :\n",
        "a 1 1: e:\n\t1 " + "a" * 200_000 + "\n",
        "a 1 1: e:\n\t1 f" + " (" * 100_000 + "\n",
        "a 1 1: e:\n\t1 f" + " (x" * 100_000 + "\n",
        "a 1 1: e:\n\t1 " + ".(" * 100_000 + " (m)\n",
    ],
    ids=lambda text: repr(text[:12]),
)
def test_long_runs_take_linear_time(tmp_path: Path, text: str) -> None:
    # Each took seconds to for ever with the patterns above; the child's time-out makes a
    # regression a failure rather than a hang.
    path = tmp_path / "long.perf.txt"
    path.write_text(text)
    outcome = run_bounded(
        f"""
        import contextlib
        from perftop.formats.errors import FormatError
        from perftop.formats.detect import read_any
        from perftop.formats.perf_script import collapse_perf_script, loads_perf_script
        text = open({str(path)!r}).read()
        for read in (read_any, loads_perf_script, collapse_perf_script):
            with contextlib.suppress(FormatError):
                read(text if read is not read_any else {str(path)!r})
        """,
        timeout_s=60,
    )
    assert outcome.error is None
