"""Receptive fields: on paper, from a model, measured by back-propagation.

Araujo, Norris & Sim (2019), "Computing Receptive Fields of Convolutional Neural
Networks" (Distill), give three numbers per layer, computed one layer at a time:

* ``jump``: how many input pixels apart two neighbouring units of the layer look
  (the product of all strides so far);
* ``rf``: how many input pixels (per axis) one unit sees;
* ``start``: the input coordinate of the centre of the first unit's field.

Coordinates are pixel indices: pixel ``i`` of the input has its centre at ``i``
(so the first pixel is 0; a negative coordinate lies in the padding). Unit ``u`` of
a layer is centred on input coordinate ``start + u * jump`` and sees the pixels
``start + u * jump -+ (rf - 1) / 2``. The *effective padding* of the paper is how
far the first unit's field reaches left of the image: ``(rf - 1) / 2 - start``.

The arithmetic needs no torch; ``layer_table``, ``empirical_rf`` and
``effective_rf`` import it when they are given a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from math import ceil, floor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import torch
    from torch import nn


# ---- one step of the recurrence (pencil and paper) ---------------------------------
def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span in pixels of a dilated kernel: ``dilation * (kernel - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling along one axis of length ``n`` pixels.

    ``floor((n + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1`` (PyTorch's
    formula; ``ceil_mode`` rounds up, as ``nn.MaxPool2d(ceil_mode=True)`` does).
    """
    span = n + 2 * padding - effective_kernel(kernel, dilation)
    out = (ceil(span / stride) if ceil_mode else floor(span / stride)) + 1
    if ceil_mode and (out - 1) * stride >= n + padding:  # PyTorch: last window must start inside
        out -= 1
    return out


def next_jump(jump: int, stride: int) -> int:
    """Jump after a layer: input pixels between neighbouring units, ``jump * stride``."""
    return jump * stride


def next_rf(rf: int, jump: int, kernel: int, dilation: int = 1) -> int:
    """Receptive field after a layer: ``rf + (effective_kernel - 1) * jump`` pixels.

    ``jump`` is the jump of the layer's *input*: each extra kernel tap adds one
    input-layer step, which is ``jump`` pixels.
    """
    return rf + (effective_kernel(kernel, dilation) - 1) * jump


def next_start(start: float, jump: int, kernel: int, padding: int = 0, dilation: int = 1) -> float:
    """Centre of the first unit's field after a layer: ``start + ((k' - 1) / 2 - padding) * jump``.

    ``jump`` is the jump of the layer's input; ``k'`` the effective kernel.
    """
    return start + ((effective_kernel(kernel, dilation) - 1) / 2 - padding) * jump


# ---- tables -------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    """A convolution or pooling layer on paper: square kernel, stride, padding, dilation."""

    name: str
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    kind: str = "conv"  # "conv" or "pool"; only for display
    ceil_mode: bool = False


@dataclass(frozen=True)
class RFRow:
    """One layer of a receptive-field table (all lengths in input pixels, per axis).

    ``out_size`` is the layer's output length (None when no input size was given).
    """

    name: str
    kind: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    out_size: int | None
    jump: int
    rf: int
    start: float

    @property
    def effective_padding(self) -> float:
        """Pixels the first unit's field reaches beyond the image edge (Distill's P)."""
        return (self.rf - 1) / 2 - self.start

    def centre(self, unit: int) -> float:
        """Input coordinate of the centre of unit ``unit``'s field."""
        return self.start + unit * self.jump

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "effective_padding": self.effective_padding}


