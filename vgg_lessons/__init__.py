"""vgg_lessons: the helper package of the vgg-lessons book.

Modules, one idea each (import the one you need; nothing runs at import):

- ``models``: ``build_vgg`` and the configurations of the paper.
- ``receptive_field``: receptive-field arithmetic (no torch); ``rf_measure``: tables of
  models, measured and effective fields.
- ``weights``: the shipped models' meta and ``transforms()`` (uint8 images -> model input).
- ``stats``: parameters, multiply-accumulates and activation memory per layer.
- ``data``: CIFAR-10 from a folder, a download or a tensor cache.
- ``config``: ``TrainConfig``, every training setting once.
- ``train``: the training loop (``fit``); ``metrics``: ``evaluate``, confusion matrix;
  ``checkpoints``: save, load, export, ``load_pretrained``; ``cli``: the command line.
- ``probes``: hooks, feature maps, filters, activation maximisation.
- ``plots`` (with ``training_plots``, ``feature_plots``), ``widgets`` (with ``rf_widgets``),
  ``exercises``: figures, explorers and checks for the book.
"""

from typing import Any

__all__ = ["build_vgg"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``vgg_lessons.build_vgg`` without importing torch for the torch-free modules."""
    if name == "build_vgg":
        from vgg_lessons.models import build_vgg

        return build_vgg
    raise AttributeError(f"module 'vgg_lessons' has no attribute {name!r}")
