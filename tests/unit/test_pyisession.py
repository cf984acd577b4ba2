"""pyinstrument sessions and HTML: round trips, threads, real pyinstrument files, bad input."""

from __future__ import annotations

import contextlib
import json
import stat
import threading
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyinstrument import Profiler
from pyinstrument.renderers.console import ConsoleRenderer
from pyinstrument.session import Session

from perftop.formats.errors import FormatError
from perftop.formats.folded import read_folded
from perftop.formats.pyisession import (
    DEFAULT_INTERVAL_S,
    dumps_pyisession,
    loads_pyisession,
    profile_to_session,
    read_pyisession,
    render_html,
    session_to_profile,
    write_html,
    write_pyisession,
)
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from tests.unit.test_formats import build, json_values, profiles, stacks_of

DATA = Path(__file__).parent.parent / "data"


# -- round trips -----------------------------------------------------------------------------------

# A frame info cannot hold pyinstrument's separators (see test_separators_...).
plain_profiles = profiles.filter(
    lambda entries: (
        not any(c in f.name for stack, _, _ in entries for f in stack for c in "\x00\x01")
    )
)


@settings(max_examples=100, deadline=None)
@given(plain_profiles, st.sampled_from([None, "100", "997", "250", "3", "junk", "0"]))
def test_round_trip_keeps_frames_threads_and_counts(
    entries: list[tuple[list[Frame], int, str]], rate: str | None
) -> None:
    p = build(entries)
    if rate is not None:
        p.metadata["rate_hz"] = rate
    back = session_to_profile(profile_to_session(p))
    assert stacks_of(back) == stacks_of(p)
    assert back.total_samples == p.total_samples
    again = loads_pyisession(dumps_pyisession(p))
    assert stacks_of(again) == stacks_of(p)
    assert {k: v for k, v in again.metadata.items() if k != "source"} == {
        **{k: v for k, v in p.metadata.items() if k != "source"},
        "rate_hz": again.metadata["rate_hz"],
    }


@pytest.mark.parametrize("interval", [0.01, 0.001, 1 / 3, 1 / 997, 7e-5, 2.5])
@pytest.mark.parametrize("count", [1, 3, 7, 10, 999, 123_456_789, 10**12 + 1])
def test_counts_survive_time_over_interval_rounding(interval: float, count: int) -> None:
    p = Profile()
    p.add_stack([Frame("f", "a.py", 1)], count)
    assert session_to_profile(profile_to_session(p, interval)).total_samples == count
    assert loads_pyisession(dumps_pyisession(p, interval)).total_samples == count


def test_interval_from_rate_metadata_else_default() -> None:
    p = Profile({"rate_hz": "250"})
    assert profile_to_session(p).min_interval == pytest.approx(0.004)
    assert profile_to_session(Profile()).min_interval == DEFAULT_INTERVAL_S
    assert profile_to_session(Profile({"rate_hz": "-5"})).min_interval == DEFAULT_INTERVAL_S
    assert profile_to_session(p, 0.5).min_interval == 0.5
    with pytest.raises(ValueError):
        profile_to_session(p, 0.0)


def test_threads_are_pyinstrument_thread_frames() -> None:
    p = read_folded(DATA / "pyspy-raw-threads.txt")
    session = profile_to_session(p)
    roots = {stack[0].split("\x00")[:2][0] for stack, _ in session.frame_records}
    assert roots == set(p.threads()) == {"MainThread", "Worker-1"}
    assert all(stack[0].split("\x00")[1] == "<thread>" for stack, _ in session.frame_records)
    back = session_to_profile(session)
    assert sorted(back.threads()) == sorted(p.threads())
    assert stacks_of(back) == stacks_of(p)


def test_separators_in_names_do_not_shift_fields() -> None:
    p = Profile()
    p.add_stack([Frame("a\x00b\x01c", "f\x00.py", 3)], 2, thread="T\x00x")
    back = session_to_profile(profile_to_session(p))
    (frame,) = back.frames
    assert (frame.filename, frame.line) == ("f\ufffd.py", 3) and back.total_samples == 2


# -- files -----------------------------------------------------------------------------------------


