"""Cron input schedules as pachd reads them (src/internal/cronutil: robfig/cron v1
ParseStandard plus `@never`): five fields (minute hour day-of-month month day-of-week),
the descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly, and
`@every <Go duration>`. pachd rejects any other spec at CreatePipeline."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from croniter import croniter

NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # cronutil.Year9999

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")

Schedule = Callable[[datetime], datetime]  # the next tick strictly after a time


class CronSpecError(ValueError):
    pass


def go_duration_s(text: str) -> float:
    """Go's time.ParseDuration, in seconds (e.g. "1h30m", "90s", "1.5h")."""
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(body):
        found = _GO_DURATION.match(body, pos)
        if found is None:
            raise CronSpecError(f"time: invalid duration {text!r}")
        total += float(found.group(1)) * _GO_UNITS[found.group(2)]
        pos = found.end()
    if not body:
        raise CronSpecError(f"time: invalid duration {text!r}")
    return sign * total


def parse_schedule(spec: str) -> Schedule:
    """The schedule of a cron input's `spec`; CronSpecError (pachd: "error parsing
    cron-spec") when pachd would reject it."""
    text = spec.strip()
    if text == "@never":
        return lambda _after: NEVER
    if text.startswith("@every "):
        # robfig: at least one second, whole seconds; the next tick is after + delay
        # with the sub-second part of `after` dropped
        delay = max(1, int(go_duration_s(text.removeprefix("@every ").strip())))
        return lambda after: after.replace(microsecond=0) + timedelta(seconds=delay)
    expression = _DESCRIPTORS.get(text, text)
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        raise CronSpecError(
            f"error parsing cron-spec {spec!r}: expected 5 fields (minute hour "
            "day-of-month month day-of-week), a descriptor like @hourly, @every <duration> "
            "or @never"
        )
    return lambda after: croniter(expression, after).get_next(datetime)
