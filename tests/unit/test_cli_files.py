"""The file commands without a terminal: `record`, `snapshot`, `view` and `diff`.

Bad input is one line and exit code 2, found before any sampling; `record`'s loop (with a
scripted backend) keeps what it collected however it ends; `snapshot` writes a file that reads
back. The real py-spy is exercised in tests/e2e/test_record.py.
"""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pytest

from perftop import cli, cli_args
from perftop.commands import common, snapshot
from perftop.commands import record as record_command
from perftop.formats.detect import read_any
from perftop.formats.export import write_profile
from perftop.formats.snapshot import Snapshot, read_snapshot
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    Batch,
    NotPython,
    ProfilerBackend,
    ProfilerError,
    ProfilerOptions,
    ThreadStack,
)
from perftop.system.samples import ProcessSnapshot
from perftop.system.source import FakeSource
from perftop.ui.start import DiffOfFiles, ProfileFile, SnapshotFile


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:  # argparse's own errors leave through SystemExit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.startswith("perftop: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


@pytest.fixture(autouse=True)
def no_tty_bypass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERFTOP_ALLOW_NO_TTY", raising=False)


@pytest.fixture
def no_profiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attach is a failure: these errors must come before profiling starts."""

    def refuse(self: object, pid: int, options: ProfilerOptions) -> None:
        raise AssertionError("profiling started before the bad input was found")

    monkeypatch.setattr("perftop.profiling.pyspy.PySpyBackend.start", refuse)


def a_profile(name: str = "hot", count: int = 10) -> Profile:
    profile = Profile({"source": "test"})
    profile.add_stack([Frame("main", "app.py", 1), Frame(name, "app.py", 5)], count)
    return profile


# --- argument errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["record"], "give its PID"),
        (["record", "abc"], "invalid int value: 'abc'"),
        (["record", "1", "-d", "soon"], "invalid duration 'soon'"),
        (["record", "1", "-d", "0"], "out of range"),
        (["record", "1", "--pid", "2"], "two PIDs"),
        (["record", "1", "-r", "0"], "sampling rate 0 Hz out of range"),
        (["record", "1", "--native", "--nonblocking"], "native"),
        (["record", "0", "-o", "x.folded"], "no process with PID 0"),
        (["snapshot", "-d", "-3"], "out of range"),
        (["snapshot", "-d", "2 days"], "invalid duration"),
        (["view"], "FILE"),
        (["diff", "only-one.folded"], "NEW"),
    ],
)
def test_argument_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], no_profiling: None, args: list[str], needle: str
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, needle)
    assert out == ""


def test_flags_before_the_subcommand_are_kept() -> None:
    args = cli_args.build_parser().parse_args(["-r", "250", "--gil", "record", "42", "--idle"])
    assert (args.target_pid, args.rate, args.gil, args.idle, args.native) == (
        42,
        250,
        True,
        True,
        False,
    )


def test_durations_take_units() -> None:
    assert cli_args.parse_seconds("30") == 30.0
    assert cli_args.parse_seconds("1.5s") == 1.5
    assert cli_args.parse_seconds("2m") == 120.0
    assert cli_args.parse_seconds("1h") == 3600.0


# --- output paths, checked before any sampling ----------------------------------------------


def test_unsupported_extension_is_refused_before_profiling(
    capsys: pytest.CaptureFixture[str], no_profiling: None, tmp_path: Path
) -> None:
    out = tmp_path / "profile.xyz"
    code, _, err = run_cli(capsys, "record", str(os.getpid()), "-o", str(out))
    assert_one_line_error(code, err, "profile.xyz", ".folded")
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing-dir/out.folded", "a-file/out.folded", "a-dir"])
def test_unwritable_output_is_refused_before_profiling(
    capsys: pytest.CaptureFixture[str], no_profiling: None, tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-dir").mkdir()
    code, _, err = run_cli(capsys, "record", str(os.getpid()), "-o", str(tmp_path / where))
    assert_one_line_error(code, err, where.split("/")[0])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_read_only_directory_is_refused(
    capsys: pytest.CaptureFixture[str], no_profiling: None, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = run_cli(capsys, "record", str(os.getpid()), "-o", str(locked / "p.folded"))
    assert_one_line_error(code, err, "cannot write")


def test_snapshot_refuses_a_profile_extension_and_a_missing_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    started = time.monotonic()
    code, _, err = run_cli(capsys, "--demo", "snapshot", "-o", str(tmp_path / "s.folded"))
    assert_one_line_error(code, err, "s.folded", ".perftop")
    code, _, err = run_cli(capsys, "--demo", "snapshot", "-o", str(tmp_path / "no/s.perftop"))
    assert_one_line_error(code, err, "does not exist")
    assert time.monotonic() - started < 2, "refused at once, not after sampling for 5 s"
    assert list(tmp_path.iterdir()) == []


def test_default_names() -> None:
    when = time.mktime((2024, 3, 5, 14, 7, 9, 0, 0, -1))
    named = record_command.default_record_path(42, when)
    assert named == "perftop-42-20240305-140709.speedscope.json"
    named = record_command.default_record_path(None, when)
    assert named == "perftop-all-20240305-140709.speedscope.json"
    named = snapshot.default_snapshot_path(False, when)
    assert named.startswith("perftop-snapshot-") and named.endswith("-20240305-140709.perftop")
    assert len(named) > len("perftop-snapshot-20240305-140709.perftop")
    assert snapshot.default_snapshot_path(True, when) == "perftop-snapshot-20240305-140709.perftop"


# --- view and diff read their files before the TUI ------------------------------------------


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "garbage": tmp_path / "garbage.folded",
        "binary": tmp_path / "binary.speedscope.json",
        "empty": tmp_path / "empty.txt",
        "dir": tmp_path / "dir.folded",
        "missing": tmp_path / "missing.folded",
    }
    files["garbage"].write_text("this is not ; a profile at all\n")
    files["binary"].write_bytes(b"\x00\xff{not json")
    files["empty"].write_text("")
    files["dir"].mkdir()
    return files


@pytest.mark.parametrize("kind", ["garbage", "binary", "empty", "dir", "missing"])
def test_view_of_a_bad_file_is_one_line(
    capsys: pytest.CaptureFixture[str], bad_files: dict[str, Path], kind: str
) -> None:
    path = bad_files[kind]
    code, _, err = run_cli(capsys, "view", str(path))
    assert_one_line_error(code, err, path.name)
    assert "needs a terminal" not in err  # the file is judged first


def test_diff_names_the_bad_side(
    capsys: pytest.CaptureFixture[str], bad_files: dict[str, Path], tmp_path: Path
) -> None:
    good = tmp_path / "good.folded"
    write_profile(a_profile(), good)
    code, _, err = run_cli(capsys, "diff", str(good), str(bad_files["garbage"]))
    assert_one_line_error(code, err, "garbage.folded")
    code, _, err = run_cli(capsys, "diff", str(bad_files["missing"]), str(good))
    assert_one_line_error(code, err, "missing.folded")


def test_diff_of_a_snapshot_without_a_profile_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    snap = tmp_path / "s.perftop"
    assert snapshot.snapshot(str(snap), 0.02, source=FakeSource(), tick_s=0.01) == 0
    good = tmp_path / "good.folded"
    write_profile(a_profile(), good)
    code, _, err = run_cli(capsys, "diff", str(snap), str(good))
    assert_one_line_error(code, err, "s.perftop", "no profile")


def test_good_files_reach_the_app(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[object] = []

    class FakeApp:
        return_code = 0

        def __init__(self, source: object, config: object) -> None:
            started.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr("perftop.app.PerftopApp", FakeApp)
    # The real ones would end this test process's children and refuse new ones for good.
    monkeypatch.setattr("perftop.children.install_signal_handlers", lambda *a: None)
    monkeypatch.setattr("perftop.children.terminate_all", lambda *a, **k: None)
    base, new, snap = tmp_path / "base.folded", tmp_path / "new.speedscope.json", tmp_path / "s"
    write_profile(a_profile("old", 5), base)
    write_profile(a_profile("new", 7), new)
    assert snapshot.snapshot(str(snap), 0.02, source=FakeSource(), tick_s=0.01) == 0

    code, _, err = run_cli(capsys, "view", str(base))
    assert_one_line_error(code, err, "needs a terminal")  # the TTY check stays for the TUI
    monkeypatch.setenv("PERFTOP_ALLOW_NO_TTY", "1")
    assert run_cli(capsys, "view", str(base))[0] == 0
    assert run_cli(capsys, "view", str(snap))[0] == 0
    assert run_cli(capsys, "diff", str(base), str(new))[0] == 0

    viewed, snapped, diffed = (c.start for c in started)  # type: ignore[attr-defined]
    assert isinstance(viewed, ProfileFile) and viewed.profile.total_samples == 5
    assert viewed.title == "base.folded"
    assert isinstance(snapped, SnapshotFile) and isinstance(snapped.snapshot, Snapshot)
    assert isinstance(diffed, DiffOfFiles)
    assert (diffed.base.total_samples, diffed.new.total_samples) == (5, 7)
    assert diffed.title == "base.folded → new.speedscope.json"


# --- snapshot -------------------------------------------------------------------------------


def test_snapshot_command_writes_a_readable_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "machine.perftop"
    code, out, err = run_cli(capsys, "--demo", "snapshot", "-d", "1", "-o", str(path))
    assert code == 0, err
    assert str(path) in out and "1 tick of" in out
    snap = read_snapshot(path)
    assert len(snap.history) == 1
    assert snap.sample is not None and snap.processes.rows
    assert isinstance(read_any(path), Snapshot)
    assert path.stat().st_mode & 0o077 == 0  # process lists are private


def test_snapshot_ticks_and_redaction(tmp_path: Path) -> None:
    path = tmp_path / "r.perftop"
    out = io.StringIO()
    code = snapshot.snapshot(
        str(path), 0.05, redact=True, source=FakeSource(), tick_s=0.01, out=out
    )
    assert code == 0
    snap = read_snapshot(path)
    assert len(snap.history) == 5
    assert snap.redacted
    assert "redacted" in out.getvalue()


def test_snapshot_stopped_by_a_signal_keeps_its_ticks(tmp_path: Path) -> None:
    path = tmp_path / "early.perftop"
    err = io.StringIO()
    before = signal.getsignal(signal.SIGTERM)

    class TermAfter(FakeSource):
        """SIGTERM to this process at its 4th process table: mid-snapshot, whatever the load
        (the first reading is the baseline, then ticks 1..3)."""

        taken = 0

        def sample_processes(self) -> ProcessSnapshot:
            self.taken += 1
            if self.taken == 4:
                os.kill(os.getpid(), signal.SIGTERM)
            return super().sample_processes()

    code = snapshot.snapshot(str(path), 30, source=TermAfter(), tick_s=0.1, err=err)
    assert code == 0
    assert "stopped by SIGTERM" in err.getvalue()
    assert len(read_snapshot(path).history) == 3, "the ticks taken before it, not 300"
    # The handlers are the test process's own again.
    assert signal.getsignal(signal.SIGTERM) is before


# --- record's loop, with a scripted backend -------------------------------------------------


class ScriptedBackend(ProfilerBackend):
    """Delivers one batch of `per_batch` samples every `every` seconds; `stop` leaves one
    more (the cut-short last recording), as PySpyBackend does."""

    def __init__(
        self, every: float = 0.05, exit_after: int | None = None, fail_after: int | None = None
    ) -> None:
        self.every, self.exit_after, self.fail_after = every, exit_after, fail_after
        self.delivered = 0
        self.stopped = False
        self._next = 0.0
        self._ended = False
        self._tail: list[Batch | ProfilerError] = []

    def _batch(self, exited: bool = False) -> Batch:
        self.delivered += 1
        return Batch(a_profile("work", 3), wall_s=self.every, samples=3, errors=0,
                     target_exited=exited)  # fmt: skip

    def start(self, pid: int, options: ProfilerOptions) -> None:
        self._next = time.monotonic() + self.every

    def next_batch(self, timeout: float) -> Batch | None:
        if self._tail:
            item = self._tail.pop(0)
            if isinstance(item, ProfilerError):
                raise item
            return item
        if self._ended:
            return None
        time.sleep(max(0.0, min(timeout, self._next - time.monotonic())))
        if time.monotonic() < self._next:
            return None
        self._next += self.every
        if self.fail_after is not None and self.delivered >= self.fail_after:
            self._ended = True
            raise ProfilerError("py-spy session failed: boom")
        exited = self.exit_after is not None and self.delivered + 1 >= self.exit_after
        self._ended = exited
        return self._batch(exited)

    def stop(self) -> None:
        if not self.stopped and not self._ended:
            self._tail.append(self._batch())
        self.stopped = True
        self._ended = True

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        return []

    @property
    def coverage(self) -> float:
        return 1.0

    @property
    def running(self) -> bool:
        return not self._ended or bool(self._tail)


def record(
    tmp_path: Path, backend: ProfilerBackend, duration: float | None, name: str = "p.folded"
) -> tuple[int, str, str, Path]:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / name
    code = record_command.record(
        4242, ProfilerOptions(), str(path), duration, backend=backend, out=out, err=err
    )
    return code, out.getvalue(), err.getvalue(), path


def test_record_for_a_duration_merges_every_batch(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    code, out, err, path = record(tmp_path, backend, 0.5)
    assert code == 0, err
    assert backend.stopped
    profile = read_any(path)
    assert isinstance(profile, Profile)
    assert profile.total_samples == 3 * backend.delivered >= 3 * 8
    assert f"{profile.total_samples} samples" in out and str(path) in out and "(folded)" in out
    assert err == ""


class CtrlCAfter(ScriptedBackend):
    """Presses Ctrl-C (SIGINT to this process) once it has delivered `batches`: while the
    command is recording, whatever the machine's load, rather than after a guessed delay."""

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.batches = batches

    def next_batch(self, timeout: float) -> Batch | None:
        batch = super().next_batch(timeout)
        if batch is not None and self.delivered == self.batches:
            os.kill(os.getpid(), signal.SIGINT)
        return batch


