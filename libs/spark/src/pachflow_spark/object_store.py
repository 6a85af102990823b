"""Input files that are local paths or object-store URLs (`s3a://bucket/key`), read the
same way by pyarrow (listing, footers, rows) and by Spark.

pyarrow: `filesystem_of` picks LocalFileSystem or S3FileSystem from the URL, so every
pyarrow read in the stages opens files through one code path (`open_input`). The S3
settings come from the environment (`S3Access.from_env`): Pachyderm's S3 gateway sidecar
(an `"s3": true` input) gives the worker S3_ENDPOINT and AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY; elsewhere AWS's own AWS_ENDPOINT_URL(_S3), AWS_SESSION_TOKEN and
AWS_REGION apply. Addressing is path-style (`http://host:port/bucket/key`): the gateway
serves its buckets only that way.

Spark: reading `s3a://` needs Hadoop's S3A connector, the hadoop-aws jar of the same
Hadoop version as Spark's own hadoop-client jars (plus the AWS SDK bundle it depends on).
pyspark's pip package ships hadoop-client but not hadoop-aws, so an in-process or
cluster-driver session from it cannot read `s3a://` unless the jar is added
(`spark.jars.packages`, which downloads it from Maven at start, or `spark.jars`). A Spark
Connect server reads with its own classpath: whether it has S3A is the server's
(infra/spark/spark-connect.yaml adds it with `spark.jars.packages`). The same S3 settings
reach Spark as read options (`s3a_options`), so they work on both kinds of session.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pachflow_stagekit import BadInput
from pachflow_stagekit.text import excerpt, unsafe_name_reason

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

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


#: Where the S3 endpoint is read from, first found wins: Pachyderm's sidecar, then AWS's.
ENDPOINT_ENVS = ("S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
DEFAULT_REGION = "us-east-1"  # what S3-compatible servers (Pachyderm's gateway) accept
#: Bounded waits: a gateway that does not answer fails the datum in seconds, not minutes.
CONNECT_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 60.0
#: The class a classic session's classpath needs to read s3a:// (in hadoop-aws).
S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"


@dataclass(frozen=True)
class S3Access:
    """Where the object store is and who reads it (never printed with its secret)."""

    endpoint: str | None  # http(s)://host:port; None: AWS's own endpoint for the region
    endpoint_env: str | None  # the variable it came from, for messages
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    region: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, prefix: str = "") -> S3Access:
        """The access the environment gives; with `prefix`, each `<prefix><NAME>` that is
        set wins over NAME (another store than the sidecar's: S3_ENDPOINT, the keys)."""
        env = os.environ if env is None else env
        names = {name: name for name in env}
        if prefix:
            names |= {n.removeprefix(prefix): n for n in env if n.startswith(prefix) and env[n]}
        env = {name: env[source] for name, source in names.items()}
        found = next(((name, env[name]) for name in ENDPOINT_ENVS if env.get(name)), None)
        return cls(
            endpoint=found[1].rstrip("/") if found else None,
            endpoint_env=names[found[0]] if found else None,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        )

    def describe(self) -> str:
        """The endpoint for a message: `http://host:port (S3_ENDPOINT)` or AWS's."""
        if self.endpoint is None:
            return f"AWS S3 in {self.region} (no {' / '.join(ENDPOINT_ENVS)} set)"
        return f"{self.endpoint} ({self.endpoint_env})"

    def filesystem(self) -> pafs.S3FileSystem:
        """pyarrow's S3 client for it (path-style addressing, bounded waits)."""
        import pyarrow.fs as pafs

        where: dict[str, str] = {}
        if self.endpoint:
            parts = urlsplit(self.endpoint if "://" in self.endpoint else f"http://{self.endpoint}")
            where = {"scheme": parts.scheme, "endpoint_override": parts.netloc}
        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            session_token=self.session_token,
            region=self.region,
            connect_timeout=CONNECT_TIMEOUT_S,
            request_timeout=REQUEST_TIMEOUT_S,
            force_virtual_addressing=False,
            **where,
        )

    def s3a_options(self) -> dict[str, str]:
        """The same access as Hadoop S3A settings, for Spark's reader (read options reach
        the Hadoop configuration of that read, on a classic and on a Connect session)."""
        options = {
            "fs.s3a.path.style.access": "true",
            "fs.s3a.endpoint.region": self.region,
            # Each job's gateway is another endpoint for the same bucket name (etl): a
            # cached FileSystem of an earlier job (a shared Connect server) would read it.
            "fs.s3a.impl.disable.cache": "true",
        }
        if self.endpoint:
            options["fs.s3a.endpoint"] = self.endpoint
            http = self.endpoint.startswith("http://")
            options["fs.s3a.connection.ssl.enabled"] = "false" if http else "true"
        if self.access_key and self.secret_key:
            options["fs.s3a.access.key"] = self.access_key
            options["fs.s3a.secret.key"] = self.secret_key
            provider = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
            if self.session_token:
                options["fs.s3a.session.token"] = self.session_token
                provider = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            options["fs.s3a.aws.credentials.provider"] = provider
        return options


