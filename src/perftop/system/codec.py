"""Compact, lossless plain-data form of a tick (a SystemSample and a ProcessSnapshot).

The in-memory `Timeline` and the on-disk recording store the same bytes: `pack` turns the
plain data (lists, numbers, strings, None: JSON) into a zlib-compressed blob and `unpack`
reverses it. Decoding never trusts its input: a bad shape raises `ValueError` with a reason.

Process tables dominate the size, so they are delta-encoded:

- *Identities.* What does not change while a process lives (pid, ppid, name, user,
  start_time, cmdline, container, cgroups) is interned once under a small integer id; frames
  carry the id. A process whose ppid, name, command line or cgroup changes (reparenting,
  exec, a move) simply gets a new identity, so nothing is lost.
- *Keyframes.* Every `keyframe_every` ticks the whole table is written as columns: ids,
  then the dynamic fields (`DYNAMIC_FIELDS`).
- *Deltas.* Other ticks hold only what differs **from their keyframe** (not from the
  previous tick): the keyframe slots that are gone, per dynamic field the (slot, value)
  pairs that differ, and full columns for processes the keyframe did not have. Any tick
  therefore decodes from two frames (its keyframe and itself) whatever its position in
  the group: ~0.5-1.2 ms for a random lookup with ~480 processes, where a chain of
  tick-to-tick deltas would apply up to 59 deltas. Values that change once inside a
  group repeat in its later deltas; zlib absorbs most of that.

Floats are kept exactly (JSON round-trips Python floats), so a replay equals the live run.
Row order inside a snapshot is not kept (the table sorts anyway; the dicts compare equal).

Versions. A tick says which it is: version 1 (`[system, process timestamp, core count,
frame]`, eight dynamic fields, six-field identities, a ten-field system sample) is what
perftop wrote before the network, wait and cgroup figures; version 2 appends `2` and the
snapshot's `net_at`, the four dynamic fields after the first eight (NET rx/tx, WAIT%, BLKIO%),
the container and cgroups to the identities, and the pressure and container samples to the
system sample. Version 3 has the same parts and seven dynamic fields more, htop's columns
(TIME+, PRI, VIRT, SHR, TTY, MINFLT, MAJFLT); version 4 (`CODEC_VERSION`) three more, each
process's GPU use (GPU%, GPU MEM, its GPUs as a bit mask). Every version decodes; an older
tick's newer figures are None (shown `-`), so every older recording and snapshot still replays.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perftop.system.pressure import Pressure, PressureLine, PressureSet
from perftop.system.samples import (
    ContainerSample,
    CpuSample,
    DiskSample,
    GpuSample,
    MemorySample,
    NetSample,
    ProcessRow,
    ProcessSnapshot,
    SystemSample,
    TempSample,
)

# A decompressed tick is a few hundred KiB at most; a blob claiming far more is hostile.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
CODEC_VERSION = 4
DYNAMIC_FIELDS = (
    "state",
    "cpu_percent",
    "mem_percent",
    "rss_bytes",
    "num_threads",
    "read_bytes_per_s",
    "write_bytes_per_s",
    "nice",
    # version 2
    "net_rx_bytes_per_s",
    "net_tx_bytes_per_s",
    "wait_percent",
    "blkio_percent",
    # version 3
    "cpu_time_s",
    "priority",
    "virt_bytes",
    "shared_bytes",
    "tty_nr",
    "minor_faults",
    "major_faults",
    # version 4: NVML's per-process figures; the GPUs a process is on as a bit mask
    "gpu_percent",
    "gpu_memory_bytes",
    "gpu_mask",
)
_FIELDS_OF_VERSION = {1: 8, 2: 12, 3: 19, 4: len(DYNAMIC_FIELDS)}  # a version's dynamic fields
KEYFRAME, DELTA = 0, 1

# (pid, ppid, name, user, start_time, cmdline, container, cgroups): what an identity id
# stands for (a version 1 identity has the first six; it decodes with "" and ()).
Statics = tuple[int, int, str, str, float, str, str, tuple[str, ...]]
# A table as columns: identity ids, then one list per DYNAMIC_FIELDS entry (an older
# version's tick decoded with the fields it lacks all None).
Columns = tuple[list[Any], ...]


def _is_int(x: object) -> bool:
    return type(x) is int


def _is_num(x: object) -> bool:
    return type(x) is float or type(x) is int


def _is_opt_num(x: object) -> bool:
    return x is None or type(x) is float or type(x) is int


def _is_str(x: object) -> bool:
    return type(x) is str


def _is_opt_int(x: object) -> bool:
    return x is None or type(x) is int


# One predicate per column of `Columns`: ids, then DYNAMIC_FIELDS in order.
_COLUMN_CHECKS: tuple[Callable[[object], bool], ...] = (
    _is_int,
    _is_str,
    _is_num,
    _is_num,
    _is_int,
    _is_int,
    _is_opt_num,
    _is_opt_num,
    _is_int,
    _is_opt_num,
    _is_opt_num,
    _is_opt_num,
    _is_opt_num,
    _is_opt_num,  # version 3: cpu_time_s
    _is_opt_int,
    _is_opt_int,
    _is_opt_int,
    _is_opt_int,
    _is_opt_int,
    _is_opt_int,
    _is_opt_num,  # version 4: gpu_percent
    _is_opt_int,
    _is_opt_int,  # gpu_mask: None in an older tick (no GPUs)
)


def _list(x: object, what: str, length: int | None = None) -> list[Any]:
    if type(x) is not list:
        raise ValueError(f"{what}: expected a list, got {type(x).__name__}")
    if length is not None and len(x) != length:
        raise ValueError(f"{what}: expected {length} items, got {len(x)}")
    return x


def _check(x: object, ok: Callable[[object], bool], what: str) -> Any:
    if not ok(x):
        raise ValueError(f"{what}: unexpected value {x!r:.40}")
    return x


# -- system samples ------------------------------------------------------------------------


def _values(obj: object) -> list[Any]:
    """A sample's fields in declaration order (the decoder checks each one)."""
    return [getattr(obj, name) for name in _FIELDS[type(obj)]]


