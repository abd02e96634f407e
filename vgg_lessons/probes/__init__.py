"""Looking inside a model: hooks and feature maps, fields, activation maximisation, attribution.

Holds ``hooks`` (recording layers, feature maps, filters, top images), ``fields``
(receptive-field tables of models, measured and effective fields), ``activation_max``,
``attribution`` (saliency, Grad-CAM, rank correlation) and ``dense`` (the paper's dense
evaluation). May import the theory modules at the package's top level; never ``train``,
``viz``, ``exercises`` or ``publishing``.
"""
