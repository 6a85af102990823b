"""Static checks of the Dockerfiles (no engine needed): every stage has one, hadolint
passes, the build logic lives once (docker/builder's scripts, run by the one
docker/stage/Dockerfile: a stage Dockerfile is its installed image plus its command and
labels), the shared images take the base image as a build arg defaulting to the public
Python image, the images end as the non-root user, the CA bundle only ever arrives as a
build secret, every bind-mounted step is keyed by a hash of what it mounts, and a change
to the shared build logic changes every stage's content hash."""

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
INSTALL_DOCKERFILE = REPO / "docker" / "stage" / "Dockerfile"  # every stage's install steps
BASE_DOCKERFILES = [p for p in SHARED_DOCKERFILES if p != INSTALL_DOCKERFILE]
RUNTIME_DOCKERFILES = [p for p in SHARED_DOCKERFILES if p.parent.name.endswith("-runtime")]
DOCKERFILES = STAGE_DOCKERFILES + SHARED_DOCKERFILES
BUILD_SCRIPTS = sorted((REPO / "docker" / "builder").glob("*.sh"))
# Commands that make up the build logic: only docker/builder/*.sh may run them.
BUILD_LOGIC = ("uv export", "uv build", "uv venv", "uv pip install", "pip install", "-m venv")
# ... and only docker/stage/Dockerfile (and the Spark runtime, for its pins) calls them.
BUILD_SCRIPT_CALLS = ("export-package", "install-package")


def hadolint() -> str | None:
    here = Path(sys.executable).parent / "hadolint"
    return str(here) if here.exists() else shutil.which("hadolint")


def instructions(dockerfile: Path) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"^\s*#.*\n", "", dockerfile.read_text(), flags=re.M)
    return [i.strip() for i in re.sub(r"\\\n\s*", " ", text).splitlines() if i.strip()]


def runs(dockerfile: Path) -> list[str]:
    return [i for i in instructions(dockerfile) if i.startswith("RUN ")]


def build_stages(dockerfile: Path) -> list[list[str]]:
    """The instructions of each FROM ... section (global ARGs before the first dropped)."""
    sections: list[list[str]] = []
    for step in instructions(dockerfile):
        if step.startswith("FROM "):
            sections.append([])
        if sections:
            sections[-1].append(step)
    return sections


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
        "stage",
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
def test_stage_dockerfile_is_its_installed_image_plus_its_command(dockerfile):
    """The builder/runtime logic is written once (docker/stage/Dockerfile running
    docker/builder/*.sh): a stage Dockerfile that exports, builds or installs by itself,
    or has its own builder stage, has copied it back in."""
    stage = dockerfile.parent.name
    steps = instructions(dockerfile)
    for step in steps:
        for logic in BUILD_LOGIC + BUILD_SCRIPT_CALLS:
            assert logic not in step, f"{logic!r} belongs in docker/stage/Dockerfile: {step}"
        assert "--from=" not in step and "type=bind" not in step, step
    froms = [s for s in steps if s.startswith("FROM ")]
    assert froms in (["FROM ${PYTHON_INSTALLED}"], ["FROM ${SPARK_INSTALLED}"]), froms
    assert f'CMD ["pachflow-{stage}", "--help"]' in steps
    assert not [s for s in steps if s.startswith("USER ")], "the installed image ends as 10001"


def test_the_install_dockerfile_exports_then_installs_pins_then_wheels():
    builder, runtime = build_stages(INSTALL_DOCKERFILE)
    assert builder[0] == "FROM ${BUILDER} AS builder", builder
    assert runtime[0] == "FROM ${RUNTIME}", runtime
    assert "ARG PACKAGE" in builder
    assert [r for r in builder if r.startswith("RUN ") and 'export-package "${PACKAGE' in r]
    installs = [r for r in runtime if r.startswith("RUN ")]
    assert [r.split("install-package ")[1].split()[0] for r in installs] == [
        "requirements",
        "wheels",
    ], "third-party pins and the package's own wheels are two layers, pins first"
    for r in installs:
        assert "--mount=type=bind,from=builder,source=/opt/uv,target=/opt/uv" in r
    assert not [s for s in runtime if s.startswith(("COPY ", "ADD "))], (
        "what the builder made is bind-mounted: a COPY would leave it in a layer"
    )


@pytest.mark.parametrize("dockerfile", SHARED_DOCKERFILES, ids=ids)
def test_every_bind_mounted_step_is_keyed_by_a_hash_of_what_it_mounts(dockerfile):
    """podman < 5.4 reuses a cached RUN step when only its bind mounts' content changed:
    right before each such step a *_HASH build arg (images.sh passes the hash of what it
    mounts) puts that content into the step's cache key."""
    for section in build_stages(dockerfile):
        since_last_run: list[str] = []
        for step in section:
            if step.startswith("RUN "):
                if "type=bind" in step:
                    keys = [s for s in since_last_run if re.fullmatch(r"ARG [A-Z_]+_HASH", s)]
                    assert keys, f"no ARG *_HASH right before: {step}"
                since_last_run = []
            else:
                since_last_run.append(step)


