"""Reading one raw PaySim CSV (plain or .gz) as a stream of all-string batches.

Every value is read as a string so that validation (pachflow_paysim.rules) can name the exact line,
column and value of a bad one; Arrow's typed parser would fail a whole block instead.
The file is cut into blocks at newlines here and each block is parsed by Arrow on its own:
Arrow's own streaming reader reads ahead without bound (it held a whole 470 MB file in
memory), and cutting ourselves also gives exact line numbers. Each batch carries the
1-based line number of each row (the header is line 1): blank lines are kept as rows
(ignore_empty_lines=False) so the count stays exact, and rows with the wrong number of
fields are skipped by the parser and reported as Malformed.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Full, Queue

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from pachflow_paysim.format import COLUMNS, HEADER
from pachflow_paysim.rules import lines_ok
from pachflow_stagekit import BadInput, excerpt

SUFFIXES = (".csv.gz", ".csv")
#: CSV text read per block (--block-mb of split and score): bounds the raw text held at
#: once; the default and the largest a CLI accepts, in MB.
DEFAULT_BLOCK_MB = 8
MAX_BLOCK_MB = 512
DEFAULT_BLOCK_BYTES = DEFAULT_BLOCK_MB << 20
_HEADER_PEEK = 64 * 1024
#: A block holds at most block_bytes // this many lines as well as block_bytes of text: a
#: PaySim line is ~75 bytes, but a file of blank or one-field lines (1-2 bytes each) would
#: otherwise make millions of rows (and of Python objects for the bad ones) per block.
BYTES_PER_LINE_CAP = 512


def max_lines(block_bytes: int) -> int:
    return max(1024, block_bytes // BYTES_PER_LINE_CAP)


def source_stem(path: Path) -> str:
    """`a.csv` and `a.csv.gz` -> `a` (the name every output of this source is keyed by)."""
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _open_stream(path: Path) -> pa.NativeFile:
    compression = "gzip" if path.name.endswith(".gz") else None
    return pa.input_stream(str(path), compression=compression)


def read_header(path: Path) -> list[str]:
    """The first line's fields (CRLF and a UTF-8 BOM tolerated); raise BadInput if unusable."""
    try:
        with _open_stream(path) as stream:
            head: bytes = stream.read(_HEADER_PEEK)
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInput(f"{path}: cannot read ({exc})") from exc
    if not head.strip():
        raise BadInput(f"{path}: empty file, missing header (expected columns {HEADER})")
    line = head.split(b"\n", 1)[0].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
    # undecodable bytes survive as surrogates: excerpt() shows them as \xNN
    return line.decode("utf-8", errors="surrogateescape").split(",")


def check_header(path: Path) -> None:
    """Exit 2 unless the header is exactly PaySim's, naming expected and found columns."""
    found = read_header(path)
    if tuple(found) == COLUMNS:
        return
    line = ",".join(found)
    if not line.isprintable():
        raise BadInput(
            f"{path}: not a CSV file: its first line holds binary data or control characters "
            f"(expected a header with columns {HEADER}), found {excerpt(line)}"
        )
    missing = [c for c in COLUMNS if c not in found]
    extra = [c for c in found if c not in COLUMNS]
    detail = []
    if missing:
        detail.append(f"missing {', '.join(missing)}")
    if extra:
        detail.append(f"unexpected {', '.join(excerpt(c, 30) for c in extra[:5])}")
    if not detail:
        detail.append("columns in the wrong order")
    raise BadInput(
        f"{path}: wrong header ({'; '.join(detail)}): expected columns {HEADER} "
        f"found {excerpt(line, 2 * len(HEADER))}"
    )


@dataclass(frozen=True)
class Malformed:
    """A row the parser skipped: wrong number of fields."""

    line: int
    text: str
    fields: int


@dataclass
class RawBatch:
    """Rows as strings, their line numbers, and malformed rows met since the last batch."""

    table: pa.RecordBatch
    lines: np.ndarray
    malformed: list[Malformed] = field(default_factory=list)
    #: the block's physical lines as one string each (zero-copy view of the raw text,
    #: line terminators included), for the fast whole-row check
    text: pa.Array | None = None
    #: every line of `text` passed rules.ROW_RE (checked in the reader thread, so that
    #: it overlaps with the main thread's work)
    lines_ok: bool = False


