"""Measuring a classifier: ``evaluate`` on uint8 images, confusion matrix, per-class accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from vgg_lessons._layers import model_device, model_dtype
from vgg_lessons.inputs import check_images, normalize


def autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA, nothing elsewhere (the loop and :func:`evaluate` use it)."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    batch_size: int = 1000,
    device: torch.device | str | None = None,
    flip_tta: bool = False,
) -> dict[str, Any]:
    """Test a model on uint8 images, on the device the model is on.

    Args:
        images: uint8 ``(N, 3, 32, 32)``; labels: int64 ``(N,)``.
        device: optional; if given it must be the model's device (the model is never
            moved: move it yourself with ``model.to(device)``).
        flip_tta: average the logits of each image and its mirror image.

    Returns:
        ``{"loss": mean cross-entropy (nats), "acc": fraction correct,
        "predictions": int64 (N,) on CPU}``. The model is left in eval mode.

    Raises:
        ValueError: images that are not uint8 ``(N, C, H, W)``, labels of another length,
            or a ``device`` other than the model's.
    """
    here, dtype = model_device(model), model_dtype(model)
    if (
        device is not None
        and torch.device(device) != here
        and not (
            torch.device(device).type == here.type == "cuda"
            and torch.device(device).index is None
        )
    ):
        raise ValueError(
            f"the model is on {here}, not {device}; move it first "
            f"(model.to({str(device)!r})) or leave out device"
        )
    check_images(images)
    labels = check_labels(labels, len(images), num_classes_of(model))
    model.eval()
    total_loss, preds = 0.0, []
    for start in range(0, len(images), batch_size):
        x = normalize(images[start : start + batch_size].to(here)).to(dtype)
        x = x.contiguous(memory_format=torch.channels_last)
        y = labels[start : start + batch_size].to(here)
        with autocast(here):
            logits = model(x).float()
            if flip_tta:
                logits = (logits + model(x.flip(3)).float()) / 2
        total_loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        preds.append(logits.argmax(1).cpu())
    predictions = torch.cat(preds)
    return dict(
        loss=total_loss / len(images),
        acc=(predictions == labels.cpu()).float().mean().item(),
        predictions=predictions,
    )


def num_classes_of(model: nn.Module) -> int | None:
    """The number of classes in a VGG's config (None for a model without one)."""
    config = getattr(model, "config", None)
    return config.get("num_classes") if isinstance(config, dict) else None


def check_labels(labels: object, n: int, num_classes: int | None = None) -> Tensor:
    """``labels`` as int64 ``(n,)``, checked: whole numbers in ``0..num_classes - 1``.

    Any integer dtype is taken (int32, uint8 ...); floats, a wrong length or a class
    the model does not have are refused.

    Raises:
        ValueError: one line saying what is wrong and what to pass.
    """
    if not isinstance(labels, torch.Tensor) or labels.shape != (n,):
        raise ValueError(
            f"expected labels (N,) for the {n} images, got "
            f"{getattr(labels, 'shape', type(labels).__name__)}; "
            "load them with vgg_lessons.train.data.load_cifar10"
        )
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(
            f"labels must be whole class indices (an integer tensor), got {labels.dtype}"
            "; convert them with labels.long()"
        )
    top = num_classes
    if n and (labels.min() < 0 or (top is not None and labels.max() >= top)):
        raise ValueError(
            f"labels must be class indices in 0..{'K-1' if top is None else top - 1}, "
            f"got values {labels.min().item()}..{labels.max().item()}"
        )
    return labels.long()


def confusion_matrix(labels: Tensor, predictions: Tensor, num_classes: int) -> Tensor:
    """Counts ``(num_classes, num_classes)``, int64: row = true class, column = predicted.

    Raises:
        ValueError: labels and predictions of different lengths, or a class outside
            ``0..num_classes-1``.
    """
    labels, predictions = (
        torch.as_tensor(labels).long().cpu(),
        torch.as_tensor(predictions).long().cpu(),
    )
    if labels.shape != predictions.shape or labels.dim() != 1:
        raise ValueError(
            f"labels and predictions must be two (N,) tensors of the same length, "
            f"got shapes {tuple(labels.shape)} and {tuple(predictions.shape)}"
        )
    for what, t in (("labels", labels), ("predictions", predictions)):
        if len(t) and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(
                f"{what} must be class indices in 0..{num_classes - 1}, found "
                f"{t.min().item()}..{t.max().item()}"
            )
    flat = labels * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes**2).view(num_classes, num_classes)


def per_class_accuracy(
    labels: Tensor, predictions: Tensor, classes: Sequence[str]
) -> dict[str, float]:
    """``{class name: fraction of that class's images predicted right}``, in label order.

    A class with no images gets NaN (there is nothing to be right about).
    """
    counts = confusion_matrix(labels, predictions, len(classes)).float()
    right = counts.diagonal() / counts.sum(1)
    return {name: right[i].item() for i, name in enumerate(classes)}
