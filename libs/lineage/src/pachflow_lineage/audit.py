"""Checks with a verdict, shared by `lineage verify` and `pachflow reproduce`: a list of
named items, each OK or not, printed as a table or JSON; exit 1 when any item fails."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Check:
    item: str  # what was compared, e.g. "input etl@<id>: dataset digest"
    ok: bool
    expected: str = ""
    found: str = ""
    note: str = ""


@dataclass
class Verdict:
    subject: str
    title: str  # "verified" / "reproduced": what `ok` means
    checks: list[Check] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)

    def add(self, item: str, ok: bool, expected: Any = "", found: Any = "", note: str = "") -> None:
        self.checks.append(Check(item, ok, str(expected), str(found), note))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> str:
        data = {
            "subject": self.subject,
            "verdict": self.title if self.ok else f"not {self.title}",
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
            "info": self.info,
        }
        return json.dumps(data, indent=2) + "\n"

    def to_table(self) -> str:
        lines = [f"{self.subject}"]
        lines += [f"  {k}: {v}" for k, v in self.info.items()]
        width = max((len(c.item) for c in self.checks), default=10)
        for c in self.checks:
            mark = "ok      " if c.ok else "MISMATCH"
            detail = "" if c.ok else f"  expected {c.expected or '-'}, found {c.found or '-'}"
            note = f"  ({c.note})" if c.note else ""
            lines.append(f"  {mark} {c.item.ljust(width)}{detail}{note}")
        verdict = self.title.upper() if self.ok else f"NOT {self.title.upper()}"
        lines.append(
            f"{verdict}: {len(self.checks) - len(self.failed)} of {len(self.checks)} checks ok"
        )
        return "\n".join(lines) + "\n"
