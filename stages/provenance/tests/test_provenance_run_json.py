"""The link stage reads run.json through the one reader (RunManifest): a file from a newer
train, or with a field of the wrong type, stops it with one line naming the file, before
MLflow or the store is asked anything and with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow_provenance.cli import main

RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ({"run_id": RUN, "manifest_version": 2}, "manifest_version 2 is newer than this"),
        ({"run_id": RUN, "registered_model": {"name": "m"}}, "'registered_model' must be"),
    ],
)
def test_a_run_json_it_cannot_read_is_exit_2_naming_it(
    tmp_path: Path, manifest: dict[str, object], expected: str
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "run.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(
        main,
        ["link", str(tmp_path / "in"), str(tmp_path / "out")],
        env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "PACHFLOW_HOME": str(tmp_path / "h")},
    )
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert f"{tmp_path / 'in' / 'run.json'}: " in line and expected in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not (tmp_path / "h").exists()
