"""The in-page explorers' data, computed from the shipped model when the book is built.

Everything goes into one folder (``write_explorer_data``): sprite sheets (PNG for maps
and kernels, JPEG for photographs) and ``manifest.js``, a script that sets
``window.VGGLessons.data``. A script, not JSON: a page opened from ``file://`` may
load scripts and images from its folder but may not ``fetch`` a JSON file.

The attribution explorer's part (saliency and Grad-CAM) comes from
:mod:`vgg_lessons.publishing.site.attribution_data`.

Feature maps are stored already coloured (viridis, each layer of each image scaled to its
own range ``lo..hi``, listed in the manifest), so the page only copies rectangles of a
sprite onto a canvas and never reads pixels back (a ``file://`` image taints a canvas).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from vgg_lessons.inputs import CLASSES, IMAGE_SIZE, normalize
from vgg_lessons.models import VGG, build_vgg
from vgg_lessons.probes import activation_max, hooks
from vgg_lessons.probes import fields as probes_fields
from vgg_lessons.train import data, weights
from vgg_lessons.viz import paper_figures

from .attribution_data import attribution_data
from .model_data import write_model_data

#: Map kinds the feature-map explorer offers (batch norm is left out: it is the conv, rescaled).
MAP_KINDS = ("conv", "relu", "pool")
N_IMAGES, N_WRONG = 16, 6  # shown test images, of which wrong predictions (at least)
SHEET_WIDTH = 256  # pixels; each layer is a band of tiles this wide
DEEP_LAYER = (
    "stage4.bn2"  # the filter viewer's deep layer (before its ReLU, as in chapter 6)
)
TOP_K, SEARCHED, CHUNK = (
    8,
    1000,
    16,
)  # top images per channel, among the first N test images
VERSION = 2  # bump when the layout of the data changes
#: What manifest.js starts with: the manifest goes into the book's one global, window.VGGLessons.
MANIFEST_PREFIX = "(window.VGGLessons = window.VGGLessons || {}).data = "


def map_layers(model: nn.Module) -> list[str]:
    """Readable names of every conv, ReLU and pool output of the five stages, input first."""
    names = [n for n in getattr(model, "layer_names", {}) if n.startswith("stage")]
    if not names:
        raise ValueError("the explorers need a VGG from build_vgg or load_pretrained")
    return [n for n in names if n.split(".")[1].rstrip("0123456789") in MAP_KINDS]


def geometry_index(model: VGG, layers: list[str]) -> list[int]:
    """For each of ``layers``, the row of ``layer_table`` that fixes its geometry.

    A ReLU keeps the geometry of the convolution before it: its row is that conv's.
    """
    order = [n for n in model.layer_names if n.startswith("stage")]
    rows = [r.name for r in probes_fields.layer_table(model, IMAGE_SIZE)]
    index, current = {}, -1
    for name in order:
        if name in rows:
            current = rows.index(name)
        index[name] = current
    return [index[n] for n in layers]


def band_layout(shapes: list[tuple[int, int]]) -> tuple[list[dict[str, int]], int]:
    """Place each layer's ``(channels, size)`` tiles in a band ``SHEET_WIDTH`` wide.

    Returns:
        one dict per layer (``channels``, ``size``, ``cols``, ``y``: top of its band in
        sheet pixels) and the sheet's height in pixels.
    """
    bands, y = [], 0
    for channels, size in shapes:
        cols = max(1, min(channels, SHEET_WIDTH // size))
        bands.append({"channels": channels, "size": size, "cols": cols, "y": y})
        y += math.ceil(channels / cols) * size
    return bands, y


def _viridis(values: np.ndarray) -> np.ndarray:
    """``(...)`` floats in 0..1 -> ``(..., 3)`` uint8 viridis colours."""
    from matplotlib import colormaps

    return (colormaps["viridis"](values)[..., :3] * 255).round().astype(np.uint8)


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def map_sheet(
    maps: list[torch.Tensor], bands: list[dict[str, int]], height: int
) -> tuple[np.ndarray, list[list[float]]]:
    """One image's maps ``(C, h, w)`` per layer -> an RGB sheet ``(height, SHEET_WIDTH, 3)``
    and each layer's ``[lo, hi]`` (the values shown as the ends of the colour scale).

    Pixels outside every tile (never shown) have the colour of ``lo``, so the sheet has
    at most the colour scale's 256 colours and is stored with a palette."""
    sheet = np.broadcast_to(_viridis(np.zeros(1)), (height, SHEET_WIDTH, 3)).copy()
    ranges = []
    for fmap, band in zip(maps, bands):
        lo, hi = float(fmap.min()), float(fmap.max())
        scaled = (
            (fmap - lo) / (hi - lo) if hi > lo else torch.zeros_like(fmap)
        ).numpy()
        colours = _viridis(scaled)  # (C, h, w, 3)
        s, cols = band["size"], band["cols"]
        for c in range(band["channels"]):
            y, x = band["y"] + (c // cols) * s, (c % cols) * s
            sheet[y : y + s, x : x + s] = colours[c]
        ranges.append([_round(lo), _round(hi)])
    return sheet, ranges


def tile_rgb(images: torch.Tensor, cols: int) -> np.ndarray:
    """``(N, 3, s, s)`` uint8 or 0..1 floats -> one ``(rows*s, cols*s, 3)`` uint8 grid."""
    if images.is_floating_point():
        images = (images * 255).round().clamp(0, 255).to(torch.uint8)
    n, _, s, _ = images.shape
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * s, cols * s, 3), np.uint8)
    for i, img in enumerate(images.permute(0, 2, 3, 1).numpy()):
        grid[
            (i // cols) * s : (i // cols + 1) * s, (i % cols) * s : (i % cols + 1) * s
        ] = img
    return grid


def _save(folder: Path, name: str, array: np.ndarray) -> str:
    """Write an RGB uint8 ``(H, W, 3)`` array as ``folder/name``: JPEG (quality 90) for
    ``.jpg``; else PNG, with a palette when it has at most 256 colours (a coloured map
    sheet: the same pixels in about a third of the bytes), full RGB otherwise."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".jpg"):
        Image.fromarray(array).save(path, quality=90)
    else:
        palette_image(array).save(path, optimize=True)
    return name


def palette_image(array: np.ndarray) -> Image.Image:
    """A uint8 array as a PIL image: an RGB ``(H, W, 3)`` one in palette mode (``"P"``,
    lossless) if it has at most 256 distinct colours; greyscale ``(H, W)`` and other
    RGB arrays as they are."""
    if array.ndim != 3 or array.shape[-1] != 3:
        return Image.fromarray(array)
    rgb = array.astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]  # one int a pixel
    colours, index = np.unique(packed, return_inverse=True)
    if len(colours) > 256:
        return Image.fromarray(array)
    image = Image.fromarray(index.reshape(array.shape[:2]).astype(np.uint8), mode="P")
    palette = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1)
    image.putpalette(palette.astype(np.uint8).flatten().tolist())
    return image


def _predictions(model: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Predicted classes ``(N,)`` and each image's top 3 as ``[[class, probability], ...]``."""
    with torch.no_grad():
        probs = torch.softmax(model(inputs).float(), dim=1)
    values, classes = probs.topk(3, dim=1)
    top3 = [
        [[int(c), round(float(v), 3)] for c, v in zip(cs, vs)]
        for cs, vs in zip(classes, values)
    ]
    return probs.argmax(1), top3


def random_model(model: VGG) -> VGG:
    """The same architecture with seeded random initial weights (seed 0), in eval mode.

    Seeded inside ``torch.random.fork_rng``: the caller's global RNG state is left as
    it was (the weights are those ``torch.manual_seed(0); build_vgg(...)`` gives).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_vgg(**model.config).eval()


def feature_map_data(
    folder: Path, models: dict[str, VGG], images_u8: torch.Tensor
) -> dict[str, Any]:
    """Write one map sheet per (weights, image) under ``folder/maps``; return its manifest part.

    Args:
        models: ``{"trained": ..., "random": ...}``, in eval mode.
        images_u8: the shown test images, uint8 ``(N, 3, 32, 32)``.
    """
    trained = models["trained"]
    layers = map_layers(trained)
    inputs = normalize(images_u8)
    part: dict[str, Any] = {
        "layers": [],
        "sheets": {},
        "ranges": {},
        "predicted": {},
        "top3": {},
    }
    bands = height = None
    for key, model in models.items():
        maps = hooks.feature_maps(model, inputs, layers)
        if bands is None:
            bands, height = band_layout(
                [(maps[n].shape[1], maps[n].shape[2]) for n in layers]
            )
        assert bands is not None and height is not None  # set on the first pass
        predicted, top3 = _predictions(model, inputs)
        part["predicted"][key], part["top3"][key] = predicted.tolist(), top3
        part["sheets"][key], part["ranges"][key] = [], []
        for i in range(len(images_u8)):
            sheet, ranges = map_sheet([maps[n][i] for n in layers], bands, height)
            part["sheets"][key].append(_save(folder, f"maps/{key}-{i:02d}.png", sheet))
            part["ranges"][key].append(ranges)
    rows = geometry_index(trained, layers)
    assert bands is not None  # at least one model was drawn
    for name, band, row in zip(layers, bands, rows):
        kind = name.split(".")[1].rstrip("0123456789")
        part["layers"].append({"name": name, "kind": kind, "row": row, **band})
    part["sheet_size"] = [SHEET_WIDTH, height]
    return part


def effective_field_data(
    folder: Path, model: nn.Module, layers: list[str]
) -> dict[str, Any]:
    """The trained model's effective field of each layer's centre unit (a ``32 x 32`` map
    each, greyscale in 0..1 of its peak), tiled in one row: ``erf.png``."""
    fields = [
        probes_fields.effective_rf(model, name, IMAGE_SIZE).map for name in layers
    ]
    strip = torch.cat(fields, dim=1).clamp(0, 1)  # (32, 32 * L)
    array = (strip.numpy() * 255).round().astype(np.uint8)
    return {"sprite": _save(folder, "erf.png", array), "size": IMAGE_SIZE}


def filter_data(
    folder: Path, model: nn.Module, searched_u8: torch.Tensor
) -> dict[str, Any]:
    """First-layer kernels; for ``DEEP_LAYER`` every channel's activation-maximisation
    image and its ``TOP_K`` test images among ``searched_u8``, in chunks of ``CHUNK``."""
    kernels = hooks.first_layer_filter_images(model)  # (C, 3, k, k) in 0..1
    part: dict[str, Any] = {
        "kernels": {
            "sprite": _save(
                folder, "filters/kernels.png", tile_rgb(kernels, len(kernels))
            ),
            "count": len(kernels),
            "size": kernels.shape[-1],
            "layer": hooks.first_conv_name(model),
        }
    }
    inputs = normalize(searched_u8)
    scores = hooks.channel_scores(model, inputs, DEEP_LAYER)  # (N, C)
    n_channels = scores.shape[1]
    painted = activation_max.maximize_activation(
        model, DEEP_LAYER, list(range(n_channels)), seed=0
    )
    top = scores.topk(TOP_K, dim=0).indices.T  # (C, k)
    actmax, tops = [], []
    for start in range(0, n_channels, CHUNK):
        chunk = range(start, min(start + CHUNK, n_channels))
        actmax.append(
            _save(
                folder,
                f"filters/actmax-{start // CHUNK}.png",
                tile_rgb(painted[chunk.start : chunk.stop], CHUNK),
            )
        )
        photos = searched_u8[top[chunk.start : chunk.stop].flatten()]
        tops.append(
            _save(folder, f"filters/top-{start // CHUNK}.jpg", tile_rgb(photos, TOP_K))
        )
    part["deep"] = {
        "layer": DEEP_LAYER,
        "channels": n_channels,
        "chunk": CHUNK,
        "k": TOP_K,
        "searched": len(searched_u8),
        "actmax": actmax,
        "top": tops,
        "top_index": top.tolist(),
    }
    return part


def write_explorer_data(folder: Path) -> dict[str, Any]:
    """Compute every explorer's data from the shipped model and write it into ``folder``.

    Reads the shipped models (:func:`vgg_lessons.train.weights.load_pretrained`): the
    maps, fields, filters and attribution show :data:`~vgg_lessons.train.weights.INSPECTED`;
    the live-model explorer runs :data:`~vgg_lessons.train.weights.DEFAULT`, whose weights
    the page loads (an eighth of the MACs, a sixth of the parameters). Also reads the
    CIFAR-10 test set with :func:`vgg_lessons.train.data.load_cifar10` (from ``VGG_LESSONS_DATA``
    or the user cache; downloaded there when missing, as for the notebooks). Returns the
    manifest, also written as ``manifest.js``.
    """
    torch.set_grad_enabled(True)
    model = weights.load_pretrained(weights.INSPECTED).eval()
    images, labels = data.load_cifar10("test")
    searched, searched_labels = images[:SEARCHED], labels[:SEARCHED]
    with torch.no_grad():
        predicted = model(normalize(searched)).argmax(1)
    shown = paper_figures.pick_examples(predicted, searched_labels, N_IMAGES, N_WRONG)
    shown_u8 = searched[shown]
    folder.mkdir(parents=True, exist_ok=True)
    both = {"trained": model, "random": random_model(model)}
    maps = feature_map_data(folder, both, shown_u8)
    table = probes_fields.layer_table(model, IMAGE_SIZE)
    manifest: dict[str, Any] = {
        "version": VERSION,
        "input_size": IMAGE_SIZE,
        "classes": list(CLASSES),
        "images": {
            "sprite": _save(folder, "images.png", tile_rgb(shown_u8, N_IMAGES)),
            "test_index": shown,
            "labels": searched_labels[shown].tolist(),
        },
        "maps": maps,
        "geometry": [
            {
                k: getattr(r, k)
                for k in ("name", "kind", "kernel", "stride", "padding", "dilation")
            }
            for r in table
        ],
        "erf": effective_field_data(
            folder, model, [layer["name"] for layer in maps["layers"]]
        ),
        "filters": filter_data(folder, model, searched),
        "attribution": attribution_data(folder, both, shown_u8, _save),
        "live_model": write_model_data(
            folder,
            weights.load_pretrained(weights.DEFAULT).eval(),
            shown_u8,
            searched_labels[shown].tolist(),
        ),
    }
    manifest["filters"]["deep"]["top_labels"] = [
        searched_labels[row].tolist()
        for row in manifest["filters"]["deep"]["top_index"]
    ]
    text = MANIFEST_PREFIX + json.dumps(manifest, separators=(",", ":")) + ";\n"
    (folder / "manifest.js").write_text(text, encoding="utf-8")
    return manifest
