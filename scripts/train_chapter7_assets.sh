#!/usr/bin/env bash
# Regenerate chapter 7's records in vgg_lessons/assets/: "features reused".
# The book's compact VGG-11-BN (width 0.25) is trained for 4 epochs on five CIFAR-10 classes
# (airplane, automobile, bird, cat, deer) and stored (transfer_source_cifar5.pt); then, on the
# other five classes with 100 labelled images per class (500 labels) and three seeds, a linear probe
# on its frozen features, fine-tuning it, and the same network trained from scratch are
# compared on the 5,000 test images of those classes (transfer_cifar5.json).
# About 5 minutes on an idle 2-core machine (one thread); 23 minutes on a busy shared one.
#
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/train_chapter7_assets.sh
#
# RUN_PREFIX is put before the command (e.g. RUN_PREFIX="nice -n 5" on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${RUN_PREFIX:-}
$prefix python -m vgg_lessons.train.transfer --source-epochs 4 --per-class 100 --seeds 0 1 2 \
  --steps 150 --threads 1 --record vgg_lessons/assets/transfer_cifar5.json \
  --model vgg_lessons/assets/transfer_source_cifar5.pt
