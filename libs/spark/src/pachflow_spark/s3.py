"""Data a remote Spark can read: Pachyderm's S3 gateway.

On a cluster the executors (and a Spark Connect server, the driver) run in other pods and
cannot see a worker's `/pfs`. An S3-enabled pipeline (`"s3": true` on a pfs input,
`"s3Out": true`) runs an S3 gateway sidecar in the worker pod and sets S3_ENDPOINT: the
input commit is the bucket named like the input (`s3://split/...`), the output commit is
the bucket `out`, written by anyone who can reach S3_ENDPOINT (a cluster Service) while the
job runs, and committed only if the job succeeds (so no staging is needed). Without auth
no credentials are needed; with auth the access key and the secret key are both the
Pachyderm token (Pachyderm's docs).

Spark reads `s3a://` through hadoop-aws, which pyspark's pip package does not ship: the
cluster's Spark image carries it (infra/spark/README.md). This module turns the gateway
into Spark settings (sent with every session, classic or Connect: `fs.s3a.*` are session
settings that reach the Hadoop configuration of each read and write) and lists and checks
the Parquet files of a bucket with pyarrow's own S3 client, from the stage process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyarrow.fs import S3FileSystem

#: Set by Pachyderm in the worker of an S3-enabled pipeline, e.g. http://<svc>.<ns>:600/.
ENDPOINT_ENV = "S3_ENDPOINT"
#: With Pachyderm auth on, the token is both keys (the gateway's rule).
TOKEN_ENV = "PACH_TOKEN"
URL = re.compile(r"s3a?://(?P<bucket>[a-z0-9][a-z0-9.-]{0,62})(?P<key>/.*)?")


class S3PathError(ValueError):
    """Not an s3:// URL the gateway serves."""


@dataclass(frozen=True)
class S3Path:
    bucket: str
    key: str = ""  # without the leading slash; "" for the whole bucket

    @classmethod
    def parse(cls, url: str) -> S3Path:
        match = URL.fullmatch(url)
        if not match:
            raise S3PathError(
                f"{url!r} is not an S3 location: expected s3://BUCKET[/PREFIX] (an s3 input "
                "is the bucket named like the input, s3Out is s3://out)"
            )
        return cls(match["bucket"], (match["key"] or "").strip("/"))

    @property
    def arrow(self) -> str:
        """`bucket/key`, how pyarrow's S3 filesystem names it."""
        return f"{self.bucket}/{self.key}".rstrip("/")

    @property
    def spark(self) -> str:
        """`s3a://bucket/key`, how Spark (hadoop-aws) names it."""
        return f"s3a://{self.arrow}"


def is_s3(location: object) -> bool:
    return str(location).startswith(("s3://", "s3a://"))


def spark_s3_settings(env: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The `fs.s3a.*` settings that point Spark at the worker's S3 gateway; () when the
    pipeline is not S3-enabled (no S3_ENDPOINT)."""
    env = os.environ if env is None else env
    endpoint = env.get(ENDPOINT_ENV, "").rstrip("/")
    if not endpoint:
        return ()
    settings = [
        ("fs.s3a.endpoint", endpoint),
        ("fs.s3a.path.style.access", "true"),  # buckets are names on one host, not hosts
        ("fs.s3a.connection.ssl.enabled", str(endpoint.startswith("https")).lower()),
        # the gateway's listing and rename semantics are not AWS's: no magic committer
        ("fs.s3a.committer.name", "file"),
        ("fs.s3a.change.detection.mode", "none"),
    ]
    token = env.get(TOKEN_ENV)
    if token:
        settings += [("fs.s3a.access.key", token), ("fs.s3a.secret.key", token)]
    else:
        provider = "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider"
        settings.append(("fs.s3a.aws.credentials.provider", provider))
    return tuple(settings)


def gateway_filesystem(env: Mapping[str, str] | None = None) -> S3FileSystem:
    """pyarrow's S3 client for the worker's gateway (to list and check footers)."""
    from pyarrow.fs import S3FileSystem

    env = os.environ if env is None else env
    endpoint = env.get(ENDPOINT_ENV, "").rstrip("/")
    if not endpoint:
        raise S3PathError(
            f"an s3:// location needs {ENDPOINT_ENV} (set by Pachyderm in a pipeline with "
            '"s3": true inputs or "s3Out": true)'
        )
    scheme, _, host = endpoint.partition("://")
    token = env.get(TOKEN_ENV)
    return S3FileSystem(
        endpoint_override=host,
        scheme=scheme or "http",
        access_key=token,
        secret_key=token,
        anonymous=not token,
        region="us-east-1",
    )


def list_files(location: str, suffix: str, fs: S3FileSystem | None = None) -> list[tuple[str, int]]:
    """(s3a:// URL, size) of every object under `location` whose name ends with `suffix`,
    sorted; hidden names (starting with '.' or '_') are skipped, as Spark does."""
    from pyarrow.fs import FileSelector, FileType

    path = S3Path.parse(location)
    fs = fs or gateway_filesystem()
    infos = fs.get_file_info(FileSelector(path.arrow, recursive=True, allow_not_found=True))
    found = []
    for info in infos:
        name = info.path.rsplit("/", 1)[-1]
        if info.type == FileType.File and name.endswith(suffix) and name[:1] not in "._":
            found.append((f"s3a://{info.path}", int(info.size or 0)))
    return sorted(found)
