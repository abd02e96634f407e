"""The exercises' checks: right or wrong with a hint, never the answer; one module a chapter.

``chapter1`` ... ``chapter9`` hold each chapter's checks; ``_checking`` is the shared
checker (how an answer is read, compared and reported). May import the theory, ``train``
and ``probes``; never ``viz`` or ``publishing``.
"""
