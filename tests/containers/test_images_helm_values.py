"""Our Helm values only use keys the pinned charts define (a misspelt key is silently
ignored by Helm: the cluster would come up without the setting), and the pinned versions
agree with each other. Checked against the charts' own values as published upstream, read
from the reference folder beside the clone (`../shared/reference`, see conftest's
`chart_reference`; skipped where it is absent: nothing upstream is copied into the project)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / "infra" / "helm"
UP = REPO / "infra" / "minikube" / "up.sh"

#: Maps the chart leaves empty ({}) for Kubernetes objects (resource requirements):
#: below these, keys are Kubernetes' own, not the chart's.
FREE_FORM = {
    ("pachyderm", "pachd", "resources"),
    ("mlflow", "resources"),
}


def unknown_keys(ours: object, theirs: object, path: tuple[str, ...]) -> list[str]:
    if path in FREE_FORM or not isinstance(ours, dict):
        return []
    if not isinstance(theirs, dict):
        return [".".join(path[1:]) + " (not a map in the chart)"]
    problems = []
    for key, value in ours.items():
        if key not in theirs:
            problems.append(".".join((*path[1:], key)))
        else:
            problems += unknown_keys(value, theirs[key], (*path, key))
    return problems


#: Each chart's default values in the reference folder (chart revisions: its README). When a
#: chart pin in infra/minikube/up.sh moves, that folder needs the new version's values.yaml.
CHART_VALUES = {
    "pachyderm": "pachyderm/helm-values.yaml",
    "mlflow": "mlflow-chart-values.yaml",
}
#: Subcharts whose own values.yaml is there too: their keys are valid below them.
SUBCHARTS = {"pachyderm": {"postgresql": "pachyderm/postgresql-subchart-values.yaml"}}


def chart_values(reference: Path, chart: str) -> dict:
    """The chart's default values, each subchart's own keys merged in below its name."""
    theirs = yaml.safe_load((reference / CHART_VALUES[chart]).read_text())
    for key, name in SUBCHARTS.get(chart, {}).items():
        sub = yaml.safe_load((reference / name).read_text())
        theirs[key] = {**sub, **(theirs.get(key) or {})}
    return theirs


@pytest.mark.parametrize("chart", ["pachyderm", "mlflow"])
def test_every_values_key_exists_in_the_chart(chart, chart_reference):
    ours = yaml.safe_load((HELM / f"{chart}-values.yaml").read_text())
    assert unknown_keys(ours, chart_values(chart_reference, chart), (chart,)) == []


def test_the_check_catches_a_misspelt_key():
    theirs = {"pachd": {"metrics": {"enabled": True}}}
    assert unknown_keys({"pachd": {"metric": {"enabled": False}}}, theirs, ("x",)) == [
        "pachd.metric"
    ]


def test_pachyderm_chart_matches_the_sdk_pins():
    chart = re.search(r"^PACHYDERM_CHART_VERSION=(\S+)", UP.read_text(), re.M)
    assert chart, "up.sh must pin the Pachyderm chart"
    pins = set()
    for pyproject in REPO.glob("*/*/pyproject.toml"):
        pins |= set(re.findall(r'"pachyderm-sdk==([^"]+)"', pyproject.read_text()))
    assert pins == {chart.group(1)}


def test_mlflow_allows_the_host_the_train_spec_uses():
    import json

    uri = json.loads((REPO / "pipelines" / "train.json").read_text())["transform"]["env"][
        "MLFLOW_TRACKING_URI"
    ]
    host = re.match(r"https?://([^/:]+)", uri).group(1)
    values = yaml.safe_load((HELM / "mlflow-values.yaml").read_text())
    assert host in values["serverAllowedHosts"]
