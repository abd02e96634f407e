#!/usr/bin/env bash
# Regenerate vgg_lessons/assets/: the shipped VGG-11-BN (which is also the "before_relu" run
# of the batch-norm chapter) and the same training with BN after ReLU and without BN.
# Each run writes its config, command, per-epoch metrics and test results to
# vgg_lessons/assets/bn_placement_<placement>.json; the first also exports the model
# (vgg11_bn_cifar10.pt/.json), whose model card is written at the end. About 9-10 minutes per run on 2 CPU cores.
# Last, the shipped run again with twice the epochs (about 18 minutes), for chapter 4's
# "twice the budget": vgg_lessons/assets/shipped_recipe_20_epochs.json.
#
# Then chapter 3's short runs (2 epochs each, about 2 minutes per run): a learning-rate
# sweep without batch norm (seed 0; the rate with the lowest final training loss wins,
# so the test set plays no part in the choice), then three seeds for each placement, the
# no-BN ones at the chosen rate. scripts/bn_seeds.py reduces them to one small record,
# vgg_lessons/assets/bn_seeds.json.
#
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_assets.sh            # everything
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_assets.sh bn_seeds   # only chapter 3's short runs
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
$prefix python -m vgg_lessons.train $(recipe 10) --bn before_relu --out-dir runs/bn_before_relu \
  --save-metrics $assets/bn_placement_before_relu.json --export $assets/vgg11_bn_cifar10
$prefix python -m vgg_lessons.train $(recipe 10) --bn after_relu --out-dir runs/bn_after_relu \
  --save-metrics $assets/bn_placement_after_relu.json
# Without batch norm the same recipe may diverge; the run then records how far it got and
# exits with status 1, which is a result for the chapter, not a failure of this script.
$prefix python -m vgg_lessons.train $(recipe 10) --bn none --out-dir runs/bn_none \
  --save-metrics $assets/bn_placement_none.json || true
$prefix python -m vgg_lessons.train $(recipe 20) --bn before_relu --out-dir runs/recipe_20_epochs \
  --save-metrics $assets/shipped_recipe_20_epochs.json
python scripts/model_card.py vgg11_bn_cifar10  # last: the card cites the 20-epoch run
}

bn_seeds() {  # chapter 3: seeds and the no-BN learning rate, 2 epochs per run
  local runs=runs/bn_seeds epochs=2 lr seed bn sweep=()
  mkdir -p $runs
  short() {  # $1 placement, $2 seed, $3 learning rate; a diverged run is a result (status 1)
    $prefix python -m vgg_lessons.train $(recipe $epochs | sed "s/--seed 0/--seed $2/; s/--lr 0.1/--lr $3/") \
      --bn "$1" --out-dir $runs/$1_s$2_lr$3 --save-metrics $runs/$1_s$2_lr$3.json || true
  }
  for lr in 0.025 0.05 0.1; do short none 0 $lr; sweep+=($runs/none_s0_lr$lr.json); done
  lr=$(python scripts/bn_seeds.py best-lr "${sweep[@]}")
  echo "no batch norm: learning rate $lr has the lowest final training loss"
  for bn in before_relu after_relu; do for seed in 0 1 2; do short $bn $seed 0.1; done; done
  for seed in 1 2; do short none $seed "$lr"; done
  python scripts/bn_seeds.py combine $assets/bn_seeds.json "${sweep[@]}" \
    $runs/{before_relu,after_relu}_s{0,1,2}_lr0.1.json $runs/none_s{1,2}_lr"$lr".json
}

case $sections in
  all) shipped_and_placements; bn_seeds ;;
  shipped) shipped_and_placements ;;
  bn_seeds) bn_seeds ;;
  *) echo "train_assets.sh: unknown section '$sections'; use all, shipped or bn_seeds" >&2; exit 2 ;;
esac
