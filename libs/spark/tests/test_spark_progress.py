"""Progress lines while a Spark action runs: what a person watching a long stage sees."""

from __future__ import annotations

import re
import time

import pytest

from pachflow_spark import SparkSettings, build_session, spark_progress
from pachflow_spark.progress import running_stages

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    return build_session("pachflow-progress-tests", SparkSettings("local[2]", "1g", 2))


#: Four tasks of 0.6 s each, all in the JVM (no Python workers).
SLOW_JOB = "java_method('java.lang.Thread', 'sleep', cast(600 as bigint))"


def test_a_running_job_is_reported_with_its_tasks(spark):
    lines: list[str] = []
    with spark_progress(spark, lines.append, every=0.3):
        assert len(spark.range(0, 4, 1, 4).selectExpr(SLOW_JOB).collect()) == 4
    assert lines, "no progress line during a >1 s job"
    assert all(
        re.fullmatch(r"Spark running for \d+ s: stage \d+: [0-4]/4 tasks(, .*)?", line)
        for line in lines
    ), lines


def test_nothing_is_reported_while_spark_is_idle(spark):
    lines: list[str] = []
    with spark_progress(spark, lines.append, every=0.1):
        time.sleep(0.5)
    assert lines == []
    assert running_stages(spark.sparkContext.statusTracker()) == ""
