"""Publishing: `python -m build` makes a wheel and sdist that pass `twine check`, and the
wheel, installed in a fresh virtual environment, runs a student notebook.

The virtual environment sees the machine's packages (``--system-site-packages``) so that
PyTorch is not installed again, but vgg_lessons itself comes from the wheel: the test
checks where the kernel imports it from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "editions" / "student" / "01_receptive_fields.ipynb"


def run(*args: str | Path, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                            timeout=900, env=env)
    assert result.returncode == 0, f"{' '.join(map(str, args))}:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build` on a copy of the repository's package files (the checkout stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(ROOT / "vgg_lessons", src / "vgg_lessons",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = src / "dist"
    run(sys.executable, "-m", "build", "--outdir", out, src, cwd=src)
    return out


@pytest.mark.slow
def test_build_makes_a_wheel_and_sdist_that_pass_twine_check(dist):
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == len(sdists) == 1
    output = run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists, cwd=dist)
    assert output.count("PASSED") == 2, output
    names = zipfile.ZipFile(wheels[0]).namelist()
    for needed in ("vgg_lessons/models.py", "vgg_lessons/exercises/chapter1.py",
                   "vgg_lessons/assets/vgg11_bn_cifar10.md",
                   "vgg_lessons/publishing/site/favicon.svg"):
        assert needed in names, f"the wheel lacks {needed}"
    assert not any(n.startswith(("tests/", "book/", "editions/")) for n in names)


@pytest.mark.slow
def test_the_wheel_in_a_fresh_venv_runs_a_student_notebook(dist, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel,
        cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing from the checkout

    nb = nbformat.read(STUDENT, as_version=4)
    where = nbformat.v4.new_code_cell("import vgg_lessons\nprint(vgg_lessons.__file__)")
    nb.cells.insert(0, where)
    path = tmp_path / "student.ipynb"
    nbformat.write(nb, path)
    script = ("import sys, nbformat\nfrom nbclient import NotebookClient\n"
              "nb = nbformat.read(sys.argv[1], as_version=4)\n"
              "NotebookClient(nb, timeout=600, kernel_name='python3').execute()\n"
              "nbformat.write(nb, sys.argv[1])\n")
    run(python, "-c", script, path, cwd=tmp_path, env=env)  # the kernel is the venv's Python
    ran = nbformat.read(path, as_version=4)
    where_from = ran.cells[0].outputs[0]["text"].strip()
    assert where_from.startswith(str(venv)), f"vgg_lessons came from {where_from}, not the wheel"
    checks = [c for c in ran.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) >= 3
    for cell in checks:  # blank answers: each check says so and scores 0
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert text.startswith("Not answered yet"), text
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert result["data"]["text/plain"] == "0"
