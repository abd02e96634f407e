"""Interactive explorers for chapter 6 (ipywidgets): thin wrappers over probes and plots.

- :class:`FeatureMapExplorer`: an image (a test image or your own upload) and a
  layer; every channel of that layer as a grid, one channel enlarged over the
  input, and the model's prediction.
- :class:`FilterViewer`: a convolution's channel: its first-layer kernel, the
  activation-maximisation image, and the test images that excite it most.
- :class:`TrainedVsRandom`: the same layer of a trained and a randomly
  initialised network, side by side.

Widgets need a live Jupyter kernel (locally or in Colab); the HTML book shows
static figures instead. Display one by putting it last in a cell.

Speed: a redraw reuses cached work. One forward pass per image records every
layer at once; grids are cached per (image, layer); activation maximisation and
the scores of the test images are computed the first time a channel or layer is
asked for, then kept. Images are drawn as PNGs of numpy arrays, not matplotlib
figures, so a redraw on a CPU takes milliseconds (see ``benchmarks/widget_redraw.py``).
Every explorer keeps what it shows in ``.current`` (tensors) for tests and curious readers.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from vgg_lessons.inputs import CLASSES, Preprocess, check_images
from vgg_lessons.probes import activation_max, hooks
from vgg_lessons.viz import feature_plots
from vgg_lessons.viz._explorers import (
    CachedRuns,
    Explorer,
    enlarge,
    feature_layers,
    image_from_upload,
    layer_choice,
    prediction_html,
    to_input,
    uploaded_contents,
)
from vgg_lessons.viz._images import png_bytes


# ---- feature-map explorer ------------------------------------------------------------
class FeatureMapExplorer(Explorer):
    """Choose an image and a layer; see all its channels, one enlarged, and the prediction.

    Args:
        model: a VGG in eval mode (e.g. ``weights.load_pretrained("vgg11_bn_cifar10")``).
        images: uint8 ``(N, 3, 32, 32)`` test images to choose from (a subset is plenty).
        labels: their int64 ``(N,)`` labels, shown as the true class.
        classes: class names, indexed by label.
        layers: the layers offered (default: every layer of the five stages).
        preprocess: 0..1 RGB -> model input (default: CIFAR-10 normalisation).

    Attributes:
        current: ``layer``, ``channel``, ``image`` (uint8 ``(3, 32, 32)``), ``maps``
            (``(C, h, w)``), ``channel_map`` (``(h, w)``), ``probs`` (``(K,)``).
    """

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        classes: Sequence[str] | None = None,
        *,
        layers: Sequence[str] | None = None,
        preprocess: Preprocess | None = None,
    ):
        import ipywidgets as W

        check_images(images)
        self.images, self.labels = images, labels
        self.classes = list(classes or CLASSES)
        layers = layer_choice(layers, feature_layers(model))
        self.runs = CachedRuns(
            model, layers, preprocess or activation_max.default_preprocess
        )
        self._upload: tuple[torch.Tensor, str] | None = None
        self.current: dict[str, Any] = {}

        self.source = W.ToggleButtons(
            options=["test image", "my upload"], value="test image", description="image"
        )
        self.index = W.IntSlider(
            0, 0, len(images) - 1, description="test image", continuous_update=False
        )
        self.upload = W.FileUpload(
            accept="image/*", multiple=False, description="upload"
        )
        self.layer = W.Dropdown(options=layers, value=layers[0], description="layer")
        self.channel = W.IntSlider(0, 0, 0, description="channel")
        self.grid = W.Image(format="png")
        self.enlarged = W.Image(format="png")
        self.prediction = W.HTML()
        self.note = W.HTML()
        self.upload.observe(self._on_upload, names="value")
        self._observe([self.source, self.index, self.layer, self.channel])
        self.ui = W.VBox(
            [
                W.HBox([self.source, self.upload]),
                self.index,
                W.HBox([self.layer, self.channel]),
                self.note,
                W.HBox([self.enlarged, self.prediction]),
                self.grid,
            ]
        )
        self.redraw()

    def load_image(self, content: bytes) -> None:
        """Use an uploaded picture (file bytes): resized to 32x32 with a note."""
        self._upload = image_from_upload(content)
        if self.source.value == "my upload":
            self.redraw()
        else:
            self.source.value = "my upload"  # triggers a redraw

    def _on_upload(self, change: dict) -> None:
        files = uploaded_contents(change["new"])
        if files:
            try:
                self.load_image(files[0])
            except ValueError as err:
                self.note.value = (
                    f"<span style='color:#b00'>{html.escape(str(err))}</span>"
                )

    def _image(self) -> tuple[Any, torch.Tensor, str]:
        if self.source.value == "my upload" and self._upload is not None:
            image, note = self._upload
            return ("upload", id(self._upload)), image, note
        i = self.index.value
        truth = (
            f" (true class: {self.classes[int(self.labels[i])]})"
            if self.labels is not None
            else ""
        )
        note = f"Test image {i}{truth}."
        if self.source.value == "my upload":
            note = "No upload yet: showing a test image. " + note
        return ("test", i), self.images[i], note

    def redraw(self) -> None:
        """Show the current image, layer and channel (cached forward pass and grid)."""
        key, image, note = self._image()
        maps, probs = self.runs.run(key, image)
        layer = self.layer.value
        layer_maps = maps[layer]
        if self.channel.max != layer_maps.shape[0] - 1:
            self.channel.max = layer_maps.shape[0] - 1  # may clamp the value
        c = min(self.channel.value, layer_maps.shape[0] - 1)
        self.current = dict(
            layer=layer,
            channel=c,
            image=image,
            maps=layer_maps,
            channel_map=layer_maps[c],
            probs=probs,
        )
        self.grid.value = self.runs.grid_png(key, image, layer)
        self.enlarged.value = png_bytes(
            feature_plots.overlay_channel(image, layer_maps[c])
        )
        self.prediction.value = prediction_html(probs, self.classes)
        h, w = layer_maps.shape[1:]
        self.note.value = html.escape(
            f"{note} {layer}: {layer_maps.shape[0]} channels of "
            f"{h}x{w}; channel {c} enlarged over the input."
        )


# ---- filter viewer -------------------------------------------------------------------
class FilterViewer(Explorer):
    """One channel of a convolution: its kernel (first layer), what maximises it, its top images.

    A channel is read before its ReLU (at its batch norm where BN comes before the ReLU): the
    activation-maximisation gradient vanishes where a ReLU is off.

    Args:
        model: a VGG in eval mode.
        images: uint8 ``(N, 3, 32, 32)``, the images searched for the top ones
            (e.g. the first 1,000 test images).
        k: how many top images to show.
        act_max: keyword arguments for
            :func:`vgg_lessons.probes.activation_max.maximize_activation`.

    Attributes:
        current: ``layer`` (conv name), ``probe`` (the layer read), ``channel``,
            ``kernels`` (first layer only, ``(C, 3, k, k)`` in 0..1), ``maxact``
            (``(3, 32, 32)`` in 0..1), ``top_indices``, ``top_values`` (``(k,)``).
    """

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        *,
        k: int = 8,
        layers: Sequence[str] | None = None,
        preprocess: Preprocess | None = None,
        act_max: dict[str, Any] | None = None,
    ):
        import ipywidgets as W

        check_images(images)
        self.model, self.images, self.k = model, images, k
        self.preprocess = preprocess or activation_max.default_preprocess
        self.act_max = dict(act_max or {})
        convs = [n for n in feature_layers(model) if ".conv" in n]
        self.layers = layer_choice(layers, convs)
        self.first = hooks.first_conv_name(model)
        self._inputs: torch.Tensor | None = None
        self._scores: dict[str, torch.Tensor] = {}
        self._maxact: dict[tuple[str, int], torch.Tensor] = {}
        self.current: dict[str, Any] = {}

        self.layer = W.Dropdown(
            options=self.layers, value=self.layers[0], description="layer"
        )
        self.channel = W.IntSlider(0, 0, 0, description="channel")
        self.kernels = W.Image(format="png")
        self.maxact = W.Image(format="png")
        self.top = W.Image(format="png")
        self.note = W.HTML()
        self._observe([self.layer, self.channel])
        self.ui = W.VBox(
            [
                W.HBox([self.layer, self.channel]),
                self.note,
                W.HBox([self.kernels, self.maxact]),
                self.top,
            ]
        )
        self.redraw()

    def probe_layer(self, conv: str) -> str:
        """The layer read for ``conv``: the last one before its ReLU.

        That is its batch norm where BN comes before the ReLU, else the conv itself
        (no BN, or BN after the ReLU).
        """
        names = list(getattr(self.model, "layer_names", {}))
        bn, relu = conv.replace(".conv", ".bn"), conv.replace(".conv", ".relu")
        if bn in names and relu in names and names.index(bn) < names.index(relu):
            return bn
        return conv

    def scores(self, layer: str) -> torch.Tensor:
        """Cached ``(N, C)`` channel responses of the images at ``layer``."""
        if layer not in self._scores:
            if self._inputs is None:
                self._inputs = to_input(self.images, self.preprocess)
            self._scores[layer] = hooks.channel_scores(self.model, self._inputs, layer)
        return self._scores[layer]

    def maximized(self, layer: str, channel: int) -> torch.Tensor:
        """Cached activation-maximisation image ``(3, 32, 32)`` of one channel."""
        if (layer, channel) not in self._maxact:
            self._maxact[layer, channel] = activation_max.maximize_activation(
                self.model, layer, channel, preprocess=self.preprocess, **self.act_max
            )
        return self._maxact[layer, channel]

    def redraw(self) -> None:
        """Show the current layer and channel."""
        conv = self.layer.value
        probe = self.probe_layer(conv)
        scores = self.scores(probe)
        if self.channel.max != scores.shape[1] - 1:
            self.channel.max = scores.shape[1] - 1
        c = min(self.channel.value, scores.shape[1] - 1)
        indices, values = hooks.top_activating_images(
            self.model,
            self.images,
            probe,
            c,
            min(self.k, len(self.images)),
            scores=scores,
        )
        image = self.maximized(probe, c)
        kernels = (
            hooks.first_layer_filter_images(self.model) if conv == self.first else None
        )
        self.current = dict(
            layer=conv,
            probe=probe,
            channel=c,
            kernels=kernels,
            maxact=image,
            top_indices=indices,
            top_values=values,
        )
        if kernels is not None:
            self.kernels.value = png_bytes(enlarge(kernels, 8))
        else:
            self.kernels.value = b""
        self.maxact.value = png_bytes(enlarge(image[None], 5))
        self.top.value = png_bytes(enlarge(self.images[indices], 3))
        kernel_note = (
            f" Top left: all {len(kernels)} first-layer kernels (grey = 0), channel {c} "
            f"is number {c}."
            if kernels is not None
            else ""
        )
        self.note.value = html.escape(
            f"{conv}, channel {c} (read at {probe}, before the ReLU).{kernel_note} Right: an "
            f"input optimised to excite it. Below: the {len(indices)} of {len(self.images)} "
            "images that excite it most, strongest first."
        )


# ---- trained versus random -----------------------------------------------------------
class TrainedVsRandom(Explorer):
    """The same layer of a trained and a randomly initialised network, for the same image.

    Args:
        trained, random: two VGGs of the same configuration, in eval mode.
        images, labels, classes, layers, preprocess: as for :class:`FeatureMapExplorer`.

    Attributes:
        current: ``layer``, ``index``, and per model name (``"trained"``, ``"random"``)
            its ``(C, h, w)`` maps and ``(K,)`` probabilities: ``maps_trained``, ...
    """

    def __init__(
        self,
        trained: nn.Module,
        random: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        classes: Sequence[str] | None = None,
        *,
        layers: Sequence[str] | None = None,
        preprocess: Preprocess | None = None,
    ):
        import ipywidgets as W

        check_images(images)
        if trained.layer_names != random.layer_names:
            raise ValueError(
                "the trained and the random model must have the same configuration; "
                "build the random one with build_vgg(**trained.config)"
            )
        self.images, self.labels = images, labels
        self.classes = list(classes or CLASSES)
        layers = layer_choice(layers, feature_layers(trained))
        pre: Callable = preprocess or activation_max.default_preprocess
        self.runs = {
            "trained": CachedRuns(trained, layers, pre),
            "random": CachedRuns(random, layers, pre),
        }
        self.current: dict[str, Any] = {}
        self.index = W.IntSlider(
            0, 0, len(images) - 1, description="test image", continuous_update=False
        )
        self.layer = W.Dropdown(options=layers, value=layers[0], description="layer")
        self.grids = {name: W.Image(format="png") for name in self.runs}
        self.predictions = {name: W.HTML() for name in self.runs}
        self.note = W.HTML()
        self._observe([self.index, self.layer])
        columns = [
            W.VBox([W.HTML(f"<b>{name}</b>"), self.predictions[name], self.grids[name]])
            for name in self.runs
        ]
        self.ui = W.VBox([W.HBox([self.index, self.layer]), self.note, W.HBox(columns)])
        self.redraw()

    def redraw(self) -> None:
        """Show the current image and layer for both models."""
        i, layer = self.index.value, self.layer.value
        image = self.images[i]
        self.current = dict(layer=layer, index=i)
        for name, runs in self.runs.items():
            maps, probs = runs.run(("test", i), image)
            self.current[f"maps_{name}"], self.current[f"probs_{name}"] = (
                maps[layer],
                probs,
            )
            self.grids[name].value = runs.grid_png(("test", i), image, layer)
            self.predictions[name].value = prediction_html(probs, self.classes, top=3)
        truth = (
            f" (true class: {self.classes[int(self.labels[i])]})"
            if self.labels is not None
            else ""
        )
        self.note.value = html.escape(f"Test image {i}{truth}, layer {layer}.")
