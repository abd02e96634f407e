"""Training: a fast loop over on-device uint8 tensors, checkpoints, ``load_pretrained``.

The loop keeps the whole data set as one uint8 tensor on the training device and
does shuffling, augmentation (:func:`vgg_lessons.data.augment`) and normalisation on
whole batches there: no DataLoader, no per-image Python. SGD with Nesterov momentum,
a one-cycle (or cosine) learning-rate schedule, label smoothing, channels_last, and
bf16 autocast on CUDA. Three options help short runs: smaller crop shifts
(``crop_padding=2``), alternating flips (``flip="alternate"``) and a first convolution
that starts as a whitening filter bank (:func:`init_first_conv_from_patches`).

Every epoch draws its shuffle and augmentation from a generator seeded with
``(seed, epoch)``, so a run resumed from a checkpoint ends with the same weights as an
uninterrupted one (exactly, on CPU). Checkpoints hold plain tensors, numbers and
strings: they load with ``torch.load(..., weights_only=True)``, never by unpickling
arbitrary objects.

Command line: ``python -m vgg_lessons.train --help``. Its defaults are the shipped
model's recipe (10 epochs of width-0.25 VGG-11-BN with the three options above), so
the command with no options retrains it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vgg_lessons.data import atomic_write
from vgg_lessons.data import augment as augment_batch
from vgg_lessons.data import normalize
from vgg_lessons.models import VGG, build_vgg

ASSETS = Path(__file__).resolve().parent / "assets"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's (if installed) and torch's generators (CPU and CUDA)."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np
        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover
        pass


def default_device() -> torch.device:
    """``cuda`` when a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def lr_at(step: int, total: int, peak: float, schedule: str = "onecycle",
          warmup: float = 0.2) -> float:
    """Learning rate at ``step`` of ``total``.

    ``"onecycle"``: linear from ``peak/10`` up to ``peak`` over the first ``warmup``
    fraction of steps, then linear down to 0. ``"cosine"``: the same warm-up, then a
    half cosine down to 0. ``"constant"``: ``peak`` throughout.
    """
    if schedule not in ("onecycle", "cosine", "constant"):
        raise ValueError(f"unknown schedule {schedule!r}; use 'onecycle', 'cosine' or 'constant'")
    if schedule == "constant":
        return peak
    w = max(1, round(warmup * total))
    if step < w:
        return peak * (0.1 + 0.9 * step / w)
    frac = (step - w) / max(1, total - w)
    if schedule == "onecycle":
        return peak * (1 - frac)
    return peak * 0.5 * (1 + math.cos(math.pi * frac))  # cosine


def alternating_mirrors(n: int, epoch: int, seed: int = 0) -> torch.Tensor:
    """Bool ``(n,)``: which of ``n`` training images to mirror in ``epoch`` (0-based).

    A random half (fixed by ``seed``) in epoch 0; after that every image flips
    orientation each epoch, so any two consecutive epochs show each image both
    ways. With random flips half of the images keep their orientation from one epoch
    to the next; alternating removes that redundancy, which pays in short runs.
    """
    first = torch.rand(n, generator=torch.Generator().manual_seed(seed)) < 0.5
    return first ^ bool(epoch % 2)


