"""Dense evaluation (the paper's Sec. 3.2): class scores at every position, at several scales.

At test time the VGG paper does not crop: it turns the fully connected layers into
convolutions (:func:`vgg_lessons.models.fully_convolutional`) and runs the network over
the whole rescaled image. The result is a *map* of class scores, one per 32-pixel step;
its spatial mean is the image's score, and averaging the softmax of those scores over
several scales (and mirror images) is multi-scale evaluation.

- :func:`score_map`: ``(B, classes, h, w)`` for any VGG of this package. ImageNet head:
  the fully convolutional copy. CIFAR head (global average pool, then one linear
  layer): the linear layer applied at every position of the last stage's map, whose
  mean is exactly the model's logits, because averaging and a linear layer commute.
- :func:`dense_scores`: the spatial mean of the map, ``(B, classes)``.
- :func:`multi_scale_probabilities`: softmax of the dense scores averaged over scales.
- :func:`mosaic`: tiles of small images into one larger picture, a "scene" for the
  CIFAR model whose score map can be read tile by tile.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vgg_lessons._layers import model_dtype
from vgg_lessons.inputs import as_model_input, check_images
from vgg_lessons.models import VGG, fully_convolutional


@torch.no_grad()
def score_map(model: VGG, images: torch.Tensor) -> torch.Tensor:
    """Class scores (logits) at every position of the last stage: ``(B, classes, h, w)``.

    Args:
        model: a VGG; put in eval mode here.
        images: uint8 ``(B, 3, H, W)`` (converted by the shipped weights' ``transforms()``),
            or float images that are already model input. CIFAR head: ``H, W >= 32``,
            map side ``H/32``;
            ImageNet head: ``H, W >= 224``, map side ``H/32 - 6``.
    """
    model.eval()
    x = as_model_input(images).to(model_dtype(model))
    if model.config["head"] == "imagenet":
        if min(x.shape[-2:]) < 224:
            raise ValueError(
                f"images of {x.shape[-2]}x{x.shape[-1]} pixels are too small for the "
                "ImageNet head: its fc1 reads a 7x7 map, which needs 224x224 or more"
            )
        return fully_convolutional(model)(x)
    fc = model.classifier[0]
    if not isinstance(fc, nn.Linear) or len(model.classifier) != 1:
        raise ValueError(
            "expected the CIFAR head of build_vgg (one linear layer after the pool)"
        )
    features = model.forward_features(x)  # (B, C5, h, w)
    return torch.einsum("bchw,kc->bkhw", features, fc.weight) + fc.bias[:, None, None]


def dense_scores(model: VGG, images: torch.Tensor) -> torch.Tensor:
    """The paper's dense score: :func:`score_map` averaged over positions, ``(B, classes)``."""
    return score_map(model, images).mean(dim=(2, 3))


def rescale(images: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` resized (bilinear, antialiased): the shorter side is ``side``."""
    check_images(images)
    h, w = images.shape[-2:]
    size = (side, round(w * side / h)) if h <= w else (round(h * side / w), side)
    out = nn.functional.interpolate(
        images.float(), size=size, mode="bilinear", align_corners=False, antialias=True
    )
    return out.round().clamp(0, 255).to(torch.uint8)


def multi_scale_probabilities(
    model: VGG, images: torch.Tensor, sides: Sequence[int], flip: bool = False
) -> torch.Tensor:
    """Softmax of the dense scores averaged over rescaled copies (and mirrors), ``(B, classes)``.

    The paper's multi-scale evaluation (Sec. 4.2): the image is rescaled so that its
    shorter side is each of ``sides`` in turn, scored densely, and the class
    posteriors are averaged; ``flip=True`` also averages the mirror images.
    """
    if not sides:
        raise ValueError("give at least one image side, e.g. sides=(256, 384, 512)")
    probs = []
    for side in sides:
        x = rescale(images, side)
        for view in [x, x.flip(-1)] if flip else [x]:
            probs.append(dense_scores(model, view).softmax(dim=1))
    return torch.stack(probs).mean(dim=0)


def mosaic(images: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``rows * cols`` images ``(N, C, h, w)`` tiled row by row: ``(1, C, rows*h, cols*w)``."""
    if images.dim() != 4 or len(images) != rows * cols:
        raise ValueError(
            f"a {rows}x{cols} mosaic needs {rows * cols} images (N, C, h, w), got "
            f"{tuple(images.shape)}"
        )
    n, c, h, w = images.shape
    grid = images.reshape(rows, cols, c, h, w).permute(
        2, 0, 3, 1, 4
    )  # (C, rows, h, cols, w)
    return grid.reshape(1, c, rows * h, cols * w)
