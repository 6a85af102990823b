"""Reading one PaySim CSV file as checked, typed batches: the one way every consumer of raw
PaySim rows (split before training, score before scoring) parses and validates them, so
training and scoring see the same rows for the same file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pachflow_paysim.reader import read_batches
from pachflow_paysim.rules import Checked, Problem, check_batch
from pachflow_stagekit import BadInput

#: How many bad values an error message lists.
SHOW_PROBLEMS = 5


@dataclass
class Counts:
    rows_read: int = 0
    rows_rejected: int = 0
    blank_lines: int = 0


def checked_batches(
    path: Path, block_bytes: int, counts: Counts, strict: bool = True, hint: str = ""
) -> Iterator[Checked]:
    """Valid rows batch by batch (`Checked.typed`: contract `transactions` types).

    `strict`: the first block with a bad row raises BadInput naming file, line, column,
    value and what was expected (`hint` is appended, e.g. how to quarantine instead);
    otherwise each batch's `rejected` lists the bad rows (malformed ones included) in line
    order. Blank lines are counted in `counts`, never rejected.
    """
    for raw in read_batches(path, block_bytes):
        checked = check_batch(raw.table, raw.lines, prechecked=raw.lines_ok)
        rejected = [
            (m.line, [Problem(m.line, "", m.text, f"11 fields, found {m.fields}")], m.text)
            for m in raw.malformed
        ]
        rejected = sorted(rejected + checked.rejected, key=lambda r: r[0])
        counts.blank_lines += checked.blank_lines
        counts.rows_read += raw.table.num_rows - checked.blank_lines + len(raw.malformed)
        if rejected and strict:
            problems = [p for _, probs, _ in rejected for p in probs]
            shown = "; ".join(p.describe() for p in problems[:SHOW_PROBLEMS])
            more = len(problems) - SHOW_PROBLEMS
            raise BadInput(
                f"{path}: bad value at {shown}"
                + (f" (and {more} more in this block)" if more > 0 else "")
                + hint
            )
        checked.rejected = rejected
        yield checked
