"""A real S3-compatible object store on loopback: s3rver (npm, pinned; `make s3rver`
installs it beside the venv, patched to list nested prefixes, for the local runner's S3
gateway too; PACHFLOW_S3RVER names another npm prefix, as for `pachflow`).

It checks request signatures (a wrong key is refused), supports multipart uploads, and
keeps objects as files under its directory. MinIO, Garage and SeaweedFS are not packaged
for Debian 12, and moto is a mock: s3rver is the real server this machine can install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pachflow_testing.loopback import LOOPBACK, free_port, port_open, stop_process_group
from pachflow_testing.services import installed_or_skip

PREFIX_ENV = "PACHFLOW_S3RVER"  # an npm prefix holding node_modules/s3rver
DEFAULT_PREFIX = Path(sys.prefix) / "share" / "pachflow" / "s3rver"  # where `make s3rver` puts it
# s3rver's fixed development credentials (it accepts no others).
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
START_TIMEOUT_S = 60


class S3Missing(RuntimeError):
    """s3rver (or node) is not installed here."""


@dataclass(frozen=True)
class S3Store:
    endpoint: str
    bucket: str
    root: Path
    pid: int

    def server_env(self) -> dict[str, str]:
        """What an S3 client (boto3, the MLflow server) needs to reach the store."""
        return {
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def worker_env(self) -> dict[str, str]:
        """What a Pachyderm worker with an `"s3": true` input gets from its S3 gateway
        sidecar (S3_ENDPOINT and the keys), pointing at this store."""
        return {
            "S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def upload_tree(self, local: Path) -> list[str]:
        """Every file under `local` into the bucket, keyed by its path below `local`, with
        boto3 (another S3 client than pyarrow's, which the stages read with); the keys."""
        client = self._client()
        keys = []
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            key = path.relative_to(local).as_posix()
            client.upload_file(str(path), self.bucket, key)
            keys.append(key)
        return keys

    def empty(self) -> None:
        """Delete every object in the bucket (a server shared by tests, a fresh bucket each)."""
        client = self._client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=self.bucket, Key=item["Key"])

    def _client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def object_keys(self) -> list[str]:
        """Every key in the bucket, read from s3rver's files (`<key>._S3rver_object`)."""
        bucket = self.root / self.bucket
        suffix = "._S3rver_object"
        return sorted(
            str(p.relative_to(bucket))[: -len(suffix)] for p in bucket.rglob(f"*{suffix}")
        )


def s3rver_executable() -> str:
    prefix = Path(os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX)
    executable = prefix / "node_modules" / ".bin" / "s3rver"
    if not executable.exists():
        raise S3Missing(f"s3rver not found under {prefix}: `make s3rver` installs it (npm)")
    if shutil.which("node") is None:
        raise S3Missing("s3rver is installed but `node` is not on PATH")
    return str(executable)


def s3rver_or_skip() -> None:
    """In a test: skip when s3rver is not installed (fail in CI: PACHFLOW_REQUIRE_SERVICES=1)."""
    installed_or_skip(s3rver_executable, S3Missing)


@contextmanager
def run_s3rver(root: Path, bucket: str = "mlflow") -> Iterator[S3Store]:
    """Start s3rver on a free loopback port with `bucket`, yield it, stop it."""
    executable = s3rver_executable()
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [executable, "-d", str(root), "-a", LOOPBACK, "-p", str(port)]
    cmd += ["--configure-bucket", bucket, "--silent"]
    with (root.parent / f"{root.name}.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise S3Missing(f"s3rver did not start on port {port} (exit {proc.poll()})")
            time.sleep(0.1)
        yield S3Store(f"http://{LOOPBACK}:{port}", bucket, root, proc.pid)
    finally:
        stop_process_group(proc, port)
