"""How an exercise check reads an answer and says right or wrong (private to ``exercises``).

A student's answer may be a Python number, a numpy or torch scalar, a 0-d or
one-element array, or still the placeholder ``...`` of the student edition. The
helpers here turn all of those into one float (or say in one line why not), and
:class:`NumberCheck` is one row of the exercise table: what is asked, how to
compute the right answer from the package, the common slips and the hint.
"""

from __future__ import annotations

import inspect
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
        if getattr(answer, "is_meta", False):
            raise ValueError(
                "got a tensor on the meta device, which holds shapes but no values; "
                "compute it on the CPU"
            )
        return answer.item()
    return answer


def as_number(
    answer: Any, what: str = "the answer", *, whole: bool = False
) -> float | int | None:
    """``answer`` as a float, or None after printing one line that says what is wrong.

    Accepts ints, floats, numpy and torch scalars and 0-d / one-element arrays.
    Rejects (with a message) the placeholder ``...``, text, booleans, larger
    arrays, meta tensors, NaN, infinities, numbers too large for a float and, when
    ``whole``, numbers with a fractional part.
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
    try:
        number = float(value)
    except OverflowError:  # only an int can be too large for a float
        print(
            f"{WRONG} {what.capitalize()} is far too large to be right ({_digits(int(value))})."
        )
        return None
    if not math.isfinite(number):
        print(f"{WRONG} {what.capitalize()} is not a finite number, got {value!r}.")
        return None
    if whole and not number.is_integer():
        print(f"{WRONG} {what.capitalize()} is a whole number (no fractional part).")
        return None
    return int(value) if whole else number


def _digits(value: int) -> str:
    """How many digits a whole number has, as text ("a number of 401 digits")."""
    return f"a number of {len(str(abs(value)))} digits"


def as_whole_numbers(answer: Any, what: str) -> list[int] | None:
    """A tuple, list, ``torch.Size`` or 1-d array of whole numbers as ints, or None.

    None comes after one printed line that says what is wrong.
    """
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
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
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

    Calling it (or the function :meth:`function` makes of it) with the student's
    answer (and the extra arguments the exercise names, e.g. the chapter's model)
    prints one line and returns True if right.

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

    def __call__(self, answer: Any, *context: Any, name: str = "check") -> bool:
        read = self.read(answer, context, name)
        if read is None:
            return False
        value, (expected, slips) = read
        if self.matches(value, expected):
            return report(True, self.hint)
        for slip, slip_hint in slips:
            if self.matches(value, slip):
                return report(False, slip_hint)
        return report(False, self.hint)

    def read(
        self, answer: Any, context: tuple[Any, ...], name: str
    ) -> tuple[float, Solution] | None:
        """The answer as a number and the right value with its slips, or None after one
        printed line saying what was wrong (the answer, or the extra arguments)."""
        value = as_number(answer, self.what, whole=self.whole)
        if value is None:
            return None
        solution = self.solution(*context, name=name)
        if solution is None:
            return None
        return value, solution

    def matches(self, value: float, target: float) -> bool:
        """Whether ``value`` counts as ``target``: equal for whole numbers, else within rel_tol."""
        if self.whole:
            return value == target
        return same_number(value, target, self.rel_tol)

    def solution(self, *context: Any, name: str = "check") -> Solution | None:
        """The right value and the slips, or None after one line saying what was wrong.

        The extra arguments (a model, images) are checked before use, so a missing or
        wrong one is named in one line rather than a traceback from inside torch.
        """
        params = list(inspect.signature(self.solve).parameters)
        if len(context) != len(params):
            print(
                f"{WRONG} Call it as {name}({', '.join(['answer', *params])}): "
                f"it got {len(context)} argument(s) after the answer."
            )
            return None
        try:
            return self.solve(*context)
        except (TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            print(
                f"{WRONG} Could not compute the right answer from the "
                f"{' and '.join(params)} given ({type(err).__name__}: {first}); pass "
                "the chapter's own."
            )
            return None

    def function(self, name: str) -> Callable[..., bool]:
        """This check as a plain function called ``name`` with :attr:`doc` as its docstring."""

        def check(answer: Any, *context: Any) -> bool:
            return self(answer, *context, name=name)

        def solution(*context: Any) -> float:
            """The right value (for tests: it must not be printed before the exercise)."""
            return self.solve(*context)[0]

        check.__name__ = check.__qualname__ = name
        check.__doc__ = self.doc
        check.__module__ = "vgg_lessons.exercises"
        # the row itself, for tests (the solution, the tolerance)
        check.number_check = self  # type: ignore[attr-defined]
        check.solution = solution  # type: ignore[attr-defined]
        return check


def meta_parameter_count(build: Callable[[], nn.Module]) -> int:
    """Parameters of the module ``build()`` makes, built on the meta device (shapes only)."""
    with torch.device("meta"):
        return sum(p.numel() for p in build().parameters())


#: The bands :func:`how_far_off` names: (upper bound of value / right value, words).
OFF_BANDS = (
    (1.2, "less than 20%"),
    (1.5, "between 20% and 50%"),
    (2.0, "between 50% and 2 times"),
    (10.0, "between 2 and 10 times"),
    (math.inf, "more than 10 times"),
)


def how_far_off(value: float, expected: float) -> str:
    """Words for how far an estimate is from the right value, never the value itself.

    Names a band wide enough that the right value cannot be worked back from it
    ("between 20% and 50% too high", "more than 10 times too low"), or says that the
    estimate has the wrong sign.
    """
    if expected == 0 or value == 0 or (value > 0) != (expected > 0):
        return "of the wrong sign or zero"
    ratio = value / expected
    direction = "high" if ratio > 1 else "low"
    factor = ratio if ratio > 1 else 1 / ratio
    words = next(words for bound, words in OFF_BANDS if factor <= bound)
    return f"{words} too {direction}"


@dataclass(frozen=True)
class EstimateCheck(NumberCheck):
    """An open exercise whose answer is an estimate: right within ``rel_tol``, and a wrong
    answer is told how far off it is (``how_far_off``), never the right value.

    ``rel_tol`` is the share of the right value an estimate may miss by (0.1: 10%);
    with ``factor`` set instead, an estimate within that factor of the right value
    passes (for quantities that span orders of magnitude).
    """

    factor: float | None = None

    def __call__(self, answer: Any, *context: Any, name: str = "check") -> bool:
        read = self.read(answer, context, name)
        if read is None:
            return False
        value, (expected, slips) = read
        if self.factor is not None:
            ok = (
                value * expected > 0
                and 1 / self.factor <= value / expected <= self.factor
            )
            within = f"a factor of {self.factor:g}"
        else:
            ok = math.isclose(value, expected, rel_tol=self.rel_tol)
            within = f"{100 * self.rel_tol:g}%"
        if ok:
            return report(True, self.hint, praise=f"Correct: within {within}.")
        for slip, slip_hint in slips:
            if same_number(value, slip, 1e-3):
                return report(False, slip_hint)
        return report(
            False,
            f"your estimate is {how_far_off(value, expected)} (within {within} counts); "
            f"{self.hint}",
        )
