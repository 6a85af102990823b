"""Cron ticks as pachd makes them (src/server/pps/server/monitor.go): each tick is one
commit on the cron input's repo (master) adding an empty file named by the tick's time in
RFC 3339 (e.g. `2025-01-07T17:46:00Z`); with `overwrite` the commit holds only that file.
The next tick is the schedule's next time after the newest tick in the repo, or after
`start` when that is later or the repo has no tick (start defaults to now).

Locally time does not pass between ticks: `pachflow run --cron-ticks N` makes N ticks
one after the other, each followed by a run, as N real ticks would each start a job.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pachflow.local.specs import CronInput, LocalSpec
from pachflow.pipeline_spec.cronspec import parse_schedule
from pachflow_store import ORIGIN_USER, CommitRef, Store, new_id


def rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339 for a UTC time: seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def next_tick(store: Store, cron: CronInput, now: datetime) -> datetime:
    start = _parse_time(cron.start) if cron.start else now
    latest = start
    head = store.head(cron.repo)
    if head is not None:
        names = [path.lstrip("/") for path in store.manifest(CommitRef(cron.repo, head))]
        ticks = [_parse_time(n) for n in names if n]
        if ticks and max(ticks) > latest:
            latest = max(ticks)
    return parse_schedule(cron.spec)(latest)


def tick(store: Store, cron: CronInput, now: datetime | None = None) -> CommitRef:
    """One tick of `cron`: a new commit on its repo with the tick's empty file."""
    moment = next_tick(store, cron, now or datetime.now(UTC))
    with store.writing_blobs():
        empty = store.blobs.put_bytes(b"")
        with store.transaction() as tx:
            head = store.head(cron.repo)
            manifest = (
                {} if cron.overwrite or head is None else store.manifest(CommitRef(cron.repo, head))
            )
            manifest = {**manifest, "/" + rfc3339(moment): empty}
            return store.insert_commit(
                tx, CommitRef(cron.repo, new_id()), manifest, [], ORIGIN_USER
            )


def tick_all(store: Store, specs: list[LocalSpec]) -> list[CommitRef]:
    """One tick of every cron input of every spec."""
    return [tick(store, cron) for spec in specs for cron in spec.crons]
