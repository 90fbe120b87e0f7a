"""A request's time budget: a deadline checked between the stages of a search or an answer.

A stage that has started runs to its end (a model call cannot be cut short), so a request may
overrun its budget by one stage; what the deadline stops is the work after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.errors import OverBudgetError


@dataclass(frozen=True)
class Deadline:
    """The clock reading by which the work must be done; `at` None means no limit."""

    at: float | None = None
    seconds: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def after(cls, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline `seconds` from now on clock; None or 0: no limit."""
        if not seconds:
            return cls(clock=clock)
        return cls(clock() + seconds, seconds, clock)

    def check(self, stage: str) -> None:
        """Raise OverBudgetError if the deadline has passed; stage names the work done so far."""
        if self.at is not None and self.clock() > self.at:
            raise OverBudgetError(
                f"the request ran past its {self.seconds:g} s time budget after {stage}; "
                "its work was stopped: try again, or narrow it with filters"
            )


NO_DEADLINE = Deadline()
