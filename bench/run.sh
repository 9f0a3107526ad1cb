#!/usr/bin/env bash
# The one command of bench/: builds lb-bench if needed, then runs largebatch
# and PyTorch side by side (bench/compare.py) and prints the table.
#
#   bench/run.sh                      # the default run (~15 min on 2 cores)
#   LB_BENCH_ROUNDS=5 bench/run.sh    # more rounds
#   bench/run.sh --models lenet_bn --batches 64 --steps-scale 0.3   # a smoke run
#
# Environment: LB_BUILD_DIR (default build), LB_BENCH_ROUNDS (default 3),
# LB_BENCH_JOBS (build parallelism, default 2). Other arguments go to
# compare.py (see bench/compare.py --help).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LB_BUILD_DIR:-$root/build}"
export LB_BUILD_DIR="$build"

# Configure only a fresh build directory; an existing one keeps its settings.
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# Always ask the build tool: a no-op when lb-bench is current, and a rebuilt
# runtime must not be benchmarked with a stale binary.
cmake --build "$build" --target lb-bench -j "${LB_BENCH_JOBS:-2}" >/dev/null

exec /usr/bin/python3 "$root/bench/compare.py" --lb-bench "$build/bin/lb-bench" "$@"