_COLUMNS = ("name", "kind", "kernel", "stride", "padding", "dilation", "out_size", "jump", "rf",
            "start", "effective_padding")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class RFTable(Sequence[RFRow]):
    """Rows of :class:`RFRow`, one per geometry-changing layer, input to output."""

    def __init__(self, rows: Iterable[RFRow], input_size: int | None = None):
        self._rows = list(rows)
        self.input_size = input_size

    def __getitem__(self, i):  # type: ignore[override]
        return self._rows[i]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[RFRow]:
        return iter(self._rows)

    def row(self, name: str) -> RFRow:
        """The row called ``name``; ValueError listing the names if there is none."""
        for r in self._rows:
            if r.name == name:
                return r
        names = ", ".join(r.name for r in self._rows)
        raise ValueError(f"no row named {name!r} in this receptive-field table; rows are: {names}")

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per row, with ``effective_padding`` included."""
        return [r.to_dict() for r in self._rows]

    def __str__(self) -> str:
        cells = [list(_COLUMNS)] + [[_fmt(d[c]) for c in _COLUMNS] for d in self.to_dicts()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RFTable(input_size={self.input_size}, rows={len(self)})\n{self}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in _COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{_fmt(d[c])}</td>" for c in _COLUMNS) + "</tr>"
                       for d in self.to_dicts())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def rf_table(specs: Iterable[LayerSpec], input_size: int | None = None) -> RFTable:
    """Receptive-field table of a stack of layers given on paper.

    Args:
        specs: the layers, input to output.
        input_size: input length in pixels (per axis); with it each row gets ``out_size``.

    Raises:
        ValueError: a layer whose output would be empty at ``input_size``.
    """
    if input_size is not None and (isinstance(input_size, bool) or not isinstance(input_size, int)
                                   or input_size < 1):
        raise ValueError(f"input_size is the image height (= width) in pixels, a positive whole "
                         f"number, got {input_size!r}")
    jump, rf, start, n = 1, 1, 0.0, input_size
    rows = []
    for s in specs:
        if n is not None:
            n_out = output_size(n, s.kernel, s.stride, s.padding, s.dilation, s.ceil_mode)
            if n_out < 1:
                raise ValueError(f"layer {s.name!r} gets a {n}-pixel input, too small for its "
                                 f"{s.kernel}x{s.kernel} kernel (dilation {s.dilation}, padding "
                                 f"{s.padding}); use an input of at least "
                                 f"{min_input_size(specs)} pixels")
            n = n_out
        start = next_start(start, jump, s.kernel, s.padding, s.dilation)
        rf = next_rf(rf, jump, s.kernel, s.dilation)
        jump = next_jump(jump, s.stride)
        rows.append(RFRow(s.name, s.kind, s.kernel, s.stride, s.padding, s.dilation, n, jump, rf,
                          start))
    return RFTable(rows, input_size)


def min_input_size(specs: Iterable[LayerSpec]) -> int:
    """Smallest input length (pixels) for which every layer's output is non-empty."""
    specs = list(specs)
    for n in range(1, 1 << 16):
        m = n
        for s in specs:
            m = output_size(m, s.kernel, s.stride, s.padding, s.dilation, s.ceil_mode)
            if m < 1:
                break
        else:
            return n
    raise ValueError("these layers leave an empty output for every input up to 65536 pixels")


# ---- from a model -------------------------------------------------------------------
#: Layers that act on each pixel alone (or across channels only) keep the geometry.
_PASS_THROUGH = ("BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm2d", "LayerNorm",
                 "LocalResponseNorm", "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "GELU",
                 "SiLU", "Sigmoid", "Tanh", "Hardswish", "Dropout", "Dropout2d", "Identity")


