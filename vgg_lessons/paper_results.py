"""The VGG paper's ImageNet results and training recipe, as data, each with its citation.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", arXiv:1409.1556 v6 (ICLR 2015). Errors are on the ILSVRC-2012
validation set (50,000 images), in per cent, as printed in the paper; every row cites
its table and row. Nothing here is measured by this package: the paper's networks
took weeks of GPU time on ImageNet, which this book does not have.

- :data:`SINGLE_SCALE`: Table 3, one test scale ``Q``.
- :data:`MULTI_SCALE`: Table 4, the posteriors of three test scales averaged.
- :data:`RECIPE`: the training settings of Sec. 3.1 and the cost of Sec. 3.3.
- :func:`configuration_summary`: parameters, MACs, depth and receptive field of every
  configuration of Table 1, computed with :mod:`vgg_lessons.stats` and
  :mod:`vgg_lessons.receptive_field` (not copied from the paper).
- :func:`epoch_macs`: the multiply-accumulates of one training epoch, as arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from vgg_lessons.models import build_vgg
from vgg_lessons.receptive_field import LayerSpec, rf_table
from vgg_lessons.stats import layer_stats
from vgg_lessons.vgg_configs import CONFIGS

PAPER = "Simonyan & Zisserman, arXiv:1409.1556v6 (2015)"


@dataclass(frozen=True)
class ResultRow:
    """One row of Table 3 or 4: a configuration, its training and test scales, its errors.

    ``train_scale`` is the training images' smallest side ``S`` ("256", "384" or the
    jittered range "[256;512]"); ``test_scales`` the test side(s) ``Q`` in pixels;
    ``top1`` and ``top5`` the validation errors in per cent; ``source`` the citation.
    """

    config: str
    train_scale: str
    test_scales: tuple[int, ...]
    top1: float
    top5: float
    source: str

    @property
    def jittered(self) -> bool:
        """Trained with scale jittering (``S`` drawn from [256; 512])."""
        return self.train_scale.startswith("[")

    @property
    def label(self) -> str:
        """Short name such as ``"D, S=[256;512], Q=384"``."""
        return f"{self.config}, S={self.train_scale}, Q={','.join(map(str, self.test_scales))}"


def _rows(
    table: str, rows: list[tuple[str, str, tuple[int, ...], float, float]]
) -> tuple[ResultRow, ...]:
    return tuple(
        ResultRow(c, s, q, t1, t5, f"{PAPER}, {table}, row {i} ({c}, S={s})")
        for i, (c, s, q, t1, t5) in enumerate(rows, start=1)
    )


#: Table 3 of arXiv:1409.1556v6: "ConvNet performance at a single test scale".
SINGLE_SCALE: tuple[ResultRow, ...] = _rows(
    "Table 3",
    [
        ("A", "256", (256,), 29.6, 10.4),
        ("A-LRN", "256", (256,), 29.7, 10.5),
        ("B", "256", (256,), 28.7, 9.9),
        ("C", "256", (256,), 28.1, 9.4),
        ("C", "384", (384,), 28.1, 9.3),
        ("C", "[256;512]", (384,), 27.3, 8.8),
        ("D", "256", (256,), 27.0, 8.8),
        ("D", "384", (384,), 26.8, 8.7),
        ("D", "[256;512]", (384,), 25.6, 8.1),
        ("E", "256", (256,), 27.3, 9.0),
        ("E", "384", (384,), 26.9, 8.7),
        ("E", "[256;512]", (384,), 25.5, 8.0),
    ],
)

#: Table 4 of arXiv:1409.1556v6: "ConvNet performance at multiple test scales".
MULTI_SCALE: tuple[ResultRow, ...] = _rows(
    "Table 4",
    [
        ("B", "256", (224, 256, 288), 28.2, 9.6),
        ("C", "256", (224, 256, 288), 27.7, 9.2),
        ("C", "384", (352, 384, 416), 27.8, 9.2),
        ("C", "[256;512]", (256, 384, 512), 26.3, 8.2),
        ("D", "256", (224, 256, 288), 26.6, 8.6),
        ("D", "384", (352, 384, 416), 26.5, 8.6),
        ("D", "[256;512]", (256, 384, 512), 24.8, 7.5),
        ("E", "256", (224, 256, 288), 26.9, 8.7),
        ("E", "384", (352, 384, 416), 26.7, 8.6),
        ("E", "[256;512]", (256, 384, 512), 24.8, 7.5),
    ],
)

#: The training recipe (Sec. 3.1) and its cost (Sec. 3.3) of arXiv:1409.1556v6.
RECIPE: dict[str, Any] = dict(
    batch_size=256,
    momentum=0.9,
    weight_decay=5e-4,
    dropout=0.5,
    lr=1e-2,
    lr_divided_by_10_times=3,
    iterations=370_000,
    epochs=74,
    crop=224,
    jittered_sides=(256, 512),
    train_images=1_300_000,  # Sec. 4: "training (1.3M images)"
    deeper_nets_initialised_from="A (first four conv layers and the three FC layers)",
    gpus="4 NVIDIA Titan Black",
    weeks=(2, 3),
    source=f"{PAPER}, Sec. 3.1 (training), Sec. 3.3 (implementation: 2-3 weeks per net "
    "on four Titan Black GPUs), Sec. 4 (data set)",
)


def rows(
    table: tuple[ResultRow, ...],
    config: str | None = None,
    train_scale: str | None = None,
) -> list[ResultRow]:
    """The rows of ``table`` for a configuration and/or training scale (None: any)."""
    out = [
        r
        for r in table
        if (config is None or r.config == config)
        and (train_scale is None or r.train_scale == train_scale)
    ]
    if not out:
        known = sorted({(r.config, r.train_scale) for r in table})
        raise ValueError(
            f"no row for config={config!r}, train_scale={train_scale!r}; the table has "
            f"{known}"
        )
    return out


def _paper_specs(kernels: Sequence[Sequence[int]]) -> list[LayerSpec]:
    """The layers of a Table 1 column on paper: per stage its convolutions (stride 1,
    "same" padding) and a 2x2 max-pool of stride 2."""
    specs = []
    for s, stage in enumerate(kernels, 1):
        for i, k in enumerate(stage, 1):
            specs.append(LayerSpec(f"conv{s}_{i}", k, padding=k // 2))
        specs.append(LayerSpec(f"pool{s}", 2, stride=2, kind="pool"))
    return specs


def configuration_summary(input_size: int = 224) -> list[dict[str, Any]]:
    """Per configuration of Table 1, computed from the models this package builds.

    Returns:
        One dict per configuration (A, A-LRN, B, C, D, E): ``weight_layers`` (convs +
        3 FC), ``convs_1x1``, ``params`` (ImageNet head, no BN, as in the paper),
        ``macs`` (one ``input_size`` image, multiply-accumulates), and ``rf`` (the
        receptive field of the last pool, input pixels).
    """
    out = []
    for name, kernels in CONFIGS.items():
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            model = build_vgg(name, bn=None)
        stats = layer_stats(model, input_size)
        out.append(
            dict(
                config=name,
                weight_layers=sum(map(len, kernels)) + 3,
                convs_1x1=sum(k == 1 for stage in kernels for k in stage),
                params=stats.total_params,
                macs=stats.total_macs,
                rf=rf_table(_paper_specs(kernels))[-1].rf,
            )
        )
    return out


def epoch_macs(
    config: str = "D", images: int = RECIPE["train_images"], crop: int = RECIPE["crop"]
) -> int:
    """Multiply-accumulates of one training epoch: forward + backward ~ 3x the forward pass.

    The backward pass computes two products of the same size as the forward one (the
    gradient with respect to the input and to the weights), so a training step costs
    about three forward passes: ``3 * images * forward MACs per crop``.
    """
    with torch.device("meta"):
        model = build_vgg(config, bn=None)
    forward = layer_stats(model, crop).total_macs
    return 3 * images * forward
