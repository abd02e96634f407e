"""Parameters, multiply-accumulates and activation memory, layer by layer.

Convention: **MACs**, one multiply-accumulate counts as one. A convolution costs
``out_channels * H_out * W_out * (in_channels / groups) * k_h * k_w`` MACs per image
and a linear layer ``in_features * out_features``; biases, batch norm, ReLU,
pooling and dropout cost 0 MACs here. This is the figure torchvision prints as
"GFLOPS" in its weight tables (VGG-16: 15.47 G at 224x224), and what torchinfo
calls "mult-adds" for the weights (torchinfo also counts one per bias and per
batch-norm parameter use; ``tests/test_stats.py`` compares the two layer by layer).

Activation memory is the size of each layer's output tensor, batch included, times
``bytes_per_element`` (4 for float32). In-place ReLUs share their input's storage,
so the total is what the layers produce, an upper bound on what is held at once.

The forward pass runs on a copy of the model on PyTorch's "meta" device: only
shapes are computed, so even VGG-19 at 224x224 costs no memory and no time.
"""

from __future__ import annotations

import copy
import numbers
from collections import OrderedDict
from dataclasses import asdict, dataclass
from math import prod
from typing import Any

import torch
from torch import nn

from vgg_lessons._layers import readable_name
from vgg_lessons._tables import html_table, text_table


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (scalars) of ``model``; only those with ``requires_grad`` if asked."""
    return sum(
        p.numel() for p in model.parameters() if p.requires_grad or not trainable_only
    )


def format_count(n: float) -> str:
    """``15_470_264_320 -> "15.47 G"``: 3-4 significant digits with k / M / G."""
    for factor, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {unit}"
    return f"{n:g}"


def format_bytes(n: float) -> str:
    """``6_422_528 -> "6.12 MiB"``: binary units (KiB = 1024 bytes)."""
    for factor, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {unit}"
    return f"{int(n)} B"


def module_macs(module: nn.Module, output_shape: tuple[int, ...]) -> int:
    """MACs of one call of ``module`` giving ``output_shape`` (batch included); see module doc."""
    if isinstance(module, nn.modules.conv._ConvNd):
        per_output = (
            module.weight.numel() // module.out_channels
        )  # (C_in / groups) * k * k
        return prod(output_shape) * per_output
    if isinstance(module, nn.Linear):
        return prod(output_shape) * module.in_features
    return 0


_RIGHT = (False, False, True, True, True, True)  # layer, type; numbers right-aligned


@dataclass(frozen=True)
class LayerStats:
    """One layer's row: ``macs`` in multiply-accumulates, ``activation_bytes`` of its output."""

    name: str
    path: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int

    @property
    def stage(self) -> str:
        """Text before the first dot of the name: ``"stage3"``, ``"head"``, ``"features"``."""
        return self.name.split(".")[0]


class StatsTable:
    """Rows of :class:`LayerStats` in forward order, with totals and per-stage sums."""

    def __init__(
        self,
        rows: list[LayerStats],
        input_shape: tuple[int, ...],
        bytes_per_element: int,
    ):
        self.rows = rows
        self.input_shape = input_shape
        self.bytes_per_element = bytes_per_element

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i: int) -> LayerStats:
        return self.rows[i]

    def row(self, name: str) -> LayerStats:
        """The row called ``name`` (readable name or module path)."""
        for r in self.rows:
            if name in (r.name, r.path):
                return r
        raise ValueError(
            f"no layer named {name!r} in this table; names are e.g. "
            f"{', '.join(r.name for r in self.rows[:4])}, ..."
        )

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.rows)

    def stage_totals(self) -> dict[str, dict[str, int]]:
        """Per stage (``"stage1"`` .. ``"stage5"``, ``"head"``): params, macs, activation_bytes."""
        out: OrderedDict[str, dict[str, int]] = OrderedDict()
        for r in self.rows:
            t = out.setdefault(r.stage, dict(params=0, macs=0, activation_bytes=0))
            t["params"] += r.params
            t["macs"] += r.macs
            t["activation_bytes"] += r.activation_bytes
        return dict(out)

    def to_dicts(self) -> list[dict[str, Any]]:
        """One plain dict per row (exact integers, no units)."""
        return [{**asdict(r), "output_shape": list(r.output_shape)} for r in self.rows]

    def _cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        header = ["layer", "type", "output shape", "params", "MACs", "activations"]
        body = [
            [
                r.name,
                r.type,
                "x".join(map(str, r.output_shape)),
                format_count(r.params),
                format_count(r.macs),
                format_bytes(r.activation_bytes),
            ]
            for r in self.rows
        ]
        total = [
            "total",
            "",
            "",
            format_count(self.total_params),
            format_count(self.total_macs),
            format_bytes(self.total_activation_bytes),
        ]
        return header, body, total

    def __str__(self) -> str:
        return text_table(*self._cells()[:2], _RIGHT, self._cells()[2])

    def __repr__(self) -> str:
        return (
            f"StatsTable(input {tuple(self.input_shape)}, {len(self)} layers)\n{self}"
        )

    def _repr_html_(self) -> str:
        header, body, total = self._cells()
        return html_table(header, body, _RIGHT, total)


