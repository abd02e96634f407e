"""Which pixels a prediction depends on: saliency maps and Grad-CAM (chapter 7).

- :func:`saliency` (Simonyan, Vedaldi & Zisserman 2014): the largest, over the colour
  channels, of ``|d logit_target / d input|``.
- :func:`grad_cam` (Selvaraju et al. 2017): a layer's channels weighted by the spatial
  mean of the target logit's gradient, summed, ReLU, upsampled to the input; with
  ``jitter``, averaged over moved and mirrored copies of the image.
- :func:`rank_correlation`: how alike two maps are (Spearman), for the sanity check of
  Adebayo et al. 2018 (a map must change when the weights do).

Both take images as :func:`vgg_lessons.train.data.load_cifar10` returns them (uint8, through
the shipped weights' ``transforms()``) or float model input, and return ``(B, H, W)``.
:mod:`vgg_lessons.probes.hooks` re-exports them (``probes.saliency``, ``probes.grad_cam``).
Neither changes the model's train/eval mode (call ``model.eval()`` first), and neither
changes its batch-norm running statistics, even in training mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from vgg_lessons._layers import model_device as _device
from vgg_lessons._layers import model_dtype, resolve_layer
from vgg_lessons.inputs import as_model_input


def _input_and_target(
    model: nn.Module, images: torch.Tensor, target: int | torch.Tensor | None
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """Model input (uint8 images through the shipped transforms, floats as they are) and the
    function that picks the target logits."""
    check_target(target)
    x = as_model_input(images).to(_device(model), model_dtype(model))
    x = x.detach().requires_grad_(True)

    def pick(
        logits: torch.Tensor,
    ) -> torch.Tensor:  # (B, K) -> the target logits, summed
        return logits.gather(1, _target_classes(logits, target)[:, None]).sum()

    return x, pick


def _target_classes(
    logits: torch.Tensor, target: int | torch.Tensor | None
) -> torch.Tensor:
    """The class of each image, int64 ``(B,)``, for logits ``(B, K)``: ``target``, one
    index for all or one per image, or the predicted class where it is None."""
    t = (
        logits.argmax(1)
        if target is None
        else torch.as_tensor(target, device=logits.device)
    )
    t = t.expand(len(logits)) if t.dim() == 0 else t
    if t.shape != (len(logits),) or t.min() < 0 or t.max() >= logits.shape[1]:
        raise ValueError(
            f"target must be a class index in 0..{logits.shape[1] - 1} or one per "
            f"image ({len(logits)}), got {target!r}"
        )
    return t.long()


def check_target(target: object) -> None:
    """Refuse a target that is no whole class index (ValueError, one line).

    A target is None, an int, or an integer tensor (one per image); ``1.5``, NaN or
    ``'cat'`` would otherwise be cut to a class silently or fail deep in torch.
    """
    whole = isinstance(target, (int, np.integer)) and not isinstance(target, bool)
    tensor = isinstance(target, torch.Tensor) and not (
        target.is_floating_point() or target.is_complex() or target.dtype == torch.bool
    )
    if target is not None and not (whole or tensor):
        raise ValueError(
            f"target must be a class index (a whole number such as 3), an integer "
            f"tensor with one per image, or None, got {type(target).__name__} "
            f"{target!r}; for a class name use CLASSES.index(name)"
        )


@contextlib.contextmanager
def _statistics_kept(model: nn.Module) -> Iterator[None]:
    """Run the block and put the model's buffers back (batch-norm running statistics a
    forward pass in training mode updates): a map is read, nothing is learnt."""
    saved = [(b, b.detach().clone()) for b in model.buffers()] if model.training else []
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def _check_maps(store: list, layer: str) -> None:
    """Refuse a Grad-CAM layer that did not run or has no ``(B, C, h, w)`` maps."""
    if not store or not isinstance(store[0], torch.Tensor) or store[0].dim() != 4:
        got = (
            "did not run in the forward pass"
            if not store
            else f"has output of shape {tuple(getattr(store[0], 'shape', ()))}"
        )
        raise ValueError(
            f"Grad-CAM needs a layer with maps (B, C, h, w): layer {layer!r} {got}; "
            "name a convolutional layer such as 'stage5.relu2'"
        )


def saliency(
    model: nn.Module, images: torch.Tensor, target: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Image-specific class saliency (Simonyan, Vedaldi & Zisserman 2014), ``(B, H, W)``.

    The largest, over the colour channels, of ``|d logit_target / d input|``: how much
    a small change of each pixel moves the target's score (before softmax).

    Args:
        images: uint8 ``(B, 3, H, W)`` as :func:`vgg_lessons.train.data.load_cifar10` returns
            them (converted by the shipped weights' ``transforms()``; the gradient is taken
            with respect to that normalised input), or float images that are model input.
        target: a class index, one per image ``(B,)``, or None: each image's predicted class.

    The model's train/eval mode is left as it is: call ``model.eval()`` first.
    """
    x, pick = _input_and_target(model, images, target)
    with _statistics_kept(model):
        (grad,) = torch.autograd.grad(pick(model(x)), x)
    return grad.abs().amax(dim=1).detach()