def test_pyinstrument_reads_our_file(tmp_path: Path) -> None:
    p = read_folded(DATA / "pyspy-raw-threads.txt")
    path = tmp_path / "out.pyisession"
    write_pyisession(p, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    session = Session.load(path)
    assert session.sample_count == p.total_samples
    text = ConsoleRenderer(unicode=False, color=False).render(session)
    assert "MainThread" in text and "Worker-1" in text
    assert stacks_of(read_pyisession(path)) == stacks_of(p)


def _busy(seconds: float) -> int:
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += sum(range(200))
    return n


def test_reads_a_real_pyinstrument_session(tmp_path: Path) -> None:
    profiler = Profiler(interval=0.001)
    profiler.start()
    _busy(0.1)
    session = profiler.stop()
    path = tmp_path / "real.pyisession"
    session.save(path)
    p = read_pyisession(path)
    assert p.threads() == [threading.current_thread().name]
    assert p.metadata["rate_hz"] == "1000"
    busy = [f for f in p.frames if f.name == "_busy"]
    assert busy and busy[0].filename == __file__ and busy[0].line > 0
    # Each record is ~one interval of time: counted in whole samples, never less than one.
    assert len(session.frame_records) <= p.total_samples
    assert p.total_samples == pytest.approx(session.duration / 0.001, rel=0.5)


def test_foreign_records_with_attributes_and_jitter() -> None:
    doc = {
        "start_time": 1.0,
        "duration": 0.01,
        "min_interval": 0.001,
        "max_interval": 0.001,
        "sample_count": 3,
        "start_call_stack": [],
        "target_description": "Program: app.py",
        "cpu_time": 0.0,
        "frame_records": [
            [["MainThread\x00<thread>\x00140", "run\x00/app.py\x0010\x01cWorker\x01l12"], 0.0012],
            [["MainThread\x00<thread>\x00140", "run\x00/app.py\x0010\x01l13"], 0.0004],
            [["solo"], 0.0031],
            [["zero\x00z.py\x00x"], 0.0],
        ],
    }
    p = loads_pyisession(json.dumps(doc), "f.pyisession")
    got = {(p.frame(ids[-1]), t): n for ids, n, t in p.stacks()}
    assert got == {
        (Frame("Worker.run", "/app.py", 10), "MainThread"): 1,
        (Frame("run", "/app.py", 10), "MainThread"): 1,  # under half an interval: still one
        (Frame("solo"), ""): 3,
    }
    assert p.metadata["command"] == "Program: app.py"


# -- HTML ------------------------------------------------------------------------------------------


def test_html_is_a_self_contained_page(tmp_path: Path) -> None:
    p = read_folded(DATA / "pyspy-raw-threads.txt")
    path = tmp_path / "out.html"
    write_html(p, path)
    page = path.read_text()
    assert page.lstrip().startswith("<!DOCTYPE html>") and "pyinstrumentHTMLRenderer" in page
    assert "<script src" not in page and "Worker-1" in page
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_html_escapes_names_that_would_close_the_script() -> None:
    p = Profile()
    p.add_stack([Frame("</script><script>alert(1)</script>", "a.py", 1)], 3)
    page = render_html(p)
    assert "alert(1)" in page and "<script>alert(1)" not in page
    assert page.count("</script>") == render_html(build([])).count("</script>")


def test_html_of_a_very_deep_stack() -> None:
    p = Profile()
    p.add_stack([Frame(f"f{i}", "a.py", i) for i in range(3000)], 2)
    assert "f2999" in render_html(p)


# -- bad input -------------------------------------------------------------------------------------

GOOD = json.loads(dumps_pyisession(read_folded(DATA / "pyspy-raw-threads.txt")))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"frame_records": None}, "no frame_records"),
        ({"frame_records": [[["a"]]]}, "not \\[stack, time\\]"),
        ({"min_interval": 5e-324}, "min_interval must be from"),  # 1 / it: OverflowError
        ({"min_interval": 1e300}, "min_interval must be from"),
        ({"frame_records": [[["a", 3], 1.0]]}, "not a list of strings"),
        ({"frame_records": [[["a"], "1"]]}, "time is not a number"),
        ({"frame_records": [[["a"], -1.0]]}, "non-negative"),
        ({"frame_records": [[["a"], 1e300]], "min_interval": 1e-9}, "too large"),
        ({"min_interval": 0}, "min_interval must be from"),
        ({"min_interval": "x"}, "not a number"),
        ({"min_interval": True}, "not a number"),
        ({"start_time": "x"}, "start_time"),
        ({"target_description": 3}, "target_description"),
    ],
)
def test_validation(change: dict[str, object], words: str) -> None:
    with pytest.raises(FormatError, match=words):
        loads_pyisession(json.dumps({**GOOD, **change}), "f.pyisession")