def test_record_ctrl_c_stops_early_and_still_writes(tmp_path: Path) -> None:
    backend = CtrlCAfter(3)
    # As in a terminal. A background job (`... &`, as scripts/test-under-load.sh may be run)
    # inherits SIGINT ignored, and record rightly leaves an ignored SIGINT ignored.
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGINT)
    try:
        # 30 s: a bound, so that a Ctrl-C that went astray fails the test instead of hanging.
        code, _, err, path = record(tmp_path, backend, 30)
    finally:
        after = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, ignored)
    assert code == 0
    assert backend.stopped and backend.delivered == 4, "stopped at once: 3, then the last"
    assert "stopped by Ctrl-C" in err
    profile = read_any(path)
    assert isinstance(profile, Profile)
    assert profile.total_samples == 3 * backend.delivered > 0  # the cut-short batch too
    assert after is before


def test_record_target_exit_writes_and_says_so(tmp_path: Path) -> None:
    code, _, err, path = record(tmp_path, ScriptedBackend(exit_after=4), 30)
    assert code == 0
    assert "PID 4242 exited" in err
    profile = read_any(path)
    assert isinstance(profile, Profile) and profile.total_samples == 12


def test_record_failure_midway_keeps_what_was_collected(tmp_path: Path) -> None:
    code, _, err, path = record(tmp_path, ScriptedBackend(fail_after=3), 30)
    assert code == 1
    assert "boom" in err
    profile = read_any(path)
    assert isinstance(profile, Profile) and profile.total_samples == 9