_FIELDS: dict[type, tuple[str, ...]] = {
    # NamedTuples (a tenth of a frozen dataclass's cost to define, on every start-up)...
    **{
        cls: cls._fields
        for cls in (CpuSample, MemorySample, DiskSample, NetSample, TempSample, ContainerSample)
    },
    # ...but a GPU's, whose `index` a tuple's own method would shadow.
    GpuSample: tuple(f.name for f in dataclasses.fields(GpuSample)),
}


def _line(p: PressureLine | None) -> list[Any] | None:
    return None if p is None else [p.avg10, p.avg60, p.avg300, p.total_us]


def _pressure(p: PressureSet | None) -> list[Any] | None:
    if p is None:
        return None
    return [
        None if r is None else [_line(r.some), _line(r.full)]
        for r in (p.cpu, p.memory, p.io, p.irq)
    ]


def encode_system(s: SystemSample) -> list[Any]:
    """A SystemSample as nested lists, fields in declaration order."""
    cpu = _values(s.cpu)
    cpu[4] = list(cpu[4])  # per_core_percent
    c = s.container
    return [
        s.timestamp,
        cpu,
        _values(s.memory),
        [_values(d) for d in s.disks],
        [_values(n) for n in s.nets],
        [_values(t) for t in s.temps],
        list(s.load_avg),
        s.uptime_s,
        s.core_count,
        s.hostname,
        _pressure(s.pressure),
        None if c is None else _values(c),
        *([[_values(g) for g in s.gpus]] if s.gpus else []),
    ]


def _decode_line(x: object) -> PressureLine | None:
    if x is None:
        return None
    a10, a60, a300, total = _list(x, "pressure line", 4)
    for v in (a10, a60, a300):
        _check(v, _is_num, "pressure average")
    _check(total, _is_int, "pressure total")
    return PressureLine(a10, a60, a300, total)


def _decode_pressure(x: object) -> PressureSet | None:
    if x is None:
        return None
    found: list[Pressure | None] = []
    for r in _list(x, "pressure", 4):
        if r is None:
            found.append(None)
            continue
        some, full = _list(r, "pressure resource", 2)
        found.append(Pressure(_decode_line(some), _decode_line(full)))
    return PressureSet(*found)


