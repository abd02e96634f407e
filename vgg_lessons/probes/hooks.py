"""Seeing inside a network: feature maps, filters, activation maximisation.

Everything here works on any ``nn.Module``; with a :class:`~vgg_lessons.models.VGG`
layers can be named readably (``"stage3.conv2"``, ``"stage3.bn2"``) or by module
path (``"features.12"``), see ``VGG.layer_names``.

- :class:`FeatureRecorder` / :func:`recording`: forward hooks that copy a layer's
  output as the model runs, and are removed on exit, even after an error.
- :func:`feature_maps`: one forward pass, the outputs of the named layers.
- :func:`filters`, :func:`first_layer_filter_images`: a convolution's weights, the
  first layer's as small RGB images.
- :func:`maximize_activation` (from :mod:`vgg_lessons.probes.activation_max`): gradient
  ascent on the input image towards what one channel responds to most.
- :func:`channel_scores`, :func:`top_activating_images`: the images of a set that
  drive a channel hardest.
- :func:`saliency`, :func:`grad_cam` (from :mod:`vgg_lessons.probes.attribution`): which pixels
  a prediction depends on; :func:`rank_correlation`: how alike two such maps are.

A channel's *response* to an image is, throughout, the mean of its feature map
over all spatial positions (one number per image and channel).

Nothing here changes a model's train/eval mode: call ``model.eval()`` first
when batch norm should use its running statistics (it should for a trained model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from vgg_lessons._layers import (
    forward_until,
    model_dtype,
    readable_name,
    resolve_layer,
)
from vgg_lessons._layers import model_device as _device
from vgg_lessons.inputs import as_model_input, check_images


# ---- naming --------------------------------------------------------------------------
def _layer_list(layers: str | Sequence[str]) -> list[str]:
    if not isinstance(layers, (str, list, tuple)) or not all(
        isinstance(n, str) for n in ([layers] if isinstance(layers, str) else layers)
    ):
        raise ValueError(
            f"layers are named by a string or a list of strings such as "
            f"['stage1.conv1', 'stage3.bn2'], got {type(layers).__name__} {layers!r}"
        )
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(
            "no layers given: name at least one, e.g. ['stage1.conv1', 'stage3.conv2']"
        )
    return names


# ---- hooks ---------------------------------------------------------------------------
class FeatureRecorder:
    """Forward hooks that store the outputs of named layers, removed on exit.

    Use it as a context manager; inside, every forward pass of ``model`` fills
    :attr:`maps` (layer name as given -> output tensor ``(B, C, H, W)``, the last
    pass wins). The hooks store a *copy* of each output: VGG's ReLUs work in place
    and would otherwise overwrite a stored batch-norm or convolution output.

    Args:
        model: any module; with a VGG, readable layer names work.
        layers: one name or a list of names.
        detach: store outputs cut from the autograd graph (True, saves memory) or
            keep the graph so a loss on them can be back-propagated (False).

    Example:
        >>> with FeatureRecorder(model, ["stage1.conv1", "stage3.bn2"]) as rec:
        ...     logits = model(x)
        >>> rec.maps["stage3.bn2"].shape   # (B, C, H, W)
    """

    def __init__(
        self, model: nn.Module, layers: str | Sequence[str], *, detach: bool = True
    ):
        self.model = model
        self.layers = _layer_list(layers)
        self.modules = {name: resolve_layer(model, name) for name in self.layers}
        self.detach = detach
        self.maps: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str) -> Callable:
        def store(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            out = output.detach() if self.detach else output
            self.maps[name] = out.clone()  # a copy: an in-place ReLU may follow

        return store

    def __enter__(self) -> FeatureRecorder:
        if self._handles:
            raise RuntimeError(
                "this FeatureRecorder is already recording; make a new one"
            )
        self.maps = {}
        for name, module in self.modules.items():
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks (idempotent); :attr:`maps` stays readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


@contextmanager
def recording(
    model: nn.Module, layers: str | Sequence[str], *, detach: bool = True
) -> Iterator[dict[str, torch.Tensor]]:
    """Context manager: yields a dict that the forward passes inside fill (see FeatureRecorder).

    Example:
        >>> with recording(model, "stage2.conv1") as maps:
        ...     model(x)
        >>> maps["stage2.conv1"]           # (B, C, H, W)
    """
    recorder = FeatureRecorder(model, layers, detach=detach)
    with recorder:
        yield recorder.maps


def feature_maps(
    model: nn.Module, images: torch.Tensor, layers: str | Sequence[str]
) -> dict[str, torch.Tensor]:
    """Run ``model`` once on ``images`` and return the outputs of ``layers``.

    Args:
        model: the network (put it in eval mode first for a trained model).
        images: uint8 ``(B, 3, H, W)`` as :func:`vgg_lessons.train.data.load_cifar10` returns
            them (converted by the shipped weights' ``transforms()``), or float model
            input, already normalised; moved to the model's device.
        layers: one name or a list, e.g. ``["stage1.conv1", "stage3.bn2"]``.

    Returns:
        layer name (as given) -> detached copy of its output, ``(B, C_l, H_l, W_l)``
        for convolutional layers, on the model's device.
    """
    with torch.no_grad(), recording(model, layers) as maps:
        model(as_model_input(images).to(_device(model), model_dtype(model)))
    return dict(maps)


# ---- filters -------------------------------------------------------------------------
def filters(model: nn.Module, layer: str) -> torch.Tensor:
    """The weights of a convolution: ``(C_out, C_in, k, k)``, a detached CPU copy."""
    module = resolve_layer(model, layer)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(
            f"layer {layer!r} is a {type(module).__name__}, which has no filters; "
            "name a convolution such as 'stage1.conv1'"
        )
    return module.weight.detach().cpu().clone()


def first_conv_name(model: nn.Module) -> str:
    """Name of the first ``nn.Conv2d`` of the model (readable for a VGG)."""
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return readable_name(model, path)
    raise ValueError(
        f"this {type(model).__name__} has no nn.Conv2d layer, so no filters to show"
    )


def first_layer_filter_images(model: nn.Module) -> torch.Tensor:
    """The first convolution's kernels as RGB images, ``(C_out, 3, k, k)`` in 0..1.

    Each kernel is scaled on its own, symmetrically about zero: a zero weight is mid
    grey (0.5), the kernel's largest absolute weight becomes 0 or 1. So colours and
    light/dark patterns are comparable within a kernel; contrast between kernels is not.
    """
    name = first_conv_name(model)
    w = filters(model, name)  # (C_out, C_in, k, k)
    if w.shape[1] != 3:
        raise ValueError(
            f"the first convolution {name!r} takes {w.shape[1]} input channels; "
            "only RGB (3-channel) kernels can be shown as colour images"
        )
    peak = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return (0.5 + 0.5 * w / peak).clamp(0.0, 1.0)


# ---- top activating images -----------------------------------------------------------
def channel_scores(
    model: nn.Module, images: torch.Tensor, layer: str, *, batch_size: int = 500
) -> torch.Tensor:
    """Every channel's response (spatial mean of its map) to every image: ``(N, C)``, CPU.

    Args:
        images: ``(N, 3, H, W)``: uint8 as loaded (converted by the shipped weights'
            ``transforms()``) or float model input; run in batches of ``batch_size``.

    Raises:
        ValueError: not a batch of images, or an empty one.
    """
    check_images(images, dtype="any")
    device = _device(model)
    parts = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = as_model_input(images[start : start + batch_size])
            batch = batch.to(device, model_dtype(model))
            act = forward_until(model, batch, layer)
            parts.append(
                act.flatten(2).mean(dim=2).cpu() if act.dim() > 2 else act.cpu()
            )
    return torch.cat(parts)


def top_activating_images(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    channel: int,
    k: int = 9,
    *,
    scores: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` images that make ``channel`` of ``layer`` respond most.

    Args:
        images: ``(N, 3, H, W)``, uint8 as loaded or float model input (see
            :func:`channel_scores`), e.g. the first 1,000 test images.
        channel: channel index in ``layer``.
        k: how many (at most N).
        scores: the ``(N, C)`` result of :func:`channel_scores` for these images and
            this layer, to skip the forward passes (widgets cache it).

    Returns:
        ``indices`` (int64 ``(k,)``, into ``images``) and their responses (``(k,)``),
        strongest first.
    """
    for name, value in (("channel", channel), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(
                f"{name} must be a whole number, got {type(value).__name__} {value!r}"
            )
    if scores is None:
        scores = channel_scores(model, images, layer)
    if not 0 <= channel < scores.shape[1]:
        raise ValueError(
            f"layer {layer!r} has {scores.shape[1]} channels "
            f"(0..{scores.shape[1] - 1}); channel {channel} does not exist"
        )
    if not 1 <= k <= scores.shape[0]:
        raise ValueError(
            f"k must be between 1 and the number of images ({scores.shape[0]}), got {k}"
        )
    values, indices = torch.topk(scores[:, channel], k)
    return indices, values
