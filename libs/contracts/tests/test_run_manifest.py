"""run.json: the bytes train writes, the one reader, and what it refuses (naming the file)."""

from __future__ import annotations

import json

import pytest

from pachflow_contracts.run_manifest import (
    MANIFEST_VERSION,
    ManifestError,
    RegisteredVersion,
    RunInput,
    RunManifest,
)

RUN = "0123456789abcdef0123456789abcdef"
COMMIT = "e" * 32

MANIFEST = RunManifest(
    run_id=RUN,
    run_name=f"train@{COMMIT}",
    experiment_id="1",
    experiment_name="pachflow-fraud",
    tracking_uri="http://127.0.0.1:5000",
    model_uri=f"runs:/{RUN}/model",
    registered_model=RegisteredVersion("fraud", "3", "candidate"),
    metrics={"test_rows": 10, "areaUnderPR": 0.5},
    holdout={"rule": "xxhash64(nameOrig, 7) % 100 < 20", "digest": "d" * 16},
    input_commits=(RunInput("etl", "etl", COMMIT, "/pfs/etl"),),
    pachyderm={"pachyderm.job_id": COMMIT},
)

#: What train has written since manifest_version 1 (key order, 2-space indent, sorted
#: metrics, trailing newline): readers outside pachflow parse these bytes.
GOLDEN = f"""{{
  "manifest_version": 1,
  "run_id": "{RUN}",
  "run_name": "train@{COMMIT}",
  "experiment_id": "1",
  "experiment_name": "pachflow-fraud",
  "tracking_uri": "http://127.0.0.1:5000",
  "model_uri": "runs:/{RUN}/model",
  "registered_model": {{
    "name": "fraud",
    "version": "3",
    "alias": "candidate",
    "uri": "models:/fraud/3"
  }},
  "spark_model_dir": "model",
  "metrics": {{
    "areaUnderPR": 0.5,
    "test_rows": 10
  }},
  "holdout": {{
    "rule": "xxhash64(nameOrig, 7) % 100 < 20",
    "digest": "dddddddddddddddd"
  }},
  "input_commits": [
    {{
      "name": "etl",
      "repo": "etl",
      "commit": "{COMMIT}",
      "path": "/pfs/etl"
    }}
  ],
  "pachyderm": {{
    "pachyderm.job_id": "{COMMIT}"
  }},
  "reused_run": false
}}
"""


def test_train_writes_the_bytes_it_always_wrote() -> None:
    assert MANIFEST.to_json() == GOLDEN


def test_what_is_written_reads_back_the_same() -> None:
    assert RunManifest.from_json(GOLDEN, "run.json") == MANIFEST
    assert RunManifest.from_json(GOLDEN.encode(), "run.json").to_json() == GOLDEN


def test_a_hand_made_file_needs_only_its_run_id() -> None:
    """Older and hand-made files (a reproduction's copy, tests): what is missing is its
    default; a version number given as a number is read as text."""
    found = RunManifest.from_json(
        json.dumps({"run_id": RUN, "registered_model": {"name": "m", "version": 2, "alias": "a"}}),
        "x/run.json",
    )
    assert found.registered_model == RegisteredVersion("m", "2", "a")
    assert (found.metrics, found.input_commits, found.manifest_version) == ({}, (), 1)
    assert RunManifest.from_json(json.dumps({"run_id": RUN}), "x").registered_model is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "train@c:/run.json: not valid JSON (Expecting property name"),
        ("[]", "train@c:/run.json: expected a JSON object with a string 'run_id'"),
        ('{"run_id": 7}', "train@c:/run.json: expected a JSON object with a string 'run_id'"),
        (
            json.dumps({"run_id": RUN, "manifest_version": MANIFEST_VERSION + 1}),
            "train@c:/run.json: manifest_version 2 is newer than this pachflow reads (up to 1)",
        ),
        (
            json.dumps({"run_id": RUN, "metrics": {"f1": "high"}}),
            "train@c:/run.json: 'metrics' must be an object of numbers",
        ),
        (
            json.dumps({"run_id": RUN, "registered_model": {"name": "m"}}),
            "train@c:/run.json: 'registered_model' must be a model version",
        ),
        (
            json.dumps({"run_id": RUN, "input_commits": [{"name": "etl"}]}),
            "train@c:/run.json: 'input_commits' must be a list of",
        ),
        (
            json.dumps({"run_id": RUN, "reused_run": "yes"}),
            "train@c:/run.json: 'reused_run' must be true or false",
        ),
    ],
)
def test_a_malformed_or_newer_file_is_refused_naming_it(content: str, message: str) -> None:
    with pytest.raises(ManifestError) as err:
        RunManifest.from_json(content, "train@c:/run.json")
    assert str(err.value).startswith(message)
