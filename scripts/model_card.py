"""Write the model card ``vgg_lessons/assets/<name>.md`` from ``<name>.json``.

The JSON is written by ``python -m vgg_lessons.train ... --export vgg_lessons/assets/<name>``;
every number in the card comes from it.

    python scripts/model_card.py vgg11_bn_cifar10
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "vgg_lessons" / "assets"

#: Each shipped model's target: (test accuracy, seconds, on what).
TARGETS = {
    "vgg11_bn_cifar10": (0.85, 600, "2 CPU cores"),
    "vgg16_bn_w05_cifar10": (0.88, 3600, "2 CPU cores"),
    "vgg11_bn_gpu_cifar10": (0.92, 60, "one H100/H200 GPU"),
    "vgg16_bn_gpu_cifar10": (0.94, 120, "one H100/H200 GPU"),
}


def device_line(info: dict) -> str:
    """Device, CPU features, threads or processes, arithmetic and torch version."""
    cfg = info["config"]
    precision = cfg.get("precision", "auto")
    if precision == "auto":
        precision = "bf16 autocast" if info["device"].startswith("cuda") else "fp32"
    elif precision == "bf16":
        precision = "bf16 autocast"
    features = info.get("cpu_features")
    if features is None:  # records from before cpu_features: the shipped model's machine
        features = "AVX2, no AVX-512"
    cpu_time = (f"; {info['cpu_seconds']:.0f} CPU seconds in this command"
                if "cpu_seconds" in info else "")
    return (f"{info['device']} ({info['cpu']}, {features}), {info['threads']} threads, "
            f"{precision}, torch {info['torch']}{cpu_time}")


def target_sentence(info: dict, name: str) -> str:
    """The project's target for this model and whether this run met it."""
    if name not in TARGETS:
        return ""
    acc, seconds, where = TARGETS[name]
    pct = lambda x: f"{100 * x:.2f}"  # noqa: E731
    took, how = training_time(info)
    met = ("met" if info["test_acc"] >= acc and took <= seconds else
           "met only with flip averaging" if info["test_acc_flip_tta"] >= acc
           and took <= seconds else "not met")
    return (f"Target of the project: at least {100 * acc:.0f}% test accuracy from at most "
            f"{seconds / 60:.0f} minutes ({seconds} s) of training on {where}. This run: "
            f"{pct(info['test_acc'])}% ({pct(info['test_acc_flip_tta'])}% with flip averaging) "
            f"in {took:.0f} s{how}, so the target is {met}.")


