"""The registry of shipped models, in the spirit of torchvision's weights enums.

One :class:`Weights` entry per model in ``vgg_lessons/assets/`` carries what a
caller needs besides the numbers in the ``.pt`` file:

- :attr:`Weights.meta`: test accuracy, the training recipe, the class names and
  the ``build_vgg`` arguments, read from the model's JSON record;
- :meth:`Weights.transforms`: the one place that turns images as
  :func:`vgg_lessons.train.data.load_cifar10` returns them (uint8 ``(B, 3, H, W)``, 0..255)
  into the model's input (float32, normalised per channel).

- :meth:`Weights.get_model`: the model itself, loaded with
  :func:`vgg_lessons.train.checkpoints.load_checkpoint` (:func:`load_pretrained` for short).

Example:
    >>> w = get_weights("vgg11_bn_cifar10")
    >>> w.meta["test_acc"], w.meta["categories"][:2]
    >>> model = w.get_model()               # float32, CPU, eval mode
    >>> x = w.transforms()(images)          # uint8 (B, 3, 32, 32) -> float32 model input
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from vgg_lessons.inputs import (
    CLASSES,
    IMAGE_SIZE,
    MEAN,
    STD,
    check_images,
    from_unit,
    normalize,
)
from vgg_lessons.models import VGG, build_vgg
from vgg_lessons.train.checkpoints import load_checkpoint

#: Where the shipped models live: ``<name>.pt`` (weights), ``.json`` (record), ``.md`` (card).
ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class ImageTransform:
    """uint8 images ``(B, 3, H, W)`` in 0..255 -> float32 model input ``(x / 255 - mean) / std``.

    ``mean`` and ``std`` (per channel, 0..1 scale) are the values it uses. A single
    image ``(3, H, W)`` is not accepted: add the batch dimension with
    ``x.unsqueeze(0)``. The result stays on the images' device.
    """

    mean: tuple[float, float, float] = MEAN
    std: tuple[float, float, float] = STD

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images)
        return normalize(images, self.mean, self.std)

    def from_unit(self, images: torch.Tensor) -> torch.Tensor:
        """Float images in 0..1 ``(B, 3, H, W)`` -> model input, differentiably.

        For images being optimised (activation maximisation); equals ``self(u8)`` for
        ``images = u8 / 255``.
        """
        return from_unit(images, self.mean, self.std)

    def __repr__(self) -> str:
        return (
            "ImageTransform(uint8 (B, 3, H, W) -> (x / 255 - mean) / std, "
            f"mean={self.mean}, std={self.std})"
        )


@dataclass(frozen=True)
class Weights:
    """A shipped model: where its files are, what it reached, how to feed it.

    Attributes:
        name: the files' stem in ``vgg_lessons/assets`` (``vgg11_bn_cifar10``).
        input_size: the image side in pixels it was trained on.
    """

    name: str
    input_size: int = IMAGE_SIZE
    record: str | None = None
    categories: tuple[str, ...] = CLASSES
    _transform: ImageTransform = field(
        default_factory=ImageTransform, repr=False, compare=False
    )

    @property
    def path(self) -> Path:
        """The weights: ``assets/<name>.pt`` (fp16 state dict and JSON config)."""
        return ASSETS / f"{self.name}.pt"

    @property
    def record_path(self) -> Path:
        """The training record: ``assets/<record or name>.json`` (config, metrics, accuracy)."""
        return ASSETS / f"{self.record or self.name}.json"

    @property
    def card_path(self) -> Path:
        """The model card: ``assets/<name>.md``."""
        return ASSETS / f"{self.name}.md"

    @cached_property
    def meta(self) -> dict[str, Any]:
        """What the model is and reached, from its JSON record.

        Keys: ``categories`` (class names, label order), ``model`` (the ``build_vgg``
        arguments), ``recipe`` (the training settings), ``command``, ``epochs``,
        ``test_acc`` and ``test_acc_flip_tta`` (fractions of the 10,000 test
        images), ``test_acc_per_class`` (class name -> fraction), ``num_params``
        and ``input_size`` (pixels).
        """
        try:
            record = json.loads(self.record_path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"the record of {self.name!r} is missing ({self.record_path.name} "
                "in vgg_lessons/assets); reinstall the package"
            ) from None
        if "config" not in record:  # an experiment's record (transfer): its settings
            return self._experiment_meta(record)
        config = dict(record["config"])
        model = config.pop("model")
        return dict(
            categories=self.categories,
            model=model,
            recipe=config,
            command=record["command"],
            epochs=record["epochs"],
            test_acc=record["test_acc"],
            test_acc_flip_tta=record.get("test_acc_flip_tta"),
            test_acc_per_class=record["test_acc_per_class"],
            num_params=_count_parameters(model),
            input_size=self.input_size,
        )

    def _experiment_meta(self, record: dict[str, Any]) -> dict[str, Any]:
        """``meta`` of a model trained inside an experiment (no test set of its own)."""
        settings = dict(record["settings"])
        model = dict(settings.pop("model"), num_classes=len(self.categories))
        return dict(
            categories=self.categories,
            model=model,
            recipe=settings,
            command=record["command"],
            epochs=settings.get("source_epochs"),
            test_acc=None,
            test_acc_flip_tta=None,
            test_acc_per_class=None,
            num_params=_count_parameters(model),
            input_size=self.input_size,
        )

    def transforms(self) -> ImageTransform:
        """The function from uint8 images ``(B, 3, H, W)`` to this model's input."""
        return self._transform

    def get_model(self) -> VGG:
        """The shipped model, float32, on the CPU, in eval mode (torchvision's
        ``weights.get_model()``); read from :attr:`path` by ``load_checkpoint``."""
        return load_checkpoint(self.path)[0]


