"""The S3 gateway of a job with `s3` inputs or `s3Out`, as pachd's worker sidecar serves it
(src/server/pps/server/s3g_sidecar.go, src/server/pfs/s3/driver.go WorkerDriver), on a
real S3 server: s3rver (npm, 3.7.1) on 127.0.0.1, on a free port, one per job.

- Each s3 input is the bucket named as the input (`pfs.name`, default the repo) holding
  its commit's files; /pfs/<name> exists and stays empty (datum.go downloadData).
- s3Out: the bucket `out`, empty at the start of the job; the job's output commit is what
  the datums wrote there (pachd wipes the output commit at job start and never skips a
  datum of an s3Out pipeline: registry.go), collected after every datum succeeded.
- The datums' env: S3_ENDPOINT=http://127.0.0.1:<port>, AWS_ACCESS_KEY_ID and
  AWS_SECRET_ACCESS_KEY `default` (what pachd's worker sets with auth off: driver.go).
- Not enforced here: pachd's gateway refuses reads of `out` and writes to input buckets;
  s3rver allows both (writes to an input bucket are dropped with the server).

The server runs in its own session; it is stopped (process group) when the job's datums
end or the runner is interrupted (JobContext.stop_all), and it exits by itself when the
runner dies (even by kill -9): it watches the stdin pipe the runner holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pachflow.local.executor import DatumResult, JobContext, JobOutput
from pachflow.local.s3rver import missing, s3rver_prefix
from pachflow_store import DATUM_FAILED, Manifest, Store
from pachflow_store.processes import stop_group

if TYPE_CHECKING:
    from pachflow.local.datums import Datum, DatumInput

OUTPUT_BUCKET = "out"  # s3g_sidecar.go: the s3Out bucket's name
CREDENTIAL = "default"  # driver.go: the access key and secret pachd sets without auth
START_TIMEOUT_S = 20.0

# Starts s3rver on 127.0.0.1 with an OS-chosen port (no race for a free one), accepting
# pachd's credentials, and prints the port. argv: prefix, data dir, bucket names.
_LAUNCHER = r"""
const path = require('path');
const [prefix, dataDir, ...buckets] = process.argv.slice(1);
const pkg = path.join(prefix, 'node_modules', 's3rver');
const S3rver = require(pkg);
const account = require(path.join(pkg, 'lib', 'models', 'account'));
account.DUMMY_ACCOUNT.createKeyPair(process.env.S3_CREDENTIAL, process.env.S3_CREDENTIAL);
new S3rver({address: '127.0.0.1', port: 0, directory: dataDir, silent: true,
            configureBuckets: buckets.map(name => ({name}))})
  .run()
  .then(addr => process.stdout.write(JSON.stringify({port: addr.port}) + '\n'),
        err => { console.error(err.stack || String(err)); process.exit(1); });