def test_record_refused_target_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    class Refusing(ScriptedBackend):
        def start(self, pid: int, options: ProfilerOptions) -> None:
            raise NotPython(f"PID {pid} is not a Python process")

    with pytest.raises(common.UsageError, match="not a Python process"):
        record(tmp_path, Refusing(), 1)
    assert list(tmp_path.iterdir()) == []


def test_record_to_a_directory_that_vanished_saves_to_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "gone"
    target.mkdir()
    fallback = tmp_path / "tmp"
    fallback.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(fallback))

    class Vanishing(ScriptedBackend):
        def stop(self) -> None:
            super().stop()
            target.rmdir()

    code, out, err, _ = record(target, Vanishing(), 0.2)
    assert code == record_command.EXIT_FALLBACK, "the asked-for file was not written"
    assert "saved to" in err and str(fallback / "p.folded") in out
    assert isinstance(read_any(fallback / "p.folded"), Profile)
    assert (fallback / "p.folded").stat().st_mode & 0o777 == 0o600


def test_the_fallback_never_replaces_a_file_already_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "gone"
    target.mkdir()
    fallback = tmp_path / "tmp"
    fallback.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(fallback))
    theirs = fallback / "p.folded"
    theirs.write_text("someone else's\n")
    theirs.chmod(0o666)
    elsewhere = tmp_path / "elsewhere"
    (fallback / "p-1.folded").symlink_to(elsewhere)  # a planted link is not followed either

    class Vanishing(ScriptedBackend):
        def stop(self) -> None:
            super().stop()
            target.rmdir()

    code, out, err, _ = record(target, Vanishing(), 0.2)
    assert code == record_command.EXIT_FALLBACK and "saved to" in err
    assert theirs.read_text() == "someone else's\n" and not elsewhere.exists()
    written = fallback / "p-2.folded"
    assert str(written) in out and isinstance(read_any(written), Profile)
    assert written.stat().st_mode & 0o777 == 0o600


