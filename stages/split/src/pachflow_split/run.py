"""Splitting one source file: read, check, (sample), write a layout, quarantine, summarise."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from pachflow_paysim.checked import SHOW_PROBLEMS, Counts, checked_batches
from pachflow_paysim.reader import DEFAULT_BLOCK_BYTES, source_stem
from pachflow_paysim.rules import Checked, Problem
from pachflow_split.sampling import CustomerSampler, Sample
from pachflow_split.writers import CustomerWriter, RejectWriter, ShardWriter
from pachflow_stagekit import BadInput, progress

STAGE = "split"
#: A progress line on stderr every this many rows (Pachyderm shows them as datum logs).
REPORT_EVERY = 1_000_000


@dataclass(frozen=True)
class Settings:
    shards: int = 16
    per_customer: bool = False
    sample: int | None = None
    seed: int = 0
    max_reject_ratio: float | None = None
    block_bytes: int = DEFAULT_BLOCK_BYTES


def _checked_batches(path: Path, settings: Settings, counts: Counts) -> Iterator[Checked]:
    """Valid rows batch by batch; in strict mode the first bad row stops everything."""
    return checked_batches(
        path,
        settings.block_bytes,
        counts,
        strict=settings.max_reject_ratio is None,
        hint=" (use --max-reject-ratio to quarantine bad rows instead)",
    )


def split_source(path: Path, staging: Path, settings: Settings) -> dict[str, Any]:
    """Write every output of one source into `staging`; return its summary."""
    started = time.monotonic()
    stem = source_stem(path)
    sample: Sample | None = None
    if settings.sample is not None:
        sampler = CustomerSampler(settings.sample, settings.seed)
        for checked in _checked_batches(path, settings, Counts()):
            sampler.observe(checked.typed)
        sample = sampler.result()
        progress(
            STAGE,
            f"{path.name}: sample of {len(sample.customers)} customers "
            f"({sample.fraud_customers} with fraud, all kept)",
        )

    layout = (
        CustomerWriter(staging, stem)
        if settings.per_customer
        else ShardWriter(staging, stem, settings.shards)
    )
    rejects = RejectWriter(staging / "_rejects" / f"{stem}.csv")
    counts = Counts()
    written, next_report = 0, REPORT_EVERY
    first_problems: list[Problem] = []
    for checked in _checked_batches(path, settings, counts):
        for line, problems, row in checked.rejected:
            rejects.add_problems(line, problems, row)
            if len(first_problems) < SHOW_PROBLEMS:
                first_problems.extend(problems[: SHOW_PROBLEMS - len(first_problems)])
        typed, strings = checked.typed, checked.good_strings
        if sample is not None and typed.num_rows:
            keep = pc.is_in(typed.column("nameOrig"), value_set=sample.customers)
            typed, strings = typed.filter(keep), strings.filter(keep)
        layout.write(typed, strings)
        written += typed.num_rows
        if counts.rows_read >= next_report:
            progress(STAGE, f"{path.name}: {counts.rows_read:,} rows read")
            next_report += REPORT_EVERY
    files = layout.close()
    rejects.close()
    counts.rows_rejected = rejects.count

    if counts.rows_rejected:
        ratio = counts.rows_rejected / counts.rows_read
        limit = settings.max_reject_ratio
        if limit is not None and ratio > limit:
            shown = "; ".join(p.describe() for p in first_problems)
            raise BadInput(
                f"{path}: {counts.rows_rejected} of {counts.rows_read} rows rejected "
                f"({ratio:.2%}), above --max-reject-ratio {limit}: {shown}"
            )

    seconds = time.monotonic() - started
    # Reproducible by construction: the summary is part of the output commit, so it holds
    # nothing that differs between two runs of the same data (no absolute datum path, no
    # timings; those go to the progress line only).
    summary = {
        "source": path.name,
        "layout": "per-customer" if settings.per_customer else "shards",
        "shards": None if settings.per_customer else settings.shards,
        "rows_read": counts.rows_read,
        "rows_written": written,
        "rows_rejected": counts.rows_rejected,
        "blank_lines": counts.blank_lines,
        "files_written": len(files),
        "rejects_file": f"_rejects/{stem}.csv" if counts.rows_rejected else None,
        "sample": None
        if sample is None
        else {
            "customers": settings.sample,
            "seed": settings.seed,
            "customers_kept": len(sample.customers),
            "fraud_customers_kept": sample.fraud_customers,
            "other_customers_kept": sample.other_customers,
        },
    }
    out = staging / "_summary" / f"{stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    progress(STAGE, describe(summary, seconds))
    return summary


def describe(summary: dict[str, Any], seconds: float) -> str:
    layout = (
        f"{summary['shards']} shards" if summary["layout"] == "shards" else "one CSV per customer"
    )
    text = (
        f"{summary['source']}: read {summary['rows_read']} rows, wrote "
        f"{summary['rows_written']}, rejected {summary['rows_rejected']} ({layout}, "
        f"{summary['files_written']} files) in {seconds:.1f} s "
        f"({round(summary['rows_read'] / seconds) if seconds > 0 else 0:,} rows/s)"
    )
    if summary["sample"]:
        s = summary["sample"]
        text += (
            f"; sample seed {s['seed']}: {s['customers_kept']} customers kept, "
            f"{s['fraud_customers_kept']} of them with fraud"
        )
    return text
