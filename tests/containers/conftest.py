"""Fixtures for the container tests: a working engine, the stage images built once per
session (docker/images.sh, the same script `make images` runs), PaySim fixture data, and a
runner for a stage image the way a Pachyderm worker runs it (spec cmd, /pfs mounts, the
image's non-root user).

Images are tagged under a throwaway registry name (localhost/pachflow-test, OVERWRITE=1),
so the tests never replace a user's `pachflow/...` tags. The base image defaults to the
registry-free local base (built with debootstrap when missing): set
PACHFLOW_TEST_BASE_IMAGE=python:3.11-slim-bookworm to test the public one.
Without an engine every test here skips, saying so; with PACHFLOW_REQUIRE_CONTAINERS=1
(CI) a missing engine is a failure instead.

`chart_reference`: the third-party charts' own values files, read from the reference
folder beside the clone (`../shared/reference`, present in CI); nothing upstream is
copied into the project, so the tests that need them skip where it is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_REGISTRY = "localhost/pachflow-test"
LOCAL_BASE = "localhost/pachflow-base:bookworm"
IMAGE_UID = 10001
STAGES = ("split", "etl", "train", "provenance", "score")
PFS = "/pfs"
#: Read-only third-party reference files beside the clone (CI has them; a user's clone not).
REFERENCE = REPO.parent / "shared" / "reference"


def implemented(stage: str) -> bool:
    """Stage code exists (its CLI module): stages are written in parallel, and an image
    of an empty package has nothing to run."""
    return (REPO / "stages" / stage / "src" / f"pachflow_{stage}" / "cli.py").is_file()


def require_stage(stage: str) -> None:
    if not implemented(stage):
        pytest.skip(f"stages/{stage} has no CLI yet (src/pachflow_{stage}/cli.py)")


@pytest.fixture(scope="session")
def chart_reference() -> Path:
    """The folder holding the pinned charts' default values (`pachyderm/helm-values.yaml`,
    `pachyderm/postgresql-subchart-values.yaml`, `mlflow-chart-values.yaml`)."""
    if not (REFERENCE / "pachyderm" / "helm-values.yaml").is_file():
        pytest.skip(
            f"no chart reference values at {REFERENCE} (the folder beside the clone that "
            "CI provides): the charts' own values.yaml are not copied into the project"
        )
    return REFERENCE


def _no_engine(reason: str) -> None:
    if os.environ.get("PACHFLOW_REQUIRE_CONTAINERS") == "1":
        pytest.fail(f"PACHFLOW_REQUIRE_CONTAINERS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> str:
    """podman or docker, checked to actually run containers here."""
    wanted = os.environ.get("CONTAINER_ENGINE")
    candidates = [wanted] if wanted else ["podman", "docker"]
    found = [c for c in candidates if shutil.which(c)]
    if not found:
        _no_engine(
            "no container engine (podman or docker) on PATH; on Debian: "
            "docker/podman-setup.sh installs and configures podman"
        )
    name = found[0]
    info = subprocess.run([name, "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        _no_engine(f"{name} is installed but not usable: {info.stderr.strip()[-300:]}")
    return name


def spec(stage: str) -> dict:
    return json.loads((REPO / "pipelines" / f"{stage}.json").read_text())


def version(stage: str) -> str:
    import tomllib

    with (REPO / "stages" / stage / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def tag(stage: str) -> str:
    return f"{TEST_REGISTRY}/pachflow-{stage}:{version(stage)}"


@dataclass(frozen=True)
class Images:
    engine: str
    env: dict[str, str]  # how images.sh was called (for more calls in tests)
    build_log: str

    # helpers for the test modules (which cannot import this conftest)
    tag = staticmethod(tag)
    spec = staticmethod(spec)
    version = staticmethod(version)
    require_stage = staticmethod(require_stage)
    repo = REPO
    uid = IMAGE_UID

    @staticmethod
    def tree(root: Path) -> dict[str, Path]:
        """Relative path -> file, for every file under root."""
        return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}

    def inspect(self, ref: str) -> dict:
        out = subprocess.run(
            [self.engine, "image", "inspect", ref], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout)[0]

    def images_sh(
        self, *args: str, repo: Path = REPO, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(repo / "docker" / "images.sh"), *args],
            env={**os.environ, **self.env, **env},
            capture_output=True,
            text=True,
            check=False,
            cwd=repo,
        )


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The working tree's tracked and new files, copied: images.sh and the builds read
    only files, so a test can change one and see what the images make of it."""
    if shutil.which("uv") is None and os.environ.get("UV") is None:
        pytest.skip("uv not on PATH (images.sh hashes the lock slices with it)")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
        cwd=REPO,
    ).stdout.split(b"\0")
    copy = tmp_path / "repo"
    for name in filter(None, listed):
        src = REPO / name.decode()
        if src.is_file():
            (copy / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name.decode())
    return copy


