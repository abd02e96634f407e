"""Training throughput: vgg_lessons' loop against the usual tutorial loop, same model and batch.

(a) ``vgg_lessons.train.loop.fit``: the data set as one uint8 tensor, batched augmentation
    and normalisation on the device, channels_last, Nesterov SGD.
(b) the loop of most blog posts: ``DataLoader`` over torchvision's ``ImageFolder`` with
    per-image PIL transforms (``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``,
    ``ToTensor``, ``Normalize``), ``num_workers=2`` as in PyTorch's CIFAR-10 tutorial.

Both train the same VGG for the same number of steps after a few warm-up steps. The
script prints images/s of each and their ratio; images/s of the training step alone on
one fixed batch (the ceiling for any data pipeline); and the loop's achieved GFLOP/s
(3 x the forward FLOPs per image: forward, input gradients, weight gradients) against
the rate this machine reaches on a large fp32 matrix multiply.

Run (CIFAR-10 in ImageFolder layout under --data-root or $VGG_LESSONS_DATA)::

    python benchmarks/train_throughput.py --steps 30 --batch-size 256 --width 0.25
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from vgg_lessons.inputs import MEAN, STD
from vgg_lessons.models import build_vgg
from vgg_lessons.train.data import data_root, load_cifar10
from vgg_lessons.train.loop import default_device, fit, seed_everything


def forward_flops(model: nn.Module, size: int = 32) -> int:
    """FLOPs (2 x multiply-accumulates) of convolutions and linear layers for one image."""
    macs = 0

    def count(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            k = (
                module.kernel_size[0]
                * module.kernel_size[1]
                * module.in_channels
                // module.groups
            )
            macs += output.numel() * k
        elif isinstance(module, nn.Linear):
            macs += output.numel() * module.in_features

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    was_training = model.training
    with torch.no_grad():
        model.eval()(
            torch.zeros(1, 3, size, size, device=next(model.parameters()).device)
        )
    model.train(was_training)
    for h in hooks:
        h.remove()
    return 2 * macs


def matmul_gflops(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """Measured fp32 matrix-multiply rate, GFLOP/s (the machine's practical peak)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def ours(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    warmup: int,
    batch_size: int,
    device: torch.device,
) -> float:
    """images/s of vgg_lessons.train.loop.fit over ``steps`` steps (after ``warmup`` steps)."""
    fit(
        model,
        (images[: warmup * batch_size], labels[: warmup * batch_size]),
        epochs=1,
        batch_size=batch_size,
        lr=0.05,
        device=device,
        progress=False,
    )
    n = steps * batch_size
    history = fit(
        model,
        (images[:n], labels[:n]),
        epochs=1,
        batch_size=batch_size,
        lr=0.05,
        device=device,
        progress=False,
    )
    return history[0]["images_per_s"]


def model_alone(
    model: nn.Module, steps: int, warmup: int, batch_size: int, device: torch.device
) -> float:
    """images/s of the training step alone: one fixed, normalised batch already on the device.

    No data pipeline at all (no indexing, augmentation or normalisation), the same
    step as ``fit`` (channels_last, Nesterov SGD, label smoothing): the ceiling that
    no input pipeline can exceed for this model on this machine.
    """
    fmt = torch.channels_last
    model.to(device).to(memory_format=fmt).train()
    x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch_size,), device=device)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True
    )
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        criterion(model(x), y).backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def tutorial(
    model: nn.Module,
    root: str,
    steps: int,
    warmup: int,
    batch_size: int,
    device: torch.device,
    workers: int,
) -> float:
    """images/s of the usual DataLoader + ImageFolder + PIL-transforms loop."""
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )
    dataset = datasets.ImageFolder(f"{root}/train", transform=transform)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
    )
    model.to(device).train()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4
    )
    seen, start = 0, None
    for i, (x, y) in enumerate(loader):
        if i == warmup:
            start = time.perf_counter()
        if i == warmup + steps:
            break
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running = loss.item()  # the usual running-loss bookkeeping
        if start is not None:
            seen += len(x)
    del running
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="A")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument(
        "--workers", type=int, default=2, help="DataLoader workers of the tutorial loop"
    )
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    root = data_root(args.data_root)
    images, labels = load_cifar10(
        "train", root, download=False
    )  # decoded once, then cached

    def model():
        seed_everything(0)
        return build_vgg(args.arch, bn="before_relu", head="cifar", width=args.width)

    flops = forward_flops(model())
    peak = matmul_gflops(device)
    tut = tutorial(
        model(),
        str(root),
        args.steps,
        args.warmup,
        args.batch_size,
        device,
        args.workers,
    )
    our = ours(
        model(), images, labels, args.steps, args.warmup, args.batch_size, device
    )
    alone = model_alone(model(), args.steps, args.warmup, args.batch_size, device)
    achieved = 3 * flops * our / 1e9
    print(
        f"VGG-{args.arch} width {args.width}, batch {args.batch_size}, {args.steps} steps on "
        f"{device} with {torch.get_num_threads()} threads; {flops / 1e6:.1f} MFLOP forward per image"
    )
    print(
        f"tutorial loop (DataLoader, ImageFolder, PIL transforms, {args.workers} workers): "
        f"{tut:8.0f} images/s"
    )
    print(
        f"vgg_lessons loop (uint8 tensors, batched augmentation, channels_last):   "
        f"{our:8.0f} images/s"
    )
    print(f"ratio: {our / tut:.2f}x")
    print(
        f"the training step alone (one fixed batch, no data pipeline):         "
        f"{alone:8.0f} images/s = {alone / tut:.2f}x the tutorial loop, the most any "
        f"input pipeline could reach; this loop gets {100 * our / alone:.0f}% of it"
    )
    print(
        f"achieved {achieved:.1f} GFLOP/s in training = {100 * achieved / peak:.0f}% of the "
        f"measured fp32 matmul rate ({peak:.1f} GFLOP/s, 2048x2048)"
    )


if __name__ == "__main__":
    main()
