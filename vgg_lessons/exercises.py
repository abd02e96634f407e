"""Checks for the book's exercises: right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line, and
returns True when it is right, so a notebook cell can also ``assert`` it.
The expected values are computed here from the package (never typed in), so a
check cannot drift from the code the chapter teaches.

Chapters add their checks below, each in its own section.
"""

from __future__ import annotations

import math
from typing import Any


def report(ok: bool, hint: str, praise: str = "Correct!") -> bool:
    """Print a verdict for the student and return ``ok``.

    Args:
        ok: whether the answer is right.
        hint: shown when it is wrong; says where to look, never the answer.
        praise: shown when it is right.
    """
    print(f"✅ {praise}" if ok else f"❌ Not yet. Hint: {hint}")
    return ok


def same_number(answer: Any, expected: float, rel_tol: float = 1e-6) -> bool:
    """True if ``answer`` is a real number within ``rel_tol`` of ``expected`` (False for text)."""
    if isinstance(answer, bool):
        return False
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    return math.isclose(value, expected, rel_tol=rel_tol, abs_tol=1e-12)


def checked_number(answer: Any, name: str) -> float | None:
    """Return ``answer`` as a float, or print a friendly message and return None."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        print(f"❌ {name} should be a number, got {type(answer).__name__} {answer!r}. "
              "Replace the ... with your answer.")
        return None
    return float(answer)


# ---- Chapter 1: receptive fields ---------------------------------------------------

# ---- Chapter 2: building VGG --------------------------------------------------------

# ---- Chapter 3: batch norm -----------------------------------------------------------

# ---- Chapter 4: training ---------------------------------------------------------------

# ---- Chapter 5: pitfalls ---------------------------------------------------------------

# ---- Chapter 6: what the layers see ----------------------------------------------------
