#!/usr/bin/env bash
# Regenerate vgg_lessons/assets/: the shipped VGG-11-BN (which is also the "before_relu" run
# of the batch-norm chapter) and the same training with BN after ReLU and without BN.
# Each run writes its config, command, per-epoch metrics and test results to
# vgg_lessons/assets/bn_placement_<placement>.json; the first also exports the model
# (vgg11_bn_cifar10.pt/.json) and its model card. About 9-10 minutes per run on 2 CPU cores.
#
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_assets.sh
#
# RUN_PREFIX is put before each command (e.g. RUN_PREFIX="flock /tmp/cpu.lock" to take
# turns with other jobs on a shared machine, so that wall times are honest).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${RUN_PREFIX:-}
common=(--arch A --width 0.25 --epochs 10 --batch-size 128 --lr 0.1 --weight-decay 5e-4
        --label-smoothing 0.1 --schedule onecycle --crop-padding 2 --flip alternate
        --whiten-first-conv --seed 0 --device cpu --threads 2 --no-progress)
assets=vgg_lessons/assets

$prefix python -m vgg_lessons.train "${common[@]}" --bn before_relu --out-dir runs/bn_before_relu \
  --save-metrics $assets/bn_placement_before_relu.json --export $assets/vgg11_bn_cifar10
python scripts/model_card.py vgg11_bn_cifar10
$prefix python -m vgg_lessons.train "${common[@]}" --bn after_relu --out-dir runs/bn_after_relu \
  --save-metrics $assets/bn_placement_after_relu.json
# Without batch norm the same recipe may diverge; the run then records how far it got and
# exits with status 1, which is a result for the chapter, not a failure of this script.
$prefix python -m vgg_lessons.train "${common[@]}" --bn none --out-dir runs/bn_none \
  --save-metrics $assets/bn_placement_none.json || true
