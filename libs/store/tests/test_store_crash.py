"""kill -9 at any point: no half-made commit is visible, the next command cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pachflow_store import Store

PUT_WITH_FIFO = """
import sys
from pathlib import Path
from pachflow_store import Store
home, a, fifo = sys.argv[1:4]
Store(home).put_files("raw", [("/a", Path(a)), ("/b", Path(fifo))])
"""

PUT_FOREVER = """
import sys
from pathlib import Path
from pachflow_store import Store
store = Store(sys.argv[1])
src = Path(sys.argv[2])
n = 0
while True:
    n += 1
    src.write_text(f"content {n}" * 1000)
    ref = store.put_files("raw", [(f"/f{n % 7}", src)])
    print(ref, flush=True)
"""


def assert_consistent(store: Store) -> None:
    """Every branch head is a commit, every file's blob exists and is complete, and
    (after recover) no blob is unreferenced."""
    for repo in store.list_repos():
        if repo.head is not None:
            store.resolve(repo.name if repo.type == "user" else f"{repo.name}.{repo.type}")
    for commit in store.list_commits():
        for path, (blob, size) in store.manifest(commit.commit).items():
            assert store.blobs.path(blob).stat().st_size == size, (commit.commit, path)
    referenced = {
        row[0]
        for row in store.conn.execute("SELECT blob FROM files UNION SELECT blob FROM datum_files")
    }
    assert store.blobs.all_digests() == referenced
    assert list(store.blobs.tmp.iterdir()) == []


def test_put_killed_after_writing_blobs_leaves_no_commit(tmp_path: Path):
    home = tmp_path / "home"
    Store(home).close()
    a = tmp_path / "a"
    a.write_text("first file")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # reading it blocks: the put stops between two blobs
    proc = subprocess.Popen([sys.executable, "-c", PUT_WITH_FIFO, str(home), str(a), str(fifo)])
    store = Store(home)
    try:
        deadline = time.monotonic() + 60
        while not store.blobs.all_digests():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    assert store.list_commits() == [] and not store.repo_exists("raw")
    assert len(store.blobs.all_digests()) == 1  # an orphan, until recovery
    recovered = store.recover()
    assert recovered.orphan_blobs == 1
    assert_consistent(store)
    ref = store.put_files("raw", [("/a", a)])  # and the store works
    assert store.file_blob(ref, "/a").read_text() == "first file"


def test_puts_killed_at_a_random_moment_leave_a_consistent_store(tmp_path: Path):
    home = tmp_path / "home"
    Store(home).close()
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", PUT_FOREVER, str(home), str(tmp_path / "src")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(5):  # some commits done, more in flight
            assert proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with Store(home) as store:
            store.recover()
            assert_consistent(store)
            commits = store.list_commits("raw")
            # one linear history: every commit's parent is the one before it
            ids = [c.commit.id for c in reversed(commits)]
            assert [c.parent for c in reversed(commits)] == [None, *ids[:-1]]
