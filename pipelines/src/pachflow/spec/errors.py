"""SpecError: one or more problems with pipeline specs, each line naming file and field."""

from __future__ import annotations

from collections.abc import Sequence


class SpecError(ValueError):
    """Raised with every problem found; str() is one problem per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
