"""Training: settings, CIFAR-10 data, the loop, checkpoints, metrics and the command line.

Holds ``config`` (``TrainConfig``), ``data`` and ``augmentation`` (uint8 CIFAR-10 tensors
and their batched augmentation), ``loop`` (``fit``), ``checkpoints`` (save, check, load,
export), ``metrics`` (``evaluate``), ``weights`` (the registry of shipped models),
``transfer`` (features reused on new classes), ``distributed`` (the same training under
``torchrun``), ``grid_records`` (the depth grids' records summarised) and ``cli``
(``python -m vgg_lessons.train``). May import the theory modules at the package's top level; never
``probes``, ``viz``, ``exercises`` or ``publishing``.
"""
