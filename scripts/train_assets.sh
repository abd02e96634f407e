#!/usr/bin/env bash
# Regenerate vgg_lessons/assets/: the shipped VGG-11-BN (which is also the "before_relu" run
# of the batch-norm chapter) and the same training with BN after ReLU and without BN.
# Each run writes its config, command, per-epoch metrics and test results to
# vgg_lessons/assets/bn_placement_<placement>.json; the first also exports the model
# (vgg11_bn_cifar10.pt/.json), whose model card is written at the end. About 9-10 minutes per run on 2 CPU cores.
# Last, the shipped run again with twice the epochs (about 18 minutes), for chapter 4's
# "twice the budget": vgg_lessons/assets/shipped_recipe_20_epochs.json.
#
# Then chapter 3's live experiment (VGG-11 at width 0.125, 2,000 images, 4 epochs) with
# three seeds per placement and a learning-rate sweep without batch norm, which the
# chapter's "how much do the live numbers vary" rests on: scripts/bn_seeds.py writes
# vgg_lessons/assets/bn_seeds.json (about a minute per run on 2 idle CPU cores).
#
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_assets.sh            # everything
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_assets.sh bn_seeds   # only chapter 3's short runs
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_assets.sh chapter7   # only chapter 7's records
# Each run replaces its own earlier run folder (--overwrite): the script regenerates them.
#
# RUN_PREFIX is put before each command (e.g. RUN_PREFIX="flock /tmp/cpu.lock" to take
# turns with other jobs on a shared machine, so that wall times are honest).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${RUN_PREFIX:-}
recipe() {  # the one recipe, for $1 epochs
  echo --arch A --width 0.25 --epochs "$1" --batch-size 128 --lr 0.1 --weight-decay 5e-4 \
    --label-smoothing 0.1 --schedule onecycle --crop-padding 2 --flip alternate \
    --whiten-first-conv --seed 0 --device cpu --threads 2 --no-progress
}
assets=vgg_lessons/assets
sections=${1:-all}

shipped_and_placements() {
$prefix python -m vgg_lessons.train $(recipe 10) --bn before_relu --overwrite --out-dir runs/bn_before_relu \
  --save-metrics $assets/bn_placement_before_relu.json --export $assets/vgg11_bn_cifar10
$prefix python -m vgg_lessons.train $(recipe 10) --bn after_relu --overwrite --out-dir runs/bn_after_relu \
  --save-metrics $assets/bn_placement_after_relu.json
# Without batch norm the same recipe may diverge; the run then records how far it got and
# exits with status 1, which is a result for the chapter, not a failure of this script.
$prefix python -m vgg_lessons.train $(recipe 10) --bn none --overwrite --out-dir runs/bn_none \
  --save-metrics $assets/bn_placement_none.json || true
$prefix python -m vgg_lessons.train $(recipe 20) --bn before_relu --overwrite --out-dir runs/recipe_20_epochs \
  --save-metrics $assets/shipped_recipe_20_epochs.json
python scripts/model_card.py vgg11_bn_cifar10  # last: the card cites the 20-epoch run
}

bn_seeds() {  # chapter 3: its live experiment with three seeds, and a no-BN lr sweep
  $prefix python scripts/bn_seeds.py $assets/bn_seeds.json
}

chapter7() {  # chapter 7: features reused (a 5-class network, probe vs scratch vs fine-tune)
  RUN_PREFIX="$prefix" scripts/train_chapter7_assets.sh
}

case $sections in
  all) shipped_and_placements; bn_seeds; chapter7 ;;
  shipped) shipped_and_placements ;;
  bn_seeds) bn_seeds ;;
  chapter7) chapter7 ;;
  *) echo "train_assets.sh: unknown section '$sections'; use all, shipped, bn_seeds or chapter7" >&2
     exit 2 ;;
esac
