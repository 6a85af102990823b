"""The one SparkSession builder shared by the Spark stages (etl, train), with their
common options, the Spark endpoint they use, and progress lines."""

from pachflow_spark.endpoint import EndpointError, SparkEndpoint, parse_endpoint
from pachflow_spark.java import JavaMissing, require_java
from pachflow_spark.options import spark_options
from pachflow_spark.progress import spark_progress
from pachflow_spark.schema import spark_schema
from pachflow_spark.session import (
    BadEndpoint,
    SparkSettings,
    build_session,
    is_connect,
    master_of,
    open_session,
)

__all__ = [
    "BadEndpoint",
    "EndpointError",
    "JavaMissing",
    "SparkEndpoint",
    "SparkSettings",
    "build_session",
    "is_connect",
    "master_of",
    "open_session",
    "parse_endpoint",
    "require_java",
    "spark_options",
    "spark_progress",
    "spark_schema",
]
