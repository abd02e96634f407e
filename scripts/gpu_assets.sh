#!/usr/bin/env bash
# Full-width VGG-11-BN and VGG-16-BN on CIFAR-10 on one GPU, at most about 10 minutes on
# an H100/H200 (targets: VGG-11-BN >= 92% in <= 1 minute, VGG-16-BN >= 94% in <= 2 minutes;
# the cards say whether they were met). bf16 autocast and channels_last (the loop's
# defaults on CUDA), the whole data set as uint8 tensors on the GPU, batch 512.
# Each model is exported with its record and card:
#   vgg_lessons/assets/vgg11_bn_gpu_cifar10.{pt,json,md}, vgg16_bn_gpu_cifar10.{pt,json,md}
# and the script prints each run's throughput (training images per second).
#
#   VGG_LESSONS_DATA=/path/to/cifar10 scripts/gpu_assets.sh          # on a GPU machine
#   VGG_LESSONS_DATA=/path/to/toy scripts/gpu_assets.sh --tiny       # CPU check (tests)
#
# --tiny: width 0.0625, 1 epoch on the first 100 images, batch 25, on the CPU, writing to
# $GPU_ASSETS_OUT (default: a new temporary folder): it checks the script, not the models.
# Settings: EPOCHS_11, EPOCHS_16, BATCH, LR override the defaults below; RUNS is the
# folder of the run folders (default /root/vgg-runs/gpu; each run resumes with --resume
# if it is there, so a cut-short script continues).
# Status: written and checked with --tiny on a CPU (tests/test_gpu_assets.py); not yet run on
# a GPU, because none was available to the session that wrote it (2026-12-06). Its epochs,
# batch and learning rate are therefore first guesses, to be checked on the first GPU run.
# The data must be on the GPU machine: $VGG_LESSONS_DATA (ImageFolder or the tensor cache
# in $VGG_LESSONS_CACHE); the machine has no network.
set -euo pipefail
cd "$(dirname "$0")/.."
tiny=0
[ "${1:-}" = "--tiny" ] && tiny=1
if [ $tiny = 1 ]; then
  out=${GPU_ASSETS_OUT:-$(mktemp -d)}
  runs=${RUNS:-$out/runs}
  common=(--width 0.0625 --epochs 1 --train-size 100 --batch-size 25 --device cpu --threads 1)
  e11=(); e16=()
else
  out=${GPU_ASSETS_OUT:-vgg_lessons/assets}
  runs=${RUNS:-/root/vgg-runs/gpu}
  common=(--width 1 --batch-size "${BATCH:-512}" --lr "${LR:-0.2}" --device cuda --precision bf16)
  e11=(--epochs "${EPOCHS_11:-24}"); e16=(--epochs "${EPOCHS_16:-40}")
  python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_assets.sh: no GPU here (torch.cuda.is_available() is False); use --tiny to check the script on a CPU')"
fi
recipe=(--bn before_relu --weight-decay 5e-4 --label-smoothing 0.1 --schedule onecycle
        --crop-padding 4 --flip alternate --whiten-first-conv --seed 0 --no-progress)
mkdir -p "$out" "$runs"

train() {  # $1: name, $2: arch, then extra options
  local name=$1 arch=$2; shift 2
  local resume=--overwrite
  [ -f "$runs/$name/checkpoint.pt" ] && resume=--resume
  python -m vgg_lessons.train --arch "$arch" "${recipe[@]}" "${common[@]}" "$@" \
    --out-dir "$runs/$name" $resume --export "$out/$name"
  python - "$out/$name.json" <<'PY'
import json, sys, torch
path = sys.argv[1]
info = json.load(open(path))
info["made_by"] = "(`scripts/gpu_assets.sh` trains it together with the other full-width model.)"
if info["device"].startswith("cuda"):
    info["gpu"] = torch.cuda.get_device_name(0)
    info["cpu"] = info["gpu"]
json.dump(info, open(path, "w"), indent=1)
rate = sum(r["images_per_s"] for r in info["metrics"]) / len(info["metrics"])
print(f"{path}: {100 * info['test_acc']:.2f}% test accuracy, {info['wall_seconds']:.0f} s wall, "
      f"{rate:.0f} training images/s (mean over epochs) on {info['device']}")
PY
  python scripts/model_card.py "$name" "$out"
}

train vgg11_bn_gpu_cifar10 A ${e11[@]+"${e11[@]}"}
train vgg16_bn_gpu_cifar10 D ${e16[@]+"${e16[@]}"}
echo "gpu_assets.sh: wrote $out/vgg11_bn_gpu_cifar10.* and $out/vgg16_bn_gpu_cifar10.*"
