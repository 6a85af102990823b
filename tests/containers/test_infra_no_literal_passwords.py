"""No password is written in the repo's deployment files: every values file and pipeline
spec holds none, the Pachyderm chart's well-known PostgreSQL defaults are overridden, and
the secret the values point at is made by infra/minikube/up.sh from random bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / "infra" / "helm"
UP = REPO / "infra" / "minikube" / "up.sh"
SECRET_WORDS = re.compile(r"password|passwd|secret_?key|token|credential", re.I)
DEPLOYMENT_FILES = sorted(HELM.glob("*-values.yaml")) + sorted((REPO / "pipelines").glob("*.json"))


def literal_secrets(data: object, path: str = "") -> list[str]:
    """`path: value` of every non-empty string under a key that names a secret (a key that
    names where the secret is, `...SecretName`, `...Key` of a secret, is fine)."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            names_secret = SECRET_WORDS.search(str(key)) and not re.search(
                r"(secret_?name|existing|secret_?key_?ref|key|file)$", str(key), re.I
            )
            if names_secret and isinstance(value, str) and value:
                found.append(f"{here}: {value!r}")
            found += literal_secrets(value, here)
    elif isinstance(data, list):
        for n, item in enumerate(data):
            found += literal_secrets(item, f"{path}[{n}]")
    return found


def load(path: Path) -> object:
    return (
        json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    )


@pytest.mark.parametrize("path", DEPLOYMENT_FILES, ids=lambda p: p.name)
def test_no_values_file_or_spec_holds_a_literal_password(path):
    assert literal_secrets(load(path)) == []


def test_the_check_finds_a_literal_password():
    chart = {"global": {"postgresql": {"postgresqlPassword": "insecure-user-password"}}}
    assert literal_secrets(chart) == [
        "global.postgresql.postgresqlPassword: 'insecure-user-password'"
    ]
    assert literal_secrets({"postgresqlExistingSecretName": "pg", "passwordKey": "password"}) == []


def test_pachyderm_values_replace_the_charts_default_postgres_passwords(chart_reference):
    chart = yaml.safe_load((chart_reference / "pachyderm" / "helm-values.yaml").read_text())
    defaults = chart["global"]["postgresql"]
    assert defaults["postgresqlPassword"] == "insecure-user-password"  # what we override
    ours = yaml.safe_load((HELM / "pachyderm-values.yaml").read_text())
    pg = ours["global"]["postgresql"]
    assert pg["postgresqlPassword"] == "" and pg["postgresqlPostgresPassword"] == ""
    secret = pg["postgresqlExistingSecretName"]
    assert ours["postgresql"]["existingSecret"] == secret  # the bundled database reads it too
    assert pg["postgresqlExistingSecretKey"] == "postgresql-password"

    script = UP.read_text()
    create = re.search(rf"create secret generic {secret}\b(?P<args>(?:.*\\\n)*.*)", script)
    assert create, f"up.sh must create the secret {secret}"
    for key in ("postgresql-password", "postgresql-postgres-password"):  # the subchart's keys
        assert f"/{key}" in create.group("args")
    assert "/dev/urandom" in script[: create.start()].rsplit("get secret", 1)[-1]


def test_up_sh_passes_no_secret_on_a_command_line():
    """A command line is readable by every user (ps, /proc/<pid>/cmdline): secrets go to
    kubectl and helm as files (--from-file, --set-file), never as literals."""
    script = UP.read_text()
    assert "--from-literal" not in script
    on_command_lines = [
        line
        for line in script.splitlines()
        if re.search(r"\b(kubectl|helm)\b", line) and re.search(r"\$\{?pass\b", line)
    ]
    assert on_command_lines == []