def workspace_deps(package: str) -> set[str]:
    """The workspace packages `package` (a libs/ folder name) imports, transitively, by
    its pyproject's dependencies (`pachflow-<name>` -> libs/<name>)."""
    import tomllib

    found: set[str] = set()
    todo = [package]
    while todo:
        meta = tomllib.loads((REPO / "libs" / todo.pop() / "pyproject.toml").read_text())
        for dep in meta["project"]["dependencies"]:
            name = re.match(r"pachflow-([a-z]+)", dep)
            if name and name[1] not in found:
                found.add(name[1])
                todo.append(name[1])
    return found


def test_the_class_archive_step_mounts_everything_pachflow_spark_imports():
    """The Spark runtime's class archive is made by `python -m pachflow_spark.cds` from
    bind-mounted sources (the runtime's venv holds third-party pins only): each workspace
    package pachflow_spark depends on must be mounted there, on its PYTHONPATH and in the
    hash that keys the step, or the build fails (ModuleNotFoundError) only where podman runs."""
    dockerfile = REPO / "docker" / "spark-runtime" / "Dockerfile"
    step = next(r for r in runs(dockerfile) if "pachflow_spark.cds" in r)
    images_sh = (REPO / "docker" / "images.sh").read_text()
    sources = re.search(r"^SPARK_SOURCES=\((.*)\)$", images_sh, re.M)
    assert sources, "docker/images.sh: no SPARK_SOURCES=(...) (what keys the step)"
    for lib in ["spark", *sorted(workspace_deps("spark"))]:
        assert f"source=libs/{lib}/src,target=/tmp/pachflow-{lib}" in step, lib
        assert f"/tmp/pachflow-{lib}" in step.split("PYTHONPATH=")[1].split()[0], lib
        assert f"libs/{lib}/src" in sources[1].split(), lib


@pytest.mark.parametrize("dockerfile", RUNTIME_DOCKERFILES, ids=ids)
def test_runtime_dockerfiles_hold_no_build_logic_either(dockerfile):
    for step in runs(dockerfile):
        for logic in BUILD_LOGIC:
            assert logic not in step, f"{logic!r} belongs in docker/builder/*.sh: {step}"


@pytest.mark.parametrize("dockerfile", BASE_DOCKERFILES, ids=ids)
def test_shared_images_take_the_base_image_as_a_build_arg(dockerfile):
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile.read_text()


@pytest.mark.parametrize("dockerfile", [INSTALL_DOCKERFILE, *RUNTIME_DOCKERFILES], ids=ids)
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


def _images_sh(repo: Path, command: str) -> list[str]:
    result = subprocess.run(
        [str(repo / "docker" / "images.sh"), command],
        env={**os.environ, "CONTAINER_ENGINE": "podman"},  # these commands never call it
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
    )
    return result.stdout.splitlines()


def _hashes(repo: Path) -> dict[str, dict[str, str]]:
    """Per stage: its content hash and the cache-key build args of its install steps."""
    stages = {}
    lines = zip(_images_sh(repo, "content-hash"), _images_sh(repo, "stage-args"), strict=True)
    for line, args in lines:
        stage, content = line.split()
        values = dict(a.split("=", 1) for a in args.split() if a != "--build-arg")
        stages[stage] = {"content": content, **values}
    return stages


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.mark.slow
@pytest.mark.parametrize(
    "changed", ["docker/builder/install-package.sh", "docker/stage/Dockerfile"]
)
def test_a_change_to_the_shared_build_logic_changes_every_content_hash(repo_copy, changed):
    """Tags never change meaning: the shared scripts and install Dockerfile do every
    export and install, so an edit to them must make every stage's tag refuse to be
    reused, and (scripts) re-run every stage's install steps."""
    before = _hashes(repo_copy)
    assert set(before) == {d.name for d in STAGE_DIRS}
    _append(repo_copy / changed, "# changed\n")
    after = _hashes(repo_copy)
    for stage in before:
        assert after[stage]["content"] != before[stage]["content"], stage
        assert after[stage]["PACKAGES_HASH"] != before[stage]["PACKAGES_HASH"], stage
        if changed.endswith(".sh"):
            assert after[stage]["PINS_HASH"] != before[stage]["PINS_HASH"], stage


@pytest.mark.slow
def test_a_source_change_re_runs_the_package_step_but_keeps_the_pins_layer(repo_copy):
    """The pins layer is rebuilt only when the pins (or the builder) change: an edit to
    split's code re-installs its wheels, reusing the cached third-party layer."""
    before = _hashes(repo_copy)
    _append(repo_copy / "stages/split/src/pachflow_split/__init__.py", "# changed\n")
    after = _hashes(repo_copy)
    assert after["split"]["PACKAGES_HASH"] != before["split"]["PACKAGES_HASH"]
    assert after["split"]["content"] != before["split"]["content"]
    assert after["split"]["PINS_HASH"] == before["split"]["PINS_HASH"]
    assert after["etl"] == before["etl"], "etl does not use split's code"
