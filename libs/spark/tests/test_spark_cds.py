"""The Spark class archive: which archive a stage starts with, that a real one is made and
used, and that a bad one never stops Spark from starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pachflow_spark import cds

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


@pytest.mark.slow
@pytest.mark.spark
def test_build_makes_an_archive_that_spark_starts_with(tmp_path: Path) -> None:
    archive = cds.build(tmp_path / "spark.jsa")
    assert archive.stat().st_size > 10 << 20  # thousands of Spark classes
    assert not list(tmp_path.glob(".*partial"))
    result = start_spark(str(archive), tmp_path / "classes.log")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"SharedArchiveFile={archive}" in result.stdout
    assert "cds" not in result.stderr.lower()  # no archive warnings for the user
    # Spark's own classes came from the archive (JDK 17 names the dynamic one "top").
    loaded = (tmp_path / "classes.log").read_text()
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loaded
