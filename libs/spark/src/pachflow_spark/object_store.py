"""Reading an object store (`s3a://`) with Spark needs Hadoop's S3A connector: the
hadoop-aws jar of the same Hadoop version as Spark's own hadoop-client jars (plus the AWS
SDK bundle it depends on). pyspark's pip package ships hadoop-client but not hadoop-aws,
so an in-process or cluster-driver session from it cannot read `s3a://` unless the jar is
added (`spark.jars.packages`, which downloads it from Maven at start, or `spark.jars`).
A Spark Connect server reads with its own classpath: whether it has S3A is the server's
(infra/spark/spark-connect.yaml adds it with `spark.jars.packages`).
"""

from __future__ import annotations

import re
from pathlib import Path

HADOOP_AWS = "org.apache.hadoop:hadoop-aws"
#: Hadoop's S3A scheme, and what users also type for it (Apache Hadoop 3 maps only s3a://
#: to a FileSystem; s3:// and s3n:// are EMR's and Hadoop 2's).
OBJECT_STORE_URL = re.compile(r"^(?P<scheme>s3a?|s3n):/+(?P<rest>.*)$")
#: The settings that can put hadoop-aws on a classic session's classpath.
JAR_SETTINGS = ("spark.jars.packages", "spark.jars")


def object_store_url(value: str | Path) -> str | None:
    """`value` as an object-store URL (`s3a://bucket/key`), or None for a local path. A
    click Path argument turns `s3://etl` into `s3:/etl`: the URL is rebuilt from either."""
    match = OBJECT_STORE_URL.match(str(value))
    return f"{match['scheme']}://{match['rest']}" if match else None


def hadoop_version() -> str:
    """The Hadoop version of pyspark's hadoop-client jars (e.g. 3.5.0)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    (api,) = jars.glob("hadoop-client-api-*.jar")
    return api.name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def hadoop_aws_package() -> str:
    """The Maven coordinate of the S3A connector matching pyspark's Hadoop."""
    return f"{HADOOP_AWS}:{hadoop_version()}"


def classic_session_has_s3a(conf: tuple[tuple[str, str], ...] = ()) -> bool:
    """Whether a classic session from pyspark's jars with the extra settings `conf` would
    have S3A: hadoop-aws in pyspark's jars, or named by spark.jars(.packages)."""
    import pyspark

    if any((Path(pyspark.__file__).parent / "jars").glob("hadoop-aws-*.jar")):
        return True
    return any(key in JAR_SETTINGS and "hadoop-aws" in value for key, value in conf)
