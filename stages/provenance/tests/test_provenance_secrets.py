"""Secrets go only where the operator sent them: a run.json (data) naming a tracking URI
gets no credentials when MLFLOW_TRACKING_URI is unset, and a URI with userinfo sends it as
an Authorization header, never printed (a credential listener on loopback is the server).
A hostile run_id in run.json is refused, quoted, never sent to the terminal."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner

from pachflow_lineage.tracking import Tracking
from pachflow_provenance.cli import main
from pachflow_testing.listener import credential_listener

PASSWORD = "pw-9f3b2c71-never-leak"


def test_provenance_sends_no_credentials_to_a_tracking_uri_read_from_run_json(tmp_path: Path):
    with credential_listener() as listener:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "run.json").write_text(
            json.dumps({"run_id": "0" * 32, "tracking_uri": listener.uri})
        )
        env = {
            "MLFLOW_TRACKING_URI": None,
            "MLFLOW_TRACKING_USERNAME": "pipeline",
            "MLFLOW_TRACKING_PASSWORD": PASSWORD,
        }
        result = CliRunner().invoke(
            main, ["link", str(tmp_path / "in"), str(tmp_path / "out")], env=env
        )

    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert "MLFLOW_TRACKING_URI is unset while MLflow credentials are set" in line
    assert listener.requests == []  # not one request reached the host the data named


def test_a_userinfo_uri_becomes_an_authorization_header_and_is_never_shown(monkeypatch):
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with credential_listener() as listener:
        with_userinfo = listener.uri.replace("http://", f"http://alice:{PASSWORD}@")
        tracking = Tracking(with_userinfo)
        tracking.check()

    expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert listener.authorizations and set(listener.authorizations) == {expected}
    assert tracking.tracking_uri == listener.uri  # what is printed and stored


def test_a_hostile_run_id_is_refused_quoted_without_reaching_the_terminal(tmp_path: Path):
    (tmp_path / "in").mkdir()
    hostile = "\x1b]0;owned\x07\x1b[2J" + "a" * 20
    (tmp_path / "in" / "run.json").write_text(json.dumps({"run_id": hostile}))
    result = CliRunner().invoke(main, ["link", str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert "is not an MLflow run id (expected 32 hex digits)" in line
    assert "\x1b" not in result.output and "\x07" not in result.output
