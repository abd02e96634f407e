"""The configurations of the paper's Table 1, and torchvision's names for them.

Pure data and arithmetic on names (no torch): which kernels each stage holds
(:func:`stage_kernels`), what a torchvision name implies besides the
configuration (``vgg16``: no batch norm; ``vgg16_bn``: batch norm with conv
biases), and the channels at a width multiplier. :mod:`vgg_lessons.models`
builds networks from them and re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Output channels of the five stages at ``width=1``.
STAGE_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 512)

#: Table 1 of the paper: per stage, the kernel size of each convolution.
CONFIGS: dict[str, tuple[tuple[int, ...], ...]] = {
    "A": ((3,), (3,), (3, 3), (3, 3), (3, 3)),
    "A-LRN": ((3,), (3,), (3, 3), (3, 3), (3, 3)),
    "B": ((3, 3), (3, 3), (3, 3), (3, 3), (3, 3)),
    "C": ((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1)),
    "D": ((3, 3), (3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)),
    "E": ((3, 3), (3, 3), (3, 3, 3, 3), (3, 3, 3, 3), (3, 3, 3, 3)),
}

#: torchvision's names for the configurations that have one: ``vgg16`` is D.
ALIASES: dict[str, str] = {
    "vgg11": "A",
    "vgg13": "B",
    "vgg16": "D",
    "vgg19": "E",
    "vgg11_bn": "A",
    "vgg13_bn": "B",
    "vgg16_bn": "D",
    "vgg19_bn": "E",
}

#: What a torchvision name means besides the configuration, as torchvision builds it:
#: ``vgg16`` has no batch norm, ``vgg16_bn`` puts it before each ReLU and keeps the conv biases.
TORCHVISION_DEFAULTS: dict[str, dict[str, Any]] = {
    **{
        name: dict(bn=None, conv_bias=False)
        for name in ("vgg11", "vgg13", "vgg16", "vgg19")
    },
    **{
        f"{name}_bn": dict(bn="before_relu", conv_bias=True)
        for name in ("vgg11", "vgg13", "vgg16", "vgg19")
    },
}
#: The teaching interface's defaults (the paper's letters and per-stage counts).
LETTER_DEFAULTS: dict[str, Any] = dict(bn="before_relu", conv_bias=False)


class _NameDefault:
    """Default of ``bn`` and ``conv_bias`` in :func:`build_vgg`: whatever ``arch`` implies."""

    def __repr__(self) -> str:
        return "<from arch>"


FROM_ARCH: Any = _NameDefault()


def stage_kernels(arch: str | Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Return, for each of the five stages, the kernel sizes of its convolutions.

    Args:
        arch: a configuration name ("A", "A-LRN", "B", "C", "D", "E", or the
            aliases "vgg11", "vgg13", "vgg16", "vgg19"), or five per-stage
            convolution counts such as ``[2, 2, 3, 3, 3]`` (all 3x3).

    Raises:
        ValueError: unknown name, not five stages, or a count below one.
    """
    if not isinstance(arch, (str, list, tuple)):
        hint = f" (did you mean 'vgg{arch}'?)" if arch in (11, 13, 16, 19) else ""
        raise ValueError(
            f"arch is a configuration name such as 'A', 'D' or 'vgg16', or five "
            f"per-stage convolution counts such as [2, 2, 3, 3, 3]; got "
            f"{type(arch).__name__} {arch!r}{hint}"
        )
    if isinstance(arch, str):
        key = ALIASES.get(arch.lower(), arch.upper())
        if key not in CONFIGS:
            known = ", ".join([*CONFIGS, *ALIASES])
            raise ValueError(
                f"unknown VGG configuration {arch!r}; choose one of {known}, "
                "or pass five per-stage convolution counts such as [2, 2, 3, 3, 3]"
            )
        return CONFIGS[key]
    counts = list(arch)
    if len(counts) != len(STAGE_CHANNELS):
        raise ValueError(
            f"VGG has {len(STAGE_CHANNELS)} stages, but {len(counts)} per-stage "
            f"convolution counts were given ({counts}); pass five, e.g. [2, 2, 3, 3, 3]"
        )
    for i, n in enumerate(counts, start=1):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(
                f"stage {i} has {n!r} convolutions; each stage needs a whole number "
                "of at least 1"
            )
    return tuple((3,) * n for n in counts)


def config_name(arch: str | Sequence[int]) -> str:
    """Return the paper's letter for ``arch``, or a name like "custom[1,1,2,2,2]"."""
    if isinstance(arch, str):
        stage_kernels(arch)  # validates
        return ALIASES.get(arch.lower(), arch.upper())
    kernels = stage_kernels(arch)
    for name, cfg in CONFIGS.items():
        if cfg == kernels and name != "A-LRN":
            return name
    return "custom[" + ",".join(str(len(k)) for k in kernels) + "]"


def conv_count(arch: str | Sequence[int]) -> int:
    """Number of convolution layers (the "weight layers" of the paper, minus the 3 FC)."""
    return sum(len(stage) for stage in stage_kernels(arch))


def scaled_channels(width: float) -> tuple[int, ...]:
    """Stage channel counts at a width multiplier (at least one channel each)."""
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(
            f"width must be a positive number (1.0 is the paper's VGG, 0.25 a "
            f"laptop-sized one), got {width!r}"
        )
    return tuple(max(1, round(c * width)) for c in STAGE_CHANNELS)
