"""Static checks of the Dockerfiles (no engine needed): every stage has one, hadolint
passes, the base image is a build arg defaulting to the public Python image, the image
user is non-root, and the CA bundle only ever arrives as a build secret."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGE_DIRS = sorted(p for p in (REPO / "stages").iterdir() if (p / "pyproject.toml").is_file())
DOCKERFILES = [d / "Dockerfile" for d in STAGE_DIRS] + [
    REPO / "docker" / "spark-runtime" / "Dockerfile"
]


def hadolint() -> str | None:
    here = Path(sys.executable).parent / "hadolint"
    return str(here) if here.exists() else shutil.which("hadolint")


@pytest.mark.parametrize("stage_dir", STAGE_DIRS, ids=lambda p: p.name)
def test_every_stage_has_a_dockerfile(stage_dir):
    assert (stage_dir / "Dockerfile").is_file()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_passes(dockerfile):
    exe = hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (it is in the root dev group: uv sync)")
    result = subprocess.run([exe, str(dockerfile)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_user_and_secrets(dockerfile):
    text = dockerfile.read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] == "10001:10001", "the image must end as the non-root user"
    assert "ca-certificates.crt" not in re.sub(r"^#.*$", "", text, flags=re.M), (
        "the CA bundle must come in as a build secret, never be copied"
    )
    for line in re.findall(r"^RUN .*(?:\n\s+.*)*", text, re.M):
        if "PIP_CERT" in line or "SSL_CERT_FILE" in line:
            assert "--mount=type=secret,id=ca,required=false" in line
