"""Levels belong to the model: worked out from the sample and the config's thresholds."""

from __future__ import annotations

import dataclasses

import pytest

from perftop.config import loads_config
from perftop.system.fake import FakeSystemSampler
from perftop.system.levels import Band, Thresholds, levels_of
from perftop.system.samples import Level, TempSample


def test_default_thresholds() -> None:
    sample = FakeSystemSampler().sample()
    cpu = sample.cpu._replace(
        total_percent=90.0, per_core_percent=(10.0, 60.0, 85.0, 59.9), iowait_percent=6
    )
    s = dataclasses.replace(
        sample,
        cpu=cpu,
        load_avg=(4.0, 1.0, 1.0),
        core_count=4,
        temps=(TempSample("cpu", 90.0, high_c=80.0, critical_c=95.0), TempSample("nvme", 40.0)),
    )
    levels = levels_of(s, Thresholds())
    assert levels.cpu is Level.CRIT
    assert levels.cores == (Level.OK, Level.WARN, Level.CRIT, Level.OK)
    assert levels.iowait is Level.WARN
    assert levels.load is Level.CRIT, "4.0 on 4 cores is a full machine"
    assert levels.temps == (Level.WARN, Level.OK), "each sensor's own limits"


def test_the_configs_thresholds_decide() -> None:
    config, problems = loads_config("[thresholds]\nmemory = [5, 10]\ncpu = [99, 100]\n")
    assert problems == []
    thresholds = config.thresholds()
    assert thresholds.memory == Band(5.0, 10.0) and thresholds.cpu == Band(99.0, 100.0)
    sample = FakeSystemSampler().sample()  # memory ~30 % used
    assert levels_of(sample, thresholds).memory is Level.CRIT
    assert levels_of(sample, Thresholds()).memory is Level.OK


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cpu = [90, 80]", "warn 90 is above crit 80"),
        ("cpu = [50]", "expected [warn, crit]"),
        ("memory = [10, 200]", "out of range"),
        ("load = 3", "expected [warn, crit]"),
    ],
)
def test_a_bad_threshold_is_one_problem_and_keeps_the_default(line: str, message: str) -> None:
    config, problems = loads_config(f"[thresholds]\n{line}\n", "c.toml")
    assert len(problems) == 1 and message in str(problems[0]) and "c.toml:2" in str(problems[0])
    assert config.thresholds() == Thresholds()
