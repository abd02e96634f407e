"""A Sphinx extension for the book's web pages: whole offline, explorers without a kernel.

Listed in ``_config.yml`` (``sphinx.extra_extensions``), it

- typesets the maths when the book is built (:mod:`.maths`: MathJax 3 in Node.js, SVG
  in the page): no page loads a maths script or font, nothing comes from a CDN;
- styles every page (``static/vgg-lessons/book.css``): 88-character code lines fit
  the column at 1280 px; the theme's icons come from its web fonts, so its 1.5 MB Font
  Awesome script is emptied (:func:`_slim_theme`);
- switches sphinx-thebe off: the book runs code in Colab, not in the page, and
  sphinx-thebe (a default of Jupyter Book 1) would put a CDN address and, with
  Sphinx 7, its settings script twice in every page;
- adds the ``vgg-explorer`` directive: an explorer that runs in the page
  (``feature-maps``, ``filters``, ``receptive-field``, ``attribution``: saliency and
  Grad-CAM, ``field-arithmetic``, ``live-model``: the shipped model's forward pass
  in the page, on a test image or the reader's own). Its scripts and style go only
  into pages that have one;
- writes the explorers' data (``explorer_data``) into ``_explorers/`` of the built
  HTML, computed from the shipped model at the first build and cached by the
  model's and the generator's content (nothing generated is committed); the live
  model's layer list and weights (``model_data``) are part of it, in ``model.js`` and
  ``model-weights.js`` (loaded by the page only when the reader asks for a prediction).

Usage in a notebook's markdown cell::

    ```{vgg-explorer} feature-maps
    ```
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive

STATIC = Path(__file__).parent / "static"
KINDS = (
    "feature-maps",
    "filters",
    "receptive-field",
    "attribution",
    "field-arithmetic",
    "live-model",
)
#: Scripts a page loads for its explorers: the core for all, then one more for some kinds
#: (each registers itself with ``window.VGGLessons.register(kind, init)``).
EXTRA_SCRIPTS = {
    "attribution": "vgg-lessons/explorers-attribution.js",
    "field-arithmetic": "vgg-lessons/explorers-arithmetic.js",
    "live-model": "vgg-lessons/explorers-model.js",
}
#: Sphinx's MathJax script: never loaded, :mod:`.maths` drops it from every page.
MATHJAX = "vgg-lessons/mathjax-is-typeset-at-build-time.js"
DATA_FOLDER = "_explorers"
#: What the theme's Font Awesome script is replaced with (see :func:`_slim_theme`).
FONTAWESOME_STUB = Path(__file__).parent / "fontawesome-stub.js"


class explorer(nodes.General, nodes.Element):
    """An in-page explorer; ``kind`` is one of :data:`KINDS`."""


class ExplorerDirective(Directive):
    """``{vgg-explorer} KIND``: a placeholder the page's script fills in.

    Its content, if any, is a note for readers of the notebook in Jupyter or Colab,
    where the directive shows as a code block; the web page leaves it out.
    """

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        kind = self.arguments[0]
        if kind not in KINDS:
            raise self.error(
                f"unknown explorer {kind!r}; use one of {', '.join(KINDS)}"
            )
        return [explorer(kind=kind)]


def visit_explorer_html(translator: Any, node: explorer) -> None:
    kind = node["kind"]
    translator.body.append(
        f'<div class="vgg-explorer" data-explorer="{kind}">'
        '<p class="vgg-explorer-status">Loading the explorer (it runs in this page, '
        "no kernel needed)&hellip;</p>"
        "<noscript>This explorer needs JavaScript.</noscript></div>\n"
    )
    raise nodes.SkipNode


def skip_explorer(translator: Any, node: explorer) -> None:
    raise nodes.SkipNode


def _switch_thebe_off(app: Any) -> None:
    """Disconnect sphinx-thebe's event handlers and drop its style sheet."""
    for listeners in list(app.events.listeners.values()):
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                app.disconnect(listener.id)
    app.registry.css_files = [
        (name, attrs)
        for name, attrs in app.registry.css_files
        if "thebe" not in (name or "")
    ]


