"""Training: a fast loop over on-device uint8 tensors, in a few named phases.

The loop keeps the whole data set as one uint8 tensor on the training device and
does shuffling, augmentation (:func:`vgg_lessons.train.augmentation.augment`) and normalisation on
whole batches there: no DataLoader, no per-image Python. SGD with Nesterov momentum
(:func:`make_optimizer`), a one-cycle (or cosine) learning-rate schedule
(:func:`lr_at`), label smoothing, channels_last, and bf16 autocast on CUDA. Three
options help short runs: smaller crop shifts (``crop_padding=2``), alternating flips
(``flip="alternate"``, :func:`alternating_mirrors`) and a first convolution that starts
as a whitening filter bank (:func:`init_first_conv_from_patches`). Every setting is a
field of :class:`~vgg_lessons.train.config.TrainConfig`.

Every epoch draws its shuffle, augmentation and dropout from generators seeded with
``(seed, epoch)`` (the caller's global random state is left as it was), so a run
resumed from a checkpoint ends with the same weights as an uninterrupted one (exactly,
on CPU with the same number of threads). A loss that is NaN, infinite or explodes, or
weights that stop being finite, stop the run: no such checkpoint is ever written.

Checkpoints: :mod:`vgg_lessons.train.checkpoints`; evaluation: :mod:`vgg_lessons.train.metrics`;
command line: ``python -m vgg_lessons.train --help`` (:mod:`vgg_lessons.train.cli`).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vgg_lessons._layers import model_dtype
from vgg_lessons.inputs import check_images, normalize
from vgg_lessons.train import distributed
from vgg_lessons.train._files import atomic_write, run_folder_lock
from vgg_lessons.train.augmentation import augment as augment_batch
from vgg_lessons.train.checkpoints import (
    CHECKPOINT,
    METRICS,
    save_checkpoint,
    start_or_resume,
)
from vgg_lessons.train.config import TrainConfig, configure
from vgg_lessons.train.metrics import autocast, check_labels, evaluate, num_classes_of

#: A loss above this many times that of a uniform guess (ln of the class count) has exploded.
EXPLODED_LOSS_FACTOR = 100


class TrainingDiverged(FloatingPointError):
    """The loss became NaN, infinite or exploded, or the weights stopped being finite.

    ``history`` holds the per-epoch metrics of the epochs that finished before (those of
    the last good checkpoint, when there is an output folder).
    """

    def __init__(self, message: str, history: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.history = history or []


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


def resolve_device(name: str | torch.device | None) -> torch.device:
    """The device called ``name`` (default :func:`default_device`), checked to exist here.

    Raises:
        ValueError: an unknown device name, or a GPU this machine does not have.
    """
    if name is None:
        return default_device()
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"unknown device {str(name)!r}; use cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device {str(name)!r}: CUDA is not available on this machine "
                "(no GPU, or a torch without CUDA); use cpu or leave the device out"
            )
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device {str(name)!r}: this machine has {count} GPU(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    elif device.type not in ("cpu", "mps", "xpu"):
        raise ValueError(f"device {str(name)!r} is not supported; use cpu or cuda")
    elif device.type != "cpu" and not _backend_available(device.type):
        raise ValueError(
            f"device {str(name)!r}: this machine (or this torch) has no "
            f"{device.type.upper()} device; use cpu or leave the device out"
        )
    return device


def _backend_available(kind: str) -> bool:
    """Whether torch can use an ``mps`` or ``xpu`` device here."""
    backend = torch.backends.mps if kind == "mps" else getattr(torch, "xpu", None)
    return bool(backend is not None and backend.is_available())


def lr_at(
    step: int, total: int, peak: float, schedule: str = "onecycle", warmup: float = 0.2
) -> float:
    """Learning rate at ``step`` of ``total``.

    ``"onecycle"``: linear from ``peak/10`` up to ``peak`` over the first ``warmup``
    fraction of steps, then linear down to 0. ``"cosine"``: the same warm-up, then a
    half cosine down to 0. ``"constant"``: ``peak`` throughout.
    """
    if schedule not in ("onecycle", "cosine", "constant"):
        raise ValueError(
            f"unknown schedule {schedule!r}; use 'onecycle', 'cosine' or 'constant'"
        )
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
def init_first_conv_from_patches(
    model: nn.Module, images: torch.Tensor, *, max_images: int = 2000, eps: float = 1e-2
) -> torch.Tensor:
    """Set the first convolution's kernels to +/- the principal components of image patches.

    The k x k x 3 patches of the (normalised) images are decomposed into principal
    components; kernel ``i`` becomes the ``i``-th strongest component divided by the
    square root of its variance (plus ``eps``), and kernel ``C/2 + i`` its negative, so
    that after the ReLU both signs of every component get through. The first layer
    then starts out as a *whitening* filter bank: its first ``C/2`` outputs are
    uncorrelated with equal variance (kernel ``C/2 + i`` is kernel ``i`` negated, so
    those two correlate -1), which conditions the layers after it and speeds up short runs
    (the "patch whitening" of Keller Jordan's airbench). The kernels stay trainable.
    With an odd channel count the last kernel keeps its random initialisation.

    Args:
        model: a VGG; its ``features[0]`` must be a convolution.
        images: uint8 ``(N, 3, H, W)`` training images; the first ``max_images`` are used.

    Returns:
        The variances of the components used, strongest first, ``(C/2,)``.
    """
    features = getattr(model, "features", None)
    conv = features[0] if isinstance(features, nn.Sequential) else None
    if not isinstance(conv, nn.Conv2d) or conv.in_channels != images.shape[1]:
        raise ValueError(
            "expected a model whose first layer is a convolution over the images' "
            f"{images.shape[1]} channels"
        )
    k = conv.kernel_size[0]
    x = normalize(images[:max_images].cpu())
    patches = (
        nn.functional.unfold(x, k).transpose(1, 2).reshape(-1, conv.in_channels * k * k)
    )
    variances, components = torch.linalg.eigh(patches.T @ patches / len(patches))
    half = min(conv.out_channels // 2, len(variances))
    variances, components = variances.flip(0)[:half], components.flip(1)[:, :half]
    kernels = (components / (variances + eps).sqrt()).T.reshape(
        half, conv.in_channels, k, k
    )
    conv.weight[: 2 * half] = torch.cat([kernels, -kernels]).to(conv.weight)
    return variances


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with Nesterov momentum; weight decay on weights only (not BN parameters or biases)."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    return torch.optim.SGD(
        [
            dict(params=decay, weight_decay=config.weight_decay),
            dict(params=no_decay, weight_decay=0.0),
        ],
        lr=config.lr,
        momentum=config.momentum,
        nesterov=True,
    )


def training_autocast(device: torch.device, precision: str = "auto"):
    """The autocast context of a training step: bf16 for ``precision="bf16"`` (on any
    device) and for ``"auto"`` on CUDA; nothing (fp32) otherwise."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(
            f"unknown precision {precision!r}; use 'auto', 'fp32' or 'bf16'"
        )
    if precision == "auto":
        return autocast(device)
    kind = device.type if device.type in ("cuda", "cpu", "xpu", "mps") else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=precision == "bf16")


