"""The book's machinery (internal): the Sphinx extension, the editions, glue, references.

Holds ``site`` (the Sphinx extension: offline pages and the in-page explorers' data),
``editions`` (the Jupyter, student and teacher editions; ``python -m
vgg_lessons.publishing.editions``), ``_myst`` (MyST to plain markdown), ``bibstyle`` (the
author-year reference labels) and ``glue`` (myst-nb's glue, or the same record without
it). Not part of the teaching API. May import everything else; nothing imports it.
"""
