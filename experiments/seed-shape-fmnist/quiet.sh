#!/usr/bin/env bash
# quiet.sh CMD...: runs CMD with the study's processes stopped (SIGSTOP) and
# continues them after (SIGCONT), also when CMD fails or is interrupted, so
# that a measurement (validate_runtime.py, a benchmark, CI) has the machine to
# itself without losing the study's runs half-way. The stopped runs' wall time
# (wall.json) then includes the pause: it is an upper bound for those runs.
set -uo pipefail
# Anchored at the start of the command line: a process whose arguments only
# mention the study (this script's own, with such a CMD) is not the study.
pids() { pgrep -f '^[^ ]*python3? [^ ]*seed-shape-fmnist/study\.py|^[^ ]*lb-train [^ ]*seed-shape-fmnist/' || true; }
stopped=$(pids)
[ -n "$stopped" ] && kill -STOP $stopped
trap '[ -n "$stopped" ] && kill -CONT $stopped 2>/dev/null' EXIT
"$@"
