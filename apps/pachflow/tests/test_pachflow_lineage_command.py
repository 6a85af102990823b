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
