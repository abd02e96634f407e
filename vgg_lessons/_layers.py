"""Naming layers and finding a model's device, for every module that takes a model (private).

A layer is named readably on a :class:`~vgg_lessons.models.VGG` (``"stage3.conv2"``,
see ``VGG.layer_names``) or by module path on any ``nn.Module`` (``"features.12"``).
These helpers are the one place that turns names into modules and back, and
:func:`forward_until` runs a model only as far as one named layer.
"""

from __future__ import annotations

import torch
from torch import nn


def layer_path(model: nn.Module, name: str) -> str:
    """The module path of the layer called ``name`` (a readable name or already a path).

    Raises:
        ValueError: ``name`` is not a non-empty string, or names no submodule (the
            message lists some valid names).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"a layer is named by a non-empty string such as 'stage3.conv2' or "
            f"'features.12', got {type(name).__name__} {name!r}"
        )
    names = getattr(model, "layer_names", None) or {}
    path = names.get(name, name)
    try:
        model.get_submodule(path)
    except AttributeError:
        if names:
            examples = ", ".join(list(names)[:4])
            raise ValueError(
                f"no layer named {name!r}; use a name from model.layer_names "
                f"(e.g. {examples}, ...) or a module path such as 'features.0'"
            ) from None
        examples = ", ".join(n for n, _ in list(model.named_modules())[1:5])
        raise ValueError(
            f"no layer named {name!r} in this {type(model).__name__}; use a module "
            f"path from model.named_modules() (e.g. {examples})"
        ) from None
    return path


def resolve_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (readable name or module path); see :func:`layer_path`."""
    return model.get_submodule(layer_path(model, name))


def readable_name(model: nn.Module, path: str) -> str:
    """``"features.12" -> "stage3.conv2"`` on a VGG; the path itself on other models."""
    for name, p in (getattr(model, "layer_names", None) or {}).items():
        if p == path:
            return name
    return path


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); the CPU for a model with neither."""
    tensor: torch.Tensor | None = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating-point parameter (float32 for a model with none).

    Input is cast to it, so a float64 (or bfloat16) model takes the same images.
    """
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the wanted layer has run."""


def forward_until(model: nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    """The output of ``layer`` for input ``x``, without running the layers after it.

    Keeps the autograd graph (call under ``torch.no_grad()`` when none is needed).
    """
    module = resolve_layer(model, layer)
    found: list[torch.Tensor] = []

    def stop(mod: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        found.append(output.clone())
        raise _Stop

    handle = module.register_forward_hook(stop)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not found:
        raise ValueError(
            f"layer {layer!r} did not run in the forward pass; name a layer that "
            "the model uses"
        )
    return found[0]