@pytest.mark.parametrize("text", ["", "not json", "[]", "3", "[" * 100_000, '{"a": 1e999999}'])
def test_not_a_session(text: str) -> None:
    with pytest.raises(FormatError):
        loads_pyisession(text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_pyisession(tmp_path)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        loads_pyisession(data.decode("utf-8", "replace"))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["frame_records", "min_interval", "start_time", "target_description"]),
    json_values,
    st.booleans(),
)
@example("frame_records", [[["x\x00y\x00" + "9" * 5000], 1.0]], False)
@example("frame_records", [[[], 0.5]], False)
def test_fuzz_structure(key: str, value: object, inside: bool) -> None:
    doc = json.loads(json.dumps(GOOD))
    if inside and key == "frame_records":
        doc["frame_records"][0][0][0] = value  # one frame info
    elif inside:
        doc["frame_records"][0][1] = value  # one record's time
    else:
        doc[key] = value
    with contextlib.suppress(FormatError):
        loads_pyisession(json.dumps(doc))


# -- time: wall duration, CPU time, and a root that lasts the duration -----------------------------


def threaded(samples: list[int], **metadata: str) -> Profile:
    """One thread per entry with that many samples, as `perftop record` builds them."""
    p = Profile(dict(metadata))
    for t, n in enumerate(samples):
        p.add_stack([Frame("main", "a.py", 1), Frame(f"work{t}", "a.py", 2)], n, f"t{t}")
    return p


def loaded(p: Profile, tmp_path: Path) -> Session:
    """`p` written as a .pyisession and loaded by pyinstrument itself."""
    path = tmp_path / "p.pyisession"
    write_pyisession(p, path)
    return Session.load(path)


def root_time(session: Session) -> float:
    return sum(seconds for _, seconds in session.frame_records)


def test_one_thread_lasts_its_samples_over_the_rate(tmp_path: Path) -> None:
    p = Profile({"rate_hz": "250"})
    p.add_stack([Frame("main", "a.py", 1)], 250)
    session = loaded(p, tmp_path)
    assert session.duration == pytest.approx(1.0)  # 250 samples at 250 Hz, not 2.5 s
    assert session.cpu_time == pytest.approx(1.0)
    assert root_time(session) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("samples", "metadata", "wall"),
    [
        ([500, 500, 500, 500], {"duration_s": "5.000"}, 5.0),
        ([500, 500, 500, 500], {}, 5.0),  # no duration: the busiest thread's ticks
        ([500, 120, 40], {}, 5.0),
        ([450, 450], {"duration_s": "5.000"}, 5.0),  # some ticks idle or lost
    ],
)
def test_threads_report_the_wall_time_and_their_cpu_time(
    tmp_path: Path, samples: list[int], metadata: dict[str, str], wall: float
) -> None:
    p = threaded(samples, rate_hz="100", **metadata)
    session = loaded(p, tmp_path)
    assert session.duration == pytest.approx(wall)  # was the threads' samples summed
    assert session.cpu_time == pytest.approx(sum(samples) / 100)  # was 0.000
    assert root_time(session) == pytest.approx(min(wall, sum(samples) / 100))
    back = loads_pyisession((tmp_path / "p.pyisession").read_text())
    assert stacks_of(back) == stacks_of(p)  # the counts survive the scaling
    assert back.metadata["rate_hz"] == "100"


def test_html_reports_the_wall_time(tmp_path: Path) -> None:
    p = threaded([6000, 6000, 5200], rate_hz="100", duration_s="60.000")
    page = render_html(p)
    # The page's script holds the session and its frame tree as JSON.
    assert '"duration": 60.0,' in page
    assert '"cpu_time": 172.0,' in page  # 287 % of a minute; was 0 %
    assert '{"identifier": "[root]","time": 60.000000,' in page  # was 172 s
