"""A vectorised, streaming generator of PaySim1-like transactions.

How the rows come about (numbers in pachflow_paysim.distributions):
- A plan fixes, per step 1..743, how many genuine rows and how many fraud pairs it holds
  (genuine volume follows a day/night cycle and thins out after step 403; fraud is spread
  evenly over all steps, as in the real file). Rows are written sorted by step.
- Genuine rows are drawn per chunk: type by the real shares, amount log-normal per type,
  balances by the real zero shares and PaySim's arithmetic (outflows: new = max(0, old -
  amount); CASH_IN adds). PAYMENT goes to a merchant `M...` whose balances stay 0.
- Fraud, per step: a victim's account is emptied by TRANSFERs to mule accounts in chunks
  of at most 10,000,000, each followed at once (same step) by the mule's CASH_OUT of the
  same amount; a few (0.3 %) are logged with a 0 -> 0 origin balance, as in the real file.
  A few large fraudulent TRANSFERs are flagged (isFlaggedFraud=1): they were
  blocked, so the origin balance is left unchanged and the destination shows 0 -> 0.

Randomness is keyed, never sequential: the plan by (seed), genuine rows by (seed, block of
50,000 rows), a step's fraud by (seed, step). So output is identical for the same seed and
rows whatever the chunk size or number of workers, and each chunk needs only its own rows
in memory.
"""

from __future__ import annotations

import gzip
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from pachflow_paysim import distributions as m
from pachflow_paysim.format import COLUMNS, HEADER, MAX_STEP, TYPES
from pachflow_paysim.render import PaySimRows

#: Rows generated and formatted at a time: bounds memory (peak RSS ~230 MB with 2 workers).
DEFAULT_CHUNK_ROWS = 100_000
#: Genuine rows are drawn in fixed blocks keyed by block number, so the bytes do not depend
#: on the chunk size (nor on the number of workers).
GENUINE_BLOCK_ROWS = 50_000
#: gzip level for `.csv.gz`: fast; the output is for demos and tests, not archiving.
GZIP_LEVEL = 1
SUFFIXES = (".csv.gz", ".csv")

# Keys that separate the random streams (see the module docstring).
_PLAN, _GENUINE, _FRAUD, _SALTS = 1, 2, 3, 4

_MONEY_FIELDS = ("amount", "old_org", "new_orig", "old_dest", "new_dest")


@dataclass(frozen=True)
class PaySimChunk(PaySimRows):
    """One chunk of generated rows: its number and the number of its first row."""

    index: int
    first_row: int

    def to_columns(self) -> dict[str, np.ndarray]:
        """The rows under the PaySim column names, with the values the CSV shows."""
        orig = np.char.add("C", self.name_orig.astype(str))
        dest = np.char.add(np.where(self.dest_is_merchant, "M", "C"), self.name_dest.astype(str))
        values = (
            self.step.astype(np.int64),
            np.asarray(TYPES)[self.type_code],
            self.amount / 100.0,
            orig,
            self.old_org / 100.0,
            self.new_orig / 100.0,
            dest,
            self.old_dest / 100.0,
            self.new_dest / 100.0,
            self.is_fraud.astype(np.int64),
            self.is_flagged.astype(np.int64),
        )
        return dict(zip(COLUMNS, values, strict=True))


@dataclass(frozen=True)
class GenSummary:
    """What write_paysim produced."""

    path: Path
    rows: int
    frauds: int
    flagged: int
    chunks: int
    bytes: int
    seconds: float

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return (
            f"wrote {self.path}: {self.rows} rows, {self.frauds} frauds, {self.flagged} flagged, "
            f"{self.bytes} bytes in {self.seconds:.2f} s ({rate:,.0f} rows/s)"
        )


@dataclass(frozen=True)
class _Plan:
    genuine: np.ndarray  # genuine rows per step (index 0 = step 1)
    pairs: np.ndarray  # fraud (TRANSFER, CASH_OUT) pairs per step
    starts: np.ndarray  # first row of each step; starts[-1] == rows