def _square(value: Any, what: str, path: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(f"layer {path!r} has a non-square {what} {tuple(value)}; "
                             "receptive-field tables here assume the same value on both axes")
        value = value[0]
    return int(value)


def feature_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(module path, module)`` of the leaf layers that act on the image, in order.

    For a model with a ``features`` attribute (our ``VGG``, torchvision's) those
    are the leaves of ``features``; otherwise every leaf of the model, which must
    then run its layers in registration order (an ``nn.Sequential``).
    """
    root, prefix = (model.features, "features.") if hasattr(model, "features") else (model, "")
    return [(prefix + p, m) for p, m in root.named_modules() if p and not list(m.children())]


def layer_spec(path: str, module: nn.Module, name: str | None = None) -> LayerSpec | None:
    """The :class:`LayerSpec` of a module, None for a pass-through layer.

    Raises:
        ValueError: the module's type changes geometry in a way this module cannot
            follow (the message names the layer and its type).
    """
    from torch import nn

    name = name or path
    if isinstance(module, nn.Conv2d):
        pad = module.padding
        if isinstance(pad, str):
            if pad == "valid":
                pad = 0
            else:  # "same" (stride 1): PyTorch pads (span - 1) / 2 on the left
                pad = (effective_kernel(_square(module.kernel_size, "kernel", path),
                                        _square(module.dilation, "dilation", path)) - 1) // 2
        return LayerSpec(name, _square(module.kernel_size, "kernel", path),
                         _square(module.stride, "stride", path), _square(pad, "padding", path),
                         _square(module.dilation, "dilation", path), "conv")
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        dilation = getattr(module, "dilation", 1)
        return LayerSpec(name, _square(module.kernel_size, "kernel", path),
                         _square(module.stride or module.kernel_size, "stride", path),
                         _square(module.padding, "padding", path), _square(dilation, "dilation", path),
                         "pool", bool(module.ceil_mode))
    if type(module).__name__ in _PASS_THROUGH:
        return None
    raise ValueError(f"layer {name!r} is a {type(module).__name__}, which receptive-field tables "
                     "do not support (only Conv2d, MaxPool2d, AvgPool2d and per-pixel layers such "
                     "as BatchNorm2d, ReLU, Dropout); compute the part of the model before it, or "
                     "describe the layers with LayerSpec and use rf_table")


def _named_specs(model: nn.Module) -> list[LayerSpec]:
    readable = getattr(model, "readable_name", lambda p: p)
    specs = []
    for path, module in feature_layers(model):
        spec = layer_spec(path, module, readable(path))
        if spec is not None:
            specs.append(spec)
    return specs


def layer_table(model: nn.Module, input_size: int = 224) -> RFTable:
    """Receptive-field table of a model's convolutions and poolings (``features`` only).

    Args:
        model: a ``vgg_lessons.models.VGG`` (rows named ``stage5.conv3``, ``stage5.pool``,
            ...), torchvision's VGG (``features.28``), or any ``nn.Sequential`` of
            Conv2d / pooling / per-pixel layers (rows named by module path).
        input_size: input height (= width) in pixels.

    Returns:
        An :class:`RFTable`, one row per Conv2d / MaxPool2d / AvgPool2d; BN, ReLU,
        LRN and dropout keep the geometry and get no row.

    Raises:
        ValueError: an unsupported layer (named), or an input too small for the model.
    """
    specs = _named_specs(model)
    try:
        return rf_table(specs, input_size)
    except ValueError as err:
        raise ValueError(f"input of {input_size}x{input_size} pixels is too small for this model: "
                         f"{err}") from None


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


def _layer_index(model: nn.Module, layer: str) -> tuple[list[tuple[str, nn.Module]], int, str]:
    """Feature layers, the index of ``layer`` among them and its readable name."""
    names = getattr(model, "layer_names", {})
    path = names.get(layer, layer)
    layers = feature_layers(model)
    paths = [p for p, _ in layers]
    if path not in paths:
        readable = getattr(model, "readable_name", lambda p: p)
        examples = ", ".join(readable(p) for p in paths[-4:])
        raise ValueError(f"no feature layer named {layer!r}; receptive fields exist for the "
                         f"convolutional part only: use a name such as {examples}")
    i = paths.index(path)
    return layers, i, getattr(model, "readable_name", lambda p: p)(path)


def _probe_copy(path: str, module: nn.Module) -> nn.Module:
    """A one-channel module with ``module``'s geometry and positive weights, float64."""
    import torch
    from torch import nn

    spec = layer_spec(path, module)
    if spec is None:
        return nn.Identity()
    if spec.kind == "pool" and spec.dilation == 1:
        return nn.AvgPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode,
                            count_include_pad=True)
    conv = nn.Conv2d(1, 1, spec.kernel, spec.stride, spec.padding, spec.dilation, bias=False,
                     dtype=torch.float64)
    nn.init.constant_(conv.weight, 1.0 / spec.kernel ** 2)
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
    import torch
    from torch import nn

    layers, i, name = _layer_index(model, layer)
    probe = nn.Sequential(*(_probe_copy(p, m) for p, m in layers[:i + 1])).double()
    size = max(input_size, min_input_size(_named_specs(nn.Sequential(*(m for _, m in layers[:i + 1])))))
    while size <= 4096:
        x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        out = probe(x)  # (1, 1, h, w)
        unit = (out.shape[-1] - 1) // 2
        (grad,) = torch.autograd.grad(out[0, 0, unit, unit], x)
        rows = torch.nonzero(grad[0, 0].abs().sum(1)).flatten()
        cols = torch.nonzero(grad[0, 0].abs().sum(0)).flatten()
        lo, hi = int(rows.min()), int(rows.max()) + 1
        if (lo, hi) != (int(cols.min()), int(cols.max()) + 1):
            raise ValueError(f"layer {name!r} has a non-square field; this measures square ones")
        if lo > 0 and hi < size:
            return MeasuredRF(name, unit, size, lo, hi)
        size *= 2
    raise ValueError(f"the field of {name!r} is wider than 4096 pixels; describe the layers "
                     "with LayerSpec and use rf_table instead")


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


def effective_rf(model: nn.Module, layer: str, input_size: int = 64, *, n_inputs: int = 16,
                 seed: int = 0, channel: int | None = None) -> EffectiveRF:
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
    import torch
    from torch import nn

    layers, i, name = _layer_index(model, layer)
    specs = _named_specs(nn.Sequential(*(m for _, m in layers[:i + 1])))
    needed = min_input_size(specs)
    if input_size < needed:
        raise ValueError(f"input of {input_size}x{input_size} pixels is too small for layer "
                         f"{name!r}; use input_size >= {needed} (better: larger than its field)")
    row = rf_table(specs, input_size)[-1]
    unit = (row.out_size - 1) // 2
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    in_ch = next((m.in_channels for _, m in layers if hasattr(m, "in_channels")), 3)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_inputs, in_ch, input_size, input_size, generator=gen).to(device)
    x.requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = x
            for _, m in layers[:i + 1]:
                out = m(out)  # (B, C, h, w)
            if channel is not None and not 0 <= channel < out.shape[1]:
                raise ValueError(f"layer {name!r} has {out.shape[1]} channels; channel must be "
                                 f"in 0..{out.shape[1] - 1}, or None for their sum")
            target = out[:, :, unit, unit] if channel is None else out[:, channel, unit, unit]
            (grad,) = torch.autograd.grad(target.sum(), x)
    finally:
        model.train(was_training)
    erf = grad.abs().sum(1).mean(0).cpu()  # (H, W)
    peak = erf.max()
    return EffectiveRF(layer=name, map=erf / peak if peak > 0 else erf, unit=unit,
                       centre=row.centre(unit), rf=row.rf)