def _config_inited(app: Any, config: Any) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    config.mathjax_path = MATHJAX


def _page_assets(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    kinds = (
        {node["kind"] for node in doctree.findall(explorer)}
        if doctree is not None
        else set()
    )
    if kinds:
        # The core first: it defines window.VGGLessons.register, which the others call.
        app.add_js_file("vgg-lessons/explorers.js", defer="defer")
        for kind in sorted(kinds & EXTRA_SCRIPTS.keys()):
            app.add_js_file(EXTRA_SCRIPTS[kind], defer="defer")
        app.add_css_file("vgg-lessons/explorers.css")


def data_cache_key() -> str:
    """Hash of the shipped models the explorers show and of every source file of the
    package: its cache's name.

    Every module counts, not a chosen few: the data depend on the input conventions,
    the registry, the layers' names and the configurations as much as on the probes.
    """
    from vgg_lessons.train import weights

    package = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for name in (weights.INSPECTED, weights.DEFAULT):
        digest.update((weights.ASSETS / f"{name}.pt").read_bytes())
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _slim_theme(app: Any, exception: Exception | None) -> None:
    """Empty the theme's 1.5 MB Font Awesome script (book.css draws the icons it shows)."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "scripts" / "fontawesome.js"
    if target.is_file():
        shutil.copyfile(FONTAWESOME_STUB, target)


def _typeset_maths(app: Any, exception: Exception | None) -> None:
    """Every page's maths as SVG, MathJax's scripts dropped (:mod:`.maths`)."""
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.errors import ExtensionError

    from . import maths

    out = Path(app.outdir)
    skip = {"_static", "_sources", "_images", DATA_FOLDER}
    pages = [
        p for p in out.rglob("*.html") if skip.isdisjoint(p.relative_to(out).parts)
    ]
    try:
        maths.typeset_pages(pages)
    except RuntimeError as err:
        raise ExtensionError(str(err)) from None


def _write_data(app: Any, exception: Exception | None) -> None:
    """Copy the explorers' data (computed once per model and generator) into the HTML."""
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.errors import ExtensionError

    from vgg_lessons.train import data

    from . import explorer_data

    cached = data.cache_dir() / "explorers" / data_cache_key()
    if not (cached / "manifest.js").is_file():
        # Each build writes its own partial folder, so two builds at once (pytest-xdist
        # workers) never delete each other's half-written data; the first to finish wins.
        partial = cached.with_name(f"{cached.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            explorer_data.write_explorer_data(partial)
        except (FileNotFoundError, ValueError) as err:
            raise ExtensionError(
                f"the explorers' data needs the CIFAR-10 test set: {err}"
            ) from None
        if (cached / "manifest.js").is_file():
            shutil.rmtree(partial, ignore_errors=True)  # another build finished first
        else:
            shutil.rmtree(cached, ignore_errors=True)
            try:
                partial.rename(cached)
            except OSError:  # another build renamed its copy in between
                shutil.rmtree(partial, ignore_errors=True)
    target = Path(app.outdir) / DATA_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(cached, target)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point (``sphinx.extra_extensions: [vgg_lessons.publishing.site]``)."""
    _switch_thebe_off(app)
    app.add_node(
        explorer,
        html=(visit_explorer_html, None),
        latex=(skip_explorer, None),
        text=(skip_explorer, None),
        man=(skip_explorer, None),
        texinfo=(skip_explorer, None),
    )
    app.add_directive("vgg-explorer", ExplorerDirective)
    app.add_css_file("vgg-lessons/book.css")  # every page: code that fits the column
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _page_assets)
    app.connect("build-finished", _slim_theme)
    app.connect("build-finished", _typeset_maths)
    app.connect("build-finished", _write_data)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
