"""`pachflow-split [OPTIONS] INPUT_DIR OUTPUT_DIR`: the first pipeline stage."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import click

from pachflow_paysim.reader import DEFAULT_BLOCK_MB, MAX_BLOCK_MB, SUFFIXES, source_stem
from pachflow_split.run import STAGE, Settings, split_source
from pachflow_stagekit import (
    BadInput,
    atomic_fresh_output,
    check_output_dir,
    find_files,
    progress,
    terminate_cleanly,
)
from pachflow_stagekit.options import env_options

#: split's options each read PACHFLOW_SPLIT_<OPTION> (--block-mb: PACHFLOW_SPLIT_BLOCK_MB).
option = env_options("PACHFLOW_SPLIT")


def _check_unique_stems(paths: list[Path], root: Path) -> None:
    """Outputs are keyed by source stem: `a.csv` and `a.csv.gz` would write the same files."""
    by_stem: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_stem[source_stem(path)].append(str(path.relative_to(root)))
    clashes = {stem: names for stem, names in by_stem.items() if len(names) > 1}
    if clashes:
        stem, names = sorted(clashes.items())[0]
        raise BadInput(
            f"input files {', '.join(names)} under {root} share the name {stem!r}; their "
            f"outputs would collide (expected one file per name, .csv or .csv.gz)"
        )


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    epilog="Exit codes: 0 ok, 2 bad input or usage (one line on stderr), 1 anything else.",
)
@option(
    "--shards",
    type=click.IntRange(1, 1000),
    default=16,
    help="Number of shards; a row goes to shard fnv1a64(nameOrig) % N.",
)
@click.option(
    "--per-customer",
    is_flag=True,
    help="Instead of shards, write <nameOrig>/<source>.csv per customer (PaySim CSV rows as "
    "read; for small inputs).",
)
@option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="Keep a reproducible sample of N customers per source file: every fraud customer "
    "plus random others up to N.",
)
@option("--seed", type=int, default=0, help="Seed of --sample.")
@option(
    "--max-reject-ratio",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Quarantine bad rows to _rejects/<source>.csv and fail only if more than this share "
    "of a file's rows is bad (default: fail on the first bad value).",
)
@option(
    "--block-mb",
    type=click.IntRange(1, MAX_BLOCK_MB),
    default=DEFAULT_BLOCK_MB,
    help="CSV read block (MB of text per batch): bounds memory.",
)
@click.argument("input_dir", type=click.Path(path_type=Path))
@click.argument("output_dir", type=click.Path(path_type=Path))
def main(
    input_dir: Path,
    output_dir: Path,
    shards: int,
    per_customer: bool,
    sample: int | None,
    seed: int,
    max_reject_ratio: float | None,
    block_mb: int,
) -> None:
    """Split raw PaySim CSV files into customer-stable Parquet shards.

    Reads every .csv and .csv.gz under INPUT_DIR (PaySim1 header and values, checked; CRLF
    and Java notation such as 1.0E7 accepted), streaming. Writes to OUTPUT_DIR, per source
    file <stem>: shard=NN/<stem>.parquet (contract transactions v1; all of a customer's
    rows in one shard; all N shard files always written), _summary/<stem>.json and, with
    --max-reject-ratio, _rejects/<stem>.csv. Output is all or nothing.
    """
    terminate_cleanly()
    check_output_dir(output_dir)
    sources = find_files(input_dir, SUFFIXES, "PaySim CSV files")
    _check_unique_stems(sources, input_dir)
    settings = Settings(
        shards=shards,
        per_customer=per_customer,
        sample=sample,
        seed=seed,
        max_reject_ratio=max_reject_ratio,
        block_bytes=block_mb << 20,
    )
    progress(STAGE, f"{len(sources)} source file(s) under {input_dir} -> {output_dir}")
    with atomic_fresh_output(output_dir) as staging:
        for path in sources:
            split_source(path, staging, settings)
