"""How long does a widget redraw take on a CPU? (chapter 6's explorers, 32x32 inputs)

Drives the explorers headless, as a reader would: change the image, the layer,
the channel, and times each change from the new value to the updated widgets.
The target is a median of at most 100 ms per redraw.

    python benchmarks/widget_redraw.py            # the shipped model, real test images
    python benchmarks/widget_redraw.py --random   # a random init (no trained weights needed)

Uses ``$VGG_LESSONS_DATA`` for CIFAR-10 when it is set, random images otherwise.
Exits with status 1 when a median is over the limit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable

import torch

from vgg_lessons.models import build_vgg
from vgg_lessons.viz import widgets

LIMIT_MS = 100.0


def timed(changes: Iterable[Callable[[], None]]) -> list[float]:
    """Run each change (one widget assignment, which redraws) and return milliseconds each."""
    times = []
    for change in changes:
        start = time.perf_counter()
        change()
        times.append(1000 * (time.perf_counter() - start))
    return times


def load_model(random: bool) -> tuple[torch.nn.Module, str]:
    if not random:
        try:
            from vgg_lessons.train.weights import load_pretrained

            return load_pretrained("vgg11_bn_cifar10"), "trained vgg11_bn_cifar10"
        except (FileNotFoundError, ValueError, ImportError) as err:
            print(f"(no trained model: {err}; using a random init)")
    torch.manual_seed(0)
    return build_vgg("A", bn="before_relu", head="cifar", width=0.25).eval(), "random init"


def load_images(n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    if os.environ.get("VGG_LESSONS_DATA"):
        from vgg_lessons.train.data import load_cifar10

        images, labels = load_cifar10("test", os.environ["VGG_LESSONS_DATA"], download=False)
        return images[:n], labels[:n], "CIFAR-10 test images"
    g = torch.Generator().manual_seed(0)
    return (torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),
            torch.randint(0, 10, (n,), generator=g), "random images")


def set_value(widget, value) -> Callable[[], None]:
    return lambda: setattr(widget, "value", value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", action="store_true", help="use a random init, not the trained model")
    parser.add_argument("--repeats", type=int, default=40, help="changes timed per kind")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))  # a reader's laptop-ish CPU

    model, model_name = load_model(args.random)
    images, labels, data_name = load_images(1000)
    n = args.repeats
    print(f"{model_name}, {data_name}, {torch.get_num_threads()} CPU threads, {n} changes each")

    fm = widgets.FeatureMapExplorer(model, images, labels)
    layers = list(fm.layer.options)
    results = {
        # a new image: one forward pass (all layers recorded) plus drawing
        "explorer: new image": timed(set_value(fm.index, i) for i in range(1, n + 1)),
        # another layer of the same image: cached forward, a new channel grid
        "explorer: new layer": timed(set_value(fm.layer, layers[i % len(layers)])
                                     for i in range(1, n + 1)),
        # another channel: cached grid, a new enlarged overlay
        "explorer: new channel": timed(set_value(fm.channel, i % (fm.channel.max + 1))
                                       for i in range(1, n + 1)),
    }
    fm.layer.value = layers[0]
    tv = widgets.TrainedVsRandom(model, build_vgg(**model.config).eval(), images, labels)
    results["trained vs random: new image"] = timed(set_value(tv.index, i) for i in range(1, n + 1))

    fv = widgets.FilterViewer(model, images)
    convs = list(fv.layer.options)
    channels = [(convs[i % len(convs)], i % 8) for i in range(n)]
    for layer, c in channels:  # warm the lazy caches (activation maximisation, test-set scores)
        fv.maximized(fv.probe_layer(layer), c)
        fv.scores(fv.probe_layer(layer))

    def pick(layer: str, c: int) -> Callable[[], None]:
        def change() -> None:
            fv.layer.value = layer
            fv.channel.value = c
        return change

    results["filter viewer: cached channel"] = timed(pick(layer, c) for layer, c in channels)
    start = time.perf_counter()
    fv.maximized(fv.probe_layer(convs[-1]), 20)
    first_time = 1000 * (time.perf_counter() - start)

    worst = 0.0
    for name, times in results.items():
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{name:32s} median {median:6.1f} ms   max {max(times):6.1f} ms")
    print(f"(not a redraw: the first activation maximisation of a channel, once, {first_time:.0f} ms)")
    verdict = "within" if worst <= LIMIT_MS else "OVER"
    print(f"slowest median {worst:.1f} ms: {verdict} the {LIMIT_MS:.0f} ms limit")
    return 0 if worst <= LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
