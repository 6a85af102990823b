"""The Spark class archive: which archive a stage starts with, that a real one is made and
used, and that a bad one never stops Spark from starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pachflow_spark import cds
from pachflow_spark.java import java_executable

# A fresh interpreter starts Spark (its JVM options are fixed at launch), runs a job and
# prints the driver's JVM options.
START_AND_REPORT = """
import sys
from pachflow_spark import SparkSettings, build_session
log = f"-Xlog:class+load=info:file={sys.argv[1]}"
spark = build_session("cds-test", SparkSettings("local[1]", "512m", 1), java_options=log)
assert spark.range(1000).selectExpr("sum(id)").first()[0] == 499500
print(spark.sparkContext.getConf().get("spark.driver.extraJavaOptions"))
"""


def start_spark(archive_setting: str, class_log: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, cds.ENV: archive_setting}
    return subprocess.run(
        [sys.executable, "-c", START_AND_REPORT, str(class_log)],
        env=env,
        capture_output=True,
        text=True,
    )


def test_archive_is_the_venv_one_unless_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(cds.ENV, raising=False)
    assert cds.default_archive() == Path(sys.prefix) / "share" / "pachflow" / "spark.jsa"
    mine = tmp_path / "mine.jsa"
    monkeypatch.setenv(cds.ENV, str(mine))
    assert cds.archive() is None and cds.java_options() == ""  # not made yet: normal start
    mine.write_bytes(b"x")
    assert cds.archive() == mine
    assert f"-XX:SharedArchiveFile={mine}" in cds.java_options()
    monkeypatch.setenv(cds.ENV, "off")
    assert cds.archive() is None


@pytest.mark.slow
@pytest.mark.spark
def test_a_broken_archive_never_stops_spark(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsa"
    broken.write_bytes(b"not a class archive" * 100)
    result = start_spark(str(broken), tmp_path / "classes.log")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"SharedArchiveFile={broken}" in result.stdout


def stages_archive(tmp_path: Path) -> Path:
    """The archive of the stages' workload: the one `make setup` made (cds.build, by
    `python -m pachflow_spark.cds`) when it is newer than what it depends on (pachflow_spark's
    code, pyspark's jars), or else one built here the same way (~40 s)."""
    import pyspark

    made = cds.default_archive()
    inputs = [*Path(cds.__file__).parent.glob("*.py"), Path(pyspark.__file__).parent / "jars"]
    if made.is_file() and made.stat().st_mtime > max(p.stat().st_mtime for p in inputs):
        return made
    return cds.build(tmp_path / "spark.jsa")


@pytest.mark.slow
@pytest.mark.spark
def test_the_stages_workload_makes_an_archive_that_spark_starts_with(tmp_path: Path) -> None:
    archive = stages_archive(tmp_path)
    assert archive.stat().st_size > 10 << 20  # thousands of Spark classes
    result = start_spark(str(archive), tmp_path / "classes.log")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"SharedArchiveFile={archive}" in result.stdout
    assert "cds" not in result.stderr.lower()  # no archive warnings for the user
    # Spark's own classes came from the archive (JDK 17 names the dynamic one "top").
    loaded = (tmp_path / "classes.log").read_text()
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loaded, (
        f"{archive} does not fit this Java and pyspark: `python -m pachflow_spark.cds` remakes it"
    )


# The smallest workload: a JVM that archives the few classes it loads (the archive is off
# in its environment, as build promises: no workload starts from an old archive).
JVM_ONLY = f"""
import os, subprocess, sys
from pachflow_spark.cds import DUMP
from pachflow_spark.java import java_executable
assert os.environ["{cds.ENV}"] == "off"
subprocess.run([java_executable(), *DUMP.format(sys.argv[1]).split(), "-version"], check=True)
"""


def test_build_archives_the_workloads_classes_then_moves_the_archive_into_place(
    tmp_path: Path,
) -> None:
    archive = cds.build(tmp_path / "spark.jsa", workload=("-c", JVM_ONLY))
    assert archive == tmp_path / "spark.jsa"
    assert not list(tmp_path.glob(".*partial"))
    java = java_executable()
    assert java
    mapped = [java, "-Xshare:on", f"-XX:SharedArchiveFile={archive}", "-version"]
    assert subprocess.run(mapped, capture_output=True).returncode == 0  # a usable archive
    with pytest.raises(RuntimeError, match="wrote no class archive"):
        cds.build(tmp_path / "none.jsa", workload=("-c", "pass"))
    assert not (tmp_path / "none.jsa").exists()
