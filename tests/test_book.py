"""The book keeps its promises: every notebook is listed, installs itself in Colab,
was run top to bottom, and its page builds with a Colab link to its own file."""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PACKAGE = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]


def toc_files() -> list[str]:
    """Every ``file:`` of ``_toc.yml`` (root first), as paths without suffix."""
    files = [TOC["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            for part in entry.get("parts", []):
                walk(part.get("chapters", []))

    walk(TOC.get("chapters", []))
    for part in TOC.get("parts", []):
        walk(part.get("chapters", []))
    return [f.removesuffix(".ipynb").removesuffix(".md") for f in files]


def rel(notebook: Path) -> str:
    """``book/01_receptive_fields.ipynb`` for a notebook path."""
    return notebook.relative_to(ROOT).as_posix()


def code_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(notebook, as_version=4)
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def install_cell(notebook: Path) -> nbformat.NotebookNode:
    cells = code_cells(notebook)
    assert cells, f"{rel(notebook)} has no code cell; its first one must be the install cell"
    return cells[0]


def run_install_cell(source: str) -> list[tuple[str, str]]:
    """Run an install cell as IPython would and return the line magics it called."""
    calls: list[tuple[str, str]] = []

    class FakeShell:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

    python = TransformerManager().transform_cell(source)  # %pip -> get_ipython().run_line_magic
    exec(compile(python, "<install cell>", "exec"), {"get_ipython": FakeShell})
    return calls


notebook_params = pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])


# ---- the table of contents ----------------------------------------------------------

def test_toc_lists_every_notebook_and_nothing_missing():
    listed = toc_files()
    on_disk = {rel(n).removesuffix(".ipynb") for n in NOTEBOOKS}
    assert on_disk, "book/ holds no notebook"
    assert on_disk - set(listed) == set(), "notebooks in book/ missing from _toc.yml"
    missing = [f for f in listed
               if not (ROOT / f"{f}.ipynb").is_file() and not (ROOT / f"{f}.md").is_file()]
    assert missing == [], "_toc.yml lists files that do not exist"
    assert len(listed) == len(set(listed)), "_toc.yml lists a file twice"


def test_chapters_are_listed_in_number_order():
    numbered = [Path(f).name for f in toc_files() if re.match(r"\d\d_", Path(f).name)]
    assert numbered == sorted(numbered)
    assert [int(name[:2]) for name in numbered] == list(range(1, len(numbered) + 1))


# ---- the configuration ----------------------------------------------------------------

def test_config_builds_only_the_book_from_committed_outputs():
    assert CONFIG["only_build_toc_files"] is True
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    excluded = set(CONFIG["exclude_patterns"])
    for path in ["README.md", "CONTRIBUTING.md", "tests", "vgg_lessons/assets/*.md", ".ci",
                 "benchmarks", "_build"]:
        assert path in excluded, f"_config.yml should exclude {path}"
    assert "sphinx_exercise" in CONFIG["sphinx"]["extra_extensions"]


def test_config_names_the_repository_for_colab_once():
    repo = CONFIG["repository"]
    url = urlparse(repo["url"])
    assert url.scheme == "https" and url.netloc == "github.com"
    assert len(url.path.strip("/").split("/")) == 2, "repository.url should be github.com/ORG/REPO"
    assert repo["path_to_book"] == "editions/jupyter", "Colab opens the Jupyter edition's copy"
    assert repo["branch"]
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


# ---- every notebook -------------------------------------------------------------------