def test_the_non_python_target_is_refused_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import subprocess

    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        out = str(tmp_path / "x.txt")
        code, _, err = run_cli(
            capsys, "record", str(sleeper.pid), "--profiler", "py-spy", "-o", out
        )
        assert_one_line_error(code, err, "not a Python process")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert list(tmp_path.iterdir()) == []


def test_record_of_native_code_goes_to_perf(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auto: a process that is not Python is recorded with perf (here a scripted stand-in)."""
    import subprocess

    from perftop.profiling import backends

    made: list[str] = []

    def scripted(name: str) -> backends.BackendSpec:
        def factory() -> ProfilerBackend:
            made.append(name)
            return ScriptedBackend()

        return backends.BackendSpec(name, factory, backends.BACKENDS[name].preflight)

    monkeypatch.setattr(backends, "BACKENDS", {n: scripted(n) for n in backends.BACKENDS})
    sleeper = subprocess.Popen(["sleep", "30"])
    path = tmp_path / "x.folded"
    try:
        code, out, err = run_cli(capsys, "record", str(sleeper.pid), "-d", "0.3", "-o", str(path))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert code == 0, err
    assert made == ["perf"]
    assert "wrote" in out and path.exists()


def test_record_all_samples_every_cpu(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perftop.profiling import backends
    from perftop.profiling.session import ProfileSession

    asked: list[ProfilerOptions] = []

    def machine(options: ProfilerOptions) -> ProfileSession:
        asked.append(options)
        return ProfileSession(0, options, ScriptedBackend, command="all CPUs", source="perf")

    monkeypatch.setattr(backends, "new_machine_session", machine)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "record", "--all", "-d", "0.3", "--dwarf")
    assert code == 0, err
    (written,) = tmp_path.glob("perftop-all-*.speedscope.json")
    assert str(written.name) in out
    assert [(o.backend, o.dwarf) for o in asked] == [("perf", True)]
    profile = read_any(written)
    assert isinstance(profile, Profile) and profile.total_samples > 0


def test_record_all_with_a_scripted_backend_is_perf_on_all_cpus(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "box.speedscope.json"
    options = ProfilerOptions(backend="perf")
    code = record_command.record(
        None, options, str(path), 0.3, backend=ScriptedBackend(), out=out, err=err
    )
    assert code == 0, err.getvalue()
    assert f"wrote {path}" in out.getvalue()
    profile = read_any(path)
    assert isinstance(profile, Profile) and profile.total_samples > 0
    assert profile.metadata["command"] == "all CPUs"


def test_record_a_pid_that_is_gone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "record", "999999999", "-o", str(tmp_path / "x.folded"))
    assert_one_line_error(code, err, "999999999")


def test_headless_commands_never_import_textual(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from perftop.commands import record, snapshot\n"
        "from perftop.system.source import FakeSource\n"
        f"snapshot.snapshot({str(tmp_path / 's.perftop')!r}, 0.02, source=FakeSource(),"
        " tick_s=0.01, progress=True)\n"
        f"record.check_profile_output({str(tmp_path / 'p.folded')!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "s.perftop").exists()


# --- recordings: `--record FILE` and `perftop view` of one --------------------------------


def _recording(path: Path, ticks: int) -> None:
    from perftop.formats.recording import RecordingWriter

    source = FakeSource()
    with RecordingWriter(path) as writer:
        for _ in range(ticks):
            writer.append(source.sample_system(), source.sample_processes())


def test_record_limit_takes_a_size_or_an_age() -> None:
    parse = cli_args.parse_record_limit
    assert parse("50M") == (50 * 1024 * 1024, None)
    assert parse("1g") == (1024**3, None)
    assert parse("500KB") == (500 * 1024, None)
    assert parse("2h") == (None, 7200.0)
    assert parse("30min") == (None, 1800.0)
    assert parse("7d") == (None, 7 * 86400.0)
    for bad in ("", "5", "0M", "-1h", "10K", "5s", "2 weeks", "M"):
        with pytest.raises(Exception, match="invalid limit"):
            parse(bad)


def test_record_errors_are_one_line_before_the_tui(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = tmp_path / "p.folded"
    profile.write_text("main;work 3\n")
    code, _, err = run_cli(capsys, "--record", str(profile), "--demo")
    assert_one_line_error(code, err, "not a perftop recording")
    assert profile.read_text() == "main;work 3\n", "a file that is not a recording is untouched"

    code, _, err = run_cli(capsys, "--record", str(tmp_path / "no" / "such" / "dir.rec"))
    assert_one_line_error(code, err, "dir.rec")

    rec = tmp_path / "box.rec"
    _recording(rec, 3)
    code, _, err = run_cli(capsys, "--record", str(tmp_path / "new.rec"), "view", str(rec))
    assert_one_line_error(code, err, "--record does not go with perftop view")

    code, _, err = run_cli(capsys, "--record", str(rec), "--record-limit", "3 parsecs")
    assert_one_line_error(code, err, "invalid limit")


def test_view_opens_a_recording_and_refuses_broken_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rec = tmp_path / "box.rec"
    _recording(rec, 5)
    code, _, err = run_cli(capsys, "view", str(rec))
    # Everything about the file was fine: only the missing terminal stops it.
    assert_one_line_error(code, err, "needs a terminal")

    empty = tmp_path / "empty.rec"
    _recording(empty, 0)
    code, _, err = run_cli(capsys, "view", str(empty))
    assert_one_line_error(code, err, "holds no ticks")

    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t(x)")
    code, _, err = run_cli(capsys, "view", str(other))
    assert_one_line_error(code, err, "not a perftop recording")

    code, _, err = run_cli(capsys, "diff", str(rec), str(rec))
    assert_one_line_error(code, err, "is a perftop recording", "perftop view")
