"""The paper's depth claim at CIFAR scale, and the start problem, as resumable grids of runs.

Two grids, one record per run in ``vgg_lessons/assets/depth/<run>.json``:

- ``--grid depth``: VGG-11, -13, -16 and -19 (configurations A, B, D, E) with batch norm
  before each ReLU, one recipe (the shipped model's: batch 128, one-cycle to lr 0.1,
  label smoothing 0.1, 2-pixel crops, alternating flips, whitened first convolution),
  several seeds. Runs go seed by seed (every depth with seed 0, then seed 1, ...), so
  a grid cut short still has every depth.
- ``--grid start``: the same depths without batch norm, with every convolution drawn by
  :func:`vgg_lessons.initialisation.initialise` (chapter 3's schemes): the paper's
  variance 10^-2, Glorot's or He's fan-in, biases zero; the paper's plain SGD
  (momentum 0.9, constant lr 0.01, no label smoothing, no whitening) for a few epochs
  on a subset. Which ones learn at all: the step losses, and each stage's output spread
  (standard deviation of its ReLU output) and weight-gradient spread at initialisation.

Sizing (about 90 minutes of 2 idle cores for 4 depths x 3 seeds with bf16 autocast, which
benchmarks/train_speed_options.py measures): width 0.25 (the shipped model's; VGG-19 then
costs 2.6x VGG-11's multiply-accumulates per image), all 50,000 training images, 8 epochs.
Why these should not decide the answer: the width is the same at every depth, so each
added layer is a layer of the same kind the paper added; all the data is used, so the
deeper nets are not starved of images (a subset would favour the shallow ones); the
one-cycle schedule ends every run at lr 0. Where they might: 8 epochs is short, and
deeper nets may need more of them, so a fixed number of epochs can understate depth's
gain (accuracy per unit of compute is the other way to read the grid); and at width 0.25
each stage is narrow, so depth may buy capacity that a wider net would get from width.
On a shared machine the wall times count the neighbours: the records keep CPU seconds too.

Resumable run by run: a run whose record exists is skipped; an unfinished run continues
from the checkpoint in its run folder (``--runs-dir``, default ``/root/vgg-runs/depth``)
after every finished epoch. A record is written atomically when its run finishes, with
the run's config, per-epoch metrics, wall and CPU seconds, multiply-accumulates per
image, the machine and the load average around it.

    VGG_LESSONS_DATA=... python scripts/depth_grid.py --grid depth --seeds 0,1,2
    VGG_LESSONS_DATA=... python scripts/depth_grid.py --grid start
    python scripts/depth_grid.py --grid depth --tiny --records /tmp/d --runs-dir /tmp/r  # a test
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vgg_lessons.models import build_vgg  # noqa: E402
from vgg_lessons.train._files import atomic_write  # noqa: E402
from vgg_lessons.train.checkpoints import CHECKPOINT  # noqa: E402
from vgg_lessons.train.config import TrainConfig, configure  # noqa: E402
from vgg_lessons.initialisation import initialise  # noqa: E402
from vgg_lessons.inputs import normalize  # noqa: E402
from vgg_lessons.train.data import load_cifar10  # noqa: E402
from vgg_lessons.train.loop import TrainingDiverged, fit, seed_everything  # noqa: E402
from vgg_lessons.train.metrics import evaluate  # noqa: E402

ARCHS = ("A", "B", "D", "E")
DEPTH = {"A": 11, "B": 13, "D": 16, "E": 19}
#: The start problem's schemes, from vgg_lessons.initialisation (the convolutions are
#: drawn anew; the one linear layer of the CIFAR head keeps its default draw).
INITS = ("paper", "glorot", "he_fan_in")
RECORDS = ROOT / "vgg_lessons" / "assets" / "depth"

#: The depth grid's recipe: the shipped one at the width, epochs and precision below.
DEPTH_SETTINGS = dict(width=0.25, epochs=8, precision="bf16")
#: The start grid's recipe: the paper's plain SGD on a subset, a few epochs.
START_SETTINGS = dict(
    width=0.25, epochs=4, train_size=5000, lr=0.01, schedule="constant",
    label_smoothing=0.0, whiten_first_conv=False, precision="bf16",
)


def macs_per_image(model: nn.Module, size: int = 32) -> int:
    """Multiply-accumulates of the convolutions and linear layers for one image."""
    macs = 0

    def count(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            macs += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        else:
            macs += output.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    model.train()
    for h in hooks:
        h.remove()
    return macs


def signal_spread(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Per stage: the standard deviation of its last ReLU's output (forward signal) and of
    the gradient of its convolution weights (backward signal), on one batch, in training
    mode, fp32; plus the loss. The model's weights are left as they were (no step)."""
    outputs = {}
    hooks = []
    for stage, info in enumerate(model.feature_info, 1):
        module = model.get_submodule(info["module"])
        hooks.append(module.register_forward_hook(
            lambda m, i, o, stage=stage: outputs.__setitem__(stage, o.detach().float().std().item())))
    model.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(normalize(images)), labels)
    loss.backward()
    for h in hooks:
        h.remove()
    grads = {}
    for stage, info in enumerate(model.feature_info, 1):
        convs = [m for name, m in model.named_modules()
                 if isinstance(m, nn.Conv2d) and name in _stage_modules(model, stage)]
        grads[stage] = torch.cat([c.weight.grad.flatten() for c in convs]).std().item()
    model.zero_grad(set_to_none=True)
    return dict(
        loss=loss.item(),
        activation_std=[outputs[s] for s in sorted(outputs)],
        weight_grad_std=[grads[s] for s in sorted(grads)],
    )