@functools.lru_cache(maxsize=4)
def _s3_filesystem(access: S3Access) -> pafs.S3FileSystem:
    return access.filesystem()


def bucket_and_key(url: str) -> str:
    """`s3a://bucket/a/b` -> `bucket/a/b`: the path pyarrow's S3FileSystem takes."""
    match = OBJECT_STORE_URL.match(url)
    if match is None:
        raise ValueError(f"not an object-store URL: {url!r}")
    return match["rest"].strip("/")


def filesystem_of(file: str | Path, access: S3Access | None = None) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem that reads `file` and its path there: S3 (`access`, by
    default the environment's) for an object-store URL, the local filesystem otherwise."""
    import pyarrow.fs as pafs

    url = object_store_url(file)
    if url is None:
        return pafs.LocalFileSystem(), str(Path(file).absolute())
    return _s3_filesystem(access or S3Access.from_env()), bucket_and_key(url)


def open_input(file: str | Path) -> pa.NativeFile:
    """`file` (a local path or an object-store URL) opened for random access: what
    pyarrow.parquet reads footers and rows from."""
    filesystem, path = filesystem_of(file)
    return filesystem.open_input_file(path)


def read_options(files: Iterable[str | Path]) -> dict[str, str]:
    """Spark read options for `files`: the S3A settings when any is an object-store URL."""
    if any(object_store_url(f) for f in files):
        return S3Access.from_env().s3a_options()
    return {}


def list_objects(url: str, suffixes: Iterable[str], what: str) -> list[str]:
    """Every object under `url` whose key ends with one of `suffixes`, as `s3a://` URLs
    (what Hadoop reads, whichever of s3/s3a/s3n `url` says), sorted, by the rules of
    pachflow_stagekit.find_files that apply to an object store: hidden names (a key part
    starting with '.') are skipped, a name that cannot be printed on one line is bad
    input, and none found is bad input (exit 2)."""
    import pyarrow.fs as pafs

    access = S3Access.from_env()
    root = bucket_and_key(url)
    try:
        infos = _s3_filesystem(access).get_file_info(pafs.FileSelector(root, recursive=True))
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise BadInput(
            f"INPUT_DIR {url}: cannot list it at {access.describe()}: {first} (expected "
            f"{what} in that bucket, readable with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        ) from None
    found = []
    for info in infos:
        rel = info.path[len(root) :].lstrip("/")
        if info.type != pafs.FileType.File or not info.path.endswith(tuple(suffixes)):
            continue
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        reason = unsafe_name_reason(rel)
        if reason:
            raise BadInput(
                f"{url}/{excerpt(rel)}: the object name holds {reason} (expected a name that "
                "can be printed on one line: rename the file)"
            )
        found.append(f"s3a://{info.path}")
    if not found:
        raise BadInput(f"no {what} ({', '.join(suffixes)}) under {url} at {access.describe()}")
    return sorted(found)


def s3a_missing(error: BaseException) -> bool:
    """Whether a Spark error says the session cannot read s3a:// (no hadoop-aws)."""
    text = str(error)
    return S3A_CLASS in text or 'No FileSystem for scheme "s3a"' in text


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
