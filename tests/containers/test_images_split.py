"""The split image alone, as Pachyderm runs it: spec cmd, /pfs/raw_data read-only,
/pfs/out owned by the image's non-root user. Its output must equal the installed
package's output on the same files (the image is the package, nothing else)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.containers, pytest.mark.slow]

#: Run-specific fields of split's _summary files (timing, and the path it was given).
VOLATILE = {"seconds", "rows_per_s", "source"}


def local_split(raw: Path, out: Path, argv: list[str]) -> None:
    exe = Path(sys.executable).parent / "pachflow-split"
    args = [a for a in argv[1:] if not a.startswith("/pfs/")]  # options of the spec cmd
    subprocess.run([str(exe), *args, str(raw), str(out)], check=True, capture_output=True)


def test_split_image_output_equals_the_local_package(images, split_out, paysim_dir, tmp_path):
    images.require_stage("split")
    assert split_out.returncode == 0, split_out.stderr
    local = tmp_path / "local"
    local_split(paysim_dir, local, images.spec("split")["transform"]["cmd"])

    got, want = images.tree(split_out.out), images.tree(local)
    assert sorted(got) == sorted(want)
    assert any(name.endswith(".parquet") for name in got)
    for name, path in got.items():
        if name.endswith(".parquet"):
            assert pq.read_table(path).equals(pq.read_table(want[name])), name
        elif name.endswith(".json"):
            strip = lambda d: {k: v for k, v in d.items() if k not in VOLATILE}  # noqa: E731
            assert strip(json.loads(path.read_text())) == strip(json.loads(want[name].read_text()))
        else:
            assert path.read_bytes() == want[name].read_bytes(), name


def test_split_image_writes_as_its_non_root_user(images, split_out):
    images.require_stage("split")
    files = list(images.tree(split_out.out).values())
    assert files
    assert {p.stat().st_uid for p in files} == {images.uid}


def test_split_image_progress_goes_to_stderr(images, split_out):
    images.require_stage("split")
    assert split_out.stdout == ""
    assert "[split" in split_out.stderr


def test_split_image_bad_input_exits_2_with_one_line(images, run_stage, tmp_path):
    images.require_stage("split")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bad.csv").write_text("not,a,paysim,header\n1,2,3,4\n")
    result = run_stage("split", {"raw_data": raw}, tmp_path / "out")
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "bad.csv" in line]
    assert errors, result.stderr
    assert not any((tmp_path / "out").iterdir()), "output must be absent on failure"
