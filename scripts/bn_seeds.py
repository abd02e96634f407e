"""Chapter 3's live experiment, repeated: three seeds per batch-norm placement and a
learning-rate sweep without batch norm. Writes vgg_lessons/assets/bn_seeds.json.

    VGG_LESSONS_DATA=/path/to/cifar10 python scripts/bn_seeds.py [OUT.json]

The setting is the chapter's live one: VGG-11 at width 0.125, 2,000 training images (200
per class) and 1,000 test images (100 per class), 4 epochs, batch 64, peak learning rate
0.05, on the CPU with 2 threads. A seed sets the initial weights, the order of the images
and the augmentation; the images are the same for every run. Without batch norm the peak
learning rate is also swept (seed 0); the rate with the lowest final *training* loss is
kept for the other seeds, so the test set plays no part in the choice. The record is
rewritten after every run, so an interrupted sweep keeps what it has; it holds no timings.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from vgg_lessons.train import data
from vgg_lessons.train import loop
from vgg_lessons.models import build_vgg

SETTING = dict(arch="A", width=0.125, train_per_class=200, train_seed=0, test_per_class=100,
               test_seed=1, epochs=4, batch_size=64, lr=0.05, device="cpu", threads=2)
PLACEMENTS = ("before_relu", "after_relu", "none")
SEEDS = (0, 1, 2)
SWEEP = (0.025, 0.05, 0.1)  # peak learning rates without BN (SETTING's lr among them)


def one_run(bn: str, seed: int, lr: float, train_data, test_data) -> dict[str, Any]:
    """Train one model of the setting; its per-epoch losses and accuracies (fractions)."""
    torch.manual_seed(seed)
    model = build_vgg(SETTING["arch"], bn=None if bn == "none" else bn, head="cifar",
                      width=SETTING["width"])
    history = loop.fit(model, train_data, test_data, epochs=SETTING["epochs"],
                        batch_size=SETTING["batch_size"], lr=lr, seed=seed,
                        crop_padding=4, flip="random", whiten_first_conv=False,
                        device=SETTING["device"], progress=False)
    return dict(bn=bn, seed=seed, lr=lr,
                train_loss=[round(h["train_loss"], 4) for h in history],
                test_acc_per_epoch=[round(h["test_acc"], 4) for h in history],
                test_acc=round(history[-1]["test_acc"], 4))


def main(out: Path) -> None:
    torch.set_num_threads(SETTING["threads"])
    images, labels = data.load_cifar10("train")
    pick = data.balanced_subset(labels, SETTING["train_per_class"], seed=SETTING["train_seed"])
    train_data = (images[pick], labels[pick])
    images, labels = data.load_cifar10("test")
    pick = data.balanced_subset(labels, SETTING["test_per_class"], seed=SETTING["test_seed"])
    test_data = (images[pick], labels[pick])
    record: dict[str, Any] = dict(
        what="chapter 3's live experiment with three seeds per placement, and a sweep of "
             "the peak learning rate without BN (seed 0; chosen by final training loss)",
        command="python scripts/bn_seeds.py", setting=SETTING, torch=torch.__version__,
        runs=[])

    def run(bn: str, seed: int, lr: float) -> dict[str, Any]:
        result = one_run(bn, seed, lr, train_data, test_data)
        record["runs"].append(result)
        out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"{bn:12} seed {seed} lr {lr}: train loss {result['train_loss'][-1]:.3f}, "
              f"test accuracy {result['test_acc']:.3f}", flush=True)
        return result

    for bn in PLACEMENTS:  # seed 0 of every placement at the setting's learning rate
        run(bn, SEEDS[0], SETTING["lr"])
    sweep = [record["runs"][-1]] + [run("none", SEEDS[0], lr) for lr in SWEEP
                                    if lr != SETTING["lr"]]
    best = min(sweep, key=lambda r: r["train_loss"][-1])["lr"]
    record["no_bn_best_lr"] = best
    print(f"no BN: peak learning rate {best} has the lowest final training loss")
    for seed in SEEDS[1:]:  # the other seeds, without BN at the chosen learning rate
        for bn in PLACEMENTS:
            run(bn, seed, best if bn == "none" else SETTING["lr"])
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "vgg_lessons/assets/bn_seeds.json"))