def _plan(rows: int, seed: int) -> _Plan:
    pairs_total = min(round(rows * m.FRAUD_PAIRS_PER_ROW), rows // 2)
    rng = np.random.default_rng([seed, _PLAN])
    genuine = rng.multinomial(rows - 2 * pairs_total, m.step_weights())
    pairs = rng.multinomial(pairs_total, np.full(MAX_STEP, 1.0 / MAX_STEP))
    starts = np.concatenate([[0], np.cumsum(genuine + 2 * pairs)])
    return _Plan(genuine=genuine, pairs=pairs, starts=starts)


@dataclass(frozen=True)
class _Ids:
    """Where account ids come from: random (near-unique) or from fixed pools."""

    customers: int | None
    customer_salt: int
    dest_pool: int
    dest_salt: int

    @classmethod
    def make(cls, rows: int, seed: int, customers: int | None) -> _Ids:
        salts = np.random.default_rng([seed, _SALTS]).integers(0, m.ID_SPACE, 2)
        dest_pool = max(1, round(rows * m.DEST_POOL_PER_ROW))
        return cls(customers, int(salts[0]), dest_pool, int(salts[1]))

    def origins(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.customers is None:
            return rng.integers(0, m.ID_SPACE, n)
        return m.pool_ids(rng.integers(0, self.customers, n), self.customer_salt)

    def customer_dests(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # With a customer pool, customers pay each other: destinations come from it too.
        if self.customers is not None:
            return m.pool_ids(rng.integers(0, self.customers, n), self.customer_salt)
        return m.pool_ids(rng.integers(0, self.dest_pool, n), self.dest_salt)


def _cents(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.rint(values * m.CENTS), dtype=np.int64)


def _lognormal_cents(
    rng: np.random.Generator, log_median: float, sigma: float, n: int
) -> np.ndarray:
    return _cents(np.minimum(np.exp(log_median + sigma * rng.standard_normal(n)), m.BALANCE_MAX))


def _genuine(rng: np.random.Generator, n: int, ids: _Ids) -> dict[str, np.ndarray]:
    t = np.minimum(np.searchsorted(m.GENUINE_TYPE_CDF, rng.random(n), side="right"), 4)
    t = t.astype(np.int8)
    amount = np.exp(m.AMOUNT_LOG_MEDIAN[t] + m.AMOUNT_SIGMA[t] * rng.standard_normal(n))
    amount = np.maximum(_cents(np.minimum(amount, m.AMOUNT_MAX[t])), 1)

    ratio = np.exp(m.RATIO_LOG_MU[t] + m.RATIO_SIGMA[t] * rng.standard_normal(n))
    old_org = np.rint(np.minimum(amount * ratio, m.ORIG_BALANCE_MAX * m.CENTS)).astype(np.int64)
    old_org[rng.random(n) < m.P_ZERO_OLD_ORG[t]] = 0
    cash_in = t == m.CASH_IN
    new_orig = np.where(cash_in, old_org + amount, np.maximum(old_org - amount, 0))

    merchant = t == m.PAYMENT
    name_dest = np.where(merchant, rng.integers(0, m.ID_SPACE, n), ids.customer_dests(rng, n))
    old_dest = _lognormal_cents(rng, m.DEST_LOG_MEDIAN, m.DEST_SIGMA, n)
    u = rng.random(n)
    old_dest[u < m.P_ZERO_OLD_DEST[t]] = 0
    noise = _lognormal_cents(rng, m.DEST_NOISE_LOG_MEDIAN, m.DEST_NOISE_SIGMA, n)
    noise[rng.random(n) >= m.P_DEST_NOISE] = 0
    new_dest = np.where(cash_in, np.maximum(old_dest - amount, 0), old_dest + amount + noise)
    # A few receivers stay 0 -> 0 (a subset of the zero-old ones); merchants always do.
    new_dest[(u < m.P_GENUINE_DEST_ZERO_ZERO) | merchant] = 0
    return {
        "type_code": t,
        "amount": amount,
        "name_orig": ids.origins(rng, n),
        "old_org": old_org,
        "new_orig": new_orig,
        "dest_is_merchant": merchant,
        "name_dest": name_dest,
        "old_dest": old_dest,
        "new_dest": new_dest,
        "is_fraud": np.zeros(n, dtype=np.int8),
        "is_flagged": np.zeros(n, dtype=np.int8),
    }


def _interleave(transfer: np.ndarray, cash_out: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(transfer), dtype=np.result_type(transfer, cash_out))
    out[0::2] = transfer
    out[1::2] = cash_out
    return out


def _fraud_step(
    seed: int, step: int, genuine: int, pairs: int, ids: _Ids
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One step's fraud rows (TRANSFER, CASH_OUT, TRANSFER, ...) and their offsets in the step."""
    rng = np.random.default_rng([seed, _FRAUD, step])
    # Pairs are units among the step's genuine rows; a pair takes two consecutive rows.
    units = np.sort(rng.choice(genuine + pairs, size=pairs, replace=False))
    transfer_at = units + np.arange(pairs)

    balance = np.maximum(
        _cents(
            np.minimum(
                np.exp(m.FRAUD_LOG_MEDIAN + m.FRAUD_SIGMA * rng.standard_normal(pairs)),
                m.FRAUD_BALANCE_MAX,
            )
        ),
        m.CENTS,
    )
    chunks = -(-balance // m.FRAUD_CHUNK_CENTS)
    ends = np.cumsum(chunks)
    events = int(np.searchsorted(ends, pairs)) + 1  # victims needed to fill the pairs
    event = np.repeat(np.arange(events), chunks[:events])[:pairs]
    nth = np.arange(pairs) - (ends[event] - chunks[event])
    remaining = balance[event] - nth * m.FRAUD_CHUNK_CENTS
    amount = np.minimum(remaining, m.FRAUD_CHUNK_CENTS)
    victim = ids.origins(rng, events)[event]
    mule = ids.origins(rng, pairs)

    flagged = (amount >= m.FLAG_MIN_CENTS) & (rng.random(pairs) < m.P_FLAG_LARGE_TRANSFER)
    mule_zero = flagged | (rng.random(pairs) < m.P_FRAUD_TRANSFER_DEST_ZERO)
    mule_old = _lognormal_cents(rng, m.DEST_LOG_MEDIAN, m.DEST_SIGMA, pairs)
    mule_old[mule_zero] = 0
    mule_new = np.where(mule_zero, 0, mule_old + amount)
    cash_dest = ids.customer_dests(rng, pairs)
    cash_zero = rng.random(pairs) < m.P_FRAUD_CASHOUT_DEST_ZERO
    cash_old = _lognormal_cents(rng, m.DEST_LOG_MEDIAN, m.DEST_SIGMA, pairs)
    cash_old[cash_zero] = 0
    cash_new = np.where(cash_zero, 0, cash_old + amount)

    ones = np.ones(pairs, dtype=np.int8)
    rows = {
        "type_code": _interleave(
            np.full(pairs, m.TRANSFER, np.int8), np.full(pairs, m.CASH_OUT, np.int8)
        ),
        "amount": _interleave(amount, amount),
        "name_orig": _interleave(victim, mule),
        "old_org": _interleave(remaining, amount),
        "new_orig": _interleave(
            np.where(flagged, remaining, remaining - amount), np.zeros_like(amount)
        ),
        "dest_is_merchant": np.zeros(2 * pairs, dtype=bool),
        "name_dest": _interleave(mule, cash_dest),
        "old_dest": _interleave(mule_old, cash_old),
        "new_dest": _interleave(mule_new, cash_new),
        "is_fraud": _interleave(ones, ones),
        "is_flagged": _interleave(flagged.astype(np.int8), np.zeros(pairs, dtype=np.int8)),
    }
    # Drawn last, so the draws above stay the same: frauds logged with a 0 -> 0 origin.
    zero_origin = (rng.random(2 * pairs) < m.P_FRAUD_ZERO_ORIGIN) & (rows["is_flagged"] == 0)
    rows["old_org"][zero_origin] = 0
    rows["new_orig"][zero_origin] = 0
    return _interleave(transfer_at, transfer_at + 1), rows


def _check_args(rows: int, seed: int, customers: int | None, chunk_rows: int) -> None:
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if customers is not None and not 1 <= customers <= m.ID_SPACE:
        raise ValueError(f"customers must be between 1 and {m.ID_SPACE}, got {customers}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")


class _Chunks:
    """Builds chunk i of a run on demand; chunks are independent, so they can be built in
    any order or in parallel and still give the same bytes."""

    def __init__(self, rows: int, seed: int, customers: int | None, chunk_rows: int) -> None:
        _check_args(rows, seed, customers, chunk_rows)
        self.rows, self.seed, self.chunk_rows = rows, seed, chunk_rows
        self.count = -(-rows // chunk_rows)
        self._plan = _plan(rows, seed)
        self._ids = _Ids.make(rows, seed, customers)
        self._step_ids = np.arange(1, MAX_STEP + 1, dtype=np.int16)

    def build(self, index: int) -> PaySimChunk:
        plan, seed = self._plan, self.seed
        first = index * self.chunk_rows
        last = min(first + self.chunk_rows, self.rows)
        cols = self._genuine_rows(first, last)
        in_chunk = np.minimum(plan.starts[1:], last) - np.maximum(plan.starts[:-1], first)
        steps_here = np.maximum(in_chunk, 0)
        for s in np.flatnonzero((steps_here > 0) & (plan.pairs > 0)):
            offsets, fraud = _fraud_step(
                seed, int(s) + 1, int(plan.genuine[s]), int(plan.pairs[s]), self._ids
            )
            at = plan.starts[s] + offsets
            keep = (at >= first) & (at < last)
            local = at[keep] - first
            for name, values in fraud.items():
                cols[name][local] = values[keep]
        step = np.repeat(self._step_ids, steps_here)
        return PaySimChunk(index=index, first_row=first, step=step, **cols)

    def _genuine_rows(self, first: int, last: int) -> dict[str, np.ndarray]:
        """Genuine rows first..last-1, cut from the fixed blocks that hold them."""
        parts = []
        for block in range(first // GENUINE_BLOCK_ROWS, (last - 1) // GENUINE_BLOCK_ROWS + 1):
            start = block * GENUINE_BLOCK_ROWS
            size = min(GENUINE_BLOCK_ROWS, self.rows - start)
            rng = np.random.default_rng([self.seed, _GENUINE, block])
            cols = _genuine(rng, size, self._ids)
            lo, hi = max(first, start) - start, min(last, start + size) - start
            parts.append({name: values[lo:hi] for name, values in cols.items()})
        if len(parts) == 1:
            return {name: values.copy() for name, values in parts[0].items()}
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def iter_paysim_chunks(
    rows: int,
    seed: int,
    customers: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[PaySimChunk]:
    """Yield `rows` PaySim-like rows, sorted by step, in chunks of at most `chunk_rows`.

    `customers`: draw every origin (and customer destination) from a pool of that many
    customers, so customers repeat; None gives near-unique origins as in the real file.
    """
    chunks = _Chunks(rows, seed, customers, chunk_rows)
    for index in range(chunks.count):
        yield chunks.build(index)


def iter_paysim_csv(
    rows: int,
    seed: int,
    customers: int | None = None,
    java_notation: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[pa.Buffer]:
    """The CSV text in pieces: the header line, then one buffer per chunk."""
    yield pa.py_buffer((HEADER + "\n").encode())
    for chunk in iter_paysim_chunks(rows, seed, customers, chunk_rows):
        yield chunk.to_csv(java_notation)


def check_out_path(path: str | Path) -> Path:
    """The output path, if its name ends in .csv or .csv.gz (else ValueError)."""
    out = Path(path)
    if not out.name.endswith(SUFFIXES) or out.name in SUFFIXES:
        raise ValueError(f"output file must end in .csv or .csv.gz, got {out}")
    return out


def write_paysim(
    path: str | Path,
    rows: int,
    seed: int,
    customers: int | None = None,
    java_notation: bool = False,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> GenSummary:
    """Write `rows` PaySim-like rows to `path` (.csv, or gzip for .csv.gz).

    The file appears complete or not at all: it is written under a hidden temporary name in
    the same folder and renamed at the end. `progress(rows_done, rows)` is called per chunk.
    `workers` threads build chunks ahead of the writer (the bytes do not depend on it).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out = check_out_path(path)
    _check_args(rows, seed, customers, chunk_rows)
    if not out.parent.is_dir():
        raise ValueError(f"output folder {out.parent} does not exist")
    chunks = _Chunks(rows, seed, customers, chunk_rows)
    started = time.monotonic()
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    frauds = flagged = done = 0

    def render(index: int) -> tuple[pa.Buffer, int, int, int]:
        chunk = chunks.build(index)
        text = chunk.to_csv(java_notation)
        return text, len(chunk), int(chunk.is_fraud.sum()), int(chunk.is_flagged.sum())

    try:
        with open(tmp, "wb") as raw, ThreadPoolExecutor(max_workers=workers) as pool:
            sink: BinaryIO | gzip.GzipFile = raw
            if out.name.endswith(".gz"):
                # mtime=0 and no file name in the gzip header: same seed, same bytes.
                sink = gzip.GzipFile(
                    filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0
                )
            with sink:
                sink.write((HEADER + "\n").encode())
                # numpy and Arrow release the GIL: the next chunks are built while this one
                # is written. At most `workers` + 1 chunks exist at a time (bounded memory).
                pending: deque[Future[tuple[pa.Buffer, int, int, int]]] = deque()
                for index in range(chunks.count + workers):
                    if index < chunks.count:
                        pending.append(pool.submit(render, index))
                    if len(pending) > workers or (index >= chunks.count and pending):
                        text, n, f, g = pending.popleft().result()
                        sink.write(text)
                        del text
                        frauds, flagged, done = frauds + f, flagged + g, done + n
                        if progress is not None:
                            progress(done, rows)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return GenSummary(
        path=out,
        rows=rows,
        frauds=frauds,
        flagged=flagged,
        chunks=chunks.count,
        bytes=out.stat().st_size,
        seconds=time.monotonic() - started,
    )