def _decode_container(x: object) -> ContainerSample | None:
    if x is None:
        return None
    how, cores, cpu, limit, used = _list(x, "container", 5)
    _check(how, _is_str, "container how")
    _check(cores, _is_opt_num, "container cores")
    _check(cpu, _is_opt_num, "container cpu")
    _check(limit, _is_opt_int, "container memory limit")
    _check(used, _is_opt_int, "container memory")
    return ContainerSample(how, cores, cpu, limit, used)


def _device(x: object, what: str) -> tuple[str, list[Any]]:
    d = _list(x, what, 7)
    _check(d[0], _is_str, f"{what} name")
    for v in d[1:5]:
        _check(v, _is_num, f"{what} rate")
    for v in d[5:]:
        _check(v, _is_int, f"{what} total")
    return d[0], d[1:]


def decode_system(data: object) -> SystemSample:
    """The inverse of `encode_system` (or a version 1 tick's ten fields); ValueError for
    anything else."""
    fields = _list(data, "system")
    if len(fields) == 10:
        fields = [*fields, None, None]
    if len(fields) == 12:  # a tick without GPUs (every tick before them)
        fields = [*fields, []]
    ts, cpu, mem, disks, nets, temps, load, uptime, cores, host, psi, own, gpus = _list(
        fields, "system", 13
    )
    c = _list(cpu, "cpu", 7)
    for v in c[:4]:
        _check(v, _is_num, "cpu percent")
    per_core = [_check(v, _is_num, "core percent") for v in _list(c[4], "cores")]
    m = [_check(v, _is_int, "memory bytes") for v in _list(mem, "memory", 8)]
    load_avg = [_check(v, _is_num, "load average") for v in _list(load, "load", 3)]
    disk_samples = []
    for x in _list(disks, "disks"):
        name, v = _device(x, "disk")
        disk_samples.append(DiskSample(name, *v))
    net_samples = []
    for x in _list(nets, "nets"):
        name, v = _device(x, "net")
        net_samples.append(NetSample(name, *v))
    temp_samples = []
    for x in _list(temps, "temps"):
        t = _list(x, "temp", 4)
        _check(t[0], _is_str, "temp label")
        _check(t[1], _is_num, "temp value")
        _check(t[2], _is_opt_num, "temp high")
        _check(t[3], _is_opt_num, "temp critical")
        temp_samples.append(TempSample(*t))
    return SystemSample(
        timestamp=_check(ts, _is_num, "timestamp"),
        cpu=CpuSample(
            total_percent=c[0],
            user_percent=c[1],
            system_percent=c[2],
            iowait_percent=c[3],
            per_core_percent=tuple(per_core),
            freq_mhz=_check(c[5], _is_opt_num, "cpu freq"),
            freq_max_mhz=_check(c[6], _is_opt_num, "cpu max freq"),
        ),
        memory=MemorySample(*m),
        disks=tuple(disk_samples),
        nets=tuple(net_samples),
        temps=tuple(temp_samples),
        load_avg=(load_avg[0], load_avg[1], load_avg[2]),
        uptime_s=_check(uptime, _is_num, "uptime"),
        core_count=_check(cores, _is_int, "core count"),
        hostname=_check(host, _is_str, "hostname"),
        pressure=_decode_pressure(psi),
        container=_decode_container(own),
        gpus=tuple(_decode_gpu(g) for g in _list(gpus, "gpus")),
    )


def _decode_gpu(x: object) -> GpuSample:
    g = _list(x, "gpu", 11)
    _check(g[0], _is_int, "gpu index")
    for v in g[1:3]:
        _check(v, _is_str, "gpu name")
    for v in g[3:]:
        _check(v, _is_opt_num, "gpu figure")
    for v in g[4:6]:
        _check(v, _is_opt_int, "gpu memory")
    return GpuSample(*g)


# -- identities ----------------------------------------------------------------------------


def encode_statics(s: Statics) -> list[Any]:
    return [*s[:7], list(s[7])]


def _is_paths(x: object) -> bool:
    return type(x) is list and all(type(p) is str for p in x)


