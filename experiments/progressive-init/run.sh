#!/bin/sh
# Progressive initialization on Fashion-MNIST at batch 3072 (issue 26 item 3).
# Per seed, 10 epochs of images each way:
#   cold:   10 epochs fp32 from the seed's random weights (common.json);
#   source:  2 epochs fp16 (the cheap low-precision run, its own short schedule);
#   warm:    8 epochs fp32 started from the source's weights (train.init_from).
# Usage: run.sh LB_TRAIN OUTDIR SEED cold|chain
set -eu
lb=$1; out=$2; seed=$3; what=$4
spec=$(dirname "$0")/common.json
if [ "$what" = cold ]; then
  exec $lb $spec --out $out/cold-s$seed -q --set train.seed=$seed
fi
$lb $spec --out $out/source-s$seed -q --set train.seed=$seed --set train.epochs=2 \
  --set train.precision=fp16 --set train.loss_scale.mode=dynamic --set optimizer.lr.warmup_epochs=1
$lb $spec --out $out/warm-s$seed -q --set train.seed=$seed --set train.epochs=8 \
  --set optimizer.lr.warmup_epochs=1 --set train.init_from=$out/source-s$seed
