"""`pachflow gen-paysim`: write PaySim1-format data (for demos, tests and benchmarks)."""

from __future__ import annotations

import time
from pathlib import Path

import click

# The generator (numpy, pyarrow) is imported when the command runs, not at pachflow start-up.

#: Below this many rows the run takes well under a second: no progress lines.
PROGRESS_FROM_ROWS = 1_000_000


class _Progress:
    """Progress lines on stderr, at most one per ~10 % of the rows."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.next_share = 0.1

    def __call__(self, done: int, rows: int) -> None:
        if done < rows and done / rows < self.next_share:
            return
        self.next_share = done / rows + 0.1
        elapsed = time.monotonic() - self.started
        click.echo(f"gen-paysim: {done:,}/{rows:,} rows ({elapsed:.1f} s)", err=True)


def _non_negative(name: str, value: int) -> int:
    if value < 0:
        raise click.BadParameter(f"must be >= 0, got {value}", param_hint=name)
    return value


@click.command("gen-paysim")
@click.option("--rows", type=int, required=True, help="Data rows to write (real file: 6362620).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output file: .csv, or .csv.gz for gzip. Written whole or not at all.",
)
@click.option(
    "--customers",
    type=int,
    default=None,
    help="Draw origins from a pool of K customers so customers repeat "
    "(default: near-unique origins, as in the real file).",
)
@click.option(
    "--java-notation",
    is_flag=True,
    help="Write values >= 1e7 as Java does (1.0E7, 1.23456789E7).",
)
def gen_paysim(rows: int, seed: int, out: Path, customers: int | None, java_notation: bool) -> None:
    """Write ROWS PaySim1-like transactions to OUT.

    Same header and number formatting as Kaggle's PaySim1 log
    (PS_20174392719_1491204439457_log.csv), rows sorted by step 1..743, similar
    statistics: type shares, ~0.13 % fraud as TRANSFER + CASH_OUT pairs, balance
    arithmetic, merchant (M) destinations for PAYMENT. Prints a summary line on stdout.
    """
    from pachflow_paysim.generator import check_out_path, write_paysim

    _non_negative("--rows", rows)
    _non_negative("--seed", seed)
    if customers is not None and customers < 1:
        raise click.BadParameter(f"must be >= 1, got {customers}", param_hint="--customers")
    try:
        check_out_path(out)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from exc
    if not out.parent.is_dir():
        raise click.BadParameter(f"folder {out.parent} does not exist", param_hint="--out")
    if out.exists() and out.is_dir():
        raise click.BadParameter(f"{out} is a directory", param_hint="--out")
    progress = _Progress() if rows >= PROGRESS_FROM_ROWS else None
    summary = write_paysim(
        out, rows, seed, customers=customers, java_notation=java_notation, progress=progress
    )
    click.echo(summary.line())
