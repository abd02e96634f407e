"""Text and HTML rendering of the package's tables (``RFTable``, ``StatsTable``) (private).

One renderer, two outputs:

- text: columns separated by three spaces, text left-aligned, numbers right-aligned,
  a rule under the header (and above a footer);
- HTML: a styled table (header rule, zebra rows, right-aligned tabular numbers,
  padding) inside its own box that scrolls sideways when the page column is too
  narrow, with a shadow at the edge that still hides columns as the cue.

Styles are inline, so the table looks the same in Jupyter, Colab and the built book.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

_GAP = "   "

#: The scroll box: the two "local" white gradients cover the two "scroll" shadows
#: when the content is scrolled to that edge, so a shadow shows only where columns hide.
_BOX_STYLE = (
    "overflow-x:auto;max-width:100%;margin:0.5em 0;"
    "background:linear-gradient(to right,#fff 30%,rgba(255,255,255,0)),"
    "linear-gradient(to right,rgba(255,255,255,0),#fff 70%) 100% 0,"
    "radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.25),rgba(0,0,0,0)),"
    "radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.25),rgba(0,0,0,0)) 100% 0;"
    "background-repeat:no-repeat;background-size:40px 100%,40px 100%,14px 100%,14px 100%;"
    "background-attachment:local,local,scroll,scroll"
)
_TABLE_STYLE = (
    "border-collapse:collapse;font-size:0.9em;font-variant-numeric:tabular-nums;"
    "white-space:nowrap"
)
_CELL = "padding:0.3em 0.8em;text-align:{align}"
_ZEBRA = "background:rgba(0,0,0,0.045)"


def text_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
    footer: Sequence[str] | None = None,
) -> str:
    """Aligned plain text; ``right[i]`` right-aligns column ``i`` (numbers)."""
    cells = [list(header), *map(list, rows), *([list(footer)] if footer else [])]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return _GAP.join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)
        ).rstrip()

    rule = _GAP.join("-" * w for w in widths)
    lines = [line(header), rule, *map(line, rows)]
    if footer:
        lines += [rule, line(footer)]
    return "\n".join(lines)


def _tr(row: Sequence[str], right: Sequence[bool], tag: str, style: str = "") -> str:
    cells = "".join(
        f'<{tag} style="{_CELL.format(align="right" if r else "left")}">'
        f"{html.escape(c)}</{tag}>"
        for c, r in zip(row, right)
    )
    return f'<tr style="{style}">{cells}</tr>' if style else f"<tr>{cells}</tr>"


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
    footer: Sequence[str] | None = None,
    caption: str | None = None,
) -> str:
    """A styled HTML table in a sideways-scrolling box (see the module doc)."""
    head = _tr(header, right, "th", "border-bottom:2px solid #888")
    body = "".join(
        _tr(row, right, "td", _ZEBRA if i % 2 else "") for i, row in enumerate(rows)
    )
    foot = (
        f"<tfoot>{_tr(footer, right, 'th', 'border-top:2px solid #888')}</tfoot>"
        if footer
        else ""
    )
    cap = (
        f'<caption style="caption-side:top;text-align:left">{html.escape(caption)}</caption>'
        if caption
        else ""
    )
    return (
        f'<div style="{_BOX_STYLE}"><table style="{_TABLE_STYLE}">{cap}'
        f"<thead>{head}</thead><tbody>{body}</tbody>{foot}</table></div>"
    )
