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
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from vgg_lessons import plots, probes

#: Side of the square the model sees (CIFAR-10).
INPUT_SIZE = 32


# ---- small helpers -------------------------------------------------------------------
def png_bytes(array: np.ndarray) -> bytes:
    """uint8 RGB ``(H, W, 3)`` -> PNG file bytes (fast, lightly compressed)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def enlarge(images: torch.Tensor, factor: int) -> np.ndarray:
    """RGB images ``(N, 3, H, W)`` (uint8, or float 0..1) -> one row, uint8 ``(H*f, N*(W*f+2)-2, 3)``."""
    x = images.detach().cpu()
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8) if x.is_floating_point() else x
    x = x.repeat_interleave(factor, 2).repeat_interleave(factor, 3)  # nearest neighbour
    n, _, h, w = x.shape
    row = np.full((h, n * (w + 2) - 2, 3), 255, dtype=np.uint8)
    for i in range(n):
        row[:, i * (w + 2):i * (w + 2) + w] = x[i].permute(1, 2, 0).numpy()
    return row


def image_from_upload(content: bytes, size: int = INPUT_SIZE) -> tuple[torch.Tensor, str]:
    """Decode an uploaded picture to uint8 RGB ``(3, size, size)`` and a note on what was done.

    A picture of another size is cropped to its central square and resized (the
    model only ever saw 32x32 CIFAR-10 images); the note says so.

    Raises:
        ValueError: the bytes are not an image PIL can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(content))
        img.load()
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"could not read the upload as an image ({err}); upload a PNG or JPEG "
                         "file") from None
    img = img.convert("RGB")
    w, h = img.size
    note = f"Your image is {w}x{h} pixels, the size the model was trained on."
    if (w, h) != (size, size):
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize(
            (size, size), Image.Resampling.BILINEAR)
        note = (f"Your image ({w}x{h} pixels) was cropped to its central square and resized to "
                f"{size}x{size}, the size of the CIFAR-10 images the model was trained on; "
                "fine detail is lost.")
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1), note


def prediction_html(probs: torch.Tensor, classes: Sequence[str], top: int = 5) -> str:
    """The ``top`` most likely classes with their probabilities as bars (HTML)."""
    values, indices = torch.topk(probs, min(top, len(probs)))
    rows = "".join(
        f"<tr><td>{html.escape(classes[int(i)])}</td><td style='text-align:right'>{v:.1%}</td>"
        f"<td><div style='background:#4c72b0;height:0.8em;width:{100 * float(v):.1f}px'></div>"
        "</td></tr>" for v, i in zip(values.tolist(), indices))
    return f"<b>prediction</b><table>{rows}</table>"


def feature_layers(model: nn.Module) -> list[str]:
    """The layers whose maps the explorers offer: every named layer of the five stages."""
    names = getattr(model, "layer_names", None)
    if not names:
        raise ValueError("the explorers need a VGG from build_vgg (or load_pretrained), whose "
                         "layers have readable names")
    return [name for name in names if name.startswith("stage")]


def _to_input(images_u8: torch.Tensor, preprocess: probes.Preprocess) -> torch.Tensor:
    return preprocess(images_u8.float() / 255.0)


