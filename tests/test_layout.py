"""The package's shape: its floors, lint, format, types and the README's module table.

The import graph is built from the AST of every module (every ``import`` and
``from ... import``, at module level or inside a function), each module is mapped to
its floor (``/work/shared/FLOORS.md``: theory; train and probes side by side; viz and
exercises side by side; publishing), and an import upward, sideways or round a circle
fails the test with the line that does it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vgg_lessons"

#: Top-level parts and their floor; parts on one floor may not import each other.
FLOORS = {"theory": 1, "train": 2, "probes": 2, "viz": 3, "exercises": 3, "publishing": 4}
MAX_TOP_LEVEL_MODULES = 12


def module_name(path: Path) -> str:
    """``vgg_lessons/train/cli.py`` -> ``vgg_lessons.train.cli``; a package -> its name."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str:
    """The part a module belongs to: a subpackage's name, or ``theory`` for the top level."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()):
        return parts[1]
    return "theory"


def imports_in(source: str, module: str, is_package: bool = False) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import of a package module in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # ``from pkg import name``: the submodule pkg.name if there is one, else pkg
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                for a in node.names
            ]
        else:
            continue
        found += [(name, node.lineno) for name in names if name in MODULES]
    return found


def imports_of(module: str) -> list[tuple[str, int]]:
    path = MODULES[module]
    return imports_in(path.read_text(), module, path.name == "__init__.py")


def against_the_floors(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """``"module:line imports target"`` for each import of a part on the same or a higher floor."""
    wrong = []
    for module, targets in graph.items():
        for target, line in targets:
            here, there = part(module), part(target)
            if there != here and FLOORS[there] >= FLOORS[here]:
                wrong.append(f"{module}:{line} imports {target}")
    return wrong


GRAPH = {m: imports_of(m) for m in MODULES}


def test_the_package_has_at_most_twelve_top_level_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_every_part_is_a_known_floor() -> None:
    assert {part(m) for m in MODULES} <= set(FLOORS)


def test_no_import_goes_up_or_sideways() -> None:
    """A part imports only parts on lower floors (and itself); nothing imports publishing."""
    wrong = against_the_floors(GRAPH)
    assert not wrong, "imports against the floors:\n" + "\n".join(wrong)


def test_the_import_graph_has_no_circle() -> None:
    """Depth-first search over module imports (a package's ``__init__`` counts as a module)."""
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target, _ in GRAPH[module]:
            if target == module or module.startswith(target + "."):
                continue  # a module importing its own package's __init__ is not a circle
            if state.get(target) == "open":
                circles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_the_floor_check_sees_function_level_and_relative_imports() -> None:
    """A test of the test: imports inside functions, relative ones, and sideways ones."""
    source = (
        "import torch\n"
        "from vgg_lessons.inputs import normalize\n"
        "def f():\n"
        "    from vgg_lessons.viz import plots\n"
        "    from ..probes import hooks\n"
    )
    found = imports_in(source, "vgg_lessons.train.example")
    assert found == [
        ("vgg_lessons.inputs", 2),
        ("vgg_lessons.viz.plots", 4),
        ("vgg_lessons.probes.hooks", 5),
    ]
    assert against_the_floors({"vgg_lessons.train.example": found}) == [
        "vgg_lessons.train.example:4 imports vgg_lessons.viz.plots",
        "vgg_lessons.train.example:5 imports vgg_lessons.probes.hooks",
    ]


def test_no_private_name_is_imported_from_another_module() -> None:
    """``from m import _name`` across modules: make it public in the module that owns it."""
    wrong = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vgg_lessons"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if alias.name.startswith("_") and full not in MODULES:
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {alias.name}")
    assert not wrong, wrong


def test_the_readme_module_table_lists_every_module() -> None:
    """Each module's path (``train/cli.py``) appears in the README's table of the package."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## The package") :]
    listed = set(re.findall(r"`([\w/]+\.py)`", table))
    missing = [
        p.relative_to(PACKAGE).as_posix()
        for p in MODULES.values()
        if p.name != "__init__.py" and p.relative_to(PACKAGE).as_posix() not in listed
    ]
    assert not missing, f"README's module table misses {missing}"


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_and_format_pass_on_the_package() -> None:
    lint = _run(sys.executable, "-m", "ruff", "check", "vgg_lessons")
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = _run(sys.executable, "-m", "ruff", "format", "--check", "vgg_lessons")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_passes_on_the_package() -> None:
    """The type check configured in pyproject.toml (``[tool.mypy]``)."""
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout[-3000:]
