"""The cluster path without a cluster: what `pachflow deploy` sends, built and parsed with
pachyderm_sdk's real message types, and how the commands fail when pachd is not there (the
client factory itself is tested with pachflow_lineage.client)."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pachyderm_sdk.api import pfs
from pachyderm_sdk.api.pps import CreatePipelineRequest, PipelineInfo

from pachflow.cli import main
from pachflow.cluster import requests
from pachflow.pipeline_spec import load_spec_file, load_specs

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"
REPO_ROOT = PIPELINES.parent


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in a JSON value (map values included)."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            found |= {f"{prefix}.{key}"} | _paths(item, f"{prefix}.{key}")
        return found
    if isinstance(value, list):
        return set().union(*(_paths(item, f"{prefix}[]") for item in value)) if value else set()
    return set()


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*.json")), ids=lambda p: p.name)
def test_request_json_round_trips_through_the_sdk_message(path: Path) -> None:
    """Every field we send is one CreatePipelineRequest knows: none silently dropped."""
    spec = load_spec_file(path)
    sent = json.loads(requests.pipeline_request_json(spec))
    message = CreatePipelineRequest().from_json(requests.pipeline_request_json(spec))
    assert _paths(message.to_dict()) == _paths(sent)
    assert message.pipeline.name == spec.name
    assert message.transform.image == spec.image
    assert tuple(message.transform.cmd) == spec.cmd
    assert message.datum_tries == spec.datum_tries
    assert message.parallelism_spec.constant == spec.parallelism
    assert message.datum_timeout == timedelta(seconds=float(sent["datumTimeout"][:-1]))
    # the committed specs are camelCase already: the request is the file's content
    assert sent == spec.raw


def test_etl_request_carries_batching_and_one_datum_set_per_worker() -> None:
    message = CreatePipelineRequest().from_json(
        requests.pipeline_request_json(load_spec_file(PIPELINES / "etl.json"))
    )
    assert message.transform.datum_batching is True
    assert message.datum_set_spec.per_worker == 1
    assert message.autoscaling is True
    assert message.sidecar_resource_requests.memory == "256Mi"


def test_train_request_carries_secret_references_not_values() -> None:
    message = CreatePipelineRequest().from_json(
        requests.pipeline_request_json(load_spec_file(PIPELINES / "train.json"))
    )
    secrets = {(s.name, s.key, s.env_var) for s in message.transform.secrets}
    assert secrets == {
        ("mlflow-credentials", "username", "MLFLOW_TRACKING_USERNAME"),
        ("mlflow-credentials", "password", "MLFLOW_TRACKING_PASSWORD"),
    }


def test_snake_case_spec_is_sent_in_camel_case(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "pipeline": {"name": "p"},
                "transform": {
                    "image": "python:3.11-slim",
                    "cmd": ["true"],
                    "datum_batching": True,
                    "env": {"keep_this_key": "v"},
                },
                "input": {"pfs": {"repo": "raw_data", "glob": "/*", "empty_files": True}},
                "datum_timeout": "60s",
            }
        )
    )
    sent = json.loads(requests.pipeline_request_json(load_spec_file(path)))
    assert sent["transform"]["datumBatching"] is True
    assert sent["transform"]["env"] == {"keep_this_key": "v"}
    assert sent["input"]["pfs"]["emptyFiles"] is True
    assert sent["datumTimeout"] == "60s"
    message = CreatePipelineRequest().from_json(json.dumps(sent))
    assert message.input.pfs.empty_files is True
    assert message.datum_timeout == timedelta(seconds=60)


def test_input_repos_are_the_repos_no_pipeline_produces() -> None:
    specs = load_specs(PIPELINES)
    # raw_data feeds the training chain, transactions the score pipeline.
    repos = {repo.name: repo for repo in requests.input_repos(specs)}
    assert sorted(repos) == ["raw_data", "transactions"]
    raw = repos["raw_data"]
    assert (raw.name, raw.project, raw.branch) == ("raw_data", "default", "master")
    assert (repos["transactions"].project, repos["transactions"].branch) == ("default", "master")
    assert raw.repo == pfs.Repo(name="raw_data", type="user", project=pfs.Project(name="default"))
    assert raw.branch_ref.as_uri() == "default/raw_data@master"
    assert requests.projects(specs) == ["default"]


def test_pipeline_ref_and_put_branch_are_sdk_messages() -> None:
    spec = load_spec_file(PIPELINES / "train.json")
    ref = requests.pipeline_ref(spec)
    assert (ref.name, ref.project.name) == ("train", "default")
    assert bytes(ref)  # serialises as a real protobuf message
    branch = requests.branch_for_put("raw_data")
    assert branch == pfs.Branch.from_uri("default/raw_data@master")
    assert branch.repo.type == "user"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", ["deploy", "undeploy"])
def test_cli_unreachable_pachd_exits_2_naming_the_address(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setenv("PACHD_ADDRESS", f"127.0.0.1:{port}")
    result = CliRunner().invoke(main, [command, "--timeout", "0.3"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"pachflow: cannot reach pachd at grpc://127.0.0.1:{port} ")
    assert "$PACHD_ADDRESS" in lines[0]


def test_cli_deploy_refuses_invalid_specs_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.json"
    spec = json.loads((PIPELINES / "split.json").read_text())
    spec["transform"]["imagee"] = spec["transform"].pop("image")
    bad.write_text(json.dumps(spec))
    monkeypatch.setenv("PACHD_ADDRESS", "127.0.0.1:1")  # never contacted
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner().invoke(main, ["deploy", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: transform.imagee: unknown field (did you mean image?)" in result.stderr
    assert "cannot reach" not in result.stderr


def test_put_paths_puts_each_file_at_its_name_and_refuses_clashes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "x.csv", tmp_path / "b" / "x.csv"
    assert requests.put_paths([one, tmp_path / "y.csv.gz"]) == [
        (one, "/x.csv"),
        (tmp_path / "y.csv.gz", "/y.csv.gz"),
    ]
    with pytest.raises(ValueError, match=r"would both be put at /x.csv"):
        requests.put_paths([one, two])


def test_cli_put_refuses_clashing_names_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.csv").write_text("step\n1\n")
    monkeypatch.setenv("PACHD_ADDRESS", f"127.0.0.1:{_closed_port()}")
    result = CliRunner().invoke(
        main, ["cluster", "put", "raw_data", str(tmp_path / "a/x.csv"), str(tmp_path / "b/x.csv")]
    )
    assert result.exit_code == 2
    assert "would both be put at /x.csv" in result.stderr
    assert "cannot reach" not in result.stderr


def test_same_spec_compares_pachds_copy_of_the_request() -> None:
    request = requests.pipeline_request_json(load_spec_file(PIPELINES / "etl.json"))
    reordered = json.dumps(dict(reversed(list(json.loads(request).items()))))
    assert requests.same_spec(PipelineInfo(user_spec_json=reordered), request)
    changed = json.loads(request)
    changed["parallelismSpec"]["constant"] += 1  # a different worker count
    assert not requests.same_spec(PipelineInfo(user_spec_json=json.dumps(changed)), request)
    assert not requests.same_spec(PipelineInfo(user_spec_json=""), request)
    assert not requests.same_spec(PipelineInfo(user_spec_json="{not json"), request)
