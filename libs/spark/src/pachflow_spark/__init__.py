"""The one SparkSession builder shared by the Spark stages (etl, train), with their
common options and progress lines."""

from pachflow_spark.java import JavaMissing, require_java
from pachflow_spark.options import spark_options
from pachflow_spark.progress import spark_progress
from pachflow_spark.schema import spark_schema
from pachflow_spark.session import SparkSettings, build_session

__all__ = [
    "JavaMissing",
    "SparkSettings",
    "build_session",
    "require_java",
    "spark_options",
    "spark_progress",
    "spark_schema",
]
