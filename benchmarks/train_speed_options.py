"""CPU speed options side by side: fp32, channels_last, bf16 autocast, torch.compile.

Every option trains the shipped recipe's model (VGG-11-BN, width 0.25, CIFAR head, batch
128, Nesterov SGD, label smoothing) with the loop's training step (augmented uint8 batch ->
normalise -> forward -> backward -> step). The options take turns in rounds (option 1 for
``--steps`` steps, option 2, ..., then the next round), so a neighbour's load on a
shared machine falls on all of them alike; each option's figure is the median step time
over all its timed steps, as images/s, with the spread (25th-75th percentile) beside it.

Options (each one a model of its own, same initial weights):

- ``fp32``: float32, contiguous (NCHW) tensors;
- ``fp32+cl``: float32, channels_last (what :func:`vgg_lessons.train.loop.fit` does);
- ``bf16+cl``: ``torch.autocast("cpu", dtype=torch.bfloat16)`` and channels_last (the
  convolutions then run in bfloat16 through oneDNN; worth it where the CPU has
  AVX-512 BF16 or AMX);
- ``bf16``: bf16 autocast, contiguous;
- ``compile+cl`` and ``compile+bf16+cl``: the same step under ``torch.compile``
  (inductor; compiled once before the rounds, the compile time is printed).

Run::

    python benchmarks/train_speed_options.py --rounds 5 --steps 40 --json out.json

``--tiny`` (a width-0.0625 model, 2 rounds of 3 steps, no compile) checks that it runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time

import torch
from torch import nn

from vgg_lessons.inputs import normalize
from vgg_lessons.models import build_vgg
from vgg_lessons.train.augmentation import augment
from vgg_lessons.train.config import TrainConfig
from vgg_lessons.train.loop import make_optimizer

OPTIONS = ("fp32", "fp32+cl", "bf16", "bf16+cl", "compile+cl", "compile+bf16+cl")


def make_step(option: str, model: nn.Module, config) -> callable:
    """One training step for ``option``: (uint8 images, labels, generator) -> loss."""
    channels_last = option.endswith("+cl")
    bf16 = "bf16" in option
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def forward_backward(x, y):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
            loss = loss_fn(logits.float(), y)
        loss.backward()
        return loss

    run = torch.compile(forward_backward) if option.startswith("compile") else forward_backward

    def step(images, labels, gen):
        x = augment(images, gen, padding=config.crop_padding)
        x = normalize(x)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        loss = run(x, labels)
        optimizer.step()
        return loss.detach()

    return step


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per option and round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per option before the rounds")
    parser.add_argument("--width", type=float, default=None, help="default: the shipped recipe's")
    parser.add_argument("--options", default=",".join(OPTIONS))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tiny", action="store_true", help="width 0.0625, 2 rounds of 3 steps, no compile")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    options = [o for o in args.options.split(",") if o]
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        parser.error(f"unknown option(s) {', '.join(unknown)}; choose from {', '.join(OPTIONS)}")
    if args.tiny:
        args.rounds, args.steps, args.warmup = 2, 3, 1
        args.width = args.width or 0.0625
        options = [o for o in options if not o.startswith("compile")]
    config = TrainConfig()
    width = args.width or config.width
    torch.manual_seed(0)
    reference = build_vgg(config.arch, bn=config.bn, width=width, head="cifar")
    gen = torch.Generator().manual_seed(0)
    batch = config.batch_size
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (batch,), generator=gen)
    steps, compile_seconds = {}, {}
    for option in options:
        model = copy.deepcopy(reference).train()
        steps[option] = make_step(option, model, config)
        t = time.perf_counter()
        for _ in range(args.warmup):  # the first call of a compiled step compiles it
            steps[option](images, labels, gen)
        compile_seconds[option] = time.perf_counter() - t
    times: dict[str, list[float]] = {o: [] for o in options}
    for r in range(args.rounds):
        for option in options:
            for _ in range(args.steps):
                t = time.perf_counter()
                steps[option](images, labels, gen)
                times[option].append(time.perf_counter() - t)
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    rows = {}
    for option in options:
        q = statistics.quantiles(times[option], n=4)
        median = statistics.median(times[option])
        rows[option] = dict(
            median_step_s=median,
            images_per_s=batch / median,
            images_per_s_q25_q75=[batch / q[2], batch / q[0]],
            warmup_s=compile_seconds[option],
            steps=len(times[option]),
        )
    base = rows.get("fp32+cl", next(iter(rows.values())))["images_per_s"]
    print(f"{'option':<18}{'images/s':>10}{'(q25-q75)':>18}{'vs fp32+cl':>12}{'warm-up s':>11}")
    for option, row in rows.items():
        lo, hi = row["images_per_s_q25_q75"]
        print(
            f"{option:<18}{row['images_per_s']:>10.0f}{f'({lo:.0f}-{hi:.0f})':>18}"
            f"{row['images_per_s'] / base:>11.2f}x{row['warmup_s']:>11.1f}"
        )
    result = dict(
        model=dict(arch=config.arch, bn=config.bn, width=width, head="cifar"),
        batch_size=batch,
        rounds=args.rounds,
        steps_per_round=args.steps,
        options=rows,
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        torch=torch.__version__,
        bf16_supported=torch.backends.mkldnn.is_available()
        and torch.ops.mkldnn._is_mkldnn_bf16_supported(),
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result


if __name__ == "__main__":
    main()