@torch.no_grad()
def init_first_conv_from_patches(model: VGG, images: torch.Tensor, *, max_images: int = 2000,
                                 eps: float = 1e-2) -> torch.Tensor:
    """Set the first convolution's kernels to +/- the principal components of image patches.

    The k x k x 3 patches of the (normalised) images are decomposed into principal
    components; kernel ``i`` becomes the ``i``-th strongest component divided by the
    square root of its variance (plus ``eps``), and kernel ``C/2 + i`` its negative, so
    that after the ReLU both signs of every component get through. The first layer
    then starts out as a *whitening* filter bank: its outputs are uncorrelated with
    equal variance, which conditions the layers after it and speeds up short runs
    (the "patch whitening" of Keller Jordan's airbench). The kernels stay trainable.
    With an odd channel count the last kernel keeps its random initialisation.

    Args:
        model: a VGG; its ``features[0]`` must be a convolution.
        images: uint8 ``(N, 3, H, W)`` training images; the first ``max_images`` are used.

    Returns:
        The variances of the components used, strongest first, ``(C/2,)``.
    """
    conv = model.features[0]
    if not isinstance(conv, nn.Conv2d) or conv.in_channels != images.shape[1]:
        raise ValueError("expected a model whose first layer is a convolution over the images' "
                         f"{images.shape[1]} channels")
    k = conv.kernel_size[0]
    x = normalize(images[:max_images].cpu())
    patches = nn.functional.unfold(x, k).transpose(1, 2).reshape(-1, conv.in_channels * k * k)
    variances, components = torch.linalg.eigh(patches.T @ patches / len(patches))
    half = min(conv.out_channels // 2, len(variances))
    variances, components = variances.flip(0)[:half], components.flip(1)[:, :half]
    kernels = (components / (variances + eps).sqrt()).T.reshape(half, conv.in_channels, k, k)
    conv.weight[:2 * half] = torch.cat([kernels, -kernels]).to(conv.weight)
    return variances


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
             batch_size: int = 1000, device: torch.device | str | None = None,
             flip_tta: bool = False) -> dict[str, Any]:
    """Test a model on uint8 images.

    Args:
        images: uint8 ``(N, 3, 32, 32)``; labels: int64 ``(N,)``.
        flip_tta: average the logits of each image and its mirror image.

    Returns:
        ``{"loss": mean cross-entropy (nats), "acc": fraction correct,
        "predictions": int64 (N,) on CPU}``. The model is left in eval mode.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval().to(device)
    fmt = torch.channels_last
    total_loss, preds = 0.0, []
    for start in range(0, len(images), batch_size):
        x = normalize(images[start:start + batch_size].to(device)).contiguous(memory_format=fmt)
        y = labels[start:start + batch_size].to(device)
        with _autocast(device):
            logits = model(x).float()
            if flip_tta:
                logits = (logits + model(x.flip(3)).float()) / 2
        total_loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        preds.append(logits.argmax(1).cpu())
    predictions = torch.cat(preds)
    return dict(loss=total_loss / len(images),
                acc=(predictions == labels.cpu()).float().mean().item(),
                predictions=predictions)


def _save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                     epoch: int, config: dict, history: list[dict]) -> None:
    blob = dict(model=model.state_dict(), optimizer=optimizer.state_dict(), epoch=epoch,
                config=json.dumps(config), metrics=json.dumps(history))
    atomic_write(path, lambda fh: torch.save(blob, fh))


def _load_blob(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"refusing to load {path}: it is not a plain-tensor checkpoint (it may hold pickled "
            f"Python objects, which could run code when loaded, or be damaged). Save checkpoints "
            f"as a state dict of tensors with JSON config. Details: {str(err).splitlines()[0]}"
        ) from None


def load_checkpoint(path: str | os.PathLike) -> tuple[VGG, dict[str, Any]]:
    """Load a checkpoint written by :func:`fit` or a shipped model (``weights_only=True``).

    Returns:
        ``(model, info)``: the VGG (float32, CPU, eval mode) and a dict with its
        ``config`` (build_vgg arguments and training settings), ``metrics`` (per-epoch
        dicts) and whatever else the file recorded.

    Raises:
        ValueError: the file holds pickled objects or no model config.
    """
    blob = _load_blob(path)
    info = {k: json.loads(v) if isinstance(v, str) and k in ("config", "metrics", "info") else v
            for k, v in blob.items() if k not in ("model", "optimizer")}
    config = info.get("config", {})
    model_cfg = config.get("model") if isinstance(config, dict) else None
    if not model_cfg:
        raise ValueError(f"{path} has no model config; expected a checkpoint from vgg_lessons.train")
    model = build_vgg(**model_cfg)
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["model"].items()}
    model.load_state_dict(state)
    return model.eval(), info


def load_pretrained(name: str = "vgg11_bn_cifar10") -> VGG:
    """The model shipped in ``vgg_lessons/assets/<name>.pt``, float32, CPU, eval mode.

    Its model card is ``vgg_lessons/assets/<name>.md``.
    """
    path = ASSETS / f"{name}.pt"
    if not path.is_file():
        shipped = sorted(p.stem for p in ASSETS.glob("*.pt")) if ASSETS.is_dir() else []
        raise ValueError(f"no shipped model {name!r}; available: {', '.join(shipped) or 'none'}")
    return load_checkpoint(path)[0]


def fit(model: nn.Module, train_data: tuple[torch.Tensor, torch.Tensor],
        test_data: tuple[torch.Tensor, torch.Tensor] | None = None, *,
        epochs: int, batch_size: int = 256, lr: float = 0.1, momentum: float = 0.9,
        weight_decay: float = 5e-4, label_smoothing: float = 0.1, schedule: str = "onecycle",
        augment: bool = True, crop_padding: int = 4, flip: str = "random", seed: int = 0,
        device: torch.device | str | None = None,
        progress: bool = True, out_dir: str | os.PathLike | None = None, resume: bool = False,
        callback: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Train ``model`` in place with SGD (Nesterov) and return per-epoch metrics.

    Args:
        train_data, test_data: ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``.
        epochs, batch_size: passes over the data and images per step (the last,
            smaller batch of an epoch is dropped).
        lr: peak learning rate of the ``schedule`` (see :func:`lr_at`), per step.
        weight_decay: L2 on weights (not on BN parameters or biases).
        label_smoothing: of the cross-entropy targets.
        augment: random crop and horizontal flip on every batch.
        crop_padding: pixels of zero padding for the random crop (4 is the usual
            CIFAR-10 setting; 2 shifts less, which suits short schedules).
        flip: "random" (mirror each image with probability 1/2 every epoch) or
            "alternate" (a random half in the first epoch, then each image is
            mirrored every other epoch, so consecutive epochs see both views: Keller
            Jordan's airbench trick for short schedules).
        seed: seeds shuffling, augmentation and dropout, per epoch (so resuming
            reproduces them). The initial weights are the caller's: call
            :func:`seed_everything` before building the model.
        device: default :func:`default_device`.
        progress: show a tqdm progress bar (terminal or notebook).
        out_dir: if given, ``checkpoint.pt`` and ``metrics.json`` are written there
            after every epoch, atomically.
        resume: continue from ``out_dir/checkpoint.pt`` if it exists.
        callback: called with each epoch's metrics dict after it is saved.

    Returns:
        One dict per epoch: ``epoch`` (1-based), ``train_loss``, ``train_acc``,
        ``test_loss``, ``test_acc`` (None without test data), ``seconds`` (wall time),
        ``images_per_s`` (training throughput), ``lr`` (at the epoch's end) and
        ``step_losses`` (the training loss of every step).

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the message says what to do).
    """
    from tqdm.auto import tqdm

    device = torch.device(device) if device is not None else default_device()
    images, labels = train_data
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"train images must be uint8 (N, 3, H, W), got {images.dtype} "
                         f"{tuple(images.shape)}; load them with vgg_lessons.data.load_cifar10")
    if flip not in ("random", "alternate"):
        raise ValueError(f"unknown flip {flip!r}; use 'random' or 'alternate'")
    n = len(images)
    steps = n // batch_size
    if steps < 1:
        raise ValueError(f"batch_size {batch_size} exceeds the {n} training images")
    out = Path(out_dir) if out_dir is not None else None
    config = dict(model=getattr(model, "config", None), epochs=epochs, batch_size=batch_size,
                  lr=lr, momentum=momentum, weight_decay=weight_decay,
                  label_smoothing=label_smoothing, schedule=schedule, augment=augment,
                  crop_padding=crop_padding, flip=flip, seed=seed, train_size=n)

    fmt = torch.channels_last
    model.to(device).to(memory_format=fmt)
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    optimizer = torch.optim.SGD([dict(params=decay, weight_decay=weight_decay),
                                 dict(params=no_decay, weight_decay=0.0)],
                                lr=lr, momentum=momentum, nesterov=True)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if resume and out is not None and (out / CHECKPOINT).is_file():
        blob = _load_blob(out / CHECKPOINT)
        saved = json.loads(blob["config"])
        if saved != json.loads(json.dumps(config)):
            diff = {k: (saved.get(k), v) for k, v in json.loads(json.dumps(config)).items()
                    if saved.get(k) != v}
            raise ValueError(f"cannot resume from {out / CHECKPOINT}: its settings differ "
                             f"(saved, now): {diff}; use a new out_dir or the same settings")
        model.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
        start_epoch, history = blob["epoch"], json.loads(blob["metrics"])

    images, labels = images.to(device), labels.to(device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    check_every = 1 if device.type == "cpu" else 25  # .item() syncs a GPU: do it rarely there
    for epoch in range(start_epoch, epochs):
        torch.manual_seed(seed * 1000 + epoch)  # dropout, if any
        gen = torch.Generator().manual_seed(seed * 1000 + epoch)
        order = torch.randperm(n, generator=gen)
        mirrored = alternating_mirrors(n, epoch, seed) if flip == "alternate" else None
        order_cpu, order = order, order.to(device)
        model.train()
        t0 = time.perf_counter()
        step_losses, correct = [], torch.zeros((), device=device)
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                   leave=True, dynamic_ncols=True)
        for step in bar:
            batch = slice(step * batch_size, (step + 1) * batch_size)
            idx = order[batch]
            x = images[idx]
            if augment:
                mirror = None if mirrored is None else mirrored[order_cpu[batch]]
                x = augment_batch(x, gen, padding=crop_padding, mirror=mirror)
            x = normalize(x).contiguous(memory_format=fmt)
            y = labels[idx]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(epoch * steps + step, epochs * steps, lr, schedule)
            with _autocast(device):
                logits = model(x)
                loss = loss_fn(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step_losses.append(loss.detach())
            correct += (logits.argmax(1) == y).sum()
            if step % check_every == 0 or step == steps - 1:
                value = loss.item()
                if not math.isfinite(value):
                    where = ""
                    if out is not None:
                        where = (f"; the last good checkpoint (epoch {history[-1]['epoch']}) is kept "
                                 f"in {out / CHECKPOINT}" if history else
                                 "; no checkpoint was written (the first epoch did not finish)")
                    raise TrainingDiverged(
                        f"the training loss became {value} at epoch {epoch + 1}, step {step + 1} "
                        f"(lr {optimizer.param_groups[0]['lr']:.3g}); lower the learning rate "
                        f"(now {lr}) or check the data for NaNs{where}")
                seen = (step + 1) * batch_size
                bar.set_postfix(loss=f"{value:.3f}", acc=f"{correct.item() / seen:.3f}",
                                img_s=f"{seen / (time.perf_counter() - t0):.0f}", refresh=False)
        losses = torch.stack(step_losses).float().cpu()
        seconds_train = time.perf_counter() - t0
        row = dict(epoch=epoch + 1, train_loss=losses.mean().item(),
                   train_acc=correct.item() / (steps * batch_size), test_loss=None, test_acc=None)
        if test_data is not None:
            ev = evaluate(model, *test_data, device=device)
            row.update(test_loss=ev["loss"], test_acc=ev["acc"])
            model.train()
        row.update(seconds=time.perf_counter() - t0, images_per_s=steps * batch_size / seconds_train,
                   lr=optimizer.param_groups[0]["lr"], step_losses=losses.tolist())
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_acc']:.3f}",
                        test_acc="-" if row["test_acc"] is None else f"{row['test_acc']:.3f}")
        bar.close()
        history.append(row)
        if out is not None:
            _save_checkpoint(out / CHECKPOINT, model, optimizer, epoch + 1, config, history)
            atomic_write(out / METRICS, lambda fh: json.dump(history, fh, indent=1), mode="w")
        if callback is not None:
            callback(row)
    model.to(memory_format=torch.contiguous_format)
    return history