class _SkippedRows:
    """Collects the rows Arrow's parser rejects (line numbers relative to the chunk)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, int]] = []

    def __call__(self, row: pacsv.InvalidRow) -> str:
        if row.number is None:  # only happens with a multi-threaded reader
            raise RuntimeError("CSV reader did not report line numbers")
        self.rows.append((row.number, row.text, row.actual_columns))
        return "skip"


def _chunks(path: Path, block_bytes: int) -> Iterator[pa.Buffer]:
    """Pieces of the data after the header, each ending at a newline (but maybe the last),
    about `block_bytes` long and of at most `max_lines(block_bytes)` lines."""
    cap = max_lines(block_bytes)
    for block in _blocks(path, block_bytes):
        yield from _split_lines(block, cap)


_SCAN_BYTES = 1 << 20  # newline positions are found a window at a time (8 bytes each)


def _split_lines(block: pa.Buffer, cap: int) -> Iterator[pa.Buffer]:
    """`block` in zero-copy pieces of at most `cap` lines (newlines found vectorised, one
    window at a time, so a block of blank lines needs no array of all its offsets)."""
    view = np.frombuffer(block, dtype=np.uint8)
    start = pos = lines = 0
    while pos < view.size:
        ends = np.flatnonzero(view[pos : pos + _SCAN_BYTES] == _NL)
        if lines + ends.size < cap:
            lines += ends.size
            pos += _SCAN_BYTES
            continue
        end = pos + int(ends[cap - lines - 1]) + 1
        yield block.slice(start, end - start)
        start = pos = end
        lines = 0
    if start < view.size:
        yield block.slice(start)


def _blocks(path: Path, block_bytes: int) -> Iterator[pa.Buffer]:
    """The data after the header in blocks of about `block_bytes` (the only raw text held
    in memory), each ending at a newline (but maybe the last)."""
    with _open_stream(path) as stream:
        data = stream.read_buffer(block_bytes)
        cut = _find_newline(data, last=False)
        if cut < 0:  # only a header (checked before), without a newline: no rows
            return
        rest = data.slice(cut + 1)
        while True:
            more = stream.read_buffer(block_bytes)
            # Arrow buffers, not Python bytes: zero-copy slices, one copy per block at most.
            data = _concat(rest, more) if rest.size else more
            if not more.size:
                if data.size:
                    yield data
                return
            end = _find_newline(data, last=True)
            if end < 0:
                if data.size >= block_bytes:  # e.g. old-Mac CR-only endings: never buffer it all
                    raise BadInput(
                        f"{path}: no line break in {data.size:,} bytes (expected lines "
                        "ending in \\n or \\r\\n)"
                    )
                rest = data
                continue
            piece, rest = data.slice(0, end + 1), data.slice(end + 1)
            yield piece


_NL = ord("\n")


def _concat(first: pa.Buffer, second: pa.Buffer) -> pa.Buffer:
    out = pa.BufferOutputStream()
    out.write(first)
    out.write(second)
    return out.getvalue()


def _find_newline(data: pa.Buffer, last: bool) -> int:
    """Offset of the first (or last) newline in `data`, -1 if none."""
    view = np.frombuffer(data, dtype=np.uint8)
    if last:
        tail = 4096
        while True:
            hits = np.flatnonzero(view[-tail:] == _NL)
            if hits.size:
                return int(view.size - min(tail, view.size) + hits[-1])
            if tail >= view.size:
                return -1
            tail *= 8
    hits = np.flatnonzero(view == _NL)
    return int(hits[0]) if hits.size else -1


def _check_utf8(path: Path, first_line: int, data: pa.Buffer, text: pa.Array) -> None:
    """BadInput naming the first line that is not UTF-8 text (Arrow's row handler cannot
    even report such a row). Pure ASCII, which PaySim is, skips the full check."""
    if not data.size or np.frombuffer(data, dtype=np.uint8).max() < 0x80:
        return
    try:
        text.validate(full=True)
        return
    except pa.ArrowInvalid:
        pass
    for index, line in enumerate(data.to_pybytes().split(b"\n")):  # one bad block only
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"{path}: line {first_line + index}: not UTF-8 text (byte 0x{line[exc.start]:02x}"
                f" at byte {exc.start + 1} of the line; expected PaySim CSV text): "
                f"{excerpt(line)}"
            ) from None


def _parse(path: Path, first_line: int, data: pa.Buffer) -> RawBatch:
    text = _physical_lines(data)
    _check_utf8(path, first_line, data, text)
    skipped = _SkippedRows()
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=list(COLUMNS), use_threads=False, block_size=data.size + 1
            ),
            parse_options=pacsv.ParseOptions(
                quote_char=False, ignore_empty_lines=False, invalid_row_handler=skipped
            ),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.string())),
        )
    except pa.ArrowInvalid as exc:
        # Arrow numbers rows within the piece ("Row #3"): say the line in the file instead.
        found = re.search(r"Row #(\d+)", str(exc))
        row = int(found.group(1)) if found else None
        where = f"line {first_line + row - 1}" if row else f"near line {first_line}"
        raise BadInput(f"{path}: cannot parse as CSV at {where} ({excerpt(str(exc))})") from exc
    batch = table.combine_chunks().to_batches()[0] if table.num_rows else _empty_strings()
    if batch.num_rows + len(skipped.rows) != len(text):
        _bare_carriage_return(path, first_line, data)
    offset = first_line - 1
    malformed = [Malformed(offset + n, text, fields) for n, text, fields in skipped.rows]
    lines = _line_numbers(batch.num_rows, first_line, [m.line for m in malformed])
    ok = not malformed and len(text) == batch.num_rows and lines_ok(text)
    return RawBatch(batch, lines, malformed, text, ok)


def _bare_carriage_return(path: Path, first_line: int, data: pa.Buffer) -> None:
    """Arrow also ends a row at a lone `\r`, so it saw more rows than there are lines:
    BadInput naming the line (old-Mac line ends, or a stray CR inside a value)."""
    view = np.frombuffer(data, dtype=np.uint8)
    cr = np.flatnonzero(view[:-1] == ord("\r"))
    bare = cr[view[cr + 1] != _NL]
    if not bare.size:
        raise RuntimeError(f"{path}: CSV rows and lines disagree near line {first_line}")
    at = int(bare[0])
    raw = data.to_pybytes()  # one bad block only
    start = raw.rfind(b"\n", 0, at) + 1
    end = raw.find(b"\n", at)
    line = first_line + raw.count(b"\n", 0, at)
    raise BadInput(
        f"{path}: line {line}: a carriage return (\\r) "
        f"inside the line, at character {at - start + 1} (expected lines ending in \\n or "
        f"\\r\\n): {excerpt(raw[start : end if end >= 0 else len(raw)])}"
    )


_DONE = object()


def read_batches(path: Path, block_bytes: int) -> Iterator[RawBatch]:
    """Stream `path` (header checked first) as batches of about `block_bytes` of CSV text.

    A background thread reads, decompresses and parses the next block while the caller
    works on the current one (Arrow releases the GIL), with at most two blocks waiting.
    """
    check_header(path)
    queue: Queue[RawBatch | BaseException | object] = Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            line = 2  # the header is line 1
            for data in _chunks(path, block_bytes):
                item = _parse(path, line, data)
                assert item.text is not None  # _parse always keeps the lines
                line += len(item.text)  # the physical lines of this piece
                while not stop.is_set():
                    try:
                        queue.put(item, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, re-raised there
            queue.put(exc)

    worker = threading.Thread(target=produce, name=f"paysim-read-{path.name}", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                if isinstance(item, (OSError, EOFError, pa.ArrowInvalid)):
                    raise BadInput(f"{path}: cannot read ({item})") from item
                raise item
            assert isinstance(item, RawBatch)
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(Empty):
                queue.get_nowait()
            worker.join(timeout=0.05)


def _physical_lines(data: pa.Buffer) -> pa.Array:
    """Each `\\n`-terminated line of `data` as a string, without copying the text."""
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == _NL) + 1
    if view.size and view[-1] != _NL:
        ends = np.append(ends, view.size)
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    return pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), data)


def _line_numbers(rows: int, first_line: int, skipped: list[int]) -> np.ndarray:
    """Line numbers of `rows` parsed rows from `first_line` on, stepping over the lines the
    parser skipped (rows with the wrong number of fields)."""
    gaps = np.array(skipped, dtype=np.int64)
    candidates = np.arange(first_line, first_line + rows + gaps.size, dtype=np.int64)
    if gaps.size:
        candidates = candidates[~np.isin(candidates, gaps)]
    return candidates[:rows]


def _empty_strings() -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([], pa.string()) for _ in COLUMNS], names=list(COLUMNS)
    )