def decode_statics(data: object) -> Statics:
    """An identity, version 2's eight fields or version 1's six (no container, no cgroups)."""
    fields = _list(data, "identity")
    if len(fields) == 6:
        fields = [*fields, "", []]
    pid, ppid, name, user, start, cmdline, container, cgroups = _list(fields, "identity", 8)
    return (
        _check(pid, _is_int, "identity pid"),
        _check(ppid, _is_int, "identity ppid"),
        _check(name, _is_str, "identity name"),
        _check(user, _is_str, "identity user"),
        _check(start, _is_num, "identity start time"),
        _check(cmdline, _is_str, "identity cmdline"),
        _check(container, _is_str, "identity container"),
        tuple(_check(cgroups, _is_paths, "identity cgroups")),
    )


def _identity(r: ProcessRow) -> Statics:
    return (r.pid, r.ppid, r.name, r.user, r.start_time, r.cmdline, r.container, r.cgroups)


# -- ticks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedTick:
    """One tick as plain data, plus what its store must know to keep identities.

    `data` is `[system, process timestamp, core count, frame, CODEC_VERSION, net_at]`.
    `new_identities` are the
    ids this tick defines; `referenced` is every id the tick uses when it is a keyframe
    (the store marks them as alive in this group), else the new ids only.
    """

    timestamp: float
    keyframe: bool
    data: list[Any]
    new_identities: dict[int, Statics] = field(default_factory=dict)
    referenced: tuple[int, ...] = ()


class TickEncoder:
    """Turns a stream of ticks into keyframes and deltas; one encoder per store.

    Its memory is bounded by the processes of one keyframe group: at each keyframe the
    intern table keeps only the identities still present (a process that vanishes and
    returns later is given a new id, which costs a few bytes and nothing else).
    """

    def __init__(self, keyframe_every: int = 60, first_identity: int = 0) -> None:
        if keyframe_every < 1:
            raise ValueError("keyframe_every must be at least 1")
        self.keyframe_every = keyframe_every
        self._next_id = first_identity
        self._until_key = 0  # ticks left before the next keyframe; 0: next one is
        self._intern: dict[Statics, int] = {}
        self._slot: dict[int, int] = {}  # identity id → its slot in the keyframe
        self._base: list[tuple[Any, ...]] = []  # the keyframe's dynamic values, by slot

    @property
    def next_identity(self) -> int:
        return self._next_id

    def _id(self, key: Statics, new: dict[int, Statics]) -> int:
        ident = self._intern.get(key)
        if ident is None:
            ident = self._intern[key] = self._next_id
            self._next_id += 1
            new[ident] = key
        return ident

    def encode(self, sample: SystemSample, snapshot: ProcessSnapshot) -> EncodedTick:
        keyframe = self._until_key <= 0
        new: dict[int, Statics] = {}
        if keyframe:
            self._until_key = self.keyframe_every
            old, self._intern = self._intern, {}
            ids: list[int] = []
            dyn: list[tuple[Any, ...]] = []
            for r in snapshot.rows.values():
                key = _identity(r)
                ident = old.get(key)
                if ident is not None:
                    self._intern[key] = ident
                else:
                    ident = self._id(key, new)
                ids.append(ident)
                dyn.append(_dynamic(r))
            self._slot = {ident: slot for slot, ident in enumerate(ids)}
            self._base = dyn
            frame: list[Any] = [KEYFRAME, ids, *(list(col) for col in zip(*dyn, strict=True))]
            if not dyn:
                frame = [KEYFRAME, [], *([] for _ in DYNAMIC_FIELDS)]
            referenced = tuple(ids)
        else:
            frame = self._delta(snapshot, new)
            referenced = tuple(new)
        self._until_key -= 1
        data = [
            encode_system(sample),
            snapshot.timestamp,
            snapshot.core_count,
            frame,
            CODEC_VERSION,
            snapshot.net_at,
        ]
        return EncodedTick(sample.timestamp, keyframe, data, new, referenced)

    def _delta(self, snapshot: ProcessSnapshot, new: dict[int, Statics]) -> list[Any]:
        base, slots = self._base, self._slot
        seen = bytearray(len(base))
        patches: list[tuple[list[int], list[Any]]] = [([], []) for _ in DYNAMIC_FIELDS]
        added: list[tuple[Any, ...]] = []
        for r in snapshot.rows.values():
            ident = self._id(_identity(r), new)
            dyn = _dynamic(r)
            slot = slots.get(ident)
            if slot is None:
                added.append((ident, *dyn))
                continue
            seen[slot] = 1
            was = base[slot]
            if dyn != was:
                for f, (now, then) in enumerate(zip(dyn, was, strict=True)):
                    if now != then:
                        patches[f][0].append(slot)
                        patches[f][1].append(now)
        gone = [slot for slot, hit in enumerate(seen) if not hit]
        if added:
            cols = [list(col) for col in zip(*added, strict=True)]
        else:
            cols = [[] for _ in range(1 + len(DYNAMIC_FIELDS))]
        return [DELTA, gone, [[s, v] if s else [] for s, v in patches], cols]