def training_time(info: dict) -> tuple[float, str]:
    """The run's training time in seconds, and how it was measured (words after the number).

    A command's wall time, unless the record says the run shared its machine
    (``shared_machine``): then the wall time counts the neighbours, and one thread's CPU
    time is the work itself. The median CPU seconds of the epochs trained with one thread
    (``one_thread_epochs``), times the epochs, is the run's time on one idle core, which
    two cores can only shorten.
    """
    ones = info.get("one_thread_epochs")
    if not info.get("shared_machine") or not ones:
        return info["wall_seconds"], ""
    cpu = sorted(m["cpu_seconds"] for m in info["metrics"] if m["epoch"] in ones)
    median = cpu[len(cpu) // 2]
    return median * info["epochs"], (
        f" on one idle core ({info['epochs']} epochs x {median:.0f} s, the median CPU "
        f"seconds of the {len(cpu)} epochs trained with one thread on a shared machine; "
        "two cores are faster)")


def augmentation(cfg: dict) -> str:
    """The training augmentation in words, from the run's command-line settings."""
    if not cfg.get("augment", not cfg.get("no_augment")):  # records before TrainConfig: no_augment
        return "none"
    flips = ("horizontal flip of each image every other epoch (alternating)"
             if cfg.get("flip") == "alternate" else "random horizontal flip")
    return f"random crop ({cfg.get('crop_padding', 4)}-pixel zero padding) and {flips}"


def longer_run() -> str:
    """A sentence on the same recipe with twice the epochs, if that run is recorded."""
    path = ASSETS / "shipped_recipe_20_epochs.json"
    if not path.is_file():
        return ""
    run = json.loads(path.read_text())
    return (f"\nThe same command with `--epochs {run['epochs']}` (`{path.name}`) reaches "
            f"{100 * run['test_acc']:.2f}% ({100 * run['test_acc_flip_tta']:.2f}% with flip "
            f"averaging) in {run['wall_seconds']:.0f} s.\n")


def card(info: dict, name: str, assets: Path = ASSETS) -> str:
    """The model card as Markdown."""
    cfg, model = info["config"], info["config"]["model"]
    pct = lambda x: f"{100 * x:.2f}"  # noqa: E731
    rows = "\n".join(f"| {r['epoch']} | {r['train_loss']:.3f} | {pct(r['train_acc'])} | "
                     f"{r['test_loss']:.3f} | {pct(r['test_acc'])} | {r['seconds']:.1f} | "
                     f"{r['images_per_s']:.0f} |" for r in info["metrics"])
    per_class = "\n".join(f"| {c} | {pct(a)} |" for c, a in info["test_acc_per_class"].items())
    size = (assets / f"{name}.pt").stat().st_size / 1e6
    return f"""# Model card: `{name}`

A {'compact ' if model['width'] < 1 else ''}VGG-{ {'A': 11, 'B': 13, 'D': 16, 'E': 19}.get(str(model['arch']).upper(), model['arch']) } with batch norm (conv-BN-ReLU), trained from scratch on CIFAR-10 on a
{'GPU' if info['device'].startswith('cuda') else 'CPU'} by `vgg_lessons.train`. Load it with `vgg_lessons.train.weights.load_pretrained("{name}")`
(float32, eval mode). Weights are stored in float16 (`{name}.pt`, {size:.1f} MB, a state
dict of plain tensors readable with `torch.load(..., weights_only=True)`); config and
metrics are in `{name}.json`.

## Result

- Test accuracy (10,000 CIFAR-10 test images, one view each): **{pct(info['test_acc'])}%**
- With test-time flip averaging (mean logits of image and mirror image): {pct(info['test_acc_flip_tta'])}%
- Test loss (cross-entropy, nats): {info['test_loss']:.3f}
- Training: {info['epochs']} epochs, {info['train_seconds']:.0f} s of training and per-epoch
  testing; {info['wall_seconds']:.0f} s wall time for the whole command, data loading included
- Device: {device_line(info)}

{target_sentence(info, name)}
{longer_run() if name == "vgg11_bn_cifar10" else ""}
The data are the JPEG re-encoding of CIFAR-10 in ImageFolder layout, so accuracies are
close to, not identical with, those on the official Python batches.

## Reproduce

```bash
{info['command']}
```

{info.get("made_by", "(`scripts/train_assets.sh` runs it together with the batch-norm placement runs.)")}

## Config

| setting | value |
|---|---|
| architecture | VGG-{ {'A': 11, 'B': 13, 'D': 16, 'E': 19}.get(str(model['arch']).upper(), model['arch']) } (`arch={model['arch']!r}`), batch norm `{model['bn']}`, CIFAR head |
| width | {model['width']} (stage channels scaled from 64-128-256-512-512) |
| optimiser | SGD, Nesterov momentum 0.9, weight decay {cfg['weight_decay']} (not on BN or biases) |
| schedule | {cfg['schedule']}, peak learning rate {cfg['lr']}, {cfg['epochs']} epochs, batch {cfg['batch_size']} |
| loss | cross-entropy, label smoothing {cfg['label_smoothing']} |
| initialisation | {'first convolution: +/- the principal components of 3x3 image patches (whitening), the rest as torchvision' if cfg.get('whiten_first_conv') else 'as torchvision (He-normal convolutions)'} |
| augmentation | {augmentation(cfg)} |
| seed | {cfg['seed']} |

## Per class (test accuracy, %, one view)

| class | accuracy |
|---|---|
{per_class}

## Per epoch

| epoch | train loss | train acc % | test loss | test acc % | seconds | images/s |
|---|---|---|---|---|---|---|
{rows}
"""


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "vgg11_bn_cifar10"
    assets = Path(sys.argv[2]) if len(sys.argv) > 2 else ASSETS  # where NAME.json/.pt are
    info = json.loads((assets / f"{name}.json").read_text())
    (assets / f"{name}.md").write_text(card(info, name, assets))
    print(f"wrote {assets / (name + '.md')}")
