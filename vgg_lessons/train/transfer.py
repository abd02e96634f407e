"""Features reused: train on five CIFAR-10 classes, then learn the other five from few labels.

The VGG paper's last section (and most of VGG's later life) is about reusing the
convolutional features of a trained network for another task. Without ImageNet
weights this module shows the same thing inside CIFAR-10:

1. :func:`pretrain_source` trains the book's compact VGG on the five *source* classes
   (airplane, automobile, bird, cat, deer);
2. on the five *target* classes (dog, frog, horse, ship, truck), with only a few
   labelled images per class, three learners are compared:

   - a *linear probe* (:func:`linear_probe`): logistic regression on the frozen,
     globally pooled features (:func:`pooled_features`) of the pretrained network;
   - *fine-tuning*: the pretrained network with a new 5-class head, all weights trained;
   - *from scratch*: the same architecture and recipe, randomly initialised.

   The labelled images are drawn by :func:`vgg_lessons.train.data.balanced_subset`.

:func:`run` does all of it and returns a JSON-friendly record; ``python -m
vgg_lessons.train.transfer --help`` writes that record (and the pretrained network) to
``runs/`` (the shipped ones in ``vgg_lessons/assets/`` are written only when named,
as ``scripts/train_chapter7_assets.sh`` does). Chapter 7 loads the record and reruns
one probe live.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vgg_lessons.inputs import as_model_input
from vgg_lessons.models import VGG, build_vgg
from vgg_lessons.train._files import atomic_write
from vgg_lessons.train.checkpoints import (
    check_writable,
    file_checksum,
    load_checkpoint,
)
from vgg_lessons.train.data import balanced_subset, load_cifar10
from vgg_lessons.train.loop import fit, init_first_conv_from_patches, seed_everything
from vgg_lessons.train.metrics import evaluate
from vgg_lessons.train.weights import ASSETS, get_weights

#: CIFAR-10 labels of the classes the source network is trained on, and of the new task.
SOURCE_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4)
TARGET_CLASSES: tuple[int, ...] = (5, 6, 7, 8, 9)
#: The compact VGG of the book (chapter 4's shipped recipe), with a 5-class head.
MODEL_ARGS: dict[str, Any] = dict(arch="A", bn="before_relu", head="cifar", width=0.25)
RECORD = ASSETS / "transfer_cifar5.json"
#: The source network's entry in the registry of shipped models.
SOURCE = "transfer_source_cifar5"
SOURCE_MODEL = get_weights(SOURCE).path
#: Where the command line writes by default: never into the installed package.
RUN_RECORD = Path("runs") / "transfer_cifar5.json"
RUN_SOURCE_MODEL = Path("runs") / "transfer_source_cifar5.pt"
#: The most torch CPU threads the command line accepts.
MAX_THREADS = 1024


def class_subset(
    images: torch.Tensor, labels: torch.Tensor, classes: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of ``classes`` only, relabelled ``0 .. len(classes) - 1`` in that order.

    Args:
        images: ``(N, 3, H, W)``; labels: int64 ``(N,)`` CIFAR-10 labels.

    Returns:
        ``(images (M, 3, H, W), labels int64 (M,))``, in the original order.
    """
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(
            f"classes must be distinct labels, e.g. (5, 6, 7, 8, 9), got {classes}"
        )
    lookup = torch.full((int(labels.max()) + 1,), -1, dtype=torch.long)
    for new, old in enumerate(classes):
        if old <= int(labels.max()):
            lookup[old] = new
    new_labels = lookup[labels]
    keep = new_labels >= 0
    return images[keep], new_labels[keep]


@torch.no_grad()
def pooled_features(
    model: VGG, images: torch.Tensor, batch_size: int = 500
) -> torch.Tensor:
    """Frozen features: the last stage's output averaged over positions, float64 ``(N, C5)``.

    Args:
        model: a VGG (put in eval mode here: batch norm uses its running statistics).
        images: uint8 ``(N, 3, H, W)`` as :func:`vgg_lessons.train.data.load_cifar10` returns them.
    """
    model.eval()
    out = [
        model.forward_features(as_model_input(images[i : i + batch_size])).mean(
            dim=(2, 3)
        )
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out).double()


