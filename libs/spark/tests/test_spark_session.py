"""Shuffle partition sizing, and the session the builder makes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pachflow_spark import SparkSettings, build_session
from pachflow_spark.session import default_shuffle_partitions, local_cores, min_scan_partitions


def test_local_cores():
    assert local_cores("local") == 1
    assert local_cores("local[3]") == 3
    assert local_cores("local[4,2]") == 4  # local[N,maxFailures]
    assert local_cores("local[*]") == os.cpu_count()
    assert local_cores("spark://host:7077") is None


def test_default_shuffle_partitions():
    assert default_shuffle_partitions("local") == 2  # never fewer than 2
    assert default_shuffle_partitions("local[8]") == 8
    assert default_shuffle_partitions("yarn") == 200


def test_scan_is_split_into_several_tasks_per_core():
    assert min_scan_partitions("local[2]") == 8
    assert min_scan_partitions("local") == 4
    assert min_scan_partitions("spark://h:7077") is None  # the cluster's own default


@pytest.mark.spark
def test_build_session_is_quiet_local_and_sized():
    spark = build_session("pachflow-spark-tests", SparkSettings("local[2]", "1g", 3))
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert os.environ["SPARK_LOCAL_IP"]
    assert spark.conf.get("spark.sql.files.minPartitionNum") == "8"
    assert spark.range(10).count() == 10


@pytest.mark.spark
def test_a_stage_start_prints_no_spark_log_noise(tmp_path):
    """Stages log errors only: no log4j banner, no shell hint, no native-library warning
    on every start (pachflow_spark/log4j2.properties)."""
    script = (
        "from pachflow_spark import SparkSettings, build_session\n"
        "spark = build_session('quiet', SparkSettings('local[1]', '512m', 1))\n"
        "assert spark.range(5).count() == 5\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for noise in ("log4j profile", "Setting default log level", "sc.setLogLevel", " WARN "):
        assert noise not in result.stderr, result.stderr