def _dynamic(r: ProcessRow) -> tuple[Any, ...]:
    return (
        r.state,
        r.cpu_percent,
        r.mem_percent,
        r.rss_bytes,
        r.num_threads,
        r.read_bytes_per_s,
        r.write_bytes_per_s,
        r.nice,
        r.net_rx_bytes_per_s,
        r.net_tx_bytes_per_s,
        r.wait_percent,
        r.blkio_percent,
        r.cpu_time_s,
        r.priority,
        r.virt_bytes,
        r.shared_bytes,
        r.tty_nr,
        r.minor_faults,
        r.major_faults,
        r.gpu_percent,
        r.gpu_memory_bytes,
        _mask(r.gpu_indices),
    )


def _mask(indices: tuple[int, ...]) -> int:
    mask = 0
    for i in indices:
        mask |= 1 << i
    return mask


def _indices(mask: int | None) -> tuple[int, ...]:
    if not mask or mask < 0:
        return ()
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


def _columns(x: object, what: str, version: int) -> Columns:
    """A version's columns, checked, with the fields it lacks added as None."""
    fields = _FIELDS_OF_VERSION[version]
    cols = _list(x, what, 1 + fields)
    n = len(_list(cols[0], what))
    names = ("id", *DYNAMIC_FIELDS[:fields])
    for col, ok, name in zip(cols, _COLUMN_CHECKS, names, strict=False):
        if len(_list(col, f"{what} {name}")) != n:
            raise ValueError(f"{what}: column {name} has {len(col)} values, not {n}")
        if not all(map(ok, col)):
            raise ValueError(f"{what}: bad value in column {name}")
    return (*cols, *([None] * n for _ in DYNAMIC_FIELDS[fields:]))


def _parts(data: object) -> tuple[Any, Any, Any, list[Any], int, float | None]:
    """(system, process timestamp, core count, frame, version, net_at) of a tick."""
    tick = _list(data, "tick")
    if len(tick) == 4:  # version 1
        system, ts, cores, frame = tick
        version, net_at = 1, None
    else:
        system, ts, cores, frame, version, net_at = _list(tick, "tick", 6)
        # A six-part tick is version 2 or later; a version 1 tick has four parts.
        if type(version) is not int or version not in _FIELDS_OF_VERSION or version < 2:
            raise ValueError(f"tick: version {version!r:.20} is not one this perftop reads")
        _check(net_at, _is_opt_num, "network read time")
    _check(ts, _is_num, "process timestamp")
    _check(cores, _is_int, "process core count")
    return system, ts, cores, _list(frame, "frame"), version, net_at


def tick_system(data: object) -> SystemSample:
    """The SystemSample of an encoded tick."""
    return decode_system(_parts(data)[0])


