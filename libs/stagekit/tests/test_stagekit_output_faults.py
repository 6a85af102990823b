"""OUTPUT_DIR under faults: checked before the work (exit 2, one line), published whole or
not at all (a symlink in it is never followed, running out of inodes mid-publish leaves
nothing), and SIGTERM cleans up like Ctrl-C.

Disk faults use a small tmpfs mounted for the test (we run as root); where `mount` is not
allowed the test is skipped saying so."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys

import pytest

from pachflow_stagekit import BadInput, atomic_output, check_output_dir
from pachflow_stagekit.signals import EXIT_TERMINATED


def test_a_non_empty_output_dir_is_bad_input_naming_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_text("x")
    with pytest.raises(BadInput, match=r"OUTPUT_DIR .*out is not empty \(1 entries: old\.parquet"):
        check_output_dir(out)


def test_an_output_dir_linked_as_a_pachyderm_worker_links_pfs_out_is_fine(tmp_path):
    """pachd's worker makes /pfs/out a symlink to its scratch space (driver linkData)."""
    (tmp_path / "scratch-out").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "scratch-out")
    check_output_dir(tmp_path / "out")
    with atomic_output(tmp_path / "out") as staging:
        (staging / "shard=00").mkdir()
        (staging / "shard=00" / "a.parquet").write_text("rows")
    assert (tmp_path / "scratch-out" / "shard=00" / "a.parquet").read_text() == "rows"


def test_an_output_dir_that_is_a_file_or_a_dangling_link_is_bad_input(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(BadInput, match="cannot use it"):
        check_output_dir(tmp_path / "dangling")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match=r"cannot create it|not a directory"):
        check_output_dir(tmp_path / "file")


def test_a_missing_output_dir_is_checked_but_not_made(tmp_path):
    check_output_dir(tmp_path / "a" / "out")  # nothing is left behind by a check
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_output_dir_is_bad_input(tmpfs):
    out = tmpfs("ro", "ro,size=1m")
    with pytest.raises(BadInput, match="is not writable: Read-only file system"):
        check_output_dir(out)


def test_a_symlinked_directory_in_output_dir_is_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "shard=00").symlink_to(outside)
    with pytest.raises(FileExistsError, match="not a directory"), atomic_output(out) as staging:
        (staging / "shard=00").mkdir()
        (staging / "shard=00" / "a.parquet").write_text("data")
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["shard=00"]


def test_no_inodes_left_mid_publish_leaves_nothing_published(tmpfs):
    disk = tmpfs("small", "size=4m,nr_inodes=64")
    out = disk / "out"
    out.mkdir()
    filler = disk / "filler"
    filler.mkdir()
    with pytest.raises(OSError) as raised, atomic_output(out) as staging:
        for shard in range(6):
            (staging / f"shard={shard:02d}").mkdir()
            (staging / f"shard={shard:02d}" / "part.parquet").write_text("rows")
        # every inode but two used: publishing makes 6 directories and runs out
        for n in range(1000):
            try:
                (filler / str(n)).touch()
            except OSError:
                break
        (filler / "0").unlink()
        (filler / "1").unlink()
    assert raised.value.errno == errno.ENOSPC
    assert list(out.iterdir()) == []  # neither the first directories nor the staging


SIGTERMED = """
import sys, time
from pathlib import Path
from pachflow_stagekit import atomic_output, terminate_cleanly
terminate_cleanly()
with atomic_output(Path(sys.argv[1])) as staging:
    (staging / "half.parquet").write_text("half")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigterm_removes_the_staging_folder_like_ctrl_c(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERMED, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == EXIT_TERMINATED
    assert list(out.iterdir()) == []
