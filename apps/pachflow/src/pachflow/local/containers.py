"""Container runtimes (`pachflow run --runtime podman|docker`): each datum's process runs in
the stage's image (the spec's transform.image, built by `make images`), on the same code
path as the local runtime: the runner materializes /pfs in a scratch directory, and this
runtime bind-mounts that directory at /pfs, so argv and env keep their /pfs paths as on a
Pachyderm worker.

What differs from a worker, and why:
- The store home ($PACHFLOW_HOME) is mounted at the same path and is the working
  directory, so the local MLflow default (sqlite:///$PACHFLOW_HOME/mlflow.db, artifacts in
  ./mlruns) and the local store behave exactly as with the local runtime.
- The process runs as the host user (root-in-container for rootless podman, which maps to
  the host user), not as the image's user: outputs and MLflow files land in host-owned
  directories the runner can collect and clean up. The image's own non-root user is what
  tests/containers checks, as Pachyderm runs it.
- Host networking, so a tracking server on loopback and the runner's NextDatum server
  (datum batching) are reachable as on the host.
- Only the variables the runner sets (spec env, Pachyderm's worker variables, datum paths)
  and the stage settings (PACHFLOW_*, MLFLOW_*, AWS_*) go in; host-only variables such as
  PATH or JAVA_HOME would break the image's own setup.
- A datum whose Spark is the host's (`--spark engine|connect|standalone|URL`: its
  PACHFLOW_SPARK_MASTER is not a `local[N]` master) gets PACHFLOW_SPARK_HOST_PFS, the host
  directory behind its /pfs (the stage hands Spark its paths through
  pachflow_spark.paths), and a TMPDIR in the datum's work directory, mounted at the same
  path in the container, so the scratch files Spark reads or writes (train's fit sample,
  the saved model) are the same files on both sides.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from pachflow.local.runtime import Launch, Runtime
from pachflow_store import HOME_ENV

#: Extra `run` flags, e.g. "--runtime runc --ulimit nofile=4096:4096" (whitespace-split).
FLAGS_ENV = "PACHFLOW_CONTAINER_FLAGS"
PASS_PREFIXES = ("PACH_", "PPS_", "PACHFLOW_", "MLFLOW_", "AWS_")
#: Set by the runner from the host's values, meaningless inside an image.
HOST_ONLY = frozenset(
    {
        "PATH",
        "HOME",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
        "HOSTNAME",
        "TERM",
        "TMPDIR",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "JAVA_HOME",
        "SPARK_HOME",
        "LD_LIBRARY_PATH",
    }
)


class ImageMissing(OSError):
    """The spec's image is not in the engine's local store (OSError: the runner reports it
    as the datum's failure, like a missing command with the local runtime)."""


def container_env(env: Mapping[str, str], host_env: Mapping[str, str]) -> dict[str, str]:
    """The variables to pass into the container: those the runner set or changed (spec env,
    worker variables, datum paths) plus the stage settings; never host-only ones."""
    return {
        k: v
        for k, v in env.items()
        if k not in HOST_ONLY and (k.startswith(PASS_PREFIXES) or host_env.get(k) != v)
    }


class ContainerRuntime(Runtime):
    engine: str

    def __init__(self) -> None:
        self._checked: set[str] = set()

    def visible(self, pfs_path: str, pfs_dir: Path) -> str:
        return pfs_path  # /pfs is the bind-mounted scratch directory

    def user(self) -> str:
        if self.engine == "podman" and os.getuid() != 0:
            return "0:0"  # rootless podman: container root is the host user
        return f"{os.getuid()}:{os.getgid()}"

    def require_image(self, image: str) -> None:
        if image in self._checked:
            return
        if shutil.which(self.engine) is None:
            raise FileNotFoundError(f"{self.engine} not found: install it or use --runtime local")
        found = subprocess.run(
            [self.engine, "image", "inspect", image],
            capture_output=True,
            check=False,
        )
        if found.returncode != 0:
            raise ImageMissing(
                f"image {image} not found in {self.engine}'s local images: "
                "build the stage images first (make images)"
            )
        self._checked.add(image)

    def prepare(self, launch: Launch) -> None:
        self.require_image(launch.image)

    def inherits(self) -> bool:
        return True  # the engine client passes launch.env and launch.cwd into the container

    def command(self, launch: Launch) -> list[str]:
        env, pfs_dir, cwd = launch.env, launch.pfs_dir, launch.cwd
        mounts = ["-v", f"{pfs_dir}:/pfs"]
        home = env.get(HOME_ENV)
        if home:
            mounts += ["-v", f"{home}:{home}"]
        if cwd.resolve() != Path(home or "/nonexistent").resolve():
            mounts += ["-v", f"{cwd}:{cwd}"]
        flags = shlex.split(os.environ.get(FLAGS_ENV, ""))
        # imported here: run_spark reads specs (pachyderm_sdk), pachflow_spark pyarrow;
        # `pachflow --help` needs neither
        from pachflow.local.run_spark import LOCAL_MASTER, MASTER_ENV
        from pachflow_spark.paths import HOST_PFS_ENV

        passed = container_env(env, os.environ)
        master = env.get(MASTER_ENV, "").strip()
        if master and not LOCAL_MASTER.fullmatch(master):  # the host's Spark reads /pfs
            tmp = pfs_dir.parent / "tmp"
            tmp.mkdir(exist_ok=True)
            mounts += ["-v", f"{tmp}:{tmp}"]
            passed |= {HOST_PFS_ENV: str(pfs_dir), "TMPDIR": str(tmp)}
        env_flags: list[str] = []
        for key, value in sorted(passed.items()):
            env_flags += ["-e", f"{key}={value}"]
        return [
            self.engine,
            "run",
            "--rm",
            "--name",
            f"pachflow-{uuid.uuid4().hex[:12]}",
            "--network",
            "host",
            "--user",
            self.user(),
            "-w",
            str(cwd),
            *mounts,
            *env_flags,
            *flags,
            launch.image,
            *launch.argv,
        ]


class PodmanRuntime(ContainerRuntime):
    name = "podman"
    engine = "podman"


class DockerRuntime(ContainerRuntime):
    name = "docker"
    engine = "docker"


CONTAINER_RUNTIMES: dict[str, type[Runtime]] = {"podman": PodmanRuntime, "docker": DockerRuntime}