# ---- command line -----------------------------------------------------------------
def _export(path_stem: Path, model: VGG, info: dict[str, Any]) -> None:
    """Write ``<stem>.pt`` (fp16 state dict + JSON config/metrics) and ``<stem>.json``.

    The model's config goes in ``config["model"]``, as in training checkpoints, so
    :func:`load_checkpoint` reads both.
    """
    state = {k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype)
             .contiguous() for k, v in model.state_dict().items()}
    blob = dict(model=state, config=json.dumps(info["config"]),
                metrics=json.dumps([{k: v for k, v in r.items() if k != "step_losses"}
                                    for r in info["metrics"]]),
                info=json.dumps({k: v for k, v in info.items() if k not in ("config", "metrics")}))
    atomic_write(path_stem.with_suffix(".pt"), lambda fh: torch.save(blob, fh))
    atomic_write(path_stem.with_suffix(".json"), lambda fh: json.dump(info, fh, indent=1), "w")


def _number_type(kind: type, minimum: float, strict: bool) -> Callable[[str], Any]:
    """An argparse type: ``kind`` above (or, unless ``strict``, equal to) ``minimum``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            name = "whole number" if kind is int else "number"
            raise argparse.ArgumentTypeError(f"{text!r} is not a {name}") from None
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(
                f"{text} is too small: it must be {'above' if strict else 'at least'} {minimum}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    """The command line's options; their defaults are the shipped model's recipe."""
    p = argparse.ArgumentParser(
        prog="python -m vgg_lessons.train", description=__doc__.split("\n")[0],
        epilog="With no options this trains the shipped model's recipe (its card: "
               "vgg_lessons/assets/vgg11_bn_cifar10.md), about 10 minutes on 2 CPU cores.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--arch", default="A", help="A (VGG-11), B, C, D, E or vgg11/13/16/19")
    p.add_argument("--bn", default="before_relu", choices=["before_relu", "after_relu", "none"])
    p.add_argument("--width", type=_number_type(float, 0, True), default=0.25,
                   help="channel multiplier")
    p.add_argument("--epochs", type=_number_type(int, 1, False), default=10)
    p.add_argument("--batch-size", type=_number_type(int, 1, False), default=128)
    p.add_argument("--lr", type=_number_type(float, 0, True), default=0.1,
                   help="peak learning rate")
    p.add_argument("--weight-decay", type=_number_type(float, 0, False), default=5e-4)
    p.add_argument("--label-smoothing", type=_number_type(float, 0, False), default=0.1)
    p.add_argument("--schedule", default="onecycle", choices=["onecycle", "cosine", "constant"])
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--crop-padding", type=_number_type(int, 0, False), default=2,
                   help="pixels of padding for random crops")
    p.add_argument("--flip", default="alternate", choices=["random", "alternate"],
                   help="mirror images at random, or each one every other epoch")
    p.add_argument("--whiten-first-conv", action=argparse.BooleanOptionalAction, default=True,
                   help="start the first convolution as +/- the principal components of image "
                        "patches (a whitening filter bank) instead of random")
    p.add_argument("--train-size", type=_number_type(int, 1, False), default=None,
                   help="use only the first N images")
    p.add_argument("--data-root", default=None, help="default $VGG_LESSONS_DATA or the user cache")
    p.add_argument("--out-dir", default="runs/vgg11_bn", help="checkpoint and metrics.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if present)")
    p.add_argument("--threads", type=_number_type(int, 1, False), default=None,
                   help="torch CPU threads")
    p.add_argument("--resume", action="store_true",
                   help="continue from out-dir/checkpoint.pt (the recorded wall time then "
                        "includes the earlier epochs)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export", default=None, metavar="STEM",
                   help="write STEM.pt (fp16 weights) and STEM.json (config, metrics, per-class)")
    p.add_argument("--save-metrics", default=None, metavar="FILE.json",
                   help="write the run's config, command, per-epoch metrics and test results")
    return p


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """``python -m vgg_lessons.train``: train a VGG on CIFAR-10 from the command line."""
    import platform
    import shlex
    import sys

    from vgg_lessons.data import CLASSES, load_cifar10

    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    device = torch.device(args.device) if args.device else default_device()
    train_data = load_cifar10("train", args.data_root)
    test_data = load_cifar10("test", args.data_root)
    if args.train_size:
        train_data = (train_data[0][:args.train_size], train_data[1][:args.train_size])
    seed_everything(args.seed)
    bn = None if args.bn == "none" else args.bn
    model = build_vgg(args.arch, bn=bn, head="cifar", width=args.width)
    if args.whiten_first_conv:
        init_first_conv_from_patches(model, train_data[0])
    diverged = None
    this_run: list[dict[str, Any]] = []  # the epochs this command trains (not resumed ones)
    try:
        history = fit(model, train_data, test_data, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, weight_decay=args.weight_decay,
                      label_smoothing=args.label_smoothing, schedule=args.schedule,
                      augment=not args.no_augment, crop_padding=args.crop_padding, flip=args.flip,
                      seed=args.seed, device=device,
                      progress=not args.no_progress, out_dir=args.out_dir, resume=args.resume,
                      callback=this_run.append)
    except TrainingDiverged as err:  # keep what was learnt about the run: it is a result too
        diverged = str(err)
        print(f"stopped: {diverged}", file=sys.stderr)
        metrics = Path(args.out_dir) / METRICS
        history = json.loads(metrics.read_text()) if metrics.is_file() else []
    # A resumed run's wall time counts the earlier command's epochs too (by their epoch
    # times; its data loading is not known), so the record stays the cost of the whole run.
    earlier = history[:len(history) - len(this_run)]
    wall = time.perf_counter() - t_start + sum(r["seconds"] for r in earlier)
    info: dict[str, Any] = dict(
        command="python -m vgg_lessons.train " + shlex.join(sys.argv[1:] if argv is None else argv),
        config=json.loads(json.dumps(dict(model=model.config, **vars(args)))), metrics=history,
        epochs=len(history), resumed_after_epoch=len(earlier), diverged=diverged,
        wall_seconds=wall,
        train_seconds=sum(r["seconds"] for r in history), device=str(device),
        threads=torch.get_num_threads(), cpu=platform.processor() or platform.machine(),
        torch=torch.__version__)
    if diverged is None:
        ev = evaluate(model, *test_data, device=device)
        tta = evaluate(model, *test_data, device=device, flip_tta=True)
        info.update(test_acc=ev["acc"], test_loss=ev["loss"], test_acc_flip_tta=tta["acc"],
                    test_acc_per_class={name: (ev["predictions"][test_data[1] == i] == i)
                                        .float().mean().item() for i, name in enumerate(CLASSES)})
        resumed = (f" (epochs 1-{len(earlier)} by an earlier command, counted by their epoch "
                   f"times)" if earlier else "")
        print(f"test accuracy {ev['acc']:.4f} ({tta['acc']:.4f} with flip averaging) after "
              f"{len(history)} epochs; {wall:.0f} s wall time on {device}{resumed}")
    if args.save_metrics:
        path = Path(args.save_metrics)
        atomic_write(path, lambda fh: json.dump(info, fh, indent=1), "w")
        print(f"wrote {path}")
    if args.export and diverged is None:
        _export(Path(args.export), model, info)
        print(f"exported {Path(args.export).with_suffix('.pt')} and .json")
    if diverged is not None:
        raise SystemExit(1)
    return history


if __name__ == "__main__":  # pragma: no cover
    main()
