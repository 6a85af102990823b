"""Class data sharing (CDS) for the Spark JVM: start Spark from an archive of the classes
it loads, parsed and verified once instead of at every stage start.

A Spark stage loads thousands of classes while the session starts and during its first
job; with the archive the session starts ~1.8 s sooner and etl on the full data set takes
~3 s less, 22.3 instead of 25.5 s (JDK 17 dynamic archive, bench/RESULTS.md "etl"). The
archive belongs to one Java build and one pyspark install, so it lives in the venv
(`<venv>/share/pachflow/spark.jsa`) and `make setup` makes it:

    python -m pachflow_spark.cds [ARCHIVE]

A missing archive means a normal start; a stale one (other Java, other jars) is checked
and ignored by the JVM itself. `PACHFLOW_SPARK_CDS=off` turns it off, a path picks another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ENV = "PACHFLOW_SPARK_CDS"
#: Use the archive if it fits, and say nothing when it does not (a normal start follows).
_USE = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off -XX:SharedArchiveFile={}"
DUMP = "-Xlog:cds=off -Xlog:cds+dynamic=off -XX:ArchiveClassesAtExit={}"
#: Python's arguments for the process whose classes are archived (the archive's path is
#: appended): the stages' job, small (cds_workload).
WORKLOAD = ("-m", "pachflow_spark.cds_workload")


def default_archive() -> Path:
    return Path(sys.prefix) / "share" / "pachflow" / "spark.jsa"


def archive() -> Path | None:
    """The archive to start Spark with, or None (off, or not made yet)."""
    setting = os.environ.get(ENV, "")
    if setting.lower() == "off":
        return None
    path = Path(setting) if setting else default_archive()
    return path if path.is_file() else None


def java_options() -> str:
    """JVM options that use the archive, or "" without one."""
    path = archive()
    return _USE.format(path) if path else ""


def build(path: Path | None = None, workload: Sequence[str] = WORKLOAD) -> Path:
    """Run a small Spark workload in a fresh process and archive the classes it loaded.

    The archive is written next to `path` and renamed into place, so a Spark start never
    sees half an archive. `workload` (Python's arguments) is for the tests' smaller one."""
    path = path or default_archive()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    env = {**os.environ, ENV: "off"}
    subprocess.run(
        [sys.executable, *workload, str(partial)],
        env=env,
        check=True,
    )
    if not partial.is_file():
        raise RuntimeError(f"the JVM wrote no class archive to {partial}")
    partial.replace(path)
    return path


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    path = build(Path(argv[0]) if argv else None)
    print(f"Spark class archive: {path} ({path.stat().st_size >> 20} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
