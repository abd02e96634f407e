"""The VGG builder: one function, every configuration of the paper.

Simonyan & Zisserman (2014), "Very Deep Convolutional Networks for Large-Scale
Image Recognition", Table 1, lists six networks (A, A-LRN, B, C, D, E). All of
them are five *stages* of convolutions, each stage ending in a 2x2 max-pool, with
64, 128, 256, 512 and 512 channels. They differ only in how many convolutions
each stage holds (and, for C, in three 1x1 convolutions). So one builder,
``build_vgg``, serves all of them, and also any list of five per-stage counts.

The module layout copies torchvision's ``VGG`` (``features``, ``avgpool``,
``classifier``, flat numbered ``features``) so that with the ImageNet head the
state dict has torchvision's keys and official weights load into our model.
On top of that every layer has a stable, readable name such as
``stage3.conv2`` (the paper's ``conv3_2``), see ``VGG.layer_names``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from vgg_lessons._layers import readable_name, resolve_layer
from vgg_lessons.inputs import check_images
from vgg_lessons.vgg_configs import (
    FROM_ARCH,
    LETTER_DEFAULTS,
    TORCHVISION_DEFAULTS,
    scaled_channels,
    stage_kernels,
)

BN_PLACEMENTS: tuple[str | None, ...] = ("before_relu", "after_relu", None)
HEADS: tuple[str, ...] = ("imagenet", "cifar")

#: Five 2x2 max-pools halve the image five times: 32 pixels is the least that
#: leaves a 1x1 map at the end.
MIN_INPUT_SIZE = 32

_LRN_ARGS: dict[str, Any] = dict(
    size=5, alpha=1e-4, beta=0.75, k=2.0
)  # Krizhevsky et al. (2012)


class VGG(nn.Module):
    """A VGG network: ``features`` (five stages), ``avgpool``, ``classifier``.

    Build it with :func:`build_vgg`. Input ``(B, in_channels, H, W)`` with
    ``H, W >= 32``; output logits ``(B, num_classes)``.

    ``forward`` returns *logits*, never probabilities: ``nn.CrossEntropyLoss``
    applies log-softmax itself, and a softmax inside the model squashes the
    gradients (see the pitfalls chapter). Apply ``softmax`` only to show
    probabilities to a person.

    Attributes:
        config: the arguments that rebuild this model (JSON-friendly).
        layer_names: readable name -> module path, e.g.
            ``"stage3.conv2" -> "features.12"``, ``"head.fc1" -> "classifier.0"``.
        feature_info: per stage, timm's convention: the layer just before the
            stage's pool, as a dict with ``num_chs``, ``reduction`` (input pixels per
            pixel of that layer: 1, 2, 4, 8, 16) and ``module`` (its module path),
            plus ``name``, its readable name (e.g. ``stage1.relu2``).
    """

    def __init__(
        self,
        features: nn.Sequential,
        avgpool: nn.Module,
        classifier: nn.Sequential,
        layer_names: dict[str, str],
        stage_ends: list[int],
        config: dict[str, Any],
    ):
        super().__init__()
        self.features = features
        self.avgpool = avgpool
        self.classifier = classifier
        self.layer_names = layer_names
        self.config = config
        self._stage_ends = stage_ends
        self._fold_conv_bias = {  # conv index -> BN index, where a bias-free conv feeds BN
            int(conv.split(".")[1]): int(
                self.layer_names[name.replace("conv", "bn")].split(".")[1]
            )
            for name, conv in layer_names.items()
            if ".conv" in name
            and config["bn"] == "before_relu"
            and not config["conv_bias"]
        }
        self.register_load_state_dict_pre_hook(self._fold_conv_biases_hook)

    # ---- naming -----------------------------------------------------------------
    @property
    def feature_info(self) -> list[dict[str, Any]]:
        """Per stage, the layer before its pool (timm's ``feature_info``); see the class doc."""
        channels = scaled_channels(self.config["width"])
        return [
            dict(
                num_chs=channels[i],
                reduction=2**i,
                module=f"features.{end - 1}",
                name=self.readable_name(f"features.{end - 1}"),
            )
            for i, end in enumerate(self._stage_ends)
        ]

    def layer(self, name: str) -> nn.Module:
        """Return the module called ``name`` (readable name or module path)."""
        return resolve_layer(self, name)

    def readable_name(self, path: str) -> str:
        """Inverse of ``layer_names``: ``"features.12" -> "stage3.conv2"``."""
        return readable_name(self, path)

    @property
    def stages(self) -> list[nn.Sequential]:
        """The five stages as separate ``nn.Sequential`` views sharing this model's layers."""
        out, start = [], 0
        for end in self._stage_ends:
            out.append(nn.Sequential(*self.features[start : end + 1]))
            start = end + 1
        return out

    # ---- forward ----------------------------------------------------------------
    def check_input(self, x: torch.Tensor) -> None:
        """Raise ValueError if ``x`` is not a float ``(B, C, H, W)`` batch this model accepts.

        The batch itself is checked by :func:`vgg_lessons.inputs.check_images` (float
        model input, ``config["in_channels"]`` channels); the size is checked here.
        """
        check_images(x, dtype="float", channels=self.config["in_channels"])
        h, w = x.shape[-2:]
        if min(h, w) < MIN_INPUT_SIZE:
            raise ValueError(
                f"input of {h}x{w} pixels is too small: five 2x2 max-pools need at "
                f"least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} (CIFAR-10 size); resize or "
                "pad the images"
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, C5, H/32, W/32)``: the five stages."""
        self.check_input(x)
        return self.features(x)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last linear layer by a new one with ``num_classes`` outputs (timm style).

        The features and the rest of the head keep their weights; the new layer is
        initialised as :func:`build_vgg` initialises linear layers (N(0, 0.01), zero
        bias), on the old layer's device and dtype. ``config["num_classes"]`` follows.

        Raises:
            ValueError: ``num_classes`` is not a positive whole number.
        """
        if (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, int)
            or num_classes < 1
        ):
            raise ValueError(
                f"num_classes must be a positive whole number, got {num_classes!r}"
            )
        index = max(
            i for i, m in enumerate(self.classifier) if isinstance(m, nn.Linear)
        )
        old = self.classifier[index]
        assert isinstance(old, nn.Linear)  # the index of the last linear layer
        new = nn.Linear(old.in_features, num_classes).to(old.weight)
        _init_weights(new)
        self.classifier[index] = new
        self.config = {**self.config, "num_classes": num_classes}

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C5, h, w) -> (B, num_classes)`` logits."""
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, num_classes)`` logits (not probabilities)."""
        return self.forward_head(self.forward_features(x))

    # ---- torchvision compatibility ------------------------------------------------
    def _fold_conv_biases_hook(
        self, module, state_dict, prefix, *args, **kwargs
    ) -> None:
        """Load a conv bias that our model drops (conv followed by BN) into BN's running mean.

        In ``BN(conv(x) + b)`` the bias ``b`` only shifts the batch mean, which BN
        subtracts again: in training mode it has no effect at all, and in eval mode
        it is the same as using ``running_mean - b``. So torchvision's ``vgg*_bn``
        weights, which keep such biases, load exactly into a bias-free model.
        """
        for conv_i, bn_i in self._fold_conv_bias.items():
            key = f"{prefix}features.{conv_i}.bias"
            mean_key = f"{prefix}features.{bn_i}.running_mean"
            if key in state_dict and mean_key in state_dict:
                bias = state_dict.pop(key)
                state_dict[mean_key] = state_dict[mean_key] - bias


