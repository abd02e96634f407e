"""Receptive fields measured on models: tables from a model's layers, by back-propagation.

The arithmetic (``LayerSpec``, ``rf_table``, ``output_size``, ...) is in
:mod:`vgg_lessons.receptive_field`, which needs no torch; this module applies it
to ``nn.Module`` s (:func:`layer_table`) and measures fields with gradients:
:func:`empirical_rf` (which pixels reach a unit at all) and :func:`effective_rf`
(how strongly, Luo et al. 2016). All of these names can also be imported from
``vgg_lessons.receptive_field``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vgg_lessons._layers import layer_path, readable_name
from vgg_lessons.receptive_field import (
    LayerSpec,
    RFTable,
    effective_kernel,
    min_input_size,
    rf_table,
)

# ---- from a model -------------------------------------------------------------------
#: Layers that act on each pixel alone (or across channels only) keep the geometry.
_PASS_THROUGH = (
    "BatchNorm1d",
    "BatchNorm2d",
    "GroupNorm",
    "InstanceNorm2d",
    "LayerNorm",
    "LocalResponseNorm",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "GELU",
    "SiLU",
    "Sigmoid",
    "Tanh",
    "Hardswish",
    "Dropout",
    "Dropout2d",
    "Identity",
)


def _square(value: Any, what: str, path: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(
                f"layer {path!r} has a non-square {what} {tuple(value)}; "
                "receptive-field tables here assume the same value on both axes"
            )
        value = value[0]
    return int(value)


def feature_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(module path, module)`` of the leaf layers that act on the image, in order.

    For a model with a ``features`` attribute (our ``VGG``, torchvision's) those
    are the leaves of ``features``; otherwise every leaf of the model, which must
    then run its layers in registration order (an ``nn.Sequential``).
    """
    features = getattr(model, "features", None)
    root, prefix = (
        (features, "features.") if isinstance(features, nn.Module) else (model, "")
    )
    return [
        (prefix + p, m) for p, m in root.named_modules() if p and not list(m.children())
    ]


def layer_spec(
    path: str, module: nn.Module, name: str | None = None
) -> LayerSpec | None:
    """The :class:`LayerSpec` of a module, None for a pass-through layer.

    Raises:
        ValueError: the module's type changes geometry in a way this module cannot
            follow (the message names the layer and its type).
    """
    name = name or path
    if isinstance(module, nn.Conv2d):
        kernel = _square(module.kernel_size, "kernel", path)
        dilation = _square(module.dilation, "dilation", path)
        pad: str | int | tuple[int, ...] = module.padding
        right: int | None = None
        if isinstance(pad, str):
            if pad == "valid":
                pad = 0
            else:  # "same" (stride 1): PyTorch pads (span - 1) // 2 on the left and
                # the rest on the right, one more there for an even span
                span = effective_kernel(kernel, dilation)
                pad, right = (span - 1) // 2, span - 1 - (span - 1) // 2
        return LayerSpec(
            name,
            kernel,
            _square(module.stride, "stride", path),
            _square(pad, "padding", path),
            dilation,
            "conv",
            padding_right=right if right != pad else None,
        )
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        dilation = getattr(module, "dilation", 1)
        return LayerSpec(
            name,
            _square(module.kernel_size, "kernel", path),
            _square(module.stride or module.kernel_size, "stride", path),
            _square(module.padding, "padding", path),
            _square(dilation, "dilation", path),
            "pool",
            bool(module.ceil_mode),
        )
    if type(module).__name__ in _PASS_THROUGH:
        return None
    raise ValueError(
        f"layer {name!r} is a {type(module).__name__}, which receptive-field tables "
        "do not support (only Conv2d, MaxPool2d, AvgPool2d and per-pixel layers such "
        "as BatchNorm2d, ReLU, Dropout); compute the part of the model before it, or "
        "describe the layers with LayerSpec and use rf_table"
    )


def _named_specs(model: nn.Module) -> list[LayerSpec]:
    specs = []
    for path, module in feature_layers(model):
        spec = layer_spec(path, module, readable_name(model, path))
        if spec is not None:
            specs.append(spec)
    return specs


def square_side(input_size: int | tuple[int, int]) -> int:
    """The side of a square input given as ``n`` or ``(n, n)`` pixels.

    Raises:
        ValueError: not a positive whole number or a pair of two equal ones (layer
            tables are per axis: for a non-square input make one per side).
    """
    size = input_size
    if isinstance(size, (tuple, list)) and len(size) == 2:
        if size[0] != size[1]:
            raise ValueError(
                f"a receptive-field table is the same on both axes only for a square "
                f"input; got (H, W) = {tuple(size)}: make one table per side, e.g. "
                f"layer_table(model, {size[0]}) and layer_table(model, {size[1]})"
            )
        size = size[0]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(
            f"input_size is the image side in pixels, a positive whole number or "
            f"(H, W) with H = W, got {input_size!r}"
        )
    return size


