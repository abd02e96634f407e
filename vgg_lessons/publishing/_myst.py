"""MyST markdown to the plain markdown Jupyter and Colab render (private helper of ``editions``).

The book's markdown cells use MyST: ``{glue:text}`key:fmt``` roles for computed
numbers, ``{doc}`` and ``{cite}`` roles, and fenced directives (exercises,
solutions, admonitions). Jupyter shows those raw. ``to_plain_markdown`` rewrites a
cell's text so that nothing MyST-only is left: roles become their values, links or
plain text; exercises become headed sections, solutions ``<details>`` (or nothing,
for the student edition), admonitions blockquotes, and any directive this module
does not know becomes a one-line note, never a raw fence. Plain code fences are
copied untouched. Pure string work: no Jupyter or Sphinx import.
"""

from __future__ import annotations

import re
from ast import literal_eval
from dataclasses import dataclass, field

ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:+-]*)\}`(?P<content>[^`]+)`")
FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})\s*(?P<info>.*?)\s*$")
DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[^}\s]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
TARGET_OR_COMMENT = re.compile(r"^\s*(\([^)\s]+\)=|%.*|\+\+\+.*)\s*$")
ADMONITIONS = {
    "note",
    "tip",
    "hint",
    "important",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "seealso",
    "admonition",
}
SOLUTIONS = {"solution", "solution-start"}
GATE_ENDS = {"solution-end", "exercise-end"}


@dataclass
class Context:
    """What the rewrite needs from outside a cell.

    Attributes:
        glue: glued name -> its ``text/plain`` (or ``text/markdown``) display, from the
            notebook's committed outputs.
        references: bibliography key -> (authors as cited, year, url or "").
        docs: document name as ``{doc}`` writes it (``04_training``, ``/book/04_training``)
            -> (title, link relative to the edition's notebooks, or "" for plain text).
        keep_solutions: False drops solution directives (the student edition).
        tags: the tags ``{only}`` directives test: ``notebook`` and the edition's name.
    """

    glue: dict[str, str] = field(default_factory=dict)
    references: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    docs: dict[str, tuple[str, str]] = field(default_factory=dict)
    keep_solutions: bool = True
    tags: frozenset[str] = frozenset({"notebook"})


@dataclass
class Directive:
    """One fenced directive: ``name``, its argument, ``:key: value`` options and body text."""

    name: str
    arg: str
    options: dict[str, str]
    body: str


# ---- roles ---------------------------------------------------------------------------


def format_glued(text: str, fmt_spec: str) -> str:
    """A glued ``text/plain`` value formatted as myst-nb's ``{glue:text}`` does."""
    try:
        value = literal_eval(text)  # removes the quotes around strings
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    kind = fmt_spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, fmt_spec)


def glued(content: str, ctx: Context) -> str:
    """The text a ``{glue:text}`key:fmt``` role shows, from the committed glue values."""
    key, _, fmt_spec = content.partition(":")
    if key not in ctx.glue:
        raise ValueError(
            f"the markdown pastes glue '{key}' but no cell glues it: run the "
            "notebook (scripts/run_notebook.py) before generating the editions"
        )
    return format_glued(ctx.glue[key], fmt_spec)


def titled_target(content: str) -> tuple[str, str]:
    """``("text", "target")`` for a role's ``text <target>``; text is "" when absent."""
    match = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", content.strip())
    return (
        (match.group(1).strip(), match.group(2).strip())
        if match
        else ("", content.strip())
    )


def doc_link(content: str, ctx: Context) -> str:
    """A ``{doc}`` role as a markdown link to the edition's notebook, or its title as text."""
    text, target = titled_target(content)
    title, href = ctx.docs.get(target, (target, ""))
    text = text or title
    return f"[{text}]({href})" if href else text


def citation(name: str, content: str, ctx: Context) -> str:
    """``{cite}`` / ``{cite:p}`` as "(Authors, year)", ``{cite:t}`` as "Authors (year)", linked."""
    parts = []
    for key in (k.strip() for k in content.split(",")):
        if key not in ctx.references:
            raise ValueError(
                f"the markdown cites '{key}', which is not in the bibliography"
            )
        authors, year, url = ctx.references[key]
        text = (
            f"{authors} ({year})" if name.startswith("cite:t") else f"{authors}, {year}"
        )
        parts.append(f"[{text}]({url})" if url else text)
    joined = "; ".join(parts)
    return joined if name.startswith("cite:t") else f"({joined})"


def rewrite_role(name: str, content: str, ctx: Context) -> str:
    """What one inline role becomes in plain markdown."""
    if name in {"glue", "glue:", "glue:text", "glue:md", "glue:any"}:
        return glued(content, ctx)
    if name == "doc":
        return doc_link(content, ctx)
    if name == "cite" or name.startswith("cite:"):
        return citation(name, content, ctx)
    if name == "math":
        return f"${content}$"
    if name in {"sub", "sup", "kbd"}:
        return f"<{name}>{content}</{name}>"
    if name == "abbr":
        return re.sub(r"\s*\(.*\)$", "", content)
    text, target = titled_target(content)  # ref, numref, term, download, ...: the words
    return text or target


def rewrite_roles(text: str, ctx: Context) -> str:
    """``text`` with every inline MyST role replaced by plain markdown."""
    return ROLE.sub(lambda m: rewrite_role(m["name"], m["content"], ctx), text)


# ---- directives ----------------------------------------------------------------------


def split_directive(lines: list[str], start: int) -> tuple[Directive, int] | None:
    """The directive whose fence opens at ``lines[start]`` and the index after its close.

    None when the line opens a plain code fence (```` ```python ````), not a directive.
    A fence closes at the first line of the same character, at least as long, and
    nothing else (CommonMark's rule, which MyST follows). A gated ``X-start`` directive's
    body also takes the lines after its fence, up to its ``X-end`` fence or the end of
    the text (the cell), and the returned index points at that ``X-end`` fence.
    """
    opening = FENCE_OPEN.match(lines[start])
    info = DIRECTIVE_INFO.match(opening["info"]) if opening else None
    if not opening or not info:
        return None
    fence = opening["fence"]
    close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    end = next(
        (i for i in range(start + 1, len(lines)) if close.match(lines[i])), len(lines)
    )
    body = lines[start + 1 : end]
    options: dict[str, str] = {}
    if body and body[0].strip() == "---":  # options as a YAML block
        stop = next((i for i in range(1, len(body)) if body[i].strip() == "---"), 0)
        for line in body[1:stop]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        body = body[stop + 1 :]
    while body and (option := OPTION.match(body[0])):
        options[option["key"]] = option["value"]
        body = body[1:]
    end += 1
    if info["name"].endswith(
        "-start"
    ):  # gated: the content follows, up to the -end fence
        gate_end = re.compile(
            rf"^ {{0,3}}(`{{3,}}|:{{3,}})\{{{re.escape(info['name'][:-6])}-end\}}"
        )
        stop = next(
            (i for i in range(end, len(lines)) if gate_end.match(lines[i])), len(lines)
        )
        body, end = body + lines[end:stop], stop
    return Directive(
        info["name"], info["arg"], options, "\n".join(body).strip("\n")
    ), end


def quoted(text: str) -> str:
    """``text`` as a markdown blockquote."""
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def details(summary: str, body: str) -> str:
    """A closed ``<details>`` block; Jupyter and Colab render markdown inside it."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def rewrite_directive(d: Directive, ctx: Context) -> str:
    """What one directive becomes in plain markdown ("" for directives that vanish)."""
    body = to_plain_markdown(d.body, ctx)
    if d.name in {"exercise", "exercise-start"}:
        title = rewrite_roles(d.arg, ctx) or "Exercise"
        return f"### Exercise: {title}\n\n{body}".rstrip()
    if d.name in SOLUTIONS:
        return details("Solution", body) if ctx.keep_solutions else ""
    if d.name in GATE_ENDS:
        return ""
    if d.name == "only":
        return body if only_in_notebooks(d.arg, ctx.tags) else ""
    if d.name in ADMONITIONS:
        title = (
            rewrite_roles(d.arg, ctx) if d.name == "admonition" else d.name.capitalize()
        )
        if d.name == "seealso":
            title = "See also"
        if "dropdown" in d.options.get("class", "").split():
            return details(title, body)
        return quoted(f"**{title}**\n\n{body}" if body else f"**{title}**")
    if d.name == "dropdown":
        return details(rewrite_roles(d.arg, ctx) or "Details", body)
    if d.name in {"math", "equation"}:
        return f"$$\n{d.body}\n$$"
    if d.name in {"code-block", "code", "sourcecode"}:
        return f"```{d.arg}\n{d.body}\n```"
    what = f"{d.name} ({rewrite_roles(d.arg, ctx)})" if d.arg else d.name
    return quoted(
        f"*The online book shows an interactive {what} here; it needs the "
        "rendered page.*"
    )


def only_in_notebooks(
    expression: str, tags: frozenset[str] = frozenset({"notebook"})
) -> bool:
    """Whether Sphinx's ``{only}`` text is for this notebook: ``expression`` evaluated with
    ``tags`` set (``notebook`` and the edition: ``jupyter``, ``student``, ``teacher``) and
    every other tag (``html``, ``latex``, ...) not.

    The web book defines none of these tags, so ``{only} notebook`` text is left out of
    the page and ``{only} html`` text out of the notebooks.
    """
    words = re.findall(r"[A-Za-z_][\w-]*|[()]", expression)
    python = " ".join(
        w if w in {"and", "or", "not", "(", ")"} else str(w in tags) for w in words
    )
    try:
        return bool(eval(python, {"__builtins__": {}}))  # only True/False/and/or/not
    except SyntaxError as err:
        raise ValueError(f"cannot read the {{only}} expression {expression!r}") from err


def to_plain_markdown(text: str, ctx: Context) -> str:
    """One markdown cell's MyST ``text`` as plain markdown that Jupyter and Colab render.

    Raises:
        ValueError: a glued name that no cell glues, or a citation key missing from the
            bibliography (the book build would warn about both too).
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        split = split_directive(lines, i)
        if split:
            directive, i = split
            out.extend(
                ["", rewrite_directive(directive, ctx), ""]
            )  # a block of its own
            continue
        fence = FENCE_OPEN.match(line)
        if fence:  # a plain code block: copied as it is, up to its closing fence
            close = re.compile(
                rf"^ {{0,3}}{re.escape(fence['fence'][0])}{{{len(fence['fence'])},}}\s*$"
            )
            end = next(
                (j for j in range(i + 1, len(lines)) if close.match(lines[j])),
                len(lines),
            )
            out.extend(lines[i : end + 1])
            i = end + 1
            continue
        if not TARGET_OR_COMMENT.match(line):
            out.append(rewrite_roles(line, ctx))
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def first_question(text: str, ctx: Context) -> str:
    """The first sentence of ``text`` that asks something, on one line (what to compute)."""
    plain = " ".join(to_plain_markdown(text, ctx).split()).replace("**", "")
    sentences = re.split(r"(?<=[.?!])\s+(?=[A-Z(`])", plain)
    return next(
        (s for s in sentences if s.endswith("?")), sentences[0] if sentences else ""
    )


# ---- bibliography ----------------------------------------------------------------------


def cited_authors(field_value: str) -> str:
    """ "Simonyan and Zisserman", "Luo et al.": last names as author-year citations show them."""

    def last_name(name: str) -> str:
        name = name.strip()
        last = name.split(",")[0] if "," in name else name.split()[-1]
        return re.sub(r"[{}\\'\"`^~]", "", last)

    names = [
        last_name(n) for n in re.split(r"\s+and\s+", field_value.strip()) if n.strip()
    ]
    if len(names) > 2:
        return f"{names[0]} et al."
    return " and ".join(names)


def parse_bibtex(text: str) -> dict[str, tuple[str, str, str]]:
    """key -> (authors as cited, year, url or doi link or "") for each entry of a .bib text."""
    references = {}
    for entry in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, flags=re.S):
        fields = dict(
            (k.lower(), v)
            for k, v in re.findall(r"(\w+)\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", entry[2])
        )
        url = fields.get("url", "")
        if not url and fields.get("doi"):
            url = f"https://doi.org/{fields['doi']}"
        references[entry[1]] = (
            cited_authors(fields["author"] if "author" in fields else entry[1]),
            fields.get("year", "n.d."),
            url,
        )
    return references
