"""A worker for tests/test_distributed.py, started by torchrun: a few steps of fit on
the toy images in a process group, rank 0 saving the weights to argv[1]."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_train import _model, _toy  # noqa: E402

from vgg_lessons.train import distributed  # noqa: E402
from vgg_lessons.train.loop import fit  # noqa: E402

# The textbook settings the equality is shown with; the shipped recipe also whitens the
# first layer and alternates flips, and with those the two runs are not compared yet.
SETTINGS = dict(
    epochs=2,
    batch_size=32,
    lr=0.05,
    progress=False,
    device="cpu",
    crop_padding=4,
    flip="random",
    whiten_first_conv=False,
)

if __name__ == "__main__":
    torch.set_num_threads(1)
    ctx = distributed.setup(torch.device("cpu"))
    model = _model(0)
    history = fit(model, _toy(64), None, **SETTINGS)
    if ctx.is_main:
        torch.save(dict(state=model.state_dict(), history=history), sys.argv[1])
    distributed.teardown()
