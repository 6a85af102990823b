"""The store under the machine's faults: a full disk, a read-only filesystem, a spec that
names a repo nobody fills, a datum that leaves a FIFO in /pfs/out. Each ends in one exit-2
line naming what is wrong (or a failed datum naming the file), never a traceback or a
hang, and leaves nothing behind that breaks the next command.

Disk faults use a small tmpfs (the `tmpfs` fixture: skipped where mounting is refused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pachflow_store import Store
from pachflow_testing.tmpfs import remount_read_only

PACHFLOW = str(Path(sys.executable).parent / "pachflow")


def pachflow(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PACHFLOW_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [PACHFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_a_put_on_a_full_disk_exits_2_and_leaves_no_temp_blob(tmpfs, tmp_path):
    home = tmpfs("disk", "size=2m") / "home"
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_text("x")
    big.write_bytes(os.urandom(3 << 20))
    assert pachflow("put", "raw", str(small), home=home).returncode == 0

    full = pachflow("put", "raw", str(big), home=home)

    assert full.returncode == 2
    assert "No space left on device" in one_line(full.stderr) and str(home) in full.stderr
    assert list((home / "blobs" / "tmp").iterdir()) == []
    # and the store works on: the next put and reads succeed
    other = tmp_path / "other.txt"
    other.write_text("y")
    assert pachflow("put", "raw", str(other), home=home).returncode == 0
    assert "other.txt" in pachflow("ls", "raw", home=home).stdout


def test_read_commands_work_on_a_read_only_store_and_writes_exit_2(tmpfs, tmp_path):
    disk = tmpfs("ro", "size=4m")
    home = disk / "home"
    (tmp_path / "a.txt").write_text("a")
    assert pachflow("put", "raw", str(tmp_path / "a.txt"), home=home).returncode == 0
    remount_read_only(disk)

    listed = pachflow("ls", "raw", home=home)
    assert listed.returncode == 0, listed.stderr
    assert "/a.txt" in listed.stdout
    assert pachflow("list", "repo", home=home).returncode == 0
    assert pachflow("jobs", home=home).returncode == 0

    put = pachflow("put", "raw", str(tmp_path / "a.txt"), home=home)
    assert put.returncode == 2
    assert "read-only" in one_line(put.stderr) and str(home) in put.stderr


def test_run_with_a_spec_naming_a_repo_nobody_fills_exits_2_like_validate(
    write_spec, script, specs_dir, home
):
    write_spec("p", [*script("copy", "pass"), "/pfs/nope", "/pfs/out"], "nope")

    run = subprocess.run(
        [PACHFLOW, "run", "--specs", str(specs_dir)], capture_output=True, text=True
    )

    assert run.returncode == 2, run.stderr
    assert "input repo 'nope' is neither a pipeline in these specs" in run.stderr
    assert "Traceback" not in run.stderr


FIFO_OUT = """
os.mkfifo(out / "pipe")
(out / "fine.txt").write_text("ok")
"""


def test_a_fifo_in_pfs_out_fails_the_datum_naming_it(write_spec, script, specs_dir, home, tmp_path):
    write_spec("p", [*script("fifo", FIFO_OUT), "/pfs/raw", "/pfs/out"], "raw", datumTries=1)
    (tmp_path / "x.txt").write_text("x")
    subprocess.run([PACHFLOW, "put", "raw", str(tmp_path / "x.txt")], check=True)

    run = subprocess.run(
        [PACHFLOW, "run", "--specs", str(specs_dir)], capture_output=True, text=True, timeout=120
    )

    assert run.returncode == 1, run.stderr
    assert "output /pipe is a FIFO, not a regular file" in run.stderr
    with Store(home) as store:
        assert store.head("p") is None
        (datum,) = store.list_datums("p", store.list_jobs("p")[0].id)
        assert "FIFO" in datum.error


def test_put_refuses_fifos_control_characters_and_links_out_of_the_directory(tmp_path):
    home = tmp_path / "home"
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the store")
    cases = {}
    for name, make in {
        "fifo": lambda d: os.mkfifo(d / "pipe.csv"),
        "control": lambda d: (d / "bad\x1b[31mname.csv").write_text("x"),
        "link": lambda d: (d / "leak.csv").symlink_to(outside),
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "ok.csv").write_text("ok")
        make(folder)
        cases[name] = pachflow("put", "raw", str(folder), home=home, timeout=30)
    fifo_arg = pachflow("put", "raw", str(tmp_path / "fifo" / "pipe.csv"), home=home, timeout=30)

    assert "not a regular file" in one_line(cases["fifo"].stderr)
    assert "control character" in one_line(cases["control"].stderr)
    assert "\x1b" not in cases["control"].stderr  # the name is quoted, not sent to the terminal
    assert "outside INPUT_DIR" in one_line(cases["link"].stderr)
    assert "not a regular file" in one_line(fifo_arg.stderr)
    assert all(r.returncode == 2 for r in [*cases.values(), fifo_arg])
    with Store(home) as store:
        assert store.head("raw") is None  # nothing was committed