def _count_parameters(model_config: dict[str, Any]) -> int:
    """Parameters of the model ``build_vgg(**model_config)`` builds (on the meta device)."""
    with torch.device("meta"):
        return sum(p.numel() for p in build_vgg(**model_config).parameters())


#: Every shipped model, by name. ``DEFAULT`` is the small one the book trains and runs
#: where speed matters; ``INSPECTED`` the stronger one it looks inside.
WEIGHTS: dict[str, Weights] = {
    "vgg11_bn_cifar10": Weights("vgg11_bn_cifar10"),
    # the stronger model (VGG-16-BN at width 0.5, 88% single view, 35 epochs in bf16 on
    # 2 CPU cores): chapters 6 and 8 and the in-page explorers look inside it
    "vgg16_bn_w05_cifar10": Weights("vgg16_bn_w05_cifar10"),
    # chapter 7's source network: five classes, its record is the experiment's
    "transfer_source_cifar5": Weights(
        "transfer_source_cifar5", record="transfer_cifar5", categories=CLASSES[:5]
    ),
}
#: The small model (VGG-11-BN at width 0.25): live cells, exercises, the model run in
#: the page (chapter 6's live-model explorer).
DEFAULT = "vgg11_bn_cifar10"
#: The model whose layers chapters 6 and 8 and the in-page maps, filters and attribution
#: explorers show: accurate enough (88%) that its maps are worth reading.
INSPECTED = "vgg16_bn_w05_cifar10"


def get_weights(name: str | Weights = DEFAULT) -> Weights:
    """The registry entry called ``name`` (an entry is returned as it is).

    Raises:
        ValueError: no shipped model has that name (the message lists them).
    """
    if isinstance(name, Weights):
        return name
    if not isinstance(name, str) or name not in WEIGHTS:
        raise ValueError(f"no shipped model {name!r}; available: {', '.join(WEIGHTS)}")
    return WEIGHTS[name]


def load_pretrained(name: str | Weights = DEFAULT) -> VGG:
    """A shipped model (an entry of :data:`WEIGHTS`), float32, CPU, eval mode.

    Its files are ``vgg_lessons/assets/<name>.pt`` (weights), ``.json`` (record: its
    ``meta``) and ``.md`` (model card); ``get_weights(name).transforms()`` turns uint8
    images into its input. Short for ``get_weights(name).get_model()``.

    Raises:
        ValueError: no shipped model has that name (the message lists them).
    """
    return get_weights(name).get_model()
