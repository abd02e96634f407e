"""What the ipywidgets explorers share (private to :mod:`vgg_lessons.viz.widgets`).

Small renderers (an upload decoded to a CIFAR-sized image, a row of enlarged
images, the prediction as HTML bars), the cache of one model's forward passes,
and the base class that displays a widget tree and redraws on changes.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from vgg_lessons._layers import model_device
from vgg_lessons.inputs import IMAGE_SIZE, Preprocess
from vgg_lessons.probes import hooks
from vgg_lessons.viz._images import (
    enlarge_nearest,
    png_bytes,
    tile,
    to_uint8,
    to_unit_float,
)
from vgg_lessons.viz.feature_plots import tile_channels


def enlarge(images: torch.Tensor, factor: int) -> np.ndarray:
    """RGB images ``(N, 3, H, W)`` (uint8 or 0..1 floats) -> a row ``(H*f, N*(W*f+2)-2, 3)``."""
    x = enlarge_nearest(to_uint8(images), factor)  # nearest neighbour
    return tile(x.permute(0, 2, 3, 1).numpy(), cols=len(x))


def uploaded_contents(value: Any) -> list[bytes]:
    """The bytes of each file in a ``FileUpload`` widget's value, in either ipywidgets.

    ipywidgets 8 holds a tuple of dicts with a ``content`` memoryview; ipywidgets 7
    (Colab's 7.7) a dict of file name -> ``{"metadata": ..., "content": bytes}``.
    """
    files = value.values() if isinstance(value, dict) else value
    return [bytes(f["content"]) for f in files]


def image_from_upload(
    content: bytes, size: int = IMAGE_SIZE
) -> tuple[torch.Tensor, str]:
    """Decode an uploaded picture to uint8 RGB ``(3, size, size)`` and a note on what was done.

    A picture of another size is cropped to its central square and resized (the
    model only ever saw 32x32 CIFAR-10 images); the note says so.

    Raises:
        ValueError: the bytes are not an image PIL can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        img: Image.Image = Image.open(io.BytesIO(content))
        img.load()
    except Image.DecompressionBombError:
        raise ValueError(
            "the upload is too large to open safely (more than "
            f"{Image.MAX_IMAGE_PIXELS:,} pixels); upload a smaller picture"
        ) from None
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(
            f"could not read the upload as an image ({err}); upload a PNG or JPEG file"
        ) from None
    img = img.convert("RGB")
    w, h = img.size
    note = f"Your image is {w}x{h} pixels, the size the model was trained on."
    if (w, h) != (size, size):
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize(
            (size, size), Image.Resampling.BILINEAR
        )
        note = (
            f"Your image ({w}x{h} pixels) was cropped to its central square and resized to "
            f"{size}x{size}, the size of the CIFAR-10 images the model was trained on; "
            "fine detail is lost."
        )
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1), note


def prediction_html(probs: torch.Tensor, classes: Sequence[str], top: int = 5) -> str:
    """The ``top`` most likely classes with their probabilities as bars (HTML)."""
    values, indices = torch.topk(probs, min(top, len(probs)))
    rows = "".join(
        f"<tr><td>{html.escape(classes[int(i)])}</td><td style='text-align:right'>{v:.1%}</td>"
        f"<td><div style='background:#4c72b0;height:0.8em;width:{100 * float(v):.1f}px'></div>"
        "</td></tr>"
        for v, i in zip(values.tolist(), indices)
    )
    return f"<b>prediction</b><table>{rows}</table>"


def feature_layers(model: nn.Module) -> list[str]:
    """The layers whose maps the explorers offer: every named layer of the five stages."""
    names = getattr(model, "layer_names", None)
    if not names:
        raise ValueError(
            "the explorers need a VGG from build_vgg (or load_pretrained), whose "
            "layers have readable names"
        )
    return [name for name in names if name.startswith("stage")]


def to_input(images_u8: torch.Tensor, preprocess: Preprocess) -> torch.Tensor:
    """uint8 images -> model input through ``preprocess`` (which takes 0..1 images)."""
    return preprocess(to_unit_float(images_u8))


def layer_choice(layers: str | Sequence[str] | None, offered: list[str]) -> list[str]:
    """The layers an explorer offers: ``layers`` (one name or several) or all ``offered``."""
    chosen = [layers] if isinstance(layers, str) else list(layers or offered)
    unknown = [name for name in chosen if name not in offered]
    if not chosen or unknown:
        raise ValueError(
            f"layer {unknown[0] if unknown else None!r} cannot be explored here; "
            f"choose from {', '.join(offered[:4])}, ... (model.layer_names)"
        )
    return chosen


class CachedRuns:
    """One model's feature maps of every layer and its probabilities, per image (cached)."""

    def __init__(self, model: nn.Module, layers: Sequence[str], preprocess: Preprocess):
        self.model, self.layers, self.preprocess = model, list(layers), preprocess
        self._runs: dict[Any, tuple[dict[str, torch.Tensor], torch.Tensor]] = {}
        self._grids: dict[tuple[Any, str], bytes] = {}

    def run(
        self, key: Any, image_u8: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """``(maps: name -> (C, h, w) on CPU, probs: (K,))`` of one uint8 ``(3, H, W)`` image."""
        if key not in self._runs:
            x = to_input(image_u8[None], self.preprocess)
            with torch.no_grad(), hooks.recording(self.model, self.layers) as maps:
                logits = self.model(x.to(model_device(self.model)))
            self._runs[key] = (
                {n: m[0].cpu() for n, m in maps.items()},
                torch.softmax(logits[0].float(), 0).cpu(),
            )
        return self._runs[key]

    def grid_png(self, key: Any, image_u8: torch.Tensor, layer: str) -> bytes:
        if (key, layer) not in self._grids:
            self._grids[key, layer] = png_bytes(
                tile_channels(self.run(key, image_u8)[0][layer])
            )
        return self._grids[key, layer]


class Explorer:
    """Shared plumbing: a widget tree in ``ui``, displayed when the object is."""

    ui: Any

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, with a short plain-text fallback (not the widget tree and its PNGs)."""
        bundle = dict(self.ui._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = (
            f"{type(self).__name__}: an interactive explorer; run the notebook "
            "in Jupyter or Colab to use it"
        )
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