def _stage_modules(model: nn.Module, stage: int) -> set[str]:
    """Module paths of stage ``stage``'s layers (from the model's readable layer names)."""
    return {path for name, path in model.layer_names.items() if name.startswith(f"stage{stage}.")}


def runs(grid: str, seeds: list[int], archs: list[str]) -> list[dict]:
    """The grid's runs in the order they are trained (seed-major)."""
    if grid == "depth":
        return [dict(name=f"depth_{a}_s{s}", arch=a, seed=s, bn="before_relu", init=None)
                for s in seeds for a in archs]
    return [dict(name=f"start_{a}_{i}_s{s}", arch=a, seed=s, bn="none", init=i)
            for s in seeds for a in archs for i in INITS]


def config_for(run: dict, settings: dict) -> TrainConfig:
    return configure(TrainConfig(), arch=run["arch"], bn=run["bn"], seed=run["seed"],
                     progress=False, device="cpu", out_dir=None, **settings)


def _machine() -> dict:
    flags = ""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        pass
    return dict(
        cpu=platform.processor() or platform.machine(),
        avx512_bf16="avx512_bf16" in flags, amx="amx_tile" in flags,
        cores=os.cpu_count(), threads=torch.get_num_threads(), torch=torch.__version__,
    )


def _rounded(values, digits=5):
    return [float(f"{v:.{digits}g}") for v in values]