def grad_cam(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    target: int | torch.Tensor | None = None,
    *,
    jitter: int = 0,
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) at ``layer``, upsampled to the input, ``(B, H, W)``.

    With ``A`` the layer's output ``(B, C, h, w)`` and ``y`` the target's logit (before
    softmax), each channel's weight is the spatial mean of ``dy/dA``; the map is
    ``ReLU(sum_c weight_c * A_c)``, bilinearly upsampled (``align_corners=False``) to
    the input's ``H x W``. Not rescaled: compare maps of one model, or normalise to show.

    Args:
        layer: a readable name (``"stage5.relu2"``) or module path (``"features.25"``).
        images, target: as for :func:`saliency`.
        jitter: pixels; when above 0, the mean of the maps of :data:`JITTER_COPIES`
            copies of each image, the image and its mirror image each moved by ``dx, dy``
            in ``(-jitter, 0, jitter)`` (border pixels repeated), every map moved back
            into place. It smooths away what hangs on exact pixel positions (a map
            only 8 cells wide at 32 pixels, the padding's edges). A class of None is
            each image's predicted class, for every copy.

    Raises:
        ValueError: a bad layer, target or jitter (one line).
    """
    return grad_cams(model, images, (layer,), target, jitter=jitter)[0]


def grad_cams(
    model: nn.Module,
    images: torch.Tensor,
    layers: Sequence[str],
    target: int | torch.Tensor | None = None,
    *,
    jitter: int = 0,
) -> torch.Tensor:
    """:func:`grad_cam` at each of ``layers``, ``(L, B, H, W)``, from one forward and one
    backward pass (per copy, with ``jitter``): ``[j]`` is ``grad_cam(..., layers[j], ...)``.

    Raises:
        ValueError: a bad layer, target or jitter (one line).
    """
    if jitter:
        return _jittered_grad_cams(model, images, tuple(layers), target, jitter)
    x, pick = _input_and_target(model, images, target)
    stores: list[list[torch.Tensor]] = [[] for _ in layers]

    def keeper(store: list) -> Callable:
        def keep(mod: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            store.append(output)
            return output.clone()  # later in-place ops (ReLU) change the clone

        return keep

    handles = [
        resolve_layer(model, layer).register_forward_hook(keeper(store))
        for layer, store in zip(layers, stores)
    ]
    with _statistics_kept(model):
        try:
            score = pick(model(x))
        finally:
            for handle in handles:
                handle.remove()
        for layer, store in zip(layers, stores):
            _check_maps(store, layer)
        grads = torch.autograd.grad(score, [store[0] for store in stores])
    cams = []
    for grad, store in zip(grads, stores):
        weights = grad.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        cam = torch.relu((weights * store[0]).sum(dim=1, keepdim=True))  # (B, 1, h, w)
        cams.append(
            nn.functional.interpolate(
                cam, size=x.shape[-2:], mode="bilinear", align_corners=False
            )[:, 0]
        )
    return torch.stack(cams).detach()


#: How many copies of an image a jittered Grad-CAM averages: 2 mirrors x 3 x 3 shifts.
JITTER_COPIES = 18


def _moved(t: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """``(B, C, H, W)`` with its content moved ``dx`` pixels right and ``dy`` down, the
    border pixels repeated into the uncovered strip."""
    pad = max(abs(dx), abs(dy))
    if pad == 0:
        return t
    padded = nn.functional.pad(t, (pad, pad, pad, pad), mode="replicate")
    h, w = t.shape[-2:]
    return padded[..., pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def _jittered_grad_cams(
    model: nn.Module,
    images: torch.Tensor,
    layers: tuple[str, ...],
    target: int | torch.Tensor | None,
    jitter: int,
) -> torch.Tensor:
    """:func:`grad_cams` averaged over :data:`JITTER_COPIES` moved and mirrored copies."""
    check_target(target)
    x = as_model_input(images).to(_device(model), model_dtype(model))
    side = min(x.shape[-2:])
    if not isinstance(jitter, (int, np.integer)) or isinstance(jitter, bool):
        raise ValueError(f"jitter must be a whole number of pixels, got {jitter!r}")
    if not 0 <= jitter <= side // 4:
        raise ValueError(
            f"jitter must be 0 to {side // 4} pixels (a quarter of the {side}-pixel "
            f"image's side), got {jitter}"
        )
    with torch.no_grad(), _statistics_kept(model):
        classes = _target_classes(model(x), target)
    total = torch.zeros(
        len(layers), len(x), *x.shape[-2:], device=x.device, dtype=x.dtype
    )
    for mirror in (False, True):  # one copy at a time: the memory of one plain map
        for dy in (-jitter, 0, jitter):
            for dx in (-jitter, 0, jitter):
                copy = _moved(x.flip(-1) if mirror else x, dx, dy)
                cams = _moved(grad_cams(model, copy, layers, classes), -dx, -dy)
                total += cams.flip(-1) if mirror else cams
    return total / JITTER_COPIES


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks ``0..n-1`` of each row of ``(B, n)``, tied values sharing their mean rank."""
    ordered = values.sort(dim=1).values
    below = torch.searchsorted(ordered, values)  # values smaller than each one
    up_to = torch.searchsorted(ordered, values, right=True)  # values no larger
    return (below + up_to - 1).double() / 2


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation of each pair of maps, ``(B, H, W)`` twice -> ``(B,)``.

    1: the pixels are in the same order in both maps; 0: unrelated; -1: reversed. Ties
    (Grad-CAM's zeros) share their mean rank, as in ``scipy.stats.spearmanr``, so the
    result does not depend on how a sort breaks them. A map whose pixels are all equal
    has no order: its correlation is NaN.
    """
    if a.shape != b.shape or a.dim() < 2:
        raise ValueError(
            f"rank_correlation needs two stacks of maps of one shape (B, H, W), got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    ra, rb = (_average_ranks(m.detach().flatten(1).cpu()) for m in (a, b))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))