def tick_columns(data: object, base: Columns | None) -> Columns:
    """The process table of an encoded tick as columns.

    `base` is `tick_columns` of the tick's keyframe (None when the tick is a keyframe).
    """
    _, _, _, frame, version, _ = _parts(data)
    fields = _FIELDS_OF_VERSION[version]
    if not frame:
        raise ValueError("frame: empty")
    if frame[0] == KEYFRAME:
        return _columns(_list(frame, "keyframe", 2 + fields)[1:], "keyframe", version)
    if frame[0] != DELTA:
        raise ValueError("frame: unknown kind")
    if base is None:
        raise ValueError("delta frame without its keyframe")
    if len(base) != 1 + len(DYNAMIC_FIELDS):
        raise ValueError("delta frame: its keyframe is not decoded columns")
    _, gone, patches, added = _list(frame, "delta", 4)
    n = len(base[0])
    cols = [list(col) for col in base]
    for f, patch in enumerate(_list(patches, "patches", fields)):
        if not _list(patch, "patch"):
            continue
        at, values = _list(patch, "patch", 2)
        if len(_list(at, "patch slots")) != len(_list(values, "patch values")):
            raise ValueError("patch: slots and values differ in length")
        if not all(_is_int(s) and 0 <= s < n for s in at):
            raise ValueError("patch: slot out of range")
        if not all(map(_COLUMN_CHECKS[f + 1], values)):
            raise ValueError(f"patch: bad value for {DYNAMIC_FIELDS[f]}")
        col = cols[f + 1]
        for s, v in zip(at, values, strict=True):
            col[s] = v
    drop = _list(gone, "gone")
    if drop:
        if not all(_is_int(s) and 0 <= s < n for s in drop):
            raise ValueError("gone: slot out of range")
        keep = bytearray(b"\x01") * n
        for s in drop:
            keep[s] = 0
        cols = [[v for v, k in zip(col, keep, strict=True) if k] for col in cols]
    for col, extra in zip(cols, _columns(added, "added", version), strict=True):
        col.extend(extra)
    return tuple(cols)


def tick_processes(
    data: object, base: Columns | None, identities: Mapping[int, Statics]
) -> ProcessSnapshot:
    """The ProcessSnapshot of an encoded tick; see `tick_columns` for `base`."""
    _, ts, cores, _, _, net_at = _parts(data)
    return snapshot_from_columns(ts, cores, tick_columns(data, base), identities, net_at)


def snapshot_from_columns(
    timestamp: float,
    core_count: int,
    cols: Columns,
    identities: Mapping[int, Statics],
    net_at: float | None = None,
) -> ProcessSnapshot:
    rows: dict[int, ProcessRow] = {}
    for ident, state, cpu, mem, rss, threads, rd, wr, nice, rx, tx, wait, blkio, *rest in zip(
        *cols, strict=True
    ):
        time_s, priority, virt, shared, tty, minflt, majflt, gpu, gpu_memory, gpu_mask = rest
        statics = identities.get(ident)
        if statics is None:
            raise ValueError(f"unknown process identity {ident}")
        pid, ppid, name, user, start, cmdline = statics[:6]
        container, cgroups = (statics[6], statics[7]) if len(statics) > 6 else ("", ())
        rows[pid] = ProcessRow(
            pid,
            ppid,
            name,
            user,
            state,
            cpu,
            mem,
            rss,
            threads,
            rd,
            wr,
            start,
            cmdline,
            nice,
            rx,
            tx,
            wait,
            blkio,
            container,
            cgroups,
            cpu_time_s=time_s,
            priority=priority,
            virt_bytes=virt,
            shared_bytes=shared,
            tty_nr=tty,
            minor_faults=minflt,
            major_faults=majflt,
            gpu_percent=gpu,
            gpu_memory_bytes=gpu_memory,
            gpu_indices=_indices(gpu_mask),
        )
    return ProcessSnapshot(timestamp, rows, core_count, net_at)


# -- bytes ---------------------------------------------------------------------------------


def pack(data: object, level: int = 6) -> bytes:
    """Plain data → compact JSON → zlib. Strings stay ASCII-escaped so that undecodable
    command-line bytes (lone surrogates from os.fsdecode) round-trip too."""
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode("ascii"), level)


def unpack(blob: bytes) -> Any:
    """The inverse of `pack`; ValueError for a blob that is not one (or would be huge)."""
    d = zlib.decompressobj()
    try:
        raw = d.decompress(blob, MAX_UNPACKED_BYTES)
    except zlib.error as e:
        raise ValueError(f"not compressed data ({e})") from None
    if d.unconsumed_tail:
        raise ValueError("record expands beyond the size limit")
    if not d.eof:
        raise ValueError("record is truncated")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"not a tick ({type(e).__name__})") from None
