#!/usr/bin/env bash
# The large-batch convergence study: every config (one spec here each) x every
# seed, one lb-train run at a time, then the plot and the results table
# (analysis/plot_convergence.py). See README.md beside this file.
#
#   experiments/large-batch-fmnist/run.sh            # the full study
#   EPOCHS=20 experiments/large-batch-fmnist/run.sh  # another E (use a new OUT)
#   SMOKE=1 experiments/large-batch-fmnist/run.sh    # end-to-end check, minutes
#
# Environment (all optional):
#   EPOCHS    E, the length of every run in epochs (--set train.epochs=E); default 5
#   SEEDS     seeds of every config (--set train.seed=S); default "1 2"
#   SPECS     directory of the config specs; default experiments/large-batch-fmnist
#             (tuning-e20/ beside it holds the E=20 tuning variants of d)
#   CONFIGS   spec names (file names without .json), in table order; default the
#             five of the study, or every spec in SPECS when SPECS is another directory
#   BASELINE  config the table's differences are taken to; default a-sgd-b256-fp32
#   OUT       where the runs go, OUT/<config>-s<seed>/; default runs/large-batch-fmnist
#             (SMOKE=1: /tmp/large-batch-fmnist-smoke)
#   LB_TRAIN  the lb-train binary; default build/bin/lb-train
#   PYTHON    interpreter with matplotlib; default /usr/bin/python3
#   EXTRA_SET extra lb-train arguments for every run, e.g. "--set train.threads=1"
#   SMOKE=1   tiny runs: the first 8192 training images, 1 epoch (1 step at batch
#             8192, 32 at 256), test set evaluated once; only checks the pipeline
#   RETRY_FAILED=1  rerun configs that failed before (e.g. diverged); by default
#             a run with a FAILED marker is skipped like a finished one
#
# A run whose summary.json exists is skipped, so an interrupted study resumes
# where it stopped: a run without summary.json (killed half-way) is started again
# from scratch, because lb-train's train_time_s counts one process only, and a
# --resume'd run would under-report its wall time in the table.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

study=experiments/large-batch-fmnist
here=${SPECS:-$study}
here=${here%/}
EPOCHS=${EPOCHS:-5}
SEEDS=${SEEDS:-"1 2"}
if [ "$here" = "$study" ]; then
  default_configs="a-sgd-b256-fp32 b-sgd-b8192-fp32 c-lars-b8192-fp32 d-lars-b8192-fp16 e-lars-b8192-fp16-decayall"
else
  default_configs=$(find "$here" -maxdepth 1 -name '*.json' -printf '%f\n' 2>/dev/null | sed 's/\.json$//' | sort | tr '\n' ' ')
fi
CONFIGS=${CONFIGS:-$default_configs}
BASELINE=${BASELINE:-a-sgd-b256-fp32}
LB_TRAIN=${LB_TRAIN:-build/bin/lb-train}
PYTHON=${PYTHON:-/usr/bin/python3}
EXTRA_SET=${EXTRA_SET:-}
SMOKE=${SMOKE:-0}
RETRY_FAILED=${RETRY_FAILED:-0}

common=()
if [ "$SMOKE" = 1 ]; then
  OUT=${OUT:-/tmp/large-batch-fmnist-smoke}
  EPOCHS=1
  common+=(--set data.train_subset=8192 --set train.log_every_steps=1
           --set train.checkpoint_every_epochs=0)
else
  OUT=${OUT:-runs/large-batch-fmnist}
fi
# shellcheck disable=SC2206  # EXTRA_SET is split on purpose
common+=(--set train.epochs="$EPOCHS" $EXTRA_SET)

if [ ! -x "$LB_TRAIN" ]; then
  echo "run.sh: $LB_TRAIN not found; build it (scripts/setup) or set LB_TRAIN" >&2
  exit 2
fi
[ -n "$CONFIGS" ] || { echo "run.sh: no spec in $here" >&2; exit 2; }
for c in $CONFIGS; do
  [ -f "$here/$c.json" ] || { echo "run.sh: no spec $here/$c.json" >&2; exit 2; }
done
mkdir -p "$OUT/logs"

echo "large-batch-fmnist: E=$EPOCHS epochs, seeds $SEEDS, into $OUT (lb-train: $LB_TRAIN)"
failed=0
start=$(date +%s)
for c in $CONFIGS; do
  for s in $SEEDS; do
    run="$c-s$s"
    dir="$OUT/$run"
    log="$OUT/logs/$run.log"
    if [ -f "$dir/summary.json" ]; then
      echo "[$run] done before, skipped"
      continue
    fi
    if [ -f "$dir/FAILED" ] && [ "$RETRY_FAILED" != 1 ]; then
      echo "[$run] failed before ($(head -n1 "$dir/FAILED")), skipped; RETRY_FAILED=1 reruns it"
      continue
    fi
    rm -rf "$dir"  # a half-finished run starts again from scratch (see the top)
    echo "[$run] training ($(date +%H:%M:%S))"
    "$LB_TRAIN" "$here/$c.json" --out "$dir" -q --set train.seed="$s" "${common[@]}" >"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
      echo "[$run] $(grep 'img/s' "$log" | tail -n1)"
    else
      failed=$((failed + 1))
      reason=$(grep -v '^\s*$' "$log" | tail -n1)
      mkdir -p "$dir"
      printf 'exit %s: %s\n' "$rc" "$reason" >"$dir/FAILED"
      echo "[$run] FAILED, exit $rc: $reason (log: $log)"
      [ $rc -eq 2 ] && { echo "run.sh: bad input, stopping" >&2; exit 2; }
    fi
  done
done
echo "large-batch-fmnist: runs took $(( $(date +%s) - start )) s, $failed failed"

# shellcheck disable=SC2086  # lists on purpose
"$PYTHON" analysis/plot_convergence.py --runs "$OUT" --specs "$here" --configs $CONFIGS \
  --seeds $SEEDS --baseline "$BASELINE" \
  --title "Large-batch convergence on Fashion-MNIST (E=$EPOCHS epochs$([ "$SMOKE" = 1 ] && echo ', SMOKE: 8192 images'))"
