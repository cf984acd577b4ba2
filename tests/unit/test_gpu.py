"""GPU reading through a fake of NVML's calls: no GPU needed."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from perftop.formats.recording import RecordingReader, RecordingWriter
from perftop.formats.snapshot import Snapshot, dumps_snapshot, loads_snapshot
from perftop.system import codec, fake_nvml
from perftop.system.codec import decode_system, encode_system
from perftop.system.fake import GIB, GPU_USERS
from perftop.system.gpu import GpuReader, fill_rows
from perftop.system.history import SystemHistory
from perftop.system.levels import Thresholds, levels_of
from perftop.system.samples import CpuSample, Level, MemorySample, SystemSample
from perftop.system.source import FakeSource
from perftop.ui.widgets.process_detail import render_detail


class NVMLError(Exception):
    """As pynvml's: NVML's return code in `value`."""

    def __init__(self, value: int, text: str) -> None:
        super().__init__(text)
        self.value = value


class FakeNvml:
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse

    def nvmlInit(self) -> None:
        if self.refuse:
            raise NVMLError(18, "Driver/library version mismatch")

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, i: int) -> Any:
        return i

    def nvmlDeviceGetUUID(self, h: Any) -> str:
        return "GPU-1"

    def nvmlDeviceGetName(self, h: Any) -> bytes:
        return b"NVIDIA H200"

    def nvmlDeviceGetUtilizationRates(self, h: Any) -> Any:
        return SimpleNamespace(gpu=42, memory=10)

    def nvmlDeviceGetMemoryInfo(self, h: Any) -> Any:
        return SimpleNamespace(used=2 << 30, total=8 << 30)

    def nvmlDeviceGetTemperature(self, h: Any, kind: int) -> int:
        return 55

    def nvmlDeviceGetPowerUsage(self, h: Any) -> int:
        return 150_000

    def nvmlDeviceGetEnforcedPowerLimit(self, h: Any) -> int:
        raise NVMLError(3, "Not Supported")

    def nvmlDeviceGetClockInfo(self, h: Any, kind: int) -> int:
        return 1980 if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetComputeRunningProcesses(self, h: Any) -> list[Any]:
        return [SimpleNamespace(pid=7, usedGpuMemory=1 << 30)]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: Any) -> list[Any]:
        return []

    def nvmlDeviceGetProcessUtilization(self, h: Any, since: int) -> list[Any]:
        return [SimpleNamespace(pid=7, smUtil=30)]


def test_reads_each_gpu_and_its_processes() -> None:
    reader = GpuReader(FakeNvml())
    (g,) = reader.sample()
    assert (g.name, g.util_percent, g.temperature_c, g.power_w) == (
        "NVIDIA H200",
        42.0,
        55.0,
        150.0,
    )
    assert g.power_limit_w is None and g.memory_percent == 25.0
    p = reader.processes()[7]
    assert (p.sm_percent, p.memory_bytes, p.gpus) == (30.0, 1 << 30, (0,))


def test_a_refusing_driver_is_one_line_and_reads_nothing() -> None:
    reader = GpuReader(FakeNvml(refuse=True))
    assert reader.sample() == () and reader.processes() == {}
    assert reader.error is not None and "mismatch" in reader.error and "\n" not in reader.error


def test_no_driver_no_import() -> None:
    assert GpuReader(present=lambda: False).sample() == ()


def test_gpus_survive_the_codec_and_old_ticks_decode() -> None:
    base = SystemSample(0.0, CpuSample(1, 1, 0, 0, (1.0,)), MemorySample(1, 1, 0, 0, 0, 0, 0, 0))
    with_gpu = SystemSample(0.0, base.cpu, base.memory, gpus=GpuReader(FakeNvml()).sample())
    assert decode_system(encode_system(with_gpu)) == with_gpu
    assert decode_system(encode_system(base)) == base


# -- through the fake NVML of the fake machine (fake_nvml.py): codes, not texts ---------------


def _reader(**kw: Any) -> tuple[GpuReader, fake_nvml.FakeNvml, list[int]]:
    tick = [0]
    nvml = fake_nvml.FakeNvml(2, lambda: tick[0], users=GPU_USERS, **kw)
    return GpuReader(nvml), nvml, tick


def test_a_figure_the_card_lacks_is_none_and_the_rest_is_read() -> None:
    reader, _, _ = _reader(unsupported=frozenset({"power", "power_limit", "clock"}))
    g, _ = reader.sample()
    assert g.power_w is None and g.power_limit_w is None and g.sm_clock_mhz is None
    assert g.util_percent is not None and g.memory_used_bytes and reader.error is None


def test_a_driver_refusing_at_start_is_said_once() -> None:
    reader, nvml, _ = _reader(refuse=fake_nvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH)
    assert reader.sample() == () and reader.processes() == {}
    line = reader.untold_error()
    assert line is not None and "version mismatch" in line and "\n" not in line
    assert reader.untold_error() is None, "said once"
    calls = nvml.calls
    reader.sample()
    assert nvml.calls == calls, "nothing more is asked of a refusing driver"


def test_a_driver_that_goes_away_mid_run_hides_the_gpus_after_one_line() -> None:
    source = FakeSource(nvml=lambda at: fake_nvml.FakeNvml(2, at, fail_after=3))
    notices = []
    for _ in range(6):
        sample = source.sample_system()
        source.sample_processes()
        notices.append(sample.notice)
        shown = sample.gpus
    assert shown == () and [n for n in notices if n] == [notices[3]]
    assert notices[3] is not None and "Insufficient Permissions" in notices[3]


def test_process_use_idle_users_read_zero_and_cards_without_accounting_dash() -> None:
    reader, nvml, _ = _reader()
    used = reader.processes()
    assert used[2301].gpus == (0,) and used[2302].gpus == (1,)
    assert used[2301].sm_percent is not None and used[2301].sm_percent > 50
    assert used[2301].memory_bytes == GPU_USERS[2301].memory_bytes
    nvml.unsupported = frozenset({"process_utilization"})
    assert reader.processes()[2301].sm_percent is None  # on a GPU, its use unknown: '-'
    idle = fake_nvml.FakeNvml(1, users={5: fake_nvml.FakeGpuUser(0, 0.0, 1 << 20)})
    idle.nvmlDeviceGetProcessUtilization = _not_found  # type: ignore[method-assign]
    assert GpuReader(idle).processes()[5].sm_percent == 0.0  # ran nothing in the window


def _not_found(h: int, since: int) -> list[Any]:
    raise fake_nvml.NVMLError(fake_nvml.NVML_ERROR_NOT_FOUND)


def test_several_samples_of_a_process_read_its_newest_and_garbage_is_dropped() -> None:
    nvml = fake_nvml.FakeNvml(1, users={9: fake_nvml.FakeGpuUser(0, 10.0, 1 << 20)})
    samples = [
        SimpleNamespace(pid=9, smUtil=v, timeStamp=t)
        for v, t in ((20, 1), (55, 3), (2**32 - 1, 4), (40, 2))
    ]
    nvml.nvmlDeviceGetProcessUtilization = lambda h, since: samples  # type: ignore[method-assign]
    assert GpuReader(nvml).processes()[9].sm_percent == 55.0


def test_memory_the_driver_does_not_know_is_unknown_not_huge() -> None:
    nvml = fake_nvml.FakeNvml(1)
    held = [
        SimpleNamespace(pid=3, usedGpuMemory=(1 << 64) - 1),
        SimpleNamespace(pid=4, usedGpuMemory=None),
    ]
    nvml.nvmlDeviceGetComputeRunningProcesses = lambda h: held  # type: ignore[method-assign]
    used = GpuReader(nvml).processes()
    assert used[3].memory_bytes is None and used[4].memory_bytes is None
    assert used[3].gpus == (0,)


def test_rows_get_their_gpu_use_and_lose_it_when_it_ends() -> None:
    source = FakeSource(gpus=2)
    source.sample_system()
    rows = source.sample_processes().rows
    assert rows[2301].gpu_indices == (0,) and rows[2301].gpu_memory_bytes == 18 * GIB
    assert rows[1].gpu_percent is None and rows[1].gpu_indices == ()
    written = fill_rows(rows, {}, {2301, 2302})
    assert written == set() and rows[2301].gpu_percent is None and rows[2301].gpu_indices == ()


def test_a_machine_without_gpus_asks_nothing() -> None:
    source = FakeSource()
    assert source.sample_system().gpus == () and source._system.gpu.active is False
    assert all(not r.gpu_indices for r in source.sample_processes().rows.values())


def test_the_detail_pane_lists_the_process_gpus() -> None:
    source = FakeSource(gpus=2)
    source.sample_system()
    source.sample_processes()
    detail = source.read_detail(2301)
    assert detail.gpus == (f"0 NVIDIA A100-SXM4-80GB ({source.sample_system().gpus[0].uuid})",)
    text = render_detail(detail).plain
    assert "GPU" in text and "memory 18G" in text and "A100-SXM4-80GB" in text
    assert source.read_detail(1).gpus == ()


def test_history_keeps_each_gpus_use_and_memory() -> None:
    source, history = FakeSource(gpus=2), SystemHistory(10)
    for _ in range(3):
        sample = source.sample_system()
        history.append(sample)
    assert history.series("gpu0.util").latest() == sample.gpus[0].util_percent
    assert history.series("gpu1.mem_percent").latest() == sample.gpus[1].memory_percent


def test_codec_v4_carries_the_rows_gpus_and_v3_ticks_read_none() -> None:
    source, encoder = FakeSource(gpus=2), codec.TickEncoder(keyframe_every=3)
    ticks = []
    for _ in range(5):
        sample, snapshot = source.sample_system(), source.sample_processes()
        ticks.append((snapshot, encoder.encode(sample, snapshot)))
    identities: dict[int, codec.Statics] = {}
    base = None
    for snapshot, tick in ticks:
        identities.update(tick.new_identities)
        if tick.keyframe:
            base = codec.tick_columns(tick.data, None)
        got = codec.tick_processes(tick.data, None if tick.keyframe else base, identities)
        assert got == snapshot and got.rows[2302].gpu_indices == (1,)
    old = copy.deepcopy(ticks[0][1].data)
    old[4] = 3
    old[3] = old[3][: 2 + 19]
    back = codec.tick_processes(old, None, identities)
    assert back.rows[2301].gpu_percent is None and back.rows[2301].gpu_indices == ()
    assert back.rows[2301].rss_bytes == ticks[0][0].rows[2301].rss_bytes


def test_a_snapshot_keeps_the_gpus_and_not_the_notice() -> None:
    source = FakeSource(gpus=2)
    sample = dataclasses.replace(source.sample_system(), notice="said once")
    processes = source.sample_processes()
    history = SystemHistory(5)
    history.append(sample)
    doc = json.loads(
        gzip.decompress(dumps_snapshot(Snapshot(1.0, "box", history, sample, processes)))
    )
    assert "notice" not in doc["sample"]
    back = loads_snapshot(gzip.compress(json.dumps(doc).encode()), "gpu.perftop")
    assert back.sample is not None and back.sample.gpus == sample.gpus
    assert back.sample.notice is None
    assert back.processes.rows[2301].gpu_indices == (0,)


def test_gpu_levels_follow_the_thresholds() -> None:
    sample = FakeSource(gpus=2).sample_system()
    hot = dataclasses.replace(sample.gpus[0], temperature_c=91.0, power_w=399.0)
    levels = levels_of(dataclasses.replace(sample, gpus=(hot, sample.gpus[1])), Thresholds())
    assert levels.gpus[0].temperature is Level.CRIT and levels.gpus[0].power is Level.CRIT
    assert levels.gpus[1].temperature is Level.OK


def test_a_recording_replays_the_gpus(tmp_path: Path) -> None:
    source, path = FakeSource(gpus=2), tmp_path / "gpu.rec"
    ticks = []
    with RecordingWriter(path, keyframe_every=3) as writer:
        for _ in range(5):
            tick = (source.sample_system(), source.sample_processes())
            writer.append(*tick)
            ticks.append(tick)
    reader = RecordingReader(path)
    for i, (sample, snapshot) in enumerate(ticks):
        assert reader.sample_at(i).gpus == sample.gpus
        assert reader.processes_at(i) == snapshot


def test_a_binding_without_a_call_reads_that_figure_as_unknown() -> None:
    class Old(fake_nvml.FakeNvml):
        def __getattribute__(self, name: str) -> Any:
            if name in ("nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetProcessUtilization"):
                raise AttributeError(name)
            return super().__getattribute__(name)

    reader = GpuReader(Old(1, users={5: fake_nvml.FakeGpuUser(0, 50.0, 1 << 30)}))
    (g,) = reader.sample()
    assert g.power_limit_w is None and g.power_w is not None and reader.error is None
    assert reader.processes()[5].sm_percent is None and reader.error is None


def test_gpu_use_stops_being_read_when_no_longer_shown_and_the_rows_clear() -> None:
    source = FakeSource(gpus=2)
    source.sample_system()
    assert source.sample_processes().rows[2301].gpu_indices == (0,), "asked for until told"
    source.want(net=False, wait=False, gpu=False)
    calls = source._system.gpu._nvml.calls
    source.sample_system()
    rows = source.sample_processes().rows
    assert rows[2301].gpu_indices == () and rows[2301].gpu_memory_bytes is None
    after = source._system.gpu._nvml.calls
    source.sample_processes()
    assert source._system.gpu._nvml.calls == after, "no per-process call while unshown"
    assert after > calls  # the GPUs themselves are read each tick for the panel
