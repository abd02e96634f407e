"""The attribution explorer's data: saliency and Grad-CAM maps of the shown test images.

For each of the explorer's test images, each set of weights (trained, random), each of
the ten classes as the target, and each method (saliency; Grad-CAM at
:func:`gradcam_layers`, averaged over moved and mirrored copies of the image as chapter 8
reads it), one ``32 x 32`` map computed with
:func:`vgg_lessons.probes.attribution.saliency`
and :func:`vgg_lessons.probes.attribution.grad_cam`. Each map is scaled to its own maximum (the page
shows where, not how much) and coloured with inferno; one sprite sheet per weights and
image holds them all, a row per method and a column per class.

The manifest part also carries, for every image, method and class, the rank correlation
(:func:`vgg_lessons.probes.attribution.rank_correlation`, in hundredths) between the trained and the
random model's map: the sanity check of Adebayo et al. 2018 that chapter 8 runs on 50
images, here per map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vgg_lessons.inputs import normalize
from vgg_lessons.probes import attribution, hooks

#: Where Grad-CAM is taken: the last ReLU of stages 2 to 5 (16, 8, 4 and 2 units a side
#: at 32 pixels), named per model by :func:`gradcam_layers`.
GRADCAM_STAGES = (2, 3, 4, 5)
DEFAULT_STAGE = 3  # the stage chapter 8 reads
#: Grad-CAM's ``jitter`` (pixels), as chapter 8 reads it: every map is the mean over
#: :data:`~vgg_lessons.probes.attribution.JITTER_COPIES` moved and mirrored copies.
GRADCAM_JITTER = 2


def gradcam_layers(model: nn.Module) -> tuple[str, ...]:
    """The last ReLU of each stage of :data:`GRADCAM_STAGES`, in order: for VGG-11
    ``("stage2.relu1", "stage3.relu2", "stage4.relu2", "stage5.relu2")``, for VGG-16
    ``("stage2.relu2", "stage3.relu3", "stage4.relu3", "stage5.relu3")``.

    Raises:
        ValueError: ``model`` has no readable layer names (not built by ``build_vgg``).
    """
    last_relu: dict[str, str] = {}
    for name in getattr(model, "layer_names", {}):
        if ".relu" in name:  # a stage's later ReLU overwrites its earlier ones
            last_relu[name.split(".")[0]] = name
    try:
        return tuple(last_relu[f"stage{i}"] for i in GRADCAM_STAGES)
    except KeyError:
        raise ValueError(
            "Grad-CAM's layers need a VGG from build_vgg or load_pretrained"
        ) from None


def attribution_maps(
    model: nn.Module, images_u8: torch.Tensor, layers: tuple[str, ...]
) -> torch.Tensor:
    """Every method's map for every class: ``(1 + len(layers), K, B, H, W)``, raw values.

    Method 0 is saliency, method ``1 + j`` Grad-CAM at ``layers[j]`` (with
    :data:`GRADCAM_JITTER`); ``K`` is the
    number of classes, ``B, H, W`` those of ``images_u8`` (uint8 ``(B, 3, H, W)``).
    """
    with torch.no_grad():
        n_classes = model(normalize(images_u8[:1])).shape[1]
    per_method: list[list[torch.Tensor]] = [[] for _ in range(1 + len(layers))]
    for k in range(n_classes):
        target = torch.full((len(images_u8),), k)
        per_method[0].append(attribution.saliency(model, images_u8, target))
        cams = attribution.grad_cams(
            model, images_u8, layers, target, jitter=GRADCAM_JITTER
        )  # (L, B, H, W), all layers from one pass per copy
        for j, cam in enumerate(cams, start=1):
            per_method[j].append(cam)
    return torch.stack([torch.stack(maps) for maps in per_method]).cpu()


def scaled_to_peak(maps: torch.Tensor) -> torch.Tensor:
    """Each ``(H, W)`` map of ``(..., H, W)`` (values >= 0) divided by its own maximum;
    all-zero maps stay 0."""
    return maps / maps.flatten(-2).amax(-1)[..., None, None].clamp_min(1e-30)


def attribution_sheet(maps: torch.Tensor) -> np.ndarray:
    """One image's maps ``(M, K, H, W)`` (any scale) -> an RGB sheet ``(M*H, K*W, 3)``.

    Row ``m``, column ``k`` holds method ``m``'s map for class ``k``, scaled to its own
    peak and coloured with inferno (black: 0, pale yellow: the peak).
    """
    from matplotlib import colormaps

    m, k, h, w = maps.shape
    colours = colormaps["inferno"](scaled_to_peak(maps).numpy())[
        ..., :3
    ]  # (M, K, H, W, 3)
    sheet = colours.transpose(0, 2, 1, 3, 4).reshape(m * h, k * w, 3)
    return (sheet * 255).round().astype(np.uint8)


def similarity_hundredths(trained: torch.Tensor, random: torch.Tensor) -> list:
    """Rank correlation of each trained map with the random model's, ``[image][method][class]``
    in hundredths (``-100..100``), ``None`` where a map is flat (all zero: no order)."""
    m, k, b, h, w = trained.shape
    rho = attribution.rank_correlation(
        trained.reshape(-1, h, w), random.reshape(-1, h, w)
    )
    rho = rho.reshape(m, k, b).permute(2, 0, 1)
    return [
        [[None if math.isnan(v) else round(100 * v) for v in row] for row in image]
        for image in rho.tolist()
    ]


def zero_masks(maps: torch.Tensor) -> list[str]:
    """Per image, one character per (method, class), row-major: ``"1"`` where the map is all
    zero (Grad-CAM found no positive evidence for the class at that layer), else ``"0"``."""
    flat = maps.flatten(-2).amax(-1) <= 0  # (M, K, B)
    return [
        "".join("1" if z else "0" for z in flat[:, :, i].flatten().tolist())
        for i in range(flat.shape[-1])
    ]


def attribution_data(
    folder: Path, models: Mapping[str, nn.Module], images_u8: torch.Tensor, save: Any
) -> dict[str, Any]:
    """Write one sheet per (weights, image) under ``folder/attribution``; return its manifest part.

    Args:
        models: ``{"trained": ..., "random": ...}``, in eval mode.
        images_u8: the shown test images, uint8 ``(N, 3, 32, 32)``.
        save: ``save(folder, name, array) -> name``, the writer of the other sprites.
    """
    layers = gradcam_layers(models["trained"])
    shapes = hooks.feature_maps(models["trained"], images_u8[:1], list(layers))
    maps = {
        key: attribution_maps(model, images_u8, layers) for key, model in models.items()
    }
    size = images_u8.shape[-1]
    part: dict[str, Any] = {
        "methods": [{"name": "saliency", "layer": None, "units": size}]
        + [
            {
                "name": "Grad-CAM",
                "layer": layer,
                "units": shapes[layer].shape[-1],
                "copies": attribution.JITTER_COPIES,
            }
            for layer in layers
        ],
        "default_method": 1 + GRADCAM_STAGES.index(DEFAULT_STAGE),
        "tile": size,
        "sheets": {},
        "zero": {},
        "similarity": similarity_hundredths(maps["trained"], maps["random"]),
    }
    for key, stack in maps.items():
        part["sheets"][key] = [
            save(
                folder,
                f"attribution/{key}-{i:02d}.png",
                attribution_sheet(stack[:, :, i]),
            )
            for i in range(len(images_u8))
        ]
        part["zero"][key] = zero_masks(stack)
    return part
