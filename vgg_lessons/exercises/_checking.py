"""How an exercise check reads an answer and says right or wrong (private to ``exercises``).

A student's answer may be a Python number, a numpy or torch scalar, a 0-d or
one-element array, or still the placeholder ``...`` of the student edition. The
helpers here turn all of those into one float (or say in one line why not), and
:class:`NumberCheck` is one row of the exercise table: what is asked, how to
compute the right answer from the package, the common slips and the hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: The verdicts, in characters every font has (no emoji).
RIGHT = "✓"
WRONG = "✗"
NOT_ANSWERED = "Not answered yet: replace the ... with your answer."

#: A check's solution: the right value and ``(slip value, hint for that slip)`` pairs.
Solution = tuple[float, Sequence[tuple[float, str]]]


def report(ok: bool, hint: str, praise: str = "Correct!") -> bool:
    """Print a verdict for the student and return ``ok``.

    Args:
        ok: whether the answer is right.
        hint: shown when it is wrong; says where to look, never the answer.
        praise: shown when it is right.
    """
    print(f"{RIGHT} {praise}" if ok else f"{WRONG} Not yet. Hint: {hint}")
    return ok


def not_answered(answer: Any) -> bool:
    """True (after printing :data:`NOT_ANSWERED`) if ``answer`` is still the placeholder ``...``."""
    if answer is Ellipsis:
        print(NOT_ANSWERED)
        return True
    return False


def _scalar(answer: Any) -> Any:
    """``answer`` with numpy/torch scalars and one-element arrays unwrapped by ``.item()``."""
    shape = getattr(answer, "shape", None)
    if shape is not None and hasattr(answer, "item"):
        if math.prod(shape) != 1:
            raise ValueError(f"give one number, got an array of shape {tuple(shape)}")
        return answer.item()
    return answer


def as_number(
    answer: Any, what: str = "the answer", *, whole: bool = False
) -> float | None:
    """``answer`` as a float, or None after printing one line that says what is wrong.

    Accepts ints, floats, numpy and torch scalars and 0-d / one-element arrays.
    Rejects (with a message) the placeholder ``...``, text, booleans, larger
    arrays and, when ``whole``, numbers with a fractional part.
    """
    if not_answered(answer):
        return None
    try:
        value = _scalar(answer)
    except ValueError as err:
        print(f"{WRONG} {what.capitalize()} is one number: {err}.")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        print(
            f"{WRONG} {what.capitalize()} should be a number, got {type(answer).__name__} "
            f"{answer!r}."
        )
        return None
    if whole and not float(value).is_integer():
        print(f"{WRONG} {what.capitalize()} is a whole number (no fractional part).")
        return None
    return float(value)


def as_whole_numbers(answer: Any, what: str) -> list[int] | None:
    """A tuple, list, ``torch.Size`` or 1-d array of whole numbers as ints, or None (says why)."""
    if not_answered(answer):
        return None
    if (
        hasattr(answer, "tolist")
        and getattr(answer, "ndim", getattr(answer, "dim", lambda: 0)) != 0
    ):
        answer = answer.tolist()
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (tuple, list)):
        print(f"{WRONG} Answer with {what}, got {answer!r}.")
        return None
    numbers = []
    for item in answer:
        try:
            value = _scalar(item)
        except ValueError:
            value = None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not float(value).is_integer()
        ):
            print(f"{WRONG} Each entry of {what} is a whole number, got {item!r}.")
            return None
        numbers.append(int(value))
    return numbers


def same_number(answer: Any, expected: float, rel_tol: float = 1e-6) -> bool:
    """True if ``answer`` is a number (scalars and one-element arrays too) close to ``expected``.

    False for text, booleans and anything that is not one number.
    """
    try:
        value = _scalar(answer)
    except ValueError:
        return False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isclose(float(value), expected, rel_tol=rel_tol, abs_tol=1e-12)


@dataclass(frozen=True)
class NumberCheck:
    """One exercise whose answer is a number: a row of the exercise table.

    Calling it (or the function :meth:`function` makes of it) with the student's answer (and
    the extra arguments the exercise
    names, e.g. the chapter's model) prints one line and returns True if right.

    Args:
        doc: the exercise label and question, shown by ``help``.
        what: the quantity asked for, e.g. "the output size" (used in messages).
        solve: computes the right value and the common slips ``(value, hint)``
            from the package, given the extra arguments.
        hint: shown for any other wrong number; never the answer.
        rel_tol: relative tolerance for a right answer.
        whole: the answer is a whole number (a count, a size, an index).
    """

    doc: str
    what: str
    solve: Callable[..., Solution]
    hint: str
    rel_tol: float = 1e-6
    whole: bool = False

    def __call__(self, answer: Any, *context: Any) -> bool:
        value = as_number(answer, self.what, whole=self.whole)
        if value is None:
            return False
        expected, slips = self.solve(*context)
        if same_number(value, expected, self.rel_tol):
            return report(True, self.hint)
        for slip, slip_hint in slips:
            if same_number(value, slip, self.rel_tol):
                return report(False, slip_hint)
        return report(False, self.hint)

    def function(self, name: str) -> Callable[..., bool]:
        """This check as a plain function called ``name`` with :attr:`doc` as its docstring."""

        def check(answer: Any, *context: Any) -> bool:
            return self(answer, *context)

        check.__name__ = check.__qualname__ = name
        check.__doc__ = self.doc
        check.__module__ = "vgg_lessons.exercises"
        return check


def meta_parameter_count(build: Callable[[], nn.Module]) -> int:
    """Parameters of the module ``build()`` makes, built on the meta device (shapes only)."""
    with torch.device("meta"):
        return sum(p.numel() for p in build().parameters())
