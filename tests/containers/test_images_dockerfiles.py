"""Static checks of the Dockerfiles (no engine needed): every stage has one, hadolint
passes, the build logic lives once in docker/builder's scripts (a stage Dockerfile only
names its package, runtime and command), the shared images take the base image as a build
arg defaulting to the public Python image, the images end as the non-root user, the CA
bundle only ever arrives as a build secret, and a change to the shared build logic changes
every stage's content hash."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGE_DIRS = sorted(p for p in (REPO / "stages").iterdir() if (p / "pyproject.toml").is_file())
STAGE_DOCKERFILES = [d / "Dockerfile" for d in STAGE_DIRS]
SHARED_DOCKERFILES = sorted((REPO / "docker").glob("*/Dockerfile"))
RUNTIME_DOCKERFILES = [p for p in SHARED_DOCKERFILES if p.parent.name.endswith("-runtime")]
DOCKERFILES = STAGE_DOCKERFILES + SHARED_DOCKERFILES
BUILD_SCRIPTS = sorted((REPO / "docker" / "builder").glob("*.sh"))
# Commands that make up the build logic: only docker/builder/*.sh may run them.
BUILD_LOGIC = ("uv export", "uv build", "uv venv", "uv pip install", "pip install", "-m venv")


def hadolint() -> str | None:
    here = Path(sys.executable).parent / "hadolint"
    return str(here) if here.exists() else shutil.which("hadolint")


def instructions(dockerfile: Path) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"^\s*#.*\n", "", dockerfile.read_text(), flags=re.M)
    return [i.strip() for i in re.sub(r"\\\n\s*", " ", text).splitlines() if i.strip()]


def runs(dockerfile: Path) -> list[str]:
    return [i for i in instructions(dockerfile) if i.startswith("RUN ")]


def ids(p: Path) -> str:
    return p.parent.name


@pytest.mark.parametrize("stage_dir", STAGE_DIRS, ids=lambda p: p.name)
def test_every_stage_has_a_dockerfile(stage_dir):
    assert (stage_dir / "Dockerfile").is_file()


def test_the_shared_images_exist():
    assert {p.parent.name for p in SHARED_DOCKERFILES} >= {
        "builder",
        "python-runtime",
        "spark-runtime",
    }
    assert {p.name for p in BUILD_SCRIPTS} >= {"export-package.sh", "install-package.sh"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=ids)
def test_hadolint_passes(dockerfile):
    exe = hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (it is in the root dev group: uv sync)")
    result = subprocess.run([exe, str(dockerfile)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", STAGE_DOCKERFILES, ids=ids)
def test_stage_dockerfile_only_names_its_package_runtime_and_command(dockerfile):
    """The builder/runtime logic is written once (docker/builder/*.sh): a stage Dockerfile
    that exports, builds or installs by itself has copied it back in."""
    stage = dockerfile.parent.name
    steps = instructions(dockerfile)
    for step in steps:
        for logic in BUILD_LOGIC:
            assert logic not in step, f"{logic!r} belongs in docker/builder/*.sh: {step}"
    froms = [s for s in steps if s.startswith("FROM ")]
    assert froms[0] == "FROM ${BUILDER} AS builder", froms
    assert froms[-1] in ("FROM ${PYTHON_RUNTIME}", "FROM ${SPARK_RUNTIME}"), froms
    assert len(froms) == 2, froms
    build = runs(dockerfile)
    assert [r for r in build if r.endswith(f"export-package pachflow-{stage}")], build
    installs = [r for r in build if "/opt/uv/bin/install-package" in r]
    assert [r.split("install-package ")[1].split()[0] for r in installs] == [
        "requirements",
        "wheels",
    ], "third-party pins and the package's own wheels are two layers, pins first"
    for r in installs:
        assert "--mount=type=bind,from=builder,source=/opt/uv,target=/opt/uv" in r
    assert f'CMD ["pachflow-{stage}", "--help"]' in steps


@pytest.mark.parametrize("dockerfile", RUNTIME_DOCKERFILES, ids=ids)
def test_runtime_dockerfiles_hold_no_build_logic_either(dockerfile):
    for step in runs(dockerfile):
        for logic in BUILD_LOGIC:
            assert logic not in step, f"{logic!r} belongs in docker/builder/*.sh: {step}"


@pytest.mark.parametrize("dockerfile", SHARED_DOCKERFILES, ids=ids)
def test_shared_images_take_the_base_image_as_a_build_arg(dockerfile):
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile.read_text()


@pytest.mark.parametrize("dockerfile", STAGE_DOCKERFILES + RUNTIME_DOCKERFILES, ids=ids)
def test_images_end_as_the_non_root_user(dockerfile):
    users = re.findall(r"^USER (\S+)", dockerfile.read_text(), re.M)
    assert users and users[-1] == "10001:10001", "the image must end as the non-root user"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=ids)
def test_ca_bundle_only_as_a_secret(dockerfile):
    text = dockerfile.read_text()
    assert "ca-certificates.crt" not in re.sub(r"^#.*$", "", text, flags=re.M), (
        "the CA bundle must come in as a build secret, never be copied"
    )
    for step in runs(dockerfile):
        downloads = (
            "PIP_CERT" in step
            or "SSL_CERT_FILE" in step
            or "install-package requirements" in step
            or re.search(r"export-package \S+$", step)  # builds wheels: fetches the backend
        )
        if downloads:
            assert "--mount=type=secret,id=ca,required=false" in step, step


@pytest.mark.parametrize("script", BUILD_SCRIPTS, ids=lambda p: p.name)
def test_build_scripts_use_the_ca_secret_when_mounted(script):
    text = script.read_text()
    assert "if [ -f /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi" in text
    assert os.access(script, os.X_OK), "the builder image copies it as a command"


@pytest.mark.parametrize("script", BUILD_SCRIPTS, ids=lambda p: p.name)
def test_build_scripts_pass_shellcheck(script):
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    result = subprocess.run([exe, str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _content_hashes(repo: Path) -> dict[str, str]:
    result = subprocess.run(
        [str(repo / "docker" / "images.sh"), "content-hash"],
        env={**os.environ, "CONTAINER_ENGINE": "podman"},  # content-hash never calls it
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
    )
    return dict(line.split() for line in result.stdout.splitlines())


def test_a_change_to_the_shared_build_logic_changes_every_content_hash(tmp_path):
    """Tags never change meaning: the shared scripts do every export and install, so an
    edit to them must make every stage's tag refuse to be reused."""
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
    before = _content_hashes(copy)
    assert set(before) == {d.name for d in STAGE_DIRS}
    script = copy / "docker" / "builder" / "install-package.sh"
    script.write_text(script.read_text() + "# changed\n")
    after = _content_hashes(copy)
    assert all(after[s] != before[s] for s in before), (before, after)
