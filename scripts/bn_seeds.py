"""Summarise the short batch-norm runs of ``scripts/train_assets.sh`` into one small record.

    python scripts/bn_seeds.py best-lr RUN.json ...     # prints the lr with the lowest final train loss
    python scripts/bn_seeds.py combine OUT.json RUN.json ...

Each RUN.json is a ``--save-metrics`` record of ``python -m vgg_lessons.train``. The combined
record keeps, per run, its placement, seed, learning rate, per-epoch train loss and test
accuracy and the final test accuracy: no per-step losses, so it stays a few kilobytes.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def _final_train_loss(run: dict[str, Any]) -> float:
    """The last epoch's mean training loss; infinite for a run that diverged or never finished."""
    if run["diverged"] is not None or run["epochs"] < run["config"]["epochs"]:
        return math.inf
    return run["metrics"][-1]["train_loss"]


def best_lr(paths: list[str]) -> float:
    """The learning rate whose run ends with the lowest training loss (the test set is not used)."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    best = min(runs, key=_final_train_loss)
    if math.isinf(_final_train_loss(best)):
        raise SystemExit("bn_seeds.py: every run of the sweep diverged; lower the learning rates")
    return best["config"]["lr"]


def summary(run: dict[str, Any]) -> dict[str, Any]:
    """One run, reduced to what the chapter shows (fractions, not percentages)."""
    cfg = run["config"]
    return dict(bn=cfg["bn"], seed=cfg["seed"], lr=cfg["lr"], epochs=cfg["epochs"],
                diverged=run["diverged"], command=run["command"],
                train_loss=[round(m["train_loss"], 4) for m in run["metrics"]],
                test_acc_per_epoch=[round(m["test_acc"], 4) for m in run["metrics"]],
                test_acc=None if run.get("test_acc") is None else round(run["test_acc"], 4))


def combine(out: str, paths: list[str]) -> None:
    """Write the combined record ``out`` from the run records ``paths``."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    first = runs[0]
    record = dict(
        what="short runs of the shipped recipe: three seeds per batch-norm placement and a "
             "learning-rate sweep without batch norm (chosen by final training loss)",
        device=first["device"], threads=first["threads"], torch=first["torch"],
        runs=[summary(r) for r in runs])
    Path(out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out} ({len(runs)} runs)")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "best-lr":
        print(best_lr(sys.argv[2:]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "combine":
        combine(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(__doc__)
