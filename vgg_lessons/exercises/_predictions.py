"""Checks for open-ended exercises: the student predicts a measurement (private).

A prediction is right when it lies within a tolerance of the measurement; when it
does not, the check says by how much it is off and in which direction (rounded to
the tolerance), so the student can revise the reasoning. The measurement itself is
never printed: the exercise's own code cell measures it after the prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vgg_lessons.exercises._checking import RIGHT, WRONG, as_number


@dataclass(frozen=True)
class PredictionCheck:
    """One open-ended exercise whose prediction is checked against a measurement.

    Unlike an estimate of a computed value (``_checking.EstimateCheck``, a relative
    tolerance), a prediction of a measurement (an accuracy, a fraction of zeros) is
    judged with an absolute tolerance in the answer's own units.

    Args:
        doc: the exercise label and question, shown by ``help``.
        what: the quantity predicted, e.g. "the accuracy in percent".
        measure: computes the measured value from the extra arguments the exercise
            names (the chapter's model, its images).
        tolerance: how far a prediction may lie from the measurement, in the answer's
            units, and still count as right.
        unit: printed after a distance, e.g. " points" or "".
        hint: what to reason about when the prediction is off; never the answer.
    """

    doc: str
    what: str
    measure: Callable[..., float]
    tolerance: float
    unit: str
    hint: str

    def __call__(self, answer: Any, *context: Any) -> bool:
        value = as_number(answer, self.what)
        if value is None:
            return False
        off = value - self.measure(*context)
        if abs(off) <= self.tolerance:
            print(
                f"{RIGHT} Within {self._amount(self.tolerance)} of the measurement: "
                "a good prediction."
            )
            return True
        steps = max(round(abs(off) / self.tolerance), 1) * self.tolerance  # rounded
        print(
            f"{WRONG} Not yet: about {self._amount(steps)} too "
            f"{'high' if off > 0 else 'low'}. Hint: {self.hint}"
        )
        return False

    def _amount(self, value: float) -> str:
        """``value`` with the unit, singular for exactly 1 (" points" -> "1 point")."""
        unit = self.unit[:-1] if value == 1 and self.unit.endswith("s") else self.unit
        return f"{value:g}{unit}"

    def function(self, name: str) -> Callable[..., bool]:
        """This check as a plain function called ``name`` with :attr:`doc` as its docstring."""

        def check(answer: Any, *context: Any) -> bool:
            return self(answer, *context)

        def solution(*context: Any) -> float:
            """The measured value (for tests: it must not be printed before the exercise)."""
            return self.measure(*context)

        check.__name__ = check.__qualname__ = name
        check.__doc__ = self.doc
        check.__module__ = "vgg_lessons.exercises"
        check.solution = solution  # type: ignore[attr-defined]
        check.prediction_check = self  # type: ignore[attr-defined]  # for tests
        return check