// the runner holds our stdin: when it is gone, even by kill -9, so is the server
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
"""


class GatewayError(Exception):
    """The S3 gateway could not be started or read: the job fails with this reason."""


class Gateway:
    """One s3rver process and a boto3 client for it."""

    def __init__(self, data_dir: Path, buckets: list[str], log_path: Path) -> None:
        problem = missing()
        if problem:
            raise GatewayError(f"no S3 gateway: {problem}")
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "S3_CREDENTIAL": CREDENTIAL}
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                ["node", "-e", _LAUNCHER, str(s3rver_prefix()), str(data_dir), *buckets],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        try:
            self.port = self._read_port(log_path)
        except BaseException:
            self.stop()
            raise
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._client: Any = None

    def _read_port(self, log_path: Path) -> int:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else b""
        self.proc.stdout.close()
        try:
            return int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise GatewayError(
                f"the S3 gateway (s3rver) did not start within {START_TIMEOUT_S:g}s: "
                f"{tail[0][:300]} (log: {log_path})"
            ) from None

    def env(self) -> dict[str, str]:
        """What pachd's worker sets for the user code of a job with an S3 gateway."""
        return {
            "S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": CREDENTIAL,
        }

    @property
    def client(self) -> Any:
        if self._client is None:
            # imported here: boto3 costs ~0.3 s and only s3 jobs need it
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                aws_access_key_id=CREDENTIAL,
                aws_secret_access_key=CREDENTIAL,
                region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
            )
        return self._client

    def load(self, store: Store, part: DatumInput) -> int:
        """The input commit's files into the bucket named as the input; bytes loaded."""
        loaded = 0
        with _s3_errors(f"loading input {part.name} into its bucket"):
            for path, blob, size in part.files:
                self.client.upload_file(str(store.blobs.path(blob)), part.name, path.lstrip("/"))
                loaded += size
        return loaded

    def collect(self, store: Store, bucket: str, scratch: Path) -> Manifest:
        """Every object of `bucket` into the blob store: commit path -> blob. A key is a
        path as pachd's gateway stores it (a trailing '/' dropped, object.go PutObject)."""
        scratch.mkdir(parents=True, exist_ok=True)
        manifest: Manifest = {}
        with _s3_errors(f"reading bucket {bucket}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    path = "/" + key.removesuffix("/")
                    if any(p in ("", ".", "..") for p in path[1:].split("/")):
                        raise GatewayError(
                            f"object key {key!r} in bucket {bucket} is not a file path"
                        )
                    local = scratch / uuid.uuid4().hex
                    self.client.download_file(bucket, key, str(local))
                    manifest[path] = store.blobs.adopt_file(local)
        return manifest

    def stop(self) -> None:
        """Stop s3rver's process group and wait for it (no orphan node process)."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        stop_group(self.proc, grace_s=5)
        self.proc.wait()


@contextlib.contextmanager
def _s3_errors(doing: str) -> Iterator[None]:
    """botocore's errors as a GatewayError saying what was being done."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise GatewayError(f"S3 gateway: {doing}: {exc}") from None


def s3_parts(datums: list[Datum]) -> list[DatumInput]:
    """The s3 inputs of the job, once each (glob "/": every datum holds the same part)."""
    parts: dict[str, DatumInput] = {}
    for datum in datums:
        for part in datum.inputs:
            if part.s3:
                parts.setdefault(part.name, part)
    return list(parts.values())


def serving(
    ctx: JobContext,
    datums: list[Datum],
    run: Callable[[], Iterator[DatumResult]],
    say: Callable[[str], None],
) -> Iterator[DatumResult]:
    """Run the job's datums (`run()`) with an S3 gateway up; with s3Out, set
    ctx.output to the bucket `out` once every datum succeeded."""
    if not datums:
        yield from run()
        return
    parts = s3_parts(datums)
    buckets = [p.name for p in parts] + ([OUTPUT_BUCKET] if ctx.spec.s3_out else [])
    start = time.monotonic()
    try:
        gateway = Gateway(ctx.scratch / "s3", buckets, ctx.log_dir / "s3gateway.log")
    except GatewayError as exc:
        ctx.output = JobOutput({}, str(exc))
        say(f"{ctx.spec.name}: {exc}")
        return
    ctx.started(gateway.proc)  # an interrupted run stops it with the datums' processes
    try:
        loaded = sum(gateway.load(ctx.store, part) for part in parts)
        say(
            f"{ctx.spec.name}: S3 gateway {gateway.endpoint}: bucket(s) {', '.join(buckets)}"
            f" ({sum(len(p.files) for p in parts)} file(s), {loaded / 1e6:.2f} MB loaded"
            f" in {time.monotonic() - start:.1f}s)"
        )
        ctx.base_env.update(gateway.env())
        failed = False
        for result in run():
            failed = failed or result.state == DATUM_FAILED
            yield result
        if ctx.spec.s3_out and not failed and not ctx.stopping.is_set():
            try:
                ctx.output = JobOutput(
                    gateway.collect(ctx.store, OUTPUT_BUCKET, ctx.scratch / "s3-collect")
                )
            except GatewayError as exc:
                ctx.output = JobOutput({}, str(exc))
    finally:
        gateway.stop()
        ctx.ended(gateway.proc)
