"""`pachflow lineage` with a tracking URI holding user:password@: the password goes in the
Authorization header (a credential listener on loopback sees it) and never in the output."""

from __future__ import annotations

from click.testing import CliRunner

from pachflow_testing.listener import credential_listener

PASSWORD = "pw-5d1e0a93-never-leak"


def test_pachflow_lineage_never_prints_a_userinfo_password(monkeypatch, tmp_path):
    from pachflow.cli import main as pachflow

    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    from pachflow_store import Store

    Store(tmp_path / "home").close()  # a store (empty): lineage asks MLflow next
    with credential_listener() as listener:
        uri = listener.uri.replace("http://", f"http://alice:{PASSWORD}@")
        result = CliRunner().invoke(
            pachflow,
            ["lineage", "run", "0" * 32, "--tracking-uri", uri, "--home", str(tmp_path / "home")],
        )
    assert PASSWORD not in result.output
    assert listener.authorizations  # it did connect, with the header