@notebook_params
def test_notebook_opens_with_a_numbered_title(notebook):
    first = nbformat.read(notebook, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    number = int(notebook.stem[:2])
    assert first.source.startswith(f"# {number}. "), \
        f"{rel(notebook)} should open with a markdown title '# {number}. ...'"


@notebook_params
def test_first_code_cell_installs_this_repository(notebook):
    cell = install_cell(notebook)
    assert "colab-install" in cell.metadata.get("tags", []), \
        f"{rel(notebook)}: tag the first code cell 'colab-install' (see CONTRIBUTING.md)"
    from vgg_lessons.publishing.editions import Publication

    publication = Publication.of(ROOT)
    assert cell.source == publication.install_cell(), \
        f"{rel(notebook)}: run python scripts/prepare_book_notebooks.py (the install cell)"
    match = re.search(r'%pip install -q "?([^"\n]+)"?$', cell.source, flags=re.M)
    requirement = Requirement(match.group(1))
    assert requirement.name == PACKAGE
    if not publication.on_pypi:  # until then: the repository of _config.yml
        assert requirement.url == f"git+{CONFIG['repository']['url']}", \
            f"{rel(notebook)} installs from {requirement.url}, not _config.yml's repository url"


@notebook_params
def test_install_cell_installs_only_when_the_package_is_missing(notebook, monkeypatch):
    source = install_cell(notebook).source
    assert run_install_cell(source) == [], "with vgg_lessons importable the cell must do nothing"
    monkeypatch.setitem(sys.modules, "vgg_lessons", None)  # `import vgg_lessons` now fails
    calls = run_install_cell(source)
    assert len(calls) == 1 and calls[0][0] == "pip"
    args = shlex.split(calls[0][1])
    assert args[0] == "install"
    assert Requirement(args[-1]).name == PACKAGE


@notebook_params
def test_notebook_was_run_top_to_bottom_in_one_session(notebook):
    counts = [cell.execution_count for cell in code_cells(notebook) if cell.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), \
        (f"{rel(notebook)} was not executed top to bottom in a fresh kernel; run "
         f"`jupyter nbconvert --to notebook --execute --inplace {rel(notebook)}`")


@notebook_params
def test_outputs_hold_no_errors_or_local_paths(notebook):
    for i, cell in enumerate(code_cells(notebook)):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", \
                f"{rel(notebook)}, code cell {i}: catch and print errors instead (CONTRIBUTING.md)"
            text = json.dumps(output)
            for local in {str(ROOT), str(Path.home()), "/tmp/"}:
                assert local not in text, f"{rel(notebook)}, code cell {i} prints the path {local}"


# ---- the built book -------------------------------------------------------------------

def colab_url(notebook: Path) -> str:
    """Where Colab opens a chapter: its Jupyter edition (Colab's /github/ORG/REPO/blob/... form)."""
    repo = CONFIG["repository"]
    org_repo = urlparse(repo["url"]).path.strip("/")
    return (f"{CONFIG['launch_buttons']['colab_url']}/github/{org_repo}/blob/{repo['branch']}/"
            f"{repo['path_to_book']}/{rel(notebook)}")


@notebook_params
def test_built_page_links_colab_to_its_own_notebook(book_html, notebook):
    page = book_html / notebook.relative_to(ROOT).with_suffix(".html")
    assert page.is_file(), f"the book has no page for {rel(notebook)}"
    links = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', page.read_text()))
    assert links == {colab_url(notebook)}


def test_built_book_has_only_the_toc_pages(book_html):
    pages = {p.relative_to(book_html).with_suffix("").as_posix()
             for p in book_html.rglob("*.html")
             if not p.relative_to(book_html).parts[0].startswith("_")}
    assert set(toc_files()) <= pages
    assert pages - set(toc_files()) <= {"index", "genindex", "search"}


def test_notebook_code_is_ruff_formatted_within_88_characters():
    """Code cells are formatted with ruff and no line is over 88 characters (a longer one
    scrolls sideways in the page's column): run ``ruff format book/`` to fix."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff")
    assert ruff, "the `ruff` command is missing; install the test requirements (requirements.txt)"
    for command in ([ruff, "format", "--check", "--line-length", "88", "book/"],
                    [ruff, "check", "--select", "E501", "--line-length", "88", "book/"]):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"`{' '.join(command[1:])}` failed:\n{result.stdout}"
