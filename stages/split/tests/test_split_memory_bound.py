"""Memory stays within split's documented bound (README: ~125 MB + 27 MB per --block-mb,
346 MB at the default 8) for any input, including the worst shapes: millions of blank or
one-field lines, whose rows (and, for bad rows, Python objects) once grew without bound
(5.7-6.9 GB, then MemoryError). Blocks are capped in lines as well as bytes, blank lines
are counted vectorised.

Peak RSS is read from the kernel (ru_maxrss of a wrapper's only child), not timed."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pachflow_paysim.format import HEADER
from pachflow_paysim.reader import _split_lines
from pachflow_testing.fuzz import fuzz_settings

BOUND_MB = 346  # stages/split/README.md, --block-mb 8
SIZE = 16 << 20

PEAK = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "peak_kb": peak, "err": done.stderr[-500:]}))
"""


def _split_peak(input_dir: Path, out: Path, *args: str) -> dict:
    split = str(Path(sys.executable).parent / "pachflow-split")
    cmd = [sys.executable, "-c", PEAK, split, *args, str(input_dir), str(out)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


@pytest.mark.parametrize(
    ("name", "line", "args", "code"),
    [
        ("blank.csv", "\n", (), 0),  # blank lines: counted, no rows
        ("one-field.csv", "x\n", (), 2),  # strict: the first block's bad rows stop it
        ("blank.csv.gz", "\n", (), 0),
    ],
)
def test_peak_rss_within_the_documented_bound(tmp_path, name, line, args, code):
    data = (HEADER + "\n" + line * (SIZE // len(line))).encode()
    src = tmp_path / "in" / name
    src.parent.mkdir()
    src.write_bytes(gzip.compress(data, 1) if name.endswith(".gz") else data)

    result = _split_peak(src.parent, tmp_path / "out", *args)

    assert result["code"] == code, result["err"]
    assert result["peak_kb"] / 1024 < BOUND_MB, f"peak {result['peak_kb'] / 1024:.0f} MB"


@fuzz_settings(200)
@given(
    body=st.lists(st.sampled_from([b"\n", b"a\n", b"abc", b"\r\n", b"x,y\n"]), max_size=300),
    cap=st.integers(1, 40),
)
def test_pieces_rebuild_the_block_and_hold_at_most_cap_lines(body, cap):
    block = pa.py_buffer(b"".join(body))
    pieces = list(_split_lines(block, cap))
    assert b"".join(p.to_pybytes() for p in pieces) == block.to_pybytes()
    for piece in pieces:
        newlines = int(np.count_nonzero(np.frombuffer(piece, dtype=np.uint8) == 10))
        assert newlines <= cap
    for piece in pieces[:-1]:
        assert piece.to_pybytes().endswith(b"\n")