@pytest.fixture(scope="session")
def images(engine: str) -> Images:
    """Every stage image, built (or found up to date) once per session."""
    base = os.environ.get("PACHFLOW_TEST_BASE_IMAGE", LOCAL_BASE)
    if base == LOCAL_BASE:
        present = subprocess.run(
            [engine, "image", "exists" if engine == "podman" else "inspect", LOCAL_BASE],
            capture_output=True,
            check=False,
        )
        if present.returncode != 0 and (os.geteuid() != 0 or not shutil.which("debootstrap")):
            _no_engine(
                f"{LOCAL_BASE} is missing and cannot be built here (needs root and "
                "debootstrap: make base-image)"
            )
    env = {
        "CONTAINER_ENGINE": engine,
        "REGISTRY": TEST_REGISTRY,
        "BASE_IMAGE": base,
        "OVERWRITE": "1",
    }
    uv = shutil.which("uv")
    if uv:
        env["UV"] = uv
    built = Images(engine, env, "")
    result = built.images_sh("build", *STAGES)
    if result.returncode != 0:
        pytest.fail(f"building the images failed:\n{result.stderr[-4000:]}")
    return Images(engine, env, result.stderr)


@dataclass(frozen=True)
class StageRun:
    returncode: int
    stdout: str
    stderr: str
    out: Path


@pytest.fixture(scope="session")
def run_stage(images: Images) -> Callable[..., StageRun]:
    """Run a stage image as a Pachyderm worker would: the spec's cmd (the image's
    entrypoint ignored), each input mounted read-only at /pfs/<name>, /pfs/out writable
    by the image's user (rootful engines do not remap uids), the spec's env."""

    def run(
        stage: str,
        inputs: dict[str, Path],
        out: Path,
        *,
        cmd: list[str] | None = None,
        env: dict[str, str] | None = None,
        network_host: bool = False,
    ) -> StageRun:
        out.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(out, IMAGE_UID, IMAGE_UID)
        else:
            out.chmod(0o777)
        argv = cmd if cmd is not None else spec(stage)["transform"]["cmd"]
        full_env = {**spec(stage)["transform"].get("env", {}), **(env or {})}
        command = [images.engine, "run", "--rm", "--entrypoint", ""]
        if network_host:
            command += ["--network", "host"]
        for name, path in inputs.items():
            _world_readable(path)
            command += ["-v", f"{path}:{PFS}/{name}:ro"]
        command += ["-v", f"{out}:{PFS}/out"]
        for key, value in full_env.items():
            command += ["-e", f"{key}={value}"]
        command += [tag(stage), *argv]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        return StageRun(proc.returncode, proc.stdout, proc.stderr, out)

    return run


def _world_readable(path: Path) -> None:
    """pytest's tmp dirs are 0700: the image's user must be able to read the inputs."""
    for p in [path, *path.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.fixture(scope="session")
def paysim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small PaySim-like raw files (one gzipped), as in the raw_data repo."""
    from pachflow_paysim import write_paysim

    raw = tmp_path_factory.mktemp("raw_data")
    write_paysim(raw / "part-a.csv", rows=4000, seed=7)
    write_paysim(raw / "part-b.csv.gz", rows=3000, seed=8)
    return raw


@pytest.fixture(scope="session")
def split_out(
    run_stage: Callable[..., StageRun],
    paysim_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StageRun]:
    """split's image run once over the fixture data (the input of the etl image test)."""
    require_stage("split")
    yield run_stage("split", {"raw_data": paysim_dir}, tmp_path_factory.mktemp("split") / "out")
