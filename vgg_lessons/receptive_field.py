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

This module is the arithmetic and needs no torch (chapter 1 runs without it). The
measurements on models (``layer_table``, ``empirical_rf``, ``effective_rf``, ...)
live in :mod:`vgg_lessons.probes.fields`; importing them from here still works and
loads torch only then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from math import ceil, floor
from typing import Any

from vgg_lessons._tables import html_table, text_table


# ---- one step of the recurrence (pencil and paper) ---------------------------------
def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span in pixels of a dilated kernel: ``dilation * (kernel - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    padding_right: int | None = None,
) -> int:
    """Output length of a convolution or pooling along one axis of length ``n`` pixels.

    ``floor((n + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1`` (PyTorch's
    formula; ``ceil_mode`` rounds up, as ``nn.MaxPool2d(ceil_mode=True)`` does).
    ``padding_right`` (default ``padding``) pads the far end differently, as PyTorch's
    ``padding="same"`` does for an even kernel (the extra pixel goes right).
    """
    right = padding if padding_right is None else padding_right
    span = n + padding + right - effective_kernel(kernel, dilation)
    out = (ceil(span / stride) if ceil_mode else floor(span / stride)) + 1
    if (
        ceil_mode and (out - 1) * stride >= n + padding
    ):  # PyTorch: last window must start inside
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


def next_start(
    start: float, jump: int, kernel: int, padding: int = 0, dilation: int = 1
) -> float:
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
    #: padding at the far end (right, bottom) when it differs from ``padding``, as
    #: ``padding="same"`` with an even kernel has it (one pixel more)
    padding_right: int | None = None


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


#: Columns in display order, the ones read most first; with their headers.
_COLUMNS = (
    "name",
    "out_size",
    "jump",
    "rf",
    "start",
    "kind",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "effective_padding",
)
_HEADERS = (
    "name",
    "out size",
    "jump",
    "rf",
    "start",
    "kind",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "eff. padding",
)
_RIGHT = tuple(c not in ("name", "kind") for c in _COLUMNS)  # numbers right-aligned


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

    def __getitem__(self, i):
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
        raise ValueError(
            f"no row named {name!r} in this receptive-field table; rows are: {names}"
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per row, with ``effective_padding`` included."""
        return [r.to_dict() for r in self._rows]

    def _cells(self) -> list[list[str]]:
        return [[_fmt(d[c]) for c in _COLUMNS] for d in self.to_dicts()]

    def __str__(self) -> str:
        return text_table(_HEADERS, self._cells(), _RIGHT)

    def __repr__(self) -> str:
        return f"RFTable(input_size={self.input_size}, rows={len(self)})\n{self}"

    def _repr_html_(self) -> str:
        return html_table(_HEADERS, self._cells(), _RIGHT)


def rf_table(specs: Iterable[LayerSpec], input_size: int | None = None) -> RFTable:
    """Receptive-field table of a stack of layers given on paper.

    Args:
        specs: the layers, input to output.
        input_size: input length in pixels (per axis); with it each row gets ``out_size``.

    Raises:
        ValueError: a layer whose output would be empty at ``input_size``.
    """
    if input_size is not None and (
        isinstance(input_size, bool)
        or not isinstance(input_size, int)
        or input_size < 1
    ):
        raise ValueError(
            f"input_size is the image height (= width) in pixels, a positive whole "
            f"number, got {input_size!r}"
        )
    specs = list(
        specs
    )  # read twice (the error's size hint), so a generator must not run dry
    jump, rf, start, n = 1, 1, 0.0, input_size
    rows = []
    for s in specs:
        if n is not None:
            n_out = spec_output_size(n, s)
            if n_out < 1:
                raise ValueError(
                    f"an input of {input_size} pixels is too small: layer {s.name!r} "
                    f"gets {n} pixels, too few for its {s.kernel}x{s.kernel} kernel "
                    f"(dilation {s.dilation}, padding {s.padding}); use an input of "
                    f"at least {min_input_size(specs)} pixels"
                )
            n = n_out
        start = next_start(start, jump, s.kernel, s.padding, s.dilation)
        rf = next_rf(rf, jump, s.kernel, s.dilation)
        jump = next_jump(jump, s.stride)
        rows.append(
            RFRow(
                s.name,
                s.kind,
                s.kernel,
                s.stride,
                s.padding,
                s.dilation,
                n,
                jump,
                rf,
                start,
            )
        )
    return RFTable(rows, input_size)


def spec_output_size(n: int, spec: LayerSpec) -> int:
    """Output length (pixels) of the layer ``spec`` for an input of ``n`` pixels."""
    return output_size(
        n,
        spec.kernel,
        spec.stride,
        spec.padding,
        spec.dilation,
        spec.ceil_mode,
        spec.padding_right,
    )


def min_input_size(specs: Iterable[LayerSpec]) -> int:
    """Smallest input length (pixels) for which every layer's output is non-empty."""
    specs = list(specs)
    for n in range(1, 1 << 16):
        m = n
        for s in specs:
            m = spec_output_size(m, s)
            if m < 1:
                break
        else:
            return n
    raise ValueError(
        "these layers leave an empty output for every input up to 65536 pixels"
    )


def field_pixels(specs: Iterable[LayerSpec], unit: int = 0) -> list[int]:
    """The input pixels that unit ``unit`` of the last layer reads, sorted (no repeats).

    Indices are input pixel indices; negative ones (and ones past the input's end) lie
    in the padding. The span ``max - min + 1`` is the receptive field ``rf``; with
    dilation the unit may not read every pixel of that span: identical dilation-2
    layers, for example, reach only every second pixel (the field has holes).

    Args:
        specs: the layers, input side first.
        unit: index of the unit of the last layer.

    Returns:
        The sorted input indices the unit depends on.
    """
    reached = {unit}
    for spec in reversed(list(specs)):
        reached = {
            i * spec.stride - spec.padding + t * spec.dilation
            for i in reached
            for t in range(spec.kernel)
        }
    return sorted(reached)