def train_run(run: dict, settings: dict, data, runs_dir: Path, records: Path) -> dict | None:
    """Train one run (or continue it) and write its record; None if its record exists."""
    record_path = records / f"{run['name']}.json"
    config = config_for(run, settings)
    if record_path.exists():
        saved = json.loads(record_path.read_text())
        if saved["config"]["training"] == json.loads(json.dumps(config.training_settings())):
            return None
        raise ValueError(f"{record_path} holds a run with other settings; move it away to rerun")
    (train_images, train_labels), test = data
    out = runs_dir / run["name"]
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(run["seed"])
    model = build_vgg(run["arch"], bn=None if run["bn"] == "none" else run["bn"],
                      width=config.width, head="cifar")
    if run["init"]:
        initialise(model, run["init"])  # vgg_lessons.initialisation
    at_init = None
    if run["init"]:  # one fixed batch of 256 training images
        at_init = signal_spread(model, train_images[:256], train_labels[:256])
    cpu_file = out / "cpu_seconds.json"
    resume = (out / CHECKPOINT).exists()
    cpu = json.loads(cpu_file.read_text()) if resume and cpu_file.exists() else []
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    mark = [time.process_time()]

    def on_epoch(row):
        now = time.process_time()
        cpu.append(now - mark[0])
        mark[0] = now
        atomic_write(cpu_file, lambda fh: json.dump(cpu, fh), "w")
        print(f"{run['name']} epoch {row['epoch']}: train loss {row['train_loss']:.3f}"
              f" test acc {row['test_acc']:.4f} ({row['seconds']:.0f} s)", flush=True)

    diverged = None
    try:
        history = fit(model, (train_images, train_labels), test, config, out_dir=str(out),
                      resume=resume, overwrite=not resume, callback=on_epoch)
    except TrainingDiverged as err:
        diverged, history = str(err), err.history
    at_end = None
    if run["init"] and diverged is None:
        at_end = signal_spread(model, train_images[:256], train_labels[:256])
    final = evaluate(model, *test, flip_tta=True)["acc"] if diverged is None else None
    keep_steps = run["init"] is not None
    metrics = [
        {k: (_rounded(v) if k == "step_losses" else v) for k, v in row.items()
         if keep_steps or k != "step_losses"}
        for row in history
    ]
    record = dict(
        run=run["name"], grid="start" if run["init"] else "depth",
        arch=run["arch"], depth=DEPTH[run["arch"]], seed=run["seed"], bn=run["bn"], init=run["init"],
        config=dict(model=model.config, training=config.training_settings()),
        command=f"python scripts/depth_grid.py --grid {'start' if run['init'] else 'depth'}",
        metrics=metrics,
        epochs=len(history),
        diverged=diverged,
        test_acc=history[-1]["test_acc"] if history and diverged is None else None,
        test_acc_flip_tta=final,
        train_images=len(train_images) if config.train_size is None else min(config.train_size, len(train_images)),
        macs_per_image=macs_per_image(build_vgg(run["arch"], bn=None if run["bn"] == "none" else run["bn"],
                                                width=config.width, head="cifar")),
        params=sum(p.numel() for p in model.parameters()),
        train_seconds=sum(r["seconds"] for r in history),
        cpu_seconds=sum(cpu),
        signal_at_init=at_init,
        signal_at_end=at_end,
        machine=_machine(),
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        started=started,
        finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    records.mkdir(parents=True, exist_ok=True)
    atomic_write(record_path, lambda fh: json.dump(record, fh, indent=1), "w")
    print(f"wrote {record_path}", flush=True)
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", choices=("depth", "start"), required=True)
    parser.add_argument("--seeds", default=None, help="comma-separated (depth: 0,1,2; start: 0)")
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--runs-dir", default="/root/vgg-runs/depth")
    parser.add_argument("--records", default=str(RECORDS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tiny", action="store_true",
                        help="width 0.0625, 512 images, 1 epoch, 2 archs: checks that it runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = dict(DEPTH_SETTINGS if args.grid == "depth" else START_SETTINGS)
    seeds = [int(s) for s in (args.seeds or ("0,1,2" if args.grid == "depth" else "0")).split(",")]
    archs = args.archs.split(",")
    if args.tiny:
        settings.update(width=0.0625, epochs=1, train_size=512, batch_size=64)
    bad = sorted(set(archs) - set(ARCHS))
    if bad:
        parser.error(f"unknown arch(s) {', '.join(bad)}; use {', '.join(ARCHS)}")
    train = load_cifar10("train")
    test = load_cifar10("test")
    if args.tiny:
        test = (test[0][:500], test[1][:500])
    for run in runs(args.grid, seeds, archs):
        train_run(run, settings, (train, test), Path(args.runs_dir), Path(args.records))


if __name__ == "__main__":
    main()
