#!/usr/bin/env bash
# Installs perftop from this clone on a fresh Debian machine: Debian's python3-venv, linux-perf
# (perf: profiling native code, JIT runtimes and the kernel) and gdb (attaching the memory
# profiler to a running Python) when they are missing
# (through sudo unless already root: a root shell often has no sudo), then a virtualenv in
# .venv with perftop in it (and nvidia-ml-py where an NVIDIA driver is). Run perftop afterwards
# with .venv/bin/perftop.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v perf >/dev/null || need+=(linux-perf)
command -v gdb >/dev/null || need+=(gdb)  # memory profiling attaches with it
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check .
# Where an NVIDIA driver is installed, NVIDIA's management library for the GPU panel; perftop
# runs without it (no panel), so a package index without it is said, not fatal.
if [ -e /proc/driver/nvidia/version ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check '.[gpu]' \
        || echo "nvidia-ml-py did not install: perftop runs without its GPU panel" >&2
fi
echo "installed: run .venv/bin/perftop"