def erf_mass_size(erf: EffectiveRF | torch.Tensor, fraction: float = 0.95) -> int:
    """Side (pixels) of the smallest square around the map's peak holding ``fraction`` of its mass.

    ``erf`` is an :class:`EffectiveRF` or its ``(H, W)`` map. Compare with the
    theoretical ``rf``: for a trained or random VGG the effective field is much
    smaller than the theoretical one.
    """
    import torch

    erf = getattr(erf, "map", erf)

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    h, w = erf.shape
    cy, cx = divmod(int(torch.argmax(erf)), w)
    total = float(erf.sum())
    for r in range(max(h, w)):
        box = erf[max(cy - r, 0):cy + r + 1, max(cx - r, 0):cx + r + 1]
        if float(box.sum()) >= fraction * total - 1e-12 * total:
            return 2 * r + 1
    return 2 * max(h, w) - 1


def erf_std(erf: EffectiveRF | torch.Tensor) -> float:
    """Spread (pixels) of the map seen as a distribution: RMS distance from its centroid per axis."""
    import torch

    erf = getattr(erf, "map", erf)

    h, w = erf.shape
    p = erf.double() / erf.double().sum()
    ys = torch.arange(h, dtype=torch.float64)[:, None]
    xs = torch.arange(w, dtype=torch.float64)[None, :]
    my, mx = (p * ys).sum(), (p * xs).sum()
    var = ((p * (ys - my) ** 2).sum() + (p * (xs - mx) ** 2).sum()) / 2
    return float(var.sqrt())