def _stage_layers(
    stage: int,
    kernels: Sequence[int],
    c_in: int,
    c_out: int,
    bn: str | None,
    conv_bias: bool,
    lrn: bool,
) -> list[tuple[str, nn.Module]]:
    """The named layers of one stage: convs with BN/ReLU as asked, then a 2x2 max-pool."""
    layers: list[tuple[str, nn.Module]] = []
    for j, k in enumerate(kernels, start=1):
        bias = conv_bias or bn != "before_relu"
        conv = nn.Conv2d(c_in, c_out, kernel_size=k, padding=k // 2, bias=bias)
        layers.append((f"stage{stage}.conv{j}", conv))
        if bn == "before_relu":
            layers.append((f"stage{stage}.bn{j}", nn.BatchNorm2d(c_out)))
        layers.append((f"stage{stage}.relu{j}", nn.ReLU(inplace=True)))
        if bn == "after_relu":
            layers.append((f"stage{stage}.bn{j}", nn.BatchNorm2d(c_out)))
        if lrn and stage == 1 and j == 1:
            layers.append((f"stage{stage}.lrn", nn.LocalResponseNorm(**_LRN_ARGS)))
        c_in = c_out
    layers.append((f"stage{stage}.pool", nn.MaxPool2d(kernel_size=2, stride=2)))
    return layers


def _head_layers(
    head: str, c5: int, num_classes: int, dropout: float
) -> tuple[nn.Module, list[tuple[str, nn.Module]]]:
    """The pooling and named classifier layers of a head."""
    if head == "imagenet":
        # Exactly torchvision's: 7x7 pool, FC-4096, FC-4096, FC-classes.
        return nn.AdaptiveAvgPool2d((7, 7)), [
            ("head.fc1", nn.Linear(c5 * 7 * 7, 4096)),
            ("head.relu1", nn.ReLU(inplace=True)),
            ("head.drop1", nn.Dropout(p=dropout)),
            ("head.fc2", nn.Linear(4096, 4096)),
            ("head.relu2", nn.ReLU(inplace=True)),
            ("head.drop2", nn.Dropout(p=dropout)),
            ("head.fc3", nn.Linear(4096, num_classes)),
        ]
    # CIFAR: the 32x32 input is 1x1 after five pools; one linear layer suffices.
    return nn.AdaptiveAvgPool2d((1, 1)), [("head.fc", nn.Linear(c5, num_classes))]


def _init_weights(model: nn.Module) -> None:
    """torchvision's VGG initialisation (He-normal convs, N(0, 0.01) linears)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def _checked_build_args(
    bn: str | None, head: str, num_classes: int | None, in_channels: int, dropout: float
) -> int:
    """Validate :func:`build_vgg`'s arguments (one-line ValueErrors); return ``num_classes``."""
    if bn not in BN_PLACEMENTS:
        raise ValueError(
            f"unknown bn placement {bn!r}; use 'before_relu' (conv-BN-ReLU), "
            "'after_relu' (conv-ReLU-BN) or None (no batch norm)"
        )
    if head not in HEADS:
        raise ValueError(
            f"unknown head {head!r}; use 'imagenet' (224x224, torchvision's "
            "classifier) or 'cifar' (32x32, one linear layer)"
        )
    if num_classes is None:
        num_classes = 1000 if head == "imagenet" else 10
    for label, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive whole number, got {value!r}")
    if (
        isinstance(dropout, bool)
        or not isinstance(dropout, (int, float))
        or not 0.0 <= dropout < 1.0
    ):
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
    return num_classes


def build_vgg(
    arch: str | Sequence[int] = "A",
    *,
    bn: str | None = FROM_ARCH,
    head: str = "imagenet",
    num_classes: int | None = None,
    width: float = 1.0,
    in_channels: int = 3,
    dropout: float = 0.5,
    conv_bias: bool = FROM_ARCH,
) -> VGG:
    """Build a VGG network from a configuration of the paper or five per-stage counts.

    Two ways to name a network:

    - the paper's letters (the book's teaching interface): "A", "A-LRN", "B", "C",
      "D", "E", or five per-stage convolution counts such as ``[2, 2, 2, 2, 2]``
      (which is B, VGG-13, not ``[1, 1, 2, 2, 2]``: that is A, VGG-11). These
      default to batch norm before each ReLU and no conv bias before it.
    - torchvision's names, which mean what torchvision means: "vgg11", "vgg13",
      "vgg16", "vgg19" have no batch norm (``build_vgg("vgg16")`` has 138,357,544
      parameters), "vgg11_bn" ... "vgg19_bn" have it before each ReLU with conv
      biases (138,365,992 for "vgg16_bn"). Both load torchvision's state dict strictly.

    ``bn`` and ``conv_bias``, when given, change what the name implies.

    Args:
        arch: a letter, a torchvision name or five per-stage counts (see above).
        bn: "before_relu" (conv -> BN -> ReLU, torchvision's ``vgg*_bn``),
            "after_relu" (conv -> ReLU -> BN), or None (the paper: no BN);
            default: what ``arch`` implies.
        head: "imagenet" (pool to 7x7, FC 4096 -> 4096 -> classes with ReLU and
            dropout, torchvision's keys) or "cifar" (global average pool, one linear
            layer: for 32x32 inputs).
        num_classes: output logits; default 1000 for "imagenet", 10 for "cifar".
        width: multiplies every stage's channel count (0.25: 16, 32, 64, 128, 128).
        in_channels: channels of the input images (3 for RGB).
        dropout: dropout probability in the ImageNet head.
        conv_bias: keep a bias on convolutions that BN follows directly. Such a
            bias is redundant (BN subtracts the mean), so the letters leave it out;
            True (the default of the ``vgg*_bn`` names) is torchvision's ``vgg*_bn``.

    Returns:
        A :class:`VGG` in training mode, initialised as torchvision does.

    Raises:
        ValueError: for an unknown configuration, a wrong number of stages, a
            non-positive count, width or class count, or an unknown ``bn`` or ``head``.
    """
    kernels = stage_kernels(arch)
    implied = (
        TORCHVISION_DEFAULTS.get(arch.lower(), LETTER_DEFAULTS)
        if isinstance(arch, str)
        else LETTER_DEFAULTS
    )
    bn = implied["bn"] if bn is FROM_ARCH else bn
    conv_bias = implied["conv_bias"] if conv_bias is FROM_ARCH else conv_bias
    num_classes = _checked_build_args(bn, head, num_classes, in_channels, dropout)
    channels = scaled_channels(width)
    lrn = isinstance(arch, str) and arch.upper() == "A-LRN"

    named: list[tuple[str, nn.Module]] = []
    stage_ends: list[int] = []
    c_in = in_channels
    for s, (ks, c_out) in enumerate(zip(kernels, channels), start=1):
        named += _stage_layers(s, ks, c_in, c_out, bn, conv_bias, lrn)
        stage_ends.append(len(named) - 1)
        c_in = c_out
    avgpool, head_named = _head_layers(head, channels[-1], num_classes, dropout)

    features = nn.Sequential(*(m for _, m in named))
    classifier = nn.Sequential(*(m for _, m in head_named))
    layer_names = OrderedDict((n, f"features.{i}") for i, (n, _) in enumerate(named))
    layer_names["head.avgpool"] = "avgpool"
    layer_names.update((n, f"classifier.{i}") for i, (n, _) in enumerate(head_named))
    config = dict(
        arch=arch if isinstance(arch, str) else list(arch),
        bn=bn,
        head=head,
        num_classes=num_classes,
        width=width,
        in_channels=in_channels,
        dropout=dropout,
        conv_bias=conv_bias,
    )
    model = VGG(features, avgpool, classifier, dict(layer_names), stage_ends, config)
    _init_weights(model)
    return model


# ==== Chapter 7: dense evaluation (the paper's Sec. 3.2) =====================================
class _FullyConvolutional(nn.Sequential):
    """``Sequential(features, head)`` that names input too small for its 7x7 fc1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(x, torch.Tensor) and x.dim() == 4 and min(x.shape[-2:]) < 224:
            raise ValueError(
                f"images of {x.shape[-2]}x{x.shape[-1]} pixels are too small for the "
                "fully convolutional VGG: its fc1 reads a 7x7 map, which needs "
                "224x224 pixels or more; upsample them first"
            )
        return super().forward(x)


def fully_convolutional(model: VGG) -> nn.Sequential:
    """A copy of an ImageNet-head VGG with its fully connected layers turned into convolutions.

    fc1 (``C5 * 7 * 7 -> 4096``) becomes a 7x7 convolution, fc2 and fc3 1x1 convolutions
    holding the same weights; the adaptive 7x7 pool is dropped. The copy,
    ``Sequential(features, head)``, maps ``(B, 3, H, W)`` with ``H, W >= 224`` to a map
    of class scores ``(B, classes, H/32 - 6, W/32 - 6)``: at 224 pixels ``(B, classes,
    1, 1)``, equal to the original logits; VGG-16 at 320 pixels ``(B, 1000, 4, 4)``. Its
    spatial mean is the paper's dense score (:func:`vgg_lessons.probes.dense.dense_scores`).
    The copy has ``model``'s train/eval mode; ``model`` is unchanged.

    Raises:
        ValueError: ``model`` is not a VGG with the ImageNet head (a CIFAR head has no
            7x7 fully connected layer; the message says what to use instead).
    """
    import copy

    if not isinstance(model, VGG):
        raise ValueError(
            f"fully_convolutional takes a VGG from build_vgg, got {type(model).__name__}"
        )
    if model.config["head"] != "imagenet":
        raise ValueError(
            f"this VGG has the {model.config['head']!r} head (global average pool, one "
            "linear layer), not the ImageNet head with a 7x7 fc1 to convert; its "
            "class-score map is that linear layer at every position: use "
            "vgg_lessons.probes.dense.score_map(model, images)"
        )
    head: list[nn.Module] = []
    for m in model.classifier:
        if isinstance(m, nn.Linear):
            k = 7 if not head else 1  # fc1 reads a 7x7 map; fc2 and fc3 one position
            conv = nn.Conv2d(m.in_features // (k * k), m.out_features, k).to(m.weight)
            with torch.no_grad():
                conv.weight.copy_(m.weight.reshape(conv.weight.shape))
                conv.bias.copy_(m.bias)  # type: ignore[union-attr]  # a conv with bias
            m = conv
        head.append(copy.deepcopy(m))
    dense = _FullyConvolutional(
        OrderedDict(features=copy.deepcopy(model.features), head=nn.Sequential(*head))
    )
    return dense.train(model.training)


# ==== end of chapter 7 block =================================================================