def _meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` on the meta device, made without copying any weights."""
    memo: dict[int, Any] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"), p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = torch.empty_like(b, device="meta")
    meta = copy.deepcopy(model, memo)
    for module in (
        meta.modules()
    ):  # the caller's hooks (e.g. probes.recording) stay on the caller's model
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    return meta


def layer_stats(
    model: nn.Module,
    input_size: int | tuple[int, int] = 224,
    *,
    batch_size: int = 1,
    bytes_per_element: int = 4,
) -> StatsTable:
    """Per-layer output shape, parameters, MACs and activation bytes of one forward pass.

    Args:
        model: a ``vgg_lessons.models.VGG`` (rows get readable names such as
            ``stage3.conv2``), or any module taking ``(B, C, H, W)`` images.
        input_size: image height = width, or ``(H, W)``, in pixels.
        batch_size: images per batch; MACs and activation bytes scale with it.
        bytes_per_element: 4 for float32, 2 for float16/bfloat16.

    Returns:
        A :class:`StatsTable` with one row per leaf module call in forward order.

    Raises:
        ValueError: bad sizes, or an input the model cannot take (its own message).
    """
    sizes = [input_size] * 2 if isinstance(input_size, numbers.Integral) else input_size
    if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
        raise ValueError(
            f"input_size is the image side in pixels (224) or (H, W) such as "
            f"(224, 224), got {input_size!r}"
        )
    h, w = (  # numpy's integers as int; the checks below refuse the rest
        int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
        for v in sizes
    )
    for label, v in (
        ("input_size", h),
        ("input_size", w),
        ("batch_size", batch_size),
        ("bytes_per_element", bytes_per_element),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{label} must be a positive whole number, got {v!r}")
    meta = _meta_copy(model)
    in_ch = next((m.in_channels for m in meta.modules() if isinstance(m, nn.Conv2d)), 3)
    rows: list[LayerStats] = []
    seen: set[str] = set()

    def hook(path: str):
        def record(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            shape = tuple(output.shape)
            params = (
                0
                if path in seen
                else sum(p.numel() for p in module.parameters(recurse=False))
            )
            seen.add(path)
            rows.append(
                LayerStats(
                    readable_name(model, path),
                    path,
                    type(module).__name__,
                    shape,
                    params,
                    module_macs(module, shape),
                    prod(shape) * bytes_per_element,
                )
            )

        return record

    handles = [
        m.register_forward_hook(hook(p))
        for p, m in meta.named_modules()
        if p and not list(m.children())
    ]
    was_training = meta.training
    try:
        with torch.no_grad():
            meta.eval()(torch.empty(batch_size, in_ch, h, w, device="meta"))
    except RuntimeError as err:
        raise ValueError(
            f"the model cannot take a {batch_size}x{in_ch}x{h}x{w} input ({err}); "
            "use a larger input_size"
        ) from None
    finally:
        for handle in handles:
            handle.remove()
        meta.train(was_training)
    return StatsTable(rows, (batch_size, in_ch, h, w), bytes_per_element)
