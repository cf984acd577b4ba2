"""Deterministic files' contents for the viewer, export and diff tests: a Snapshot of the fake
machine and two hand-built profiles whose differences are known by heart."""

from __future__ import annotations

from pathlib import Path

from perftop.app import AppConfig, PerftopApp
from perftop.formats.snapshot import Snapshot
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.system.fake import EPOCH, FakeProcessCollector, FakeSystemSampler
from perftop.system.history import SystemHistory
from perftop.system.source import SystemSource
from perftop.system.timeline import Timeline

HOST = "demo-host"  # the fake machine's own name
CREATED = EPOCH + 3600 + 15 * 60 + 3  # 2026-01-01 01:15:03 UTC

MAIN = Frame("main", "/srv/app/app.py", 1)
HANDLE = Frame("handle", "/srv/app/app.py", 20)
PARSE = Frame("parse", "/srv/app/parse.py", 5)
RENDER = Frame("render", "/srv/app/render.py", 9)
IDLE = Frame("idle", "/srv/app/app.py", 40)
CACHE = Frame("cache_lookup", "/srv/app/cache.py", 3)


def fake_snapshot(
    n_ticks: int = 40, profile: Profile | None = None, *, with_timeline: bool = False
) -> Snapshot:
    """`n_ticks` of the fake machine, as `perftop snapshot` would have saved them; with
    `with_timeline`, every tick too (to rewind through), as snapshots are saved now."""
    system, processes = FakeSystemSampler(), FakeProcessCollector()
    history = SystemHistory(3600)
    timeline = Timeline(3600)
    sample = None
    table = processes.sample()
    for _ in range(n_ticks):
        sample = system.sample()
        history.append(sample)
        table = processes.sample()
        timeline.append(sample, table)
    return Snapshot(
        created=CREATED,
        hostname=HOST,
        history=history,
        sample=sample,
        processes=table,
        profile=profile,
        profile_title="PID 4242 python3 app.py" if profile is not None else "",
        timeline=timeline if with_timeline else None,
    )


def base_profile() -> Profile:
    """100 samples: parse 50 %, render 30 %, idle 20 %."""
    p = Profile({"pid": "4242"})
    p.add_stack([MAIN, HANDLE, PARSE], 50)
    p.add_stack([MAIN, HANDLE, RENDER], 30)
    p.add_stack([MAIN, IDLE], 20)
    return p


def new_profile() -> Profile:
    """200 samples: parse 20 % (-30), render 60 % (+30), cache 20 % (new), idle gone (-20)."""
    p = Profile({"pid": "4243"})
    p.add_stack([MAIN, HANDLE, PARSE], 40)
    p.add_stack([MAIN, HANDLE, RENDER], 120)
    p.add_stack([MAIN, CACHE], 40)
    return p


class NoSource:
    """A source that fails the test if an offline app ever samples the live machine."""

    made = 0

    def __init__(self) -> None:
        NoSource.made += 1
        raise AssertionError("an offline app sampled the machine")


def no_source() -> SystemSource:
    return NoSource()  # type: ignore[return-value]


def offline_app(export_dir: Path | None = None, **fields: object) -> PerftopApp:
    config = AppConfig(delay_s=3600, export_dir=export_dir)
    for name, value in fields.items():
        setattr(config, name, value)
    return PerftopApp(no_source, config)