class _CachedRuns:
    """One model's feature maps of every layer and its probabilities, per image (cached)."""

    def __init__(self, model: nn.Module, layers: Sequence[str], preprocess: probes.Preprocess):
        self.model, self.layers, self.preprocess = model, list(layers), preprocess
        self._runs: dict[Any, tuple[dict[str, torch.Tensor], torch.Tensor]] = {}
        self._grids: dict[tuple[Any, str], bytes] = {}

    def run(self, key: Any, image_u8: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """``(maps: name -> (C, h, w) on CPU, probs: (K,))`` of one uint8 ``(3, H, W)`` image."""
        if key not in self._runs:
            x = _to_input(image_u8[None], self.preprocess)
            with torch.no_grad(), probes.recording(self.model, self.layers) as maps:
                logits = self.model(x.to(probes._device(self.model)))
            self._runs[key] = ({n: m[0].cpu() for n, m in maps.items()},
                               torch.softmax(logits[0].float(), 0).cpu())
        return self._runs[key]

    def grid_png(self, key: Any, image_u8: torch.Tensor, layer: str) -> bytes:
        if (key, layer) not in self._grids:
            self._grids[key, layer] = png_bytes(plots.tile_channels(self.run(key, image_u8)[0][layer]))
        return self._grids[key, layer]


class _Explorer:
    """Shared plumbing: a widget tree in ``ui``, displayed when the object is."""

    ui: Any

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, with a short plain-text fallback (not the widget tree and its PNGs)."""
        bundle = dict(self.ui._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = (f"{type(self).__name__}: an interactive explorer; run the notebook "
                                "in Jupyter or Colab to use it")
        return bundle

    def redraw(self) -> None:  # each explorer draws its own
        raise NotImplementedError

    def _observe(self, widgets: Sequence[Any]) -> None:
        """Redraw when any of ``widgets`` changes value (not again while a redraw runs)."""
        self._drawing = False

        def on_change(change: dict) -> None:
            if not self._drawing:
                self._drawing = True
                try:
                    self.redraw()
                finally:
                    self._drawing = False

        for w in widgets:
            w.observe(on_change, names="value")


# ---- feature-map explorer ------------------------------------------------------------
class FeatureMapExplorer(_Explorer):
    """Choose an image and a layer; see all its channels, one enlarged, and the prediction.

    Args:
        model: a VGG in eval mode (e.g. ``train.load_pretrained("vgg11_bn_cifar10")``).
        images: uint8 ``(N, 3, 32, 32)`` test images to choose from (a subset is plenty).
        labels: their int64 ``(N,)`` labels, shown as the true class.
        classes: class names, indexed by label.
        layers: the layers offered (default: every layer of the five stages).
        preprocess: 0..1 RGB -> model input (default: CIFAR-10 normalisation).

    Attributes:
        current: ``layer``, ``channel``, ``image`` (uint8 ``(3, 32, 32)``), ``maps``
            (``(C, h, w)``), ``channel_map`` (``(h, w)``), ``probs`` (``(K,)``).
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None,
                 classes: Sequence[str] | None = None, *, layers: Sequence[str] | None = None,
                 preprocess: probes.Preprocess | None = None):
        import ipywidgets as W

        from vgg_lessons.data import CLASSES

        _check_images(images)
        self.images, self.labels = images, labels
        self.classes = list(classes or CLASSES)
        layers = list(layers or feature_layers(model))
        self.runs = _CachedRuns(model, layers, preprocess or probes.default_preprocess)
        self._upload: tuple[torch.Tensor, str] | None = None
        self.current: dict[str, Any] = {}

        self.source = W.ToggleButtons(options=["test image", "my upload"], value="test image",
                                      description="image")
        self.index = W.IntSlider(0, 0, len(images) - 1, description="test image",
                                 continuous_update=False)
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="upload")
        self.layer = W.Dropdown(options=layers, value=layers[0], description="layer")
        self.channel = W.IntSlider(0, 0, 0, description="channel")
        self.grid = W.Image(format="png")
        self.enlarged = W.Image(format="png")
        self.prediction = W.HTML()
        self.note = W.HTML()
        self.upload.observe(self._on_upload, names="value")
        self._observe([self.source, self.index, self.layer, self.channel])
        self.ui = W.VBox([W.HBox([self.source, self.upload]), self.index,
                          W.HBox([self.layer, self.channel]), self.note,
                          W.HBox([self.enlarged, self.prediction]), self.grid])
        self.redraw()

    def load_image(self, content: bytes) -> None:
        """Use an uploaded picture (file bytes): resized to 32x32 with a note."""
        self._upload = image_from_upload(content)
        if self.source.value == "my upload":
            self.redraw()
        else:
            self.source.value = "my upload"  # triggers a redraw

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if files:
            try:
                self.load_image(bytes(files[0]["content"]))
            except ValueError as err:
                self.note.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"

    def _image(self) -> tuple[Any, torch.Tensor, str]:
        if self.source.value == "my upload" and self._upload is not None:
            image, note = self._upload
            return ("upload", id(self._upload)), image, note
        i = self.index.value
        truth = f" (true class: {self.classes[int(self.labels[i])]})" if self.labels is not None else ""
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
        self.current = dict(layer=layer, channel=c, image=image, maps=layer_maps,
                            channel_map=layer_maps[c], probs=probs)
        self.grid.value = self.runs.grid_png(key, image, layer)
        self.enlarged.value = png_bytes(plots.overlay_channel(image, layer_maps[c]))
        self.prediction.value = prediction_html(probs, self.classes)
        h, w = layer_maps.shape[1:]
        self.note.value = html.escape(f"{note} {layer}: {layer_maps.shape[0]} channels of "
                                      f"{h}x{w}; channel {c} enlarged over the input.")


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.dtype != torch.uint8:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected uint8 images (N, 3, H, W) as data.load_cifar10 returns, got "
                         f"{shape}; pass e.g. images[:1000] of the test set")