def layer_table(model: nn.Module, input_size: int | tuple[int, int] = 224) -> RFTable:
    """Receptive-field table of a model's convolutions and poolings (``features`` only).

    Args:
        model: a ``vgg_lessons.models.VGG`` (rows named ``stage5.conv3``, ``stage5.pool``,
            ...), torchvision's VGG (``features.28``), or any ``nn.Sequential`` of
            Conv2d / pooling / per-pixel layers (rows named by module path).
        input_size: input side in pixels, ``n`` or ``(n, n)``.

    Returns:
        An :class:`RFTable`, one row per Conv2d / MaxPool2d / AvgPool2d; BN, ReLU,
        LRN and dropout keep the geometry and get no row.

    Raises:
        ValueError: an unsupported layer (named), a non-square input, or an input
            too small for the model (the message names the first layer left empty
            and the smallest input that works).
    """
    return rf_table(_named_specs(model), square_side(input_size))


@dataclass(frozen=True)
class MeasuredRF:
    """A receptive field measured by back-propagation (input pixels, one axis).

    The probed unit is ``unit`` (row = column) of ``layer`` at ``input_size``; its
    field covers the input pixels ``start .. stop - 1`` on both axes.
    """

    layer: str
    unit: int
    input_size: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def centre(self) -> float:
        return (self.start + self.stop - 1) / 2


def _layer_index(
    model: nn.Module, layer: str
) -> tuple[list[tuple[str, nn.Module]], int, str]:
    """Feature layers, the index of ``layer`` among them and its readable name."""
    layers = feature_layers(model)
    paths = [p for p, _ in layers]
    try:
        path = layer_path(model, layer)
    except ValueError:
        path = None
    if path not in paths:
        examples = ", ".join(readable_name(model, p) for p in paths[-4:])
        raise ValueError(
            f"no feature layer named {layer!r}; receptive fields exist for the "
            f"convolutional part only: use a name such as {examples}"
        )
    return layers, paths.index(path), readable_name(model, path)


def _probe_copy(path: str, module: nn.Module) -> nn.Module:
    """A one-channel module with ``module``'s geometry and positive weights, float64."""

    spec = layer_spec(path, module)
    if spec is None:
        return nn.Identity()
    if spec.kind == "pool" and spec.dilation == 1:
        return nn.AvgPool2d(
            spec.kernel,
            spec.stride,
            spec.padding,
            ceil_mode=spec.ceil_mode,
            count_include_pad=True,
        )
    conv = nn.Conv2d(
        1,
        1,
        spec.kernel,
        spec.stride,
        spec.padding,
        spec.dilation,
        bias=False,
        dtype=torch.float64,
    )
    nn.init.constant_(conv.weight, 1.0 / spec.kernel**2)
    return conv


def empirical_rf(model: nn.Module, layer: str, input_size: int = 64) -> MeasuredRF:
    """Measure a layer's receptive field: the input pixels that reach one of its units.

    The model's geometry is copied into a one-channel float64 network with all
    weights positive and no biases (max-pools become average pools, BN / ReLU /
    LRN / dropout become identities), fed an image of ones. Then every input pixel
    inside a unit's field has a positive gradient and every other pixel exactly
    zero, whatever the real weights, so the non-zero region *is* the field.

    The probed unit is the centre one. If its field touches the image border (it
    may be clipped there), the input size is doubled and the measurement repeated;
    ``input_size`` of the result says which size was used.

    Args:
        model: as for :func:`layer_table` (a readable name or module path for ``layer``).
        layer: a feature layer, e.g. ``"stage5.pool"`` or ``"features.30"``.
        input_size: starting input height (= width) in pixels.

    Raises:
        ValueError: unknown layer, unsupported layer type, or a field larger than 4096 pixels.
    """

    if isinstance(input_size, bool) or not isinstance(input_size, numbers.Integral):
        raise ValueError(
            f"input_size is the image side in pixels, a whole number such as 64, got "
            f"{type(input_size).__name__} {input_size!r}"
        )
    if input_size < 1:
        raise ValueError(f"input_size must be at least 1 pixel, got {input_size}")
    input_size = int(input_size)
    layers, i, name = _layer_index(model, layer)
    probe = nn.Sequential(*(_probe_copy(p, m) for p, m in layers[: i + 1])).double()
    size = max(
        input_size,
        min_input_size(_named_specs(nn.Sequential(*(m for _, m in layers[: i + 1])))),
    )
    while size <= 4096:
        x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        out = probe(x)  # (1, 1, h, w)
        unit = (out.shape[-1] - 1) // 2
        (grad,) = torch.autograd.grad(out[0, 0, unit, unit], x)
        rows = torch.nonzero(grad[0, 0].abs().sum(1)).flatten()
        cols = torch.nonzero(grad[0, 0].abs().sum(0)).flatten()
        lo, hi = int(rows.min()), int(rows.max()) + 1
        if (lo, hi) != (int(cols.min()), int(cols.max()) + 1):
            raise ValueError(
                f"layer {name!r} has a non-square field; this measures square ones"
            )
        if lo > 0 and hi < size:
            return MeasuredRF(name, unit, size, lo, hi)
        size *= 2
    raise ValueError(
        f"the field of {name!r} is wider than 4096 pixels; describe the layers "
        "with LayerSpec and use rf_table instead"
    )


