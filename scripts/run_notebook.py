"""Execute book notebooks in place, as nbval will re-run them.

    python scripts/run_notebook.py book/03_batch_norm.ipynb [more.ipynb ...]

Runs each notebook top to bottom in a fresh kernel whose working directory is
``book/`` (as under nbval), saves the outputs into the file, and drops the stored
widget state (pages would otherwise load widget JavaScript; live widgets need a
kernel). Commit the result, then check it with ``pytest book/NN_x.ipynb``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_notebook(path: Path, timeout_s: int = 600) -> None:
    """Execute ``path`` in place; raise with the failing cell's error if a cell fails."""
    nb = nbformat.read(path, as_version=4)
    # Widget state must be stored while executing (nbclient needs it for Output
    # widgets); it is removed below before saving.
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # per-cell timestamps change on every run: keep diffs clean
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        path = Path(name)
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"not a notebook file: {name}; pass paths such as book/01_receptive_fields.ipynb")
            return 2
        print(f"executing {path} ...", flush=True)
        run_notebook(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
