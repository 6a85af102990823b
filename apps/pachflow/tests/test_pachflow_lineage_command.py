"""`pachflow lineage` is the provenance package's run/commit/model commands."""

from __future__ import annotations

from click.testing import CliRunner

from pachflow.cli import main


def test_lineage_group_lists_the_provenance_commands() -> None:
    result = CliRunner().invoke(main, ["lineage", "--help"])
    assert result.exit_code == 0
    for name in ("run", "commit", "model"):
        assert f"  {name} " in result.output


def test_lineage_commit_validates_like_pachflow_provenance() -> None:
    result = CliRunner().invoke(main, ["lineage", "commit", "raw data@master"])
    assert result.exit_code == 2
    assert "expected [project/]REPO@ID, REPO@BRANCH or REPO@PREFIX" in result.output


def test_console_url_is_refused_for_the_local_store_not_ignored(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = ["lineage", "commit", "raw_data@master", "--home", str(tmp_path / "store")]
    result = CliRunner().invoke(main, [*args, "--console-url", "http://console:4000"])
    assert result.exit_code == 2
    assert "--console-url: the local store has no Pachyderm console" in result.output
    # set for a cluster in the environment: not an error for a local question
    quiet = CliRunner().invoke(main, args, env={"PACHFLOW_CONSOLE_URL": "http://console:4000"})
    assert "--console-url" not in quiet.output and "no local pachflow store" in quiet.output
    assert list(tmp_path.iterdir()) == []  # a missing store: nothing made (no ./mlflow.db)