@dataclass(frozen=True)
class EffectiveRF:
    """An effective receptive field (Luo et al., 2016) and the unit it belongs to.

    ``map`` is ``(input_size, input_size)``, the mean ``|d unit / d input|`` per input
    pixel, normalised to maximum 1. The probed unit is ``unit`` (row = column) of
    ``layer``; its theoretical field of ``rf`` pixels is centred on input coordinate
    ``centre`` on both axes (``layer_table``'s ``start + unit * jump``), which is the
    middle of the image only when the layer's output has the right parity.
    """

    layer: str
    map: torch.Tensor
    unit: int
    centre: float
    rf: int


def effective_rf(
    model: nn.Module,
    layer: str,
    input_size: int = 64,
    *,
    n_inputs: int = 16,
    seed: int = 0,
    channel: int | None = None,
) -> EffectiveRF:
    """Effective receptive field (Luo et al., 2016) of the middle unit of ``layer``.

    Feeds ``n_inputs`` seeded standard-normal images ``(n_inputs, C_in, input_size,
    input_size)`` through the model's real weights (random or trained) in eval mode,
    back-propagates from unit ``(out_size - 1) // 2`` (row and column) of ``layer``
    (the sum over its channels, or only ``channel``) and averages the absolute input
    gradient over images, summed over input channels. The model is left as it was
    (mode restored, no ``.grad``).

    Returns:
        An :class:`EffectiveRF`: the ``(input_size, input_size)`` map on the CPU
        (maximum 1), the probed unit, the input coordinate of its field's centre
        and the theoretical field ``rf`` in pixels.
    """

    layers, i, name = _layer_index(model, layer)
    specs = _named_specs(nn.Sequential(*(m for _, m in layers[: i + 1])))
    needed = min_input_size(specs)
    if input_size < needed:
        raise ValueError(
            f"input of {input_size}x{input_size} pixels is too small for layer "
            f"{name!r}; use input_size >= {needed} (better: larger than its field)"
        )
    row = rf_table(specs, input_size)[-1]
    unit = (row.out_size - 1) // 2
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    in_ch = next((m.in_channels for _, m in layers if isinstance(m, nn.Conv2d)), 3)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_inputs, in_ch, input_size, input_size, generator=gen).to(device)
    x.requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = x
            for _, m in layers[: i + 1]:
                out = m(out)  # (B, C, h, w)
            if channel is not None and not 0 <= channel < out.shape[1]:
                raise ValueError(
                    f"layer {name!r} has {out.shape[1]} channels; channel must be "
                    f"in 0..{out.shape[1] - 1}, or None for their sum"
                )
            target = (
                out[:, :, unit, unit]
                if channel is None
                else out[:, channel, unit, unit]
            )
            (grad,) = torch.autograd.grad(target.sum(), x)
    finally:
        model.train(was_training)
    erf = grad.abs().sum(1).mean(0).cpu()  # (H, W)
    peak = erf.max()
    return EffectiveRF(
        layer=name,
        map=erf / peak if peak > 0 else erf,
        unit=unit,
        centre=row.centre(unit),
        rf=row.rf,
    )


def erf_mass_size(erf: EffectiveRF | torch.Tensor, fraction: float = 0.95) -> int:
    """Side (pixels) of the smallest square around the map's peak holding ``fraction`` of its mass.

    ``erf`` is an :class:`EffectiveRF` or its ``(H, W)`` map. Compare with the
    theoretical ``rf``: for a trained or random VGG the effective field is much
    smaller than the theoretical one.
    """

    erf = erf.map if isinstance(erf, EffectiveRF) else erf

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    h, w = erf.shape
    cy, cx = divmod(int(torch.argmax(erf)), w)
    total = float(erf.sum())
    for r in range(max(h, w)):
        box = erf[max(cy - r, 0) : cy + r + 1, max(cx - r, 0) : cx + r + 1]
        if float(box.sum()) >= fraction * total - 1e-12 * total:
            return 2 * r + 1
    return 2 * max(h, w) - 1


def erf_std(erf: EffectiveRF | torch.Tensor) -> float:
    """Spread (pixels) of the map as a distribution: RMS distance from its centroid per axis."""

    erf = erf.map if isinstance(erf, EffectiveRF) else erf

    h, w = erf.shape
    p = erf.double() / erf.double().sum()
    ys = torch.arange(h, dtype=torch.float64)[:, None]
    xs = torch.arange(w, dtype=torch.float64)[None, :]
    my, mx = (p * ys).sum(), (p * xs).sum()
    var = ((p * (ys - my) ** 2).sum() + (p * (xs - mx) ** 2).sum()) / 2
    return float(var.sqrt())