# ---- filter viewer -------------------------------------------------------------------
class FilterViewer(_Explorer):
    """One channel of a convolution: its kernel (first layer), what maximises it, its top images.

    A channel is read before its ReLU (after batch norm where there is one): the
    activation-maximisation gradient vanishes where a ReLU is off.

    Args:
        model: a VGG in eval mode.
        images: uint8 ``(N, 3, 32, 32)``, the images searched for the top ones
            (e.g. the first 1,000 test images).
        k: how many top images to show.
        act_max: keyword arguments for :func:`vgg_lessons.probes.maximize_activation`.

    Attributes:
        current: ``layer`` (conv name), ``probe`` (the layer read), ``channel``,
            ``kernels`` (first layer only, ``(C, 3, k, k)`` in 0..1), ``maxact``
            (``(3, 32, 32)`` in 0..1), ``top_indices``, ``top_values`` (``(k,)``).
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, *, k: int = 8,
                 layers: Sequence[str] | None = None, preprocess: probes.Preprocess | None = None,
                 act_max: dict[str, Any] | None = None):
        import ipywidgets as W

        _check_images(images)
        self.model, self.images, self.k = model, images, k
        self.preprocess = preprocess or probes.default_preprocess
        self.act_max = dict(act_max or {})
        convs = [n for n in feature_layers(model) if ".conv" in n]
        self.layers = list(layers or convs)
        self.first = probes.first_conv_name(model)
        self._inputs: torch.Tensor | None = None
        self._scores: dict[str, torch.Tensor] = {}
        self._maxact: dict[tuple[str, int], torch.Tensor] = {}
        self.current: dict[str, Any] = {}

        self.layer = W.Dropdown(options=self.layers, value=self.layers[0], description="layer")
        self.channel = W.IntSlider(0, 0, 0, description="channel")
        self.kernels = W.Image(format="png")
        self.maxact = W.Image(format="png")
        self.top = W.Image(format="png")
        self.note = W.HTML()
        self._observe([self.layer, self.channel])
        self.ui = W.VBox([W.HBox([self.layer, self.channel]), self.note,
                          W.HBox([self.kernels, self.maxact]), self.top])
        self.redraw()

    def probe_layer(self, conv: str) -> str:
        """The layer read for ``conv``: its batch norm if it has one, else the conv itself."""
        bn = conv.replace(".conv", ".bn")
        return bn if bn in getattr(self.model, "layer_names", {}) else conv

    def scores(self, layer: str) -> torch.Tensor:
        """Cached ``(N, C)`` channel responses of the images at ``layer``."""
        if layer not in self._scores:
            if self._inputs is None:
                self._inputs = _to_input(self.images, self.preprocess)
            self._scores[layer] = probes.channel_scores(self.model, self._inputs, layer)
        return self._scores[layer]

    def maximized(self, layer: str, channel: int) -> torch.Tensor:
        """Cached activation-maximisation image ``(3, 32, 32)`` of one channel."""
        if (layer, channel) not in self._maxact:
            self._maxact[layer, channel] = probes.maximize_activation(
                self.model, layer, channel, preprocess=self.preprocess, **self.act_max)
        return self._maxact[layer, channel]

    def redraw(self) -> None:
        """Show the current layer and channel."""
        conv = self.layer.value
        probe = self.probe_layer(conv)
        scores = self.scores(probe)
        if self.channel.max != scores.shape[1] - 1:
            self.channel.max = scores.shape[1] - 1
        c = min(self.channel.value, scores.shape[1] - 1)
        indices, values = probes.top_activating_images(self.model, self.images, probe, c,
                                                       min(self.k, len(self.images)), scores=scores)
        image = self.maximized(probe, c)
        kernels = probes.first_layer_filter_images(self.model) if conv == self.first else None
        self.current = dict(layer=conv, probe=probe, channel=c, kernels=kernels, maxact=image,
                            top_indices=indices, top_values=values)
        if kernels is not None:
            self.kernels.value = png_bytes(enlarge(kernels, 8))
        else:
            self.kernels.value = b""
        self.maxact.value = png_bytes(enlarge(image[None], 5))
        self.top.value = png_bytes(enlarge(self.images[indices], 3))
        kernel_note = (f" Top left: all {len(kernels)} first-layer kernels (grey = 0), channel {c} "
                       f"is number {c}." if kernels is not None else "")
        self.note.value = html.escape(
            f"{conv}, channel {c} (read at {probe}, before the ReLU).{kernel_note} Right: an "
            f"input optimised to excite it. Below: the {len(indices)} of {len(self.images)} "
            "images that excite it most, strongest first.")


# ---- trained versus random -----------------------------------------------------------
class TrainedVsRandom(_Explorer):
    """The same layer of a trained and a randomly initialised network, for the same image.

    Args:
        trained, random: two VGGs of the same configuration, in eval mode.
        images, labels, classes, layers, preprocess: as for :class:`FeatureMapExplorer`.

    Attributes:
        current: ``layer``, ``index``, and per model name (``"trained"``, ``"random"``)
            its ``(C, h, w)`` maps and ``(K,)`` probabilities: ``maps_trained``, ...
    """

    def __init__(self, trained: nn.Module, random: nn.Module, images: torch.Tensor,
                 labels: torch.Tensor | None = None, classes: Sequence[str] | None = None, *,
                 layers: Sequence[str] | None = None,
                 preprocess: probes.Preprocess | None = None):
        import ipywidgets as W

        from vgg_lessons.data import CLASSES

        _check_images(images)
        if trained.layer_names != random.layer_names:
            raise ValueError("the trained and the random model must have the same configuration; "
                             "build the random one with build_vgg(**trained.config)")
        self.images, self.labels = images, labels
        self.classes = list(classes or CLASSES)
        layers = list(layers or feature_layers(trained))
        pre: Callable = preprocess or probes.default_preprocess
        self.runs = {"trained": _CachedRuns(trained, layers, pre),
                     "random": _CachedRuns(random, layers, pre)}
        self.current: dict[str, Any] = {}
        self.index = W.IntSlider(0, 0, len(images) - 1, description="test image",
                                 continuous_update=False)
        self.layer = W.Dropdown(options=layers, value=layers[0], description="layer")
        self.grids = {name: W.Image(format="png") for name in self.runs}
        self.predictions = {name: W.HTML() for name in self.runs}
        self.note = W.HTML()
        self._observe([self.index, self.layer])
        columns = [W.VBox([W.HTML(f"<b>{name}</b>"), self.predictions[name], self.grids[name]])
                   for name in self.runs]
        self.ui = W.VBox([W.HBox([self.index, self.layer]), self.note, W.HBox(columns)])
        self.redraw()

    def redraw(self) -> None:
        """Show the current image and layer for both models."""
        i, layer = self.index.value, self.layer.value
        image = self.images[i]
        self.current = dict(layer=layer, index=i)
        for name, runs in self.runs.items():
            maps, probs = runs.run(("test", i), image)
            self.current[f"maps_{name}"], self.current[f"probs_{name}"] = maps[layer], probs
            self.grids[name].value = runs.grid_png(("test", i), image, layer)
            self.predictions[name].value = prediction_html(probs, self.classes, top=3)
        truth = f" (true class: {self.classes[int(self.labels[i])]})" if self.labels is not None else ""
        self.note.value = html.escape(f"Test image {i}{truth}, layer {layer}.")


# ---- Receptive-field explorer (chapter 1) ----------------------------------------------


def receptive_field_explorer(input_size: int = 24, max_input_size: int = 96):
    """Sliders for kernel, stride, padding, dilation and depth that redraw a 1-D field.

    Stacks ``depth`` identical layers (``LayerSpec`` with the chosen kernel, stride,
    padding and dilation) and redraws ``plots.rf_diagram_1d`` for the middle unit of
    the last layer at every change. Needs a live Jupyter kernel (Colab works).
    The defaults (kernel 3, stride 1, padding 1, dilation 1, depth 3) draw the same
    figure as ``plots.rf_diagram_1d`` of three such layers on ``input_size`` pixels.

    Args:
        input_size: length of the 1-D input in pixels; grown (up to
            ``max_input_size``) when a stack with strides needs more to leave an output.
        max_input_size: the largest input drawn; beyond it a message asks for a
            smaller stack instead of an unreadable figure.

    Returns:
        An ``ipywidgets.VBox``: the sliders above the figure. Display it in a notebook.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from vgg_lessons import plots
    from vgg_lessons.receptive_field import LayerSpec, min_input_size

    sliders = dict(
        kernel=widgets.IntSlider(value=3, min=1, max=7, description="kernel"),
        stride=widgets.IntSlider(value=1, min=1, max=3, description="stride"),
        padding=widgets.IntSlider(value=1, min=0, max=3, description="padding"),
        dilation=widgets.IntSlider(value=1, min=1, max=3, description="dilation"),
        depth=widgets.IntSlider(value=3, min=1, max=6, description="depth"),
    )

    def redraw(kernel: int, stride: int, padding: int, dilation: int, depth: int) -> None:
        specs = [LayerSpec(f"layer{i}", kernel=kernel, stride=stride, padding=padding,
                           dilation=dilation) for i in range(1, depth + 1)]
        needed = min_input_size(specs)  # pixels for the last layer to have one output
        if needed > max_input_size:
            print(f"These {depth} layers need an input of at least {needed} pixels to leave "
                  f"one output, too many to draw; lower the depth, stride or kernel.")
            return
        display(plots.rf_diagram_1d(specs, input_size=max(input_size, needed)))

    out = widgets.interactive_output(redraw, sliders)  # redraws at every slider change
    return widgets.VBox([widgets.HBox(list(sliders.values())[:3]),
                         widgets.HBox(list(sliders.values())[3:]), out])
