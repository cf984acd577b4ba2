#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine and runs them:
# Debian packages (tmux, prometheus and openssh for the end-to-end tests; linux-perf, gcc and nodejs for the native
# profiling tests, which compile a C program and run a Node one; golang-go for the pprof tests, which build a Go
# program and read perftop's files with `go tool pprof`; python3-venv), a virtualenv with perftop and
# its test extras, then pytest on two workers (which also runs ruff and mypy, once each). Extra arguments go to
# pytest: `scripts/test.sh -m "not slow"` is the fast loop (faster still with `-n 4`, see README) (no tmux, py-spy, Prometheus or sshd; tests/conftest.py).
# One test at a time to each worker, longest first (tests/conftest.py orders them): the tests vary from milliseconds
# to minutes, and a long one handed out last would leave the other worker idle.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v prometheus >/dev/null || need+=(prometheus)
# The SSH end-to-end test starts its own sshd on loopback and connects with ssh.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || need+=(openssh-client)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# The perf backend's tests: perf itself, a C compiler for their target, Node for JIT frames.
command -v perf >/dev/null || need+=(linux-perf)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v node >/dev/null || command -v nodejs >/dev/null || need+=(nodejs)
# Memory profiling injects its tracker into a running Python with gdb.
command -v gdb >/dev/null || need+=(gdb)
# pprof: `go build` of a program that writes Go's own profiles, and `go tool pprof -top`.
command -v go >/dev/null || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest -n 2 --dist load --maxschedchunk 1 "$@"
