"""Seeing inside a network: feature maps, filters, activation maximisation.

Everything here works on any ``nn.Module``; with a :class:`~vgg_lessons.models.VGG`
layers can be named readably (``"stage3.conv2"``, ``"stage3.bn2"``) or by module
path (``"features.12"``), see ``VGG.layer_names``.

- :class:`FeatureRecorder` / :func:`recording`: forward hooks that copy a layer's
  output as the model runs, and are removed on exit, even after an error.
- :func:`feature_maps`: one forward pass, the outputs of the named layers.
- :func:`filters`, :func:`first_layer_filter_images`: a convolution's weights, the
  first layer's as small RGB images.
- :func:`maximize_activation`: gradient ascent on the input image, with jitter and
  L2 / total-variation regularisers, towards what one channel responds to most.
- :func:`channel_scores`, :func:`top_activating_images`: the images of a set that
  drive a channel hardest.
- :func:`saliency`, :func:`grad_cam` (from :mod:`vgg_lessons.attribution`): which pixels
  a prediction depends on.

A channel's *response* to an image is, throughout, the mean of its feature map
over all spatial positions (one number per image and channel).

Nothing here changes a model's train/eval mode: call ``model.eval()`` first
when batch norm should use its running statistics (it should for a trained model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from vgg_lessons._images import Preprocess, as_model_input
from vgg_lessons._layers import model_device as _device
from vgg_lessons._layers import readable_name, resolve_layer
from vgg_lessons.attribution import grad_cam, saliency  # chapter 7; kept here for probes.X

__all__ = ["FeatureRecorder", "Preprocess", "channel_scores", "default_preprocess",
           "feature_maps", "filters", "first_conv_name", "first_layer_filter_images",
           "grad_cam", "maximize_activation", "recording", "resolve_layer", "saliency",
           "top_activating_images"]


# ---- naming --------------------------------------------------------------------------
def _layer_list(layers: str | Sequence[str]) -> list[str]:
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("no layers given: name at least one, e.g. ['stage1.conv1', 'stage3.conv2']")
    return names


# ---- hooks ---------------------------------------------------------------------------
class FeatureRecorder:
    """Forward hooks that store the outputs of named layers, removed on exit.

    Use it as a context manager; inside, every forward pass of ``model`` fills
    :attr:`maps` (layer name as given -> output tensor ``(B, C, H, W)``, the last
    pass wins). The hooks store a *copy* of each output: VGG's ReLUs work in place
    and would otherwise overwrite a stored batch-norm or convolution output.

    Args:
        model: any module; with a VGG, readable layer names work.
        layers: one name or a list of names.
        detach: store outputs cut from the autograd graph (True, saves memory) or
            keep the graph so a loss on them can be back-propagated (False).

    Example:
        >>> with FeatureRecorder(model, ["stage1.conv1", "stage3.bn2"]) as rec:
        ...     logits = model(x)
        >>> rec.maps["stage3.bn2"].shape   # (B, C, H, W)
    """

    def __init__(self, model: nn.Module, layers: str | Sequence[str], *, detach: bool = True):
        self.model = model
        self.layers = _layer_list(layers)
        self.modules = {name: resolve_layer(model, name) for name in self.layers}
        self.detach = detach
        self.maps: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str) -> Callable:
        def store(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            out = output.detach() if self.detach else output
            self.maps[name] = out.clone()  # a copy: an in-place ReLU may follow
        return store

    def __enter__(self) -> FeatureRecorder:
        if self._handles:
            raise RuntimeError("this FeatureRecorder is already recording; make a new one")
        self.maps = {}
        for name, module in self.modules.items():
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks (idempotent); :attr:`maps` stays readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


@contextmanager
def recording(model: nn.Module, layers: str | Sequence[str], *,
              detach: bool = True) -> Iterator[dict[str, torch.Tensor]]:
    """Context manager: yields a dict that the forward passes inside fill (see FeatureRecorder).

    Example:
        >>> with recording(model, "stage2.conv1") as maps:
        ...     model(x)
        >>> maps["stage2.conv1"]           # (B, C, H, W)
    """
    recorder = FeatureRecorder(model, layers, detach=detach)
    with recorder:
        yield recorder.maps


def feature_maps(model: nn.Module, images: torch.Tensor,
                 layers: str | Sequence[str]) -> dict[str, torch.Tensor]:
    """Run ``model`` once on ``images`` and return the outputs of ``layers``.

    Args:
        model: the network (put it in eval mode first for a trained model).
        images: uint8 ``(B, 3, H, W)`` as :func:`vgg_lessons.data.load_cifar10` returns
            them (converted by the shipped weights' ``transforms()``), or float model
            input, already normalised; moved to the model's device.
        layers: one name or a list, e.g. ``["stage1.conv1", "stage3.bn2"]``.

    Returns:
        layer name (as given) -> detached copy of its output, ``(B, C_l, H_l, W_l)``
        for convolutional layers, on the model's device.
    """
    with torch.no_grad(), recording(model, layers) as maps:
        model(as_model_input(images).to(_device(model)))
    return dict(maps)


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the wanted layer has run."""


def _forward_until(model: nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    """The output of ``layer`` for input ``x``, without running the layers after it.

    Keeps the autograd graph (call under ``torch.no_grad()`` when none is needed).
    """
    module = resolve_layer(model, layer)
    found: list[torch.Tensor] = []

    def stop(mod: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        found.append(output.clone())
        raise _Stop

    handle = module.register_forward_hook(stop)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not found:
        raise ValueError(f"layer {layer!r} did not run in the forward pass; name a layer that "
                         "the model uses")
    return found[0]


# ---- filters -------------------------------------------------------------------------
def filters(model: nn.Module, layer: str) -> torch.Tensor:
    """The weights of a convolution: ``(C_out, C_in, k, k)``, a detached CPU copy."""
    module = resolve_layer(model, layer)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"layer {layer!r} is a {type(module).__name__}, which has no filters; "
                         "name a convolution such as 'stage1.conv1'")
    return module.weight.detach().cpu().clone()


def first_conv_name(model: nn.Module) -> str:
    """Name of the first ``nn.Conv2d`` of the model (readable for a VGG)."""
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return readable_name(model, path)
    raise ValueError(f"this {type(model).__name__} has no nn.Conv2d layer, so no filters to show")


def first_layer_filter_images(model: nn.Module) -> torch.Tensor:
    """The first convolution's kernels as RGB images, ``(C_out, 3, k, k)`` in 0..1.

    Each kernel is scaled on its own, symmetrically about zero: a zero weight is mid
    grey (0.5), the kernel's largest absolute weight becomes 0 or 1. So colours and
    light/dark patterns are comparable within a kernel; contrast between kernels is not.
    """
    name = first_conv_name(model)
    w = filters(model, name)  # (C_out, C_in, k, k)
    if w.shape[1] != 3:
        raise ValueError(f"the first convolution {name!r} takes {w.shape[1]} input channels; "
                         "only RGB (3-channel) kernels can be shown as colour images")
    peak = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return (0.5 + 0.5 * w / peak).clamp(0.0, 1.0)


# ---- activation maximisation ---------------------------------------------------------
def default_preprocess(x: torch.Tensor) -> torch.Tensor:
    """0..1 RGB images ``(B, 3, H, W)`` -> the input of the book's models (the weights' transform)."""
    from vgg_lessons.weights import default_transforms

    return default_transforms().from_unit(x)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels, per image: ``(B,)``."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    return dh + dw


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur images ``(B, C, H, W)`` with a Gaussian of ``sigma`` pixels (reflecting edges)."""
    radius = max(1, int(2 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = (kernel / kernel.sum()).repeat(x.shape[1], 1, 1, 1)  # (C, 1, 1, k)
    groups = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel, groups=groups)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"),
                    kernel.transpose(2, 3), groups=groups)


def maximize_activation(model: nn.Module, layer: str, channel: int | Sequence[int], *,
                        steps: int = 96, lr: float = 0.05, jitter: int = 2,
                        l2: float = 0.05, tv: float = 0.5, blur: float = 0.5, size: int = 32,
                        seed: int = 0, preprocess: Preprocess | None = None) -> torch.Tensor:
    """An input image that drives one channel of ``layer`` hard: gradient ascent on the pixels.

    Starts from mid grey plus a little noise and, for ``steps`` Adam steps, raises
    ``mean(feature_map[channel])`` minus two regularisers that keep the image
    natural-looking: ``l2 * mean((x - 0.5)**2)`` (no extreme colours) and
    ``tv * total_variation(x)`` (no pixel noise). Each step first shifts the image
    by a random ``-jitter..jitter`` pixels (wrapping round), so the result cannot
    rely on exact pixel positions, and ends with a Gaussian blur of ``blur`` pixels
    (Yosinski et al., 2015): without it the climb still ends in saturated stripes of
    pixel-sized detail, which the penalties alone do not prevent. Pixels are kept
    in 0..1.

    Several channels are optimised at once as one batch, each image for its own
    channel (the model must be in eval mode, so that batch norm treats images
    independently). The same call with the same ``seed`` gives the same images;
    a channel optimised alone or in another batch starts the same but may end
    slightly differently (Adam magnifies rounding differences over many steps).

    Args:
        model: the trained network, in eval mode.
        layer: e.g. ``"stage3.bn2"``. Before-ReLU layers (conv or bn) work best: a
            ReLU's output has zero gradient wherever the channel is off.
        channel: one channel index or a list of them.
        steps, lr: Adam steps and learning rate (pixels per step, roughly).
        jitter: largest random shift per step, in pixels (0: none).
        l2, tv: weights of the two regularisers.
        blur: standard deviation in pixels of the blur after each step (0: none).
        size: side of the square image in pixels (at least 32 for VGG).
        seed: makes the noise and the shifts reproducible.
        preprocess: maps 0..1 RGB ``(B, 3, H, W)`` to the model's input; default:
            CIFAR-10 normalisation (:func:`default_preprocess`).

    Returns:
        ``(3, size, size)`` in 0..1 for one channel, ``(N, 3, size, size)`` for a list;
        on the CPU.
    """
    if model.training:
        raise ValueError("the model is in training mode: batch norm would mix the images of "
                         "the batch; call model.eval() first")
    single = isinstance(channel, int)
    channels = [channel] if single else list(channel)
    if not channels or not all(isinstance(c, int) and not isinstance(c, bool) for c in channels):
        raise ValueError(f"channel must be a whole number or a non-empty list of them, "
                         f"got {channel!r}")
    if steps < 1 or jitter < 0 or size < 1 or blur < 0:
        raise ValueError(f"need steps >= 1, jitter >= 0, blur >= 0 and size >= 1, got "
                         f"steps={steps}, jitter={jitter}, blur={blur}, size={size}")
    preprocess = preprocess or default_preprocess
    device = _device(model)
    with torch.no_grad():
        n_channels = _forward_until(model, preprocess(torch.full((1, 3, size, size), 0.5,
                                                                 device=device)), layer).shape[1]
    bad = [c for c in channels if not 0 <= c < n_channels]
    if bad:
        raise ValueError(f"layer {layer!r} has {n_channels} channels (0..{n_channels - 1}); "
                         f"channel {bad[0]} does not exist")

    # Each channel's start depends only on (seed, channel).
    starts = [0.5 + 0.01 * torch.randn(3, size, size,
                                       generator=torch.Generator().manual_seed(seed * 100_003 + c))
              for c in channels]
    x = torch.stack(starts).to(device).requires_grad_(True)  # (N, 3, size, size)
    shifts = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([x], lr=lr)
    index = torch.tensor(channels, device=device)
    rows = torch.arange(len(channels), device=device)
    for _ in range(steps):
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=shifts).tolist()
                  if jitter else (0, 0))
        moved = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        act = _forward_until(model, preprocess(moved), layer)  # (N, C, h, w)
        response = act[rows, index].reshape(len(channels), -1).mean(dim=1)  # (N,)
        penalty = l2 * ((x - 0.5) ** 2).mean(dim=(1, 2, 3)) + tv * _total_variation(x)
        loss = (penalty - response).sum()  # sum: each image has its own gradient
        (grad,) = torch.autograd.grad(loss, x)  # no gradients into the model's weights
        x.grad = grad
        opt.step()
        with torch.no_grad():
            if blur > 0:
                x.copy_(_gaussian_blur(x, blur))
            x.clamp_(0.0, 1.0)
    out = x.detach().cpu()
    return out[0] if single else out


# ---- top activating images -----------------------------------------------------------
def channel_scores(model: nn.Module, images: torch.Tensor, layer: str, *,
                   batch_size: int = 500) -> torch.Tensor:
    """Every channel's response (spatial mean of its map) to every image: ``(N, C)``, CPU.

    Args:
        images: ``(N, 3, H, W)``: uint8 as loaded (converted by the shipped weights'
            ``transforms()``) or float model input; run in batches of ``batch_size``.

    Raises:
        ValueError: not a batch of images, or an empty one.
    """
    as_model_input(images[:1] if isinstance(images, torch.Tensor) else images)  # checks the shape
    if len(images) == 0:
        raise ValueError("no images given (an empty batch); pass at least one image")
    device = _device(model)
    parts = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = as_model_input(images[start:start + batch_size]).to(device)
            act = _forward_until(model, batch, layer)
            parts.append(act.flatten(2).mean(dim=2).cpu() if act.dim() > 2 else act.cpu())
    return torch.cat(parts)


def top_activating_images(model: nn.Module, images: torch.Tensor, layer: str, channel: int,
                          k: int = 9, *, scores: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` images that make ``channel`` of ``layer`` respond most.

    Args:
        images: ``(N, 3, H, W)``, uint8 as loaded or float model input (see
            :func:`channel_scores`), e.g. the first 1,000 test images.
        channel: channel index in ``layer``.
        k: how many (at most N).
        scores: the ``(N, C)`` result of :func:`channel_scores` for these images and
            this layer, to skip the forward passes (widgets cache it).

    Returns:
        ``indices`` (int64 ``(k,)``, into ``images``) and their responses (``(k,)``),
        strongest first.
    """
    if scores is None:
        scores = channel_scores(model, images, layer)
    if not 0 <= channel < scores.shape[1]:
        raise ValueError(f"layer {layer!r} has {scores.shape[1]} channels "
                         f"(0..{scores.shape[1] - 1}); channel {channel} does not exist")
    if not 1 <= k <= scores.shape[0]:
        raise ValueError(f"k must be between 1 and the number of images ({scores.shape[0]}), got {k}")
    values, indices = torch.topk(scores[:, channel], k)
    return indices, values
