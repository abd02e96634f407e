"""Shared fixtures: the book, built once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: How long the book build may take before the test session gives up (seconds).
BOOK_BUILD_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def book_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book once, as CI does (warnings are errors), and return its html folder.

    Runs ``jupyter-book build . -W -n --keep-going`` into a temporary output path,
    so the test session never touches the repository's own ``_build``. If the
    build fails, every test that uses this fixture fails with the build log.

    Returns:
        The folder holding ``index.html`` and one ``.html`` page per book file,
        e.g. ``book_html / "book" / "01_receptive_fields.html"``.
    """
    executable = shutil.which("jupyter-book")
    if executable is None:
        pytest.fail("the `jupyter-book` command is missing; install the book's requirements "
                    "with `pip install -r requirements.txt`", pytrace=False)
    out = tmp_path_factory.mktemp("book")
    command = [executable, "build", str(ROOT),
               "-W", "-n", "--keep-going", "--path-output", str(out)]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                timeout=BOOK_BUILD_TIMEOUT_S,
                                env={**os.environ, "NO_COLOR": "1"})  # a plain-text log
    except subprocess.TimeoutExpired as err:  # its output may be bytes, even with text=True
        log = "\n".join(part.decode(errors="replace") if isinstance(part, bytes) else part
                        for part in (err.stdout, err.stderr) if part)
        pytest.fail(f"the book build took over {BOOK_BUILD_TIMEOUT_S} s and was stopped:\n{log}",
                    pytrace=False)
    html = out / "_build" / "html"
    if result.returncode != 0 or not (html / "index.html").is_file():
        pytest.fail(
            f"`jupyter-book build . -W -n --keep-going --path-output {out}` failed "
            f"(exit {result.returncode}); fix the warnings below (each is an error in CI):\n--- stdout ---\n{result.stdout}\n"
            f"--- stderr ---\n{result.stderr}", pytrace=False)
    return html
