"""The live-model explorer's data: the shipped model's weights and layer list, for the page.

The page (``static/vgg-lessons/explorers-model.js``) runs the model's forward pass in
plain JavaScript on any 32x32 image, so it needs every weight. Two scripts (scripts, not
JSON files, so that a page opened from ``file://`` may load them):

- ``model.js`` (about 0.1 MB) sets ``window.VGGLessons.model``: the list of layers, the
  explorer's test images, the colour map; the page loads it when the explorer comes
  near the screen;
- ``model-weights.js`` (about 1.5 MB) sets ``window.VGGLessons.modelWeights``: every
  weight; the page loads it only when the reader asks for the model to run (picks or
  drops an image, or presses Run), so that a reader who scrolls past does not pay for it.

- Weights are stored as float16 (little-endian, base64): the shipped checkpoint holds
  float16 values already, so nothing is lost; the page widens them to float32.
- Batch norm is *not* folded into the convolutions: each BN layer keeps its four
  vectors (weight, bias, running mean, running variance, float16 as shipped) and its
  ``eps``, so the page can show a convolution's output before batch norm, as the
  feature-map explorer and chapter 6 do. It costs 4 numbers per channel (under 1%).
- Each layer is one entry of ``layers``, in the order of ``model.layer_names``, with its
  readable name, its operation (``conv``, ``bn``, ``relu``, ``pool``, ``avgpool``,
  ``linear``), its output shape ``[C, H, W]`` (``[K]`` for the logits) for a 32x32 input
  and, for layers with weights, where they are: ``{"name": [offset, count]}`` in values.

The 16 explorer test images go along as raw uint8 pixels ``(16, 3, 32, 32)``: the page
reads them as numbers, which it may not do with a sprite drawn from ``file://``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vgg_lessons import inputs
from vgg_lessons.train import data

FILE, WEIGHTS_FILE = "model.js", "model-weights.js"
#: What the two files start with: the data go into the book's one global, window.VGGLessons.
PREFIX = "(window.VGGLessons = window.VGGLessons || {}).model = "
WEIGHTS_PREFIX = "(window.VGGLessons = window.VGGLessons || {}).modelWeights = "
VERSION = 1  # bump when the layout of the data changes


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def layer_list(
    model: nn.Module, input_size: int = 32
) -> tuple[list[dict[str, Any]], list]:
    """The operations of ``model`` in order, and its parameter tensors in storage order.

    Returns:
        ``(layers, tensors)``: ``layers`` as described in the module docstring, except
        that each entry's ``params`` maps a parameter name to its index in ``tensors``.

    Raises:
        ValueError: ``model`` has no ``layer_names`` (not a VGG of :mod:`vgg_lessons.models`)
            or a layer the page cannot run (a convolution with a stride, dilation or
            groups; a pool other than 2x2 stride 2; an average pool to more than 1x1).
    """
    names = getattr(model, "layer_names", None)
    if not names:
        raise ValueError("the live model needs a VGG from build_vgg or load_pretrained")
    layers: list[dict[str, Any]] = []
    tensors: list[torch.Tensor] = []
    shape = [getattr(model, "config", {}).get("in_channels", 3), input_size, input_size]

    def params(**named: torch.Tensor) -> dict[str, int]:
        out = {}
        for key, tensor in named.items():
            out[key] = len(tensors)
            tensors.append(tensor.detach().cpu())
        return out

    for name, path in names.items():
        module = model.get_submodule(path)
        entry: dict[str, Any] = {"name": name}
        if isinstance(module, nn.Conv2d):
            k, p = module.kernel_size[0], module.padding[0]
            if (
                module.stride != (1, 1)
                or module.dilation != (1, 1)
                or module.groups != 1
                or module.kernel_size != (k, k)
                or module.padding != (p, p)
            ):
                raise ValueError(
                    f"{name}: the page runs square, stride-1 convolutions only"
                )
            named = {"weight": module.weight}
            if module.bias is not None:
                named["bias"] = module.bias
            shape = [
                module.out_channels,
                shape[1] + 2 * p - k + 1,
                shape[2] + 2 * p - k + 1,
            ]
            entry.update(op="conv", kernel=k, padding=p, params=params(**named))
        elif isinstance(module, nn.BatchNorm2d):
            assert module.running_mean is not None and module.running_var is not None, (
                f"{name}: the page needs batch norm's running statistics"
            )
            entry.update(
                op="bn",
                eps=module.eps,
                params=params(
                    weight=module.weight,
                    bias=module.bias,
                    mean=module.running_mean,
                    var=module.running_var,
                ),
            )
        elif isinstance(module, nn.ReLU):
            entry.update(op="relu")
        elif isinstance(module, nn.MaxPool2d):
            if (
                module.kernel_size not in (2, (2, 2))
                or module.stride not in (2, (2, 2))
                or module.padding not in (0, (0, 0))
            ):
                raise ValueError(
                    f"{name}: the page runs 2x2 max-pools of stride 2 only"
                )
            shape = [shape[0], shape[1] // 2, shape[2] // 2]
            entry.update(op="pool")
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            if module.output_size not in (1, (1, 1)):
                raise ValueError(f"{name}: the page runs an average pool to 1x1 only")
            shape = [shape[0], 1, 1]
            entry.update(op="avgpool")
        elif isinstance(module, nn.Linear):
            named = {"weight": module.weight, "bias": module.bias}
            shape = [module.out_features]
            entry.update(op="linear", params=params(**named))
        elif isinstance(module, nn.Dropout):
            continue  # the identity in eval mode
        else:
            raise ValueError(f"{name}: the page cannot run a {type(module).__name__}")
        entry["shape"] = list(shape)
        layers.append(entry)
    return layers, tensors


def model_data(
    model: nn.Module, images_u8: torch.Tensor, labels: list[int]
) -> dict[str, Any]:
    """Everything ``model.js`` holds (see the module docstring), as a JSON-ready dict.

    Args:
        model: the shipped model, eval mode.
        images_u8: the explorer's test images, uint8 ``(N, 3, 32, 32)``.
        labels: their true classes.
    """
    from matplotlib import colormaps

    layers, tensors = layer_list(model, images_u8.shape[-1])
    offset, chunks = 0, []
    for entry in layers:
        where = {}
        for key, index in entry.get("params", {}).items():
            values = tensors[index].to(torch.float16).flatten().numpy()
            where[key] = [offset, len(values)]
            chunks.append(values)
            offset += len(values)
        if "params" in entry:
            entry["params"] = where
    weights = np.concatenate(chunks).astype("<f2")
    return {
        "version": VERSION,
        "input_size": int(images_u8.shape[-1]),
        "mean": list(inputs.MEAN),
        "std": list(inputs.STD),
        "classes": list(data.CLASSES),
        "layers": layers,
        "n_weights": int(offset),
        "weights": _b64(weights),  # written to WEIGHTS_FILE, not to FILE
        "weights_file": WEIGHTS_FILE,
        "images": {
            "pixels": _b64(images_u8.numpy().astype(np.uint8)),
            "count": len(images_u8),
            "labels": [int(v) for v in labels],
        },
        "viridis": _b64(
            (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255)
            .round()
            .astype(np.uint8)
        ),
    }


def write_model_data(
    folder: Path, model: nn.Module, images_u8: torch.Tensor, labels: list[int]
) -> dict[str, Any]:
    """Write ``folder/model.js`` and ``folder/model-weights.js``; return the manifest's
    part (file names, sizes in bytes, and whether float16 holds every weight exactly:
    ``exact``, true for the shipped model)."""
    payload = model_data(model, images_u8, labels)
    weights = json.dumps(payload.pop("weights"))
    payload["weights_bytes"] = len(WEIGHTS_PREFIX) + len(weights) + 2
    text = PREFIX + json.dumps(payload, separators=(",", ":")) + ";\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE).write_text(text, encoding="utf-8")
    (folder / WEIGHTS_FILE).write_text(
        WEIGHTS_PREFIX + weights + ";\n", encoding="ascii"
    )
    exact = all(
        torch.equal(t.to(torch.float16).to(t.dtype), t)
        for t in model.state_dict().values()
        if t.is_floating_point()
    )
    return {
        "file": FILE,
        "bytes": len(text.encode()),
        "weights_file": WEIGHTS_FILE,
        "weights_bytes": payload["weights_bytes"],
        "n_weights": payload["n_weights"],
        "exact": exact,
    }
