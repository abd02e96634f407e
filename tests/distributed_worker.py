"""A worker for tests/test_distributed.py, started by torchrun: a few steps of fit on the
toy images in a process group, once per recipe, rank 0 saving the weights and metrics of
every run to argv[1] (a dict by recipe name)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_train import _model, _toy  # noqa: E402

from vgg_lessons.train import distributed  # noqa: E402
from vgg_lessons.train.loop import fit  # noqa: E402

#: The few steps compared (2 epochs of 2 global batches of 16 of the 32 toy images).
RUN = dict(epochs=2, batch_size=16, lr=0.05, progress=False, device="cpu")
#: The recipes compared: the shipped one (TrainConfig's defaults: a first convolution
#: whitened from the training images' patches, alternating flips, crops padded by 2)
#: and the textbook one (random first convolution, random flips, padding 4).
RECIPES: dict[str, dict[str, Any]] = {
    "shipped": {},
    "textbook": dict(crop_padding=4, flip="random", whiten_first_conv=False),
}


def run(recipe: str) -> tuple[nn.Module, list[dict[str, Any]]]:
    """The trained model and metrics of ``recipe``'s toy run, in float64.

    In float32 the sums of one process and of two are taken in different orders, and
    a max-pool window whose two largest values differ by less than that rounding can
    send a gradient elsewhere (on 64 toy images, batch 32, it did at the second step);
    from then on the runs part.
    In float64 that rounding is far below every such gap, so equal runs end with weights
    equal to many digits, and any difference in what the ranks compute shows.
    """
    model = _model(0).double()
    history = fit(model, _toy(32), None, **RUN, **RECIPES[recipe])
    return model, history


if __name__ == "__main__":
    torch.set_num_threads(1)
    ctx = distributed.setup(torch.device("cpu"))
    results = {}
    for name in RECIPES:
        model, history = run(name)
        results[name] = dict(state=model.state_dict(), history=history)
    if ctx.is_main:
        torch.save(results, sys.argv[1])
    distributed.teardown()