def linear_probe(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    weight_decay: float = 1e-3,
    max_iter: int = 200,
) -> nn.Module:
    """Multinomial logistic regression on fixed features, fitted to convergence.

    The features are standardised (mean 0, variance 1 per dimension, from these
    training features), then a linear layer is fitted by L-BFGS in float64 on the
    full batch (cross-entropy plus ``weight_decay`` times the squared weights): a
    convex problem, so the result does not depend on a seed.

    Args:
        features: ``(N, D)``; labels: int64 ``(N,)`` in ``0 .. num_classes - 1``.

    Returns:
        A module mapping ``(M, D)`` features to ``(M, num_classes)`` logits.
    """
    if features.dim() != 2 or len(features) != len(labels):
        raise ValueError(
            f"expected features (N, D) and labels (N,), got {tuple(features.shape)} "
            f"and {tuple(labels.shape)}"
        )
    x = features.double()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    linear = nn.Linear(x.shape[1], num_classes).double()
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    opt = torch.optim.LBFGS(
        linear.parameters(),
        lr=1,
        max_iter=max_iter,
        tolerance_grad=1e-9,
        line_search_fn="strong_wolfe",
    )
    z = (x - mean) / std

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (
            nn.functional.cross_entropy(linear(z), labels)
            + weight_decay * linear.weight.square().sum()
        )
        loss.backward()
        return loss

    opt.step(closure)
    return nn.Sequential(_Standardise(mean, std), linear).requires_grad_(False)


class _Standardise(nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.double() - self.mean) / self.std


def probe_accuracy(
    model: VGG,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    num_classes: int,
) -> float:
    """Test accuracy (fraction) of a linear probe fitted on ``model``'s frozen features."""
    probe = linear_probe(pooled_features(model, train[0]), train[1], num_classes)
    predictions = probe(pooled_features(model, test[0])).argmax(1)
    return (predictions == test[1]).double().mean().item()


