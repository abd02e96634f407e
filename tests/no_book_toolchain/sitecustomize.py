"""Make the book toolchain unimportable, as on Colab or in a venv with only the package.

Put this folder first on ``PYTHONPATH`` (Python imports ``sitecustomize`` at start-up)
to run the editions, or the book's notebooks, as a reader who installed only
``vgg-lessons`` would: ``import myst_nb`` and the rest then fail with
ModuleNotFoundError even where they are installed.
"""

import importlib.abc
import sys

BLOCKED = ("myst_nb", "jupyter_book", "sphinx_exercise")


class BookToolchainBlocker(importlib.abc.MetaPathFinder):
    """Refuses the book toolchain's packages (and their submodules)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked: a reader's "
                                      "environment has only the package)", name=fullname)
        return None


sys.meta_path.insert(0, BookToolchainBlocker())