@contextlib.contextmanager
def _epoch_random_state(seed: int, device: torch.device) -> Iterator[None]:
    """Seed the global generators (dropout draws from them) for one epoch, then restore them."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def _loss_problem(value: float, num_classes: int) -> str | None:
    """Why a training loss means divergence (None if it does not)."""
    if not math.isfinite(value):
        return f"became {value}"
    limit = EXPLODED_LOSS_FACTOR * math.log(max(num_classes, 2))
    if value > limit:
        return (
            f"exploded to {value:.3g} nats ({EXPLODED_LOSS_FACTOR} times a uniform "
            f"guess's {limit / EXPLODED_LOSS_FACTOR:.2f} is {limit:.0f})"
        )
    return None


def _step_batch(
    data: tuple[torch.Tensor, torch.Tensor],
    rows: tuple[torch.Tensor, torch.Tensor],
    gen: torch.Generator,
    mirrored: torch.Tensor | None,
    config: TrainConfig,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's share of one step's global batch: the images at ``rows`` (indices
    into the whole training set, on the images' device and on the CPU) cropped and
    mirrored, normalised to ``dtype``.

    Every process draws the augmentation of the whole global batch from ``gen`` (the
    same on all of them) and the mirrors by global image index (``mirrored``), then
    keeps its own rows: so an image's crop and flip do not depend on the number of
    processes or on which one trains it.
    """
    (images, labels), (index, index_cpu) = data, rows
    x, y = images[index], labels[index]
    if config.augment:
        mirror = None if mirrored is None else mirrored[index_cpu]
        x = augment_batch(x, gen, padding=config.crop_padding, mirror=mirror)
    x = normalize(x).to(dtype).contiguous(memory_format=torch.channels_last)
    return distributed.shard(x, y, distributed.context())


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    epoch: int,
    config: TrainConfig,
) -> dict[str, Any]:
    """One pass over ``images`` (uint8 ``(N, 3, H, W)``, on the training device), 0-based ``epoch``.

    Returns:
        ``epoch`` (1-based), ``train_loss``, ``train_acc``, ``train_seconds``, ``lr`` and
        ``step_losses`` (every step's loss).

    Raises:
        TrainingDiverged: the loss became NaN or infinite, or exploded.
    """
    from tqdm.auto import tqdm

    n, size, device = len(images), config.batch_size, images.device
    ctx = distributed.context()
    steps, total = n // size, config.epochs * (n // size)
    gen = torch.Generator().manual_seed(config.seed * 1000 + epoch)
    order_cpu = torch.randperm(n, generator=gen)
    order = order_cpu.to(device)
    dtype = model_dtype(model)  # float32, or what the caller converted the model to
    mirrored = (
        alternating_mirrors(n, epoch, config.seed)
        if config.flip == "alternate"
        else None
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    check_every = (
        1 if device.type == "cpu" else 25
    )  # .item() syncs a GPU: do it rarely there
    model.train()
    t0 = time.perf_counter()
    step_losses, correct = [], torch.zeros((), device=device)
    bar = tqdm(
        range(steps),
        desc=f"epoch {epoch + 1}/{config.epochs}",
        disable=not config.progress or (ctx is not None and not ctx.is_main),
        leave=True,
        dynamic_ncols=True,
    )
    for step in bar:
        batch = slice(step * size, (step + 1) * size)  # rows of the global batch
        rows = (order[batch], order_cpu[batch])
        x, y = _step_batch((images, labels), rows, gen, mirrored, config, dtype)
        # forward, backward, step
        for group in optimizer.param_groups:
            group["lr"] = lr_at(epoch * steps + step, total, config.lr, config.schedule)
        with training_autocast(device, config.precision):
            logits = model(x)
            loss = loss_fn(
                logits.to(torch.promote_types(logits.dtype, torch.float32)), y
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # log, and stop on divergence
        step_losses.append(loss.detach())
        correct += (logits.argmax(1) == y).sum()
        if step % check_every == 0 or step == steps - 1:
            value = loss.item()
            problem = _loss_problem(value, logits.shape[1])
            if problem:
                raise TrainingDiverged(
                    f"the training loss {problem} at epoch {epoch + 1}, step "
                    f"{step + 1} (lr {optimizer.param_groups[0]['lr']:.3g})"
                )
            seen = (step + 1) * len(y)  # by this process
            bar.set_postfix(
                loss=f"{value:.3f}",
                acc=f"{correct.item() / seen:.3f}",
                img_s=f"{seen / (time.perf_counter() - t0):.0f}",
                refresh=False,
            )
    bar.close()
    losses = torch.stack(step_losses).float()
    if ctx is not None:  # every step's loss and the correct count over all processes
        losses = distributed.sum_over_ranks(losses, ctx) / ctx.world_size
        correct = distributed.sum_over_ranks(correct, ctx)
    losses = losses.cpu()
    return dict(
        epoch=epoch + 1,
        train_loss=losses.mean().item(),
        train_acc=correct.item() / (steps * size),
        train_seconds=time.perf_counter() - t0,
        lr=optimizer.param_groups[0]["lr"],
        step_losses=losses.tolist(),
    )


def _training_data(
    train_data: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    num_classes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and labels, checked and cut to ``config.train_size``."""
    images, labels = train_data
    check_images(images)
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        raise ValueError(
            f"expected train labels (N,) for the {len(images)} images, got "
            f"{getattr(labels, 'shape', type(labels).__name__)}; "
            "load them with vgg_lessons.train.data.load_cifar10"
        )
    labels = check_labels(labels, len(images), num_classes)
    if config.train_size is not None:
        images, labels = images[: config.train_size], labels[: config.train_size]
    if config.batch_size > len(images):
        raise ValueError(
            f"batch_size {config.batch_size} exceeds the {len(images)} training "
            "images; lower it"
        )
    return images, labels


def _save_epoch(
    out: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    settings: dict[str, Any],
    history: list[dict[str, Any]],
) -> None:
    """Checkpoint and metrics.json after an epoch; non-finite weights are divergence."""
    try:
        save_checkpoint(
            out / CHECKPOINT, model, optimizer, history[-1]["epoch"], settings, history
        )
    except FloatingPointError as err:
        raise TrainingDiverged(
            f"the weights stopped being finite in epoch {history[-1]['epoch']} ({err})"
        ) from None
    atomic_write(out / METRICS, lambda fh: json.dump(history, fh, indent=1), mode="w")


def _test_metrics(
    model: nn.Module, test_data: tuple[torch.Tensor, torch.Tensor] | None
) -> dict[str, float | None]:
    """``test_loss`` and ``test_acc`` (None without test data); the model stays in training mode."""
    if test_data is None:
        return dict(test_loss=None, test_acc=None)
    ctx = distributed.context()
    if ctx is not None:  # each process tests every N-th image
        result = distributed.evaluate_split(model, *test_data, ctx)
    else:
        result = evaluate(model, *test_data)
    model.train()
    return dict(test_loss=result["loss"], test_acc=result["acc"])


def _epoch_row(
    trained: dict[str, Any],
    tested: dict[str, float | None],
    seconds: float,
    images_seen: int,
) -> dict[str, Any]:
    """One epoch's metrics, in the order the records have always had them."""
    return dict(
        epoch=trained["epoch"],
        train_loss=trained["train_loss"],
        train_acc=trained["train_acc"],
        **tested,
        seconds=seconds,
        images_per_s=images_seen / trained["train_seconds"],
        lr=trained["lr"],
        step_losses=trained["step_losses"],
    )


def _diverged(
    err: TrainingDiverged,
    config: TrainConfig,
    out: Path | None,
    history: list[dict[str, Any]],
) -> TrainingDiverged:
    where = ""
    if out is not None:
        where = (
            f"; the last good checkpoint (epoch {history[-1]['epoch']}) is kept in "
            f"{out / CHECKPOINT}"
            if history
            else "; no checkpoint was written (no epoch finished with finite weights)"
            + ("; the earlier run there is kept" if (out / CHECKPOINT).exists() else "")
        )
    return TrainingDiverged(
        f"{err}; lower the learning rate (now {config.lr}) or check the data "
        f"for NaNs{where}",
        history=list(history),
    )


def _one_epoch(
    models: tuple[nn.Module, nn.Module],
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor] | None,
    epoch: int,
    config: TrainConfig,
) -> dict[str, Any]:
    """Train epoch ``epoch`` (0-based) from its own seeded random state; its metrics row.

    ``models`` is the model to train (wrapped for DistributedDataParallel under
    torchrun) and the plain model that is tested.
    """
    trained_model, model = models
    t0, cpu0 = time.perf_counter(), time.process_time()
    images, labels = train
    with _epoch_random_state(config.seed * 1000 + epoch, images.device):
        trained = train_one_epoch(
            trained_model, optimizer, images, labels, epoch, config
        )
    row = _epoch_row(
        trained,
        _test_metrics(model, test_data),
        time.perf_counter() - t0,
        len(images) // config.batch_size * config.batch_size,
    )
    # CPU time of this process (all its threads): on a shared machine the honest
    # cost, where wall time also counts the neighbours
    row["cpu_seconds"] = time.process_time() - cpu0
    return row


def _start_or_resume_ranks(
    ctx: Any,
    out: Path | None,
    record: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
) -> tuple[int, list[dict[str, Any]]]:
    """:func:`start_or_resume` on rank 0 first; the other ranks then read its checkpoint."""
    main_process = ctx is None or ctx.is_main
    if main_process:
        start, history = start_or_resume(
            out,
            record,
            model,
            optimizer,
            resume=config.resume,
            overwrite=config.overwrite,
        )
    distributed.barrier(ctx)
    if not main_process:
        start, history = start_or_resume(
            out if config.resume else None,
            record,
            model,
            optimizer,
            resume=config.resume,
            overwrite=False,
        )
    return start, history


def fit(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    config: TrainConfig | None = None,
    *,
    callback: Callable[[dict], None] | None = None,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Train ``model`` in place and return per-epoch metrics.

    Args:
        train_data, test_data: ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``.
        config: the settings (default ``TrainConfig()``: the shipped model's recipe,
            the command line's defaults too); see :class:`~vgg_lessons.train.config.TrainConfig`.
        settings: fields of the config to override, e.g. ``epochs=4, lr=0.05``. The
            initial weights are the caller's: call :func:`seed_everything` before
            building the model. With ``out_dir``, ``checkpoint.pt`` and ``metrics.json``
            are written there after every epoch, atomically; ``resume=True`` continues
            from its checkpoint (which must be there, with the same settings); an
            earlier run there is replaced only with ``overwrite=True``.
        callback: called with each epoch's metrics dict after it is saved.

    Returns:
        One dict per epoch: ``epoch`` (1-based), ``train_loss``, ``train_acc``,
        ``test_loss``, ``test_acc`` (None without test data), ``seconds`` (wall time),
        ``images_per_s`` (training throughput), ``lr`` (at the epoch's end) and
        ``step_losses`` (the training loss of every step).

    Raises:
        TrainingDiverged: the loss became NaN, infinite or exploded, or the weights
            stopped being finite (the message says what to do; ``.history`` has the
            finished epochs).
        ValueError: bad settings or data, or an output folder that cannot be used.
    """
    if isinstance(settings.get("device"), torch.device):
        settings["device"] = str(settings["device"])
    config = configure(config, **settings)
    # set under torchrun (see vgg_lessons.train.distributed)
    ctx = distributed.context()
    device = ctx.device if ctx is not None else resolve_device(config.device)
    distributed.check_batch(config.batch_size, ctx)
    images, labels = _training_data(train_data, config, num_classes_of(model))
    out = Path(config.out_dir) if config.out_dir is not None else None
    record = dict(
        model=getattr(model, "config", None),
        **config.training_settings(),
        train_images=len(images),
    )
    model.to(device).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    main_process = ctx is None or ctx.is_main  # rank 0 (or the only process) writes
    lock = (
        run_folder_lock(out)
        if out is not None and main_process
        else contextlib.nullcontext()
    )
    with lock:  # one run at a time in an output folder
        start, history = _start_or_resume_ranks(
            ctx, out, record, model, optimizer, config
        )
        if start == 0 and config.whiten_first_conv:
            init_first_conv_from_patches(model, images)
        trained_model = model
        if ctx is not None:  # batch norm over the global batch; gradients averaged
            trained_model = distributed.wrap(
                distributed.sync_batch_norm(model, device), ctx
            )
        images, labels = images.to(device), labels.to(device)
        for epoch in range(start, config.epochs):
            try:
                row = _one_epoch(
                    (trained_model, model),
                    optimizer,
                    (images, labels),
                    test_data,
                    epoch,
                    config,
                )
                if out is not None and main_process:  # checkpoint
                    _save_epoch(out, model, optimizer, record, history + [row])
            except TrainingDiverged as err:
                raise _diverged(err, config, out, history) from None
            history.append(row)
            if callback is not None:
                callback(row)
    if ctx is not None:
        distributed.plain_batch_norm(model)
    model.to(memory_format=torch.contiguous_format)
    return history