def _train_on_labels(
    model: VGG,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    seed: int,
    lr: float,
) -> float:
    """Train all weights of ``model`` for about ``steps`` SGD steps; return test accuracy."""
    batch = min(50, len(train[0]))
    epochs = max(1, round(steps / (len(train[0]) // batch)))
    fit(
        model,
        train,
        None,
        epochs=epochs,
        batch_size=batch,
        lr=lr,
        crop_padding=2,
        flip="random",
        whiten_first_conv=False,
        seed=seed,
        device="cpu",
        progress=False,
    )
    return evaluate(model, *test, device="cpu")["acc"]


def pretrain_source(
    train: tuple[torch.Tensor, torch.Tensor], epochs: int, seed: int = 0
) -> tuple[VGG, list[dict[str, Any]]]:
    """The compact VGG trained on the source classes with chapter 4's recipe.

    The weights are rounded to float16 and back at the end, as they are stored, so
    that what is measured on it here is what a reader loads.
    """
    seed_everything(seed)
    model = build_vgg(**MODEL_ARGS, num_classes=int(train[1].max()) + 1)
    init_first_conv_from_patches(model, train[0])
    history = fit(
        model,
        train,
        None,
        epochs=epochs,
        batch_size=128,
        lr=0.1,
        crop_padding=2,
        flip="alternate",
        whiten_first_conv=False,  # done above, before the first step
        seed=seed,
        device="cpu",
        progress=False,
        callback=lambda r: print(
            f"source epoch {r['epoch']}: train accuracy "
            f"{r['train_acc']:.3f}, {r['seconds']:.0f} s",
            flush=True,
        ),
    )
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return model.eval(), [
        {k: v for k, v in r.items() if k != "step_losses"} for r in history
    ]


def save_source(model: VGG, path: Path = SOURCE_MODEL) -> None:
    """Store the source network as float16 tensors and its JSON config (``load_checkpoint``)."""
    state = {
        k: v.detach().half() if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    blob = dict(model=state, config=json.dumps(dict(model=model.config)))
    blob["checksum"] = file_checksum(blob)
    atomic_write(Path(path), lambda fh: torch.save(blob, fh))


def load_source(path: Path = SOURCE_MODEL) -> VGG:
    """The recorded source network (5 classes), float32, eval mode.

    Raises:
        ValueError: the file is no checkpoint, or its network is not a source network.
    """
    if Path(path) == SOURCE_MODEL:
        return get_weights(SOURCE).get_model()
    model = load_checkpoint(path)[0]
    check_source(model, str(path))
    return model


def check_source(source: nn.Module, name: str = "the source network") -> None:
    """Refuse a network that is not a compact VGG with one output per source class.

    A network that was trained on all ten classes has seen the target classes: what
    it would show is not transfer.

    Raises:
        ValueError: one line naming the network and what to use instead.
    """
    config = getattr(source, "config", None)
    classes = config.get("num_classes") if isinstance(config, dict) else None
    if classes != len(SOURCE_CLASSES):
        raise ValueError(
            f"{name} has {classes} classes, not the {len(SOURCE_CLASSES)} source "
            f"classes {SOURCE_CLASSES}: a network that saw the target classes "
            f"{TARGET_CLASSES} shows no transfer; use pretrain_source or load_source"
        )


def _with_new_head(source: VGG, num_classes: int) -> VGG:
    """A copy of ``source`` whose features are kept and whose head is new and random."""
    model = copy.deepcopy(source)
    model.reset_classifier(num_classes)
    return model


def _spread(values: list[float]) -> dict[str, Any]:
    return dict(
        values=values,
        mean=statistics.mean(values),
        std=statistics.stdev(values) if len(values) > 1 else 0.0,
    )


def run(
    source: VGG,
    per_class: Sequence[int] = (100,),
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 150,
    lr: float = 0.05,
    root: str | None = None,
) -> dict[str, Any]:
    """On the target classes, probe ``source``'s features, fine-tune it, and train from scratch.

    Args:
        source: the network trained on the source classes (:func:`pretrain_source`).
        per_class: labelled target images per class to try (each a separate experiment).
        seeds: one run per seed: it draws the labelled images and seeds training.
        steps: SGD steps (batch 50, or all images if fewer) for fine-tuning and scratch.
        lr: peak learning rate for fine-tuning and scratch (one-cycle).

    Returns:
        Per ``per_class`` (as a string key): the number of labels, and the accuracies of
        ``probe``, ``finetune`` and ``scratch`` on the 5,000 target test images, per
        seed with mean and standard deviation, and the seconds it took.
    """
    check_source(source)
    tgt_train = class_subset(*load_cifar10("train", root), TARGET_CLASSES)
    tgt_test = class_subset(*load_cifar10("test", root), TARGET_CLASSES)
    results: dict[str, Any] = {}
    for n in per_class:
        t1 = time.perf_counter()
        accs: dict[str, list[float]] = dict(probe=[], finetune=[], scratch=[])
        for seed in seeds:
            pick = balanced_subset(
                tgt_train[1], n, seed=seed, num_classes=len(TARGET_CLASSES)
            )
            labelled = (tgt_train[0][pick], tgt_train[1][pick])
            accs["probe"].append(
                probe_accuracy(source, labelled, tgt_test, len(TARGET_CLASSES))
            )
            seed_everything(seed)
            tuned = _with_new_head(source, len(TARGET_CLASSES))
            accs["finetune"].append(
                _train_on_labels(tuned, labelled, tgt_test, steps, seed, lr)
            )
            seed_everything(seed)
            scratch = build_vgg(**MODEL_ARGS, num_classes=len(TARGET_CLASSES))
            init_first_conv_from_patches(scratch, labelled[0])
            accs["scratch"].append(
                _train_on_labels(scratch, labelled, tgt_test, steps, seed, lr)
            )
            print(
                f"{n} per class, seed {seed}: "
                + ", ".join(f"{k} {v[-1]:.3f}" for k, v in accs.items()),
                flush=True,
            )
        results[str(n)] = dict(
            labels=n * len(TARGET_CLASSES),
            test_images=len(tgt_test[0]),
            **{k: _spread(v) for k, v in accs.items()},
            seconds=time.perf_counter() - t1,
        )
    return results


def _check_arguments(args: argparse.Namespace) -> VGG | None:
    """Check the command's options before any data is loaded; the reused source, if any.

    Sets ``args.model`` to its default and torch's CPU threads.

    Raises:
        ValueError, FileNotFoundError: one line naming the option and what to do.
    """
    if args.source_epochs < 1 or args.steps < 1 or min(args.per_class) < 1:
        raise ValueError("--source-epochs, --steps and --per-class must be at least 1")
    if max(args.per_class) > 5000:
        raise ValueError(
            f"--per-class {max(args.per_class)}: CIFAR-10 has 5000 training images a "
            "class; give at most 5000"
        )
    if not 0 <= args.threads <= MAX_THREADS:
        raise ValueError(
            f"--threads {args.threads}: give 1 to {MAX_THREADS} (0: torch's default)"
        )
    if args.model is None:
        args.model = str(SOURCE_MODEL if args.reuse_source else RUN_SOURCE_MODEL)
    for option, value, suffix in (
        ("--record", args.record, ".json"),
        ("--model", args.model, ".pt"),
    ):
        if not value.strip() or Path(value).is_dir() or value.endswith("/"):
            raise ValueError(
                f"{option} {value!r} is not a file path; give one such as "
                f"runs/x{suffix}"
            )
        if option == "--record" or not args.reuse_source:
            check_writable(Path(value).parent, option)
    if args.threads:
        torch.set_num_threads(args.threads)
    return load_source(Path(args.model)) if args.reuse_source else None


def _source_history(record: Path) -> list[dict[str, Any]] | None:
    """The source network's training metrics from an earlier record, if there is one."""
    try:
        return json.loads(record.read_text())["source"]["metrics"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m vgg_lessons.train.transfer``: record the features-reused experiment."""
    parser = argparse.ArgumentParser(
        prog="python -m vgg_lessons.train.transfer", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--source-epochs", type=int, default=4)
    parser.add_argument("--per-class", type=int, nargs="+", default=[100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: torch's default)"
    )
    parser.add_argument("--record", default=str(RUN_RECORD), help="JSON file to write")
    parser.add_argument(
        "--model",
        default=None,
        help=f"the source network's file (written; read with --reuse-source, default "
        f"there: the shipped {SOURCE_MODEL.name}); default {RUN_SOURCE_MODEL}",
    )
    parser.add_argument(
        "--reuse-source",
        action="store_true",
        help="load the source network from --model instead of training it",
    )
    args = parser.parse_args(argv)
    try:
        reused = _check_arguments(args)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    t0 = time.perf_counter()
    try:
        src_train = class_subset(*load_cifar10("train"), SOURCE_CLASSES)
        src_test = class_subset(*load_cifar10("test"), SOURCE_CLASSES)
    except (ValueError, OSError) as err:
        parser.exit(1, f"{parser.prog}: error: {err}\n")
    if reused is not None:  # keep the recorded training history of that network, if any
        source, history = reused, _source_history(Path(args.record))
    else:
        source, history = pretrain_source(src_train, args.source_epochs)
        save_source(source, Path(args.model))  # first, so a failure later keeps it
    source_acc = evaluate(source, *src_test, device="cpu")["acc"]
    print(
        f"source network: test accuracy {source_acc:.3f} on the source classes",
        flush=True,
    )
    t1 = time.perf_counter()
    record: dict[str, Any] = dict(
        command="python -m vgg_lessons.train.transfer "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        settings=dict(
            model=MODEL_ARGS,
            source_classes=SOURCE_CLASSES,
            target_classes=TARGET_CLASSES,
            source_epochs=args.source_epochs,
            seeds=args.seeds,
            steps=args.steps,
            lr=0.05,
            probe="L-BFGS logistic regression on standardised pooled stage-5 features, "
            "weight decay 1e-3",
        ),
        source=dict(
            metrics=history,
            test_acc=source_acc,
            seconds=sum(r["seconds"] for r in history) if history else t1 - t0,
        ),
        results=run(source, args.per_class, args.seeds, args.steps),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
    )
    record["wall_seconds"] = time.perf_counter() - t0
    atomic_write(Path(args.record), lambda fh: json.dump(record, fh, indent=1), "w")
    for n, r in record["results"].items():
        print(
            f"{n} labels per class: "
            + ", ".join(
                f"{k} {r[k]['mean']:.3f} ± {r[k]['std']:.3f}"
                for k in ("probe", "finetune", "scratch")
            )
        )
    made = args.record if args.reuse_source else f"{args.record} and {args.model}"
    print(f"wrote {made} in {record['wall_seconds']:.0f} s")
    return record


if __name__ == "__main__":  # pragma: no cover
    main()
