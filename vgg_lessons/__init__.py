"""vgg_lessons: the helper package of the vgg-lessons book.

The layout follows the book's floors; a part imports only the parts below it, and
nothing runs at import (import the module you need):

- theory, at the top level (imports nothing of the package but itself): ``inputs``
  (what an image is and how it becomes model input: ``CLASSES``, ``MEAN``/``STD``,
  ``IMAGE_SIZE``, ``normalize``, ``check_images``), ``vgg_configs`` (the paper's Table 1),
  ``models`` (``build_vgg``, ``fully_convolutional``),
  ``receptive_field`` (field arithmetic, no torch), ``stats`` (parameters, MACs,
  memory), ``paper_results`` (the paper's numbers as data), ``_layers`` and ``_tables``;
- ``train`` (training) and ``probes`` (looking inside a model), side by side: each
  imports the theory, neither the other;
- ``viz`` (figures and ipywidgets explorers) and ``exercises`` (the checks, one module
  per chapter), which may import everything below them;
- ``publishing`` (the Sphinx extension, the editions, glue): the book's machinery, on
  top; nothing imports it.
"""

__version__ = "0.1.0"
