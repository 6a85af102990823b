"""`pachflow pin`: image tags follow stages/<stage>/pyproject.toml versions; files come out
in the one canonical format; --check changes nothing and exits 1 when stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow.cli import main
from pachflow.pipeline_spec.pin import dump_spec, pin_file, plan_pin


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    stage = tmp_path / "stages" / "etl"
    stage.mkdir(parents=True)
    (stage / "pyproject.toml").write_text('[project]\nname = "pachflow-etl"\nversion = "2.0.1"\n')
    (tmp_path / "pipelines").mkdir()
    # compact, hand-written formatting with a non-default key order
    (tmp_path / "pipelines" / "etl.json").write_text(
        '{"transform": {"cmd": ["pachflow-etl"], '
        '"image": "localhost:5000/team/pachflow-etl:1.9.0"},'
        ' "pipeline": {"name": "etl"}, "input": {"pfs": {"repo": "raw_data", "glob": "/*"}}}\n'
    )
    (tmp_path / "pipelines" / "other.json").write_text(
        dump_spec(
            {
                "pipeline": {"name": "other"},
                "transform": {"image": "python:3.11-slim", "cmd": ["true"]},
                "input": {"pfs": {"repo": "raw_data", "glob": "/"}},
            }
        )
    )
    return tmp_path


def test_pin_rewrites_the_tag_keeps_registry_and_key_order(tree: Path) -> None:
    path = tree / "pipelines" / "etl.json"
    change = pin_file(path, tree / "stages")
    assert change.changed
    assert change.old_image == "localhost:5000/team/pachflow-etl:1.9.0"
    assert change.new_image == "localhost:5000/team/pachflow-etl:2.0.1"
    text = path.read_text()
    spec = json.loads(text)
    assert spec["transform"]["image"] == "localhost:5000/team/pachflow-etl:2.0.1"
    assert list(spec) == ["transform", "pipeline", "input"]
    assert text == json.dumps(spec, indent=2) + "\n"
    # idempotent: a second pin changes nothing
    assert not pin_file(path, tree / "stages").changed
    assert path.read_text() == text


def test_pin_with_registry_replaces_the_prefix(tree: Path) -> None:
    path = tree / "pipelines" / "etl.json"
    pin_file(path, tree / "stages", registry="registry.example.com/ml/")
    assert json.loads(path.read_text())["transform"]["image"] == (
        "registry.example.com/ml/pachflow-etl:2.0.1"
    )
    pin_file(path, tree / "stages", registry="")
    assert json.loads(path.read_text())["transform"]["image"] == "pachflow-etl:2.0.1"


def test_plan_pin_writes_nothing(tree: Path) -> None:
    path = tree / "pipelines" / "etl.json"
    before = path.read_text()
    assert plan_pin(path, tree / "stages").changed
    assert path.read_text() == before


def test_third_party_image_is_left_alone(tree: Path) -> None:
    path = tree / "pipelines" / "other.json"
    change = pin_file(path, tree / "stages")
    assert not change.changed
    assert change.new_image == "python:3.11-slim"


def test_cli_check_then_pin_then_validate(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    runner = CliRunner()
    check = runner.invoke(main, ["pin", "--check"])
    assert check.exit_code == 1
    assert check.output == (
        "would pin pipelines/etl.json: localhost:5000/team/pachflow-etl:1.9.0 -> "
        "localhost:5000/team/pachflow-etl:2.0.1\n"
    )
    assert runner.invoke(main, ["validate"]).exit_code == 2
    pinned = runner.invoke(main, ["pin"])
    assert pinned.exit_code == 0, pinned.output
    assert "pinned pipelines/etl.json" in pinned.output
    assert runner.invoke(main, ["pin", "--check"]).output == "ok: 2 specs already pinned\n"
    assert runner.invoke(main, ["validate"]).exit_code == 0


def test_cli_pin_a_missing_stage_exits_2(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tree / "pipelines" / "etl.json"
    path.write_text(path.read_text().replace("pachflow-etl:1.9.0", "pachflow-gone:1.9.0"))
    monkeypatch.chdir(tree)
    result = CliRunner().invoke(main, ["pin"])
    assert result.exit_code == 2
    assert "pipelines/etl.json: transform.image: no stage 'gone'" in result.stderr


def test_bumping_a_stage_version_makes_validate_fail_until_pinned(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    runner = CliRunner()
    runner.invoke(main, ["pin"])
    pyproject = tree / "stages" / "etl" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("2.0.1", "2.1.0"))
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "stage etl is version 2.1.0" in result.stderr
    runner.invoke(main, ["pin"])
    assert runner.invoke(main, ["validate"]).exit_code == 0
