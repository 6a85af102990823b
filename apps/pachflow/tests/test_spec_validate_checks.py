"""`pachflow validate`: each class of problem is reported as `file: field.path: message`
and makes the command exit 2; valid specs (camelCase or snake_case) pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pachflow.cli import main
from pachflow.pipeline_spec import SpecError, dag_order, load_spec_file, load_specs
from pachflow.pipeline_spec.validate import validate_files

VERSIONS = {"split": "1.2.0", "etl": "0.3.1"}


def _spec(name: str, repo: str, stage: str, glob: str = "/*") -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "description": f"test pipeline {name}",
        "transform": {
            "image": f"reg.example:5000/pachflow-{stage}:{VERSIONS[stage]}",
            "cmd": [f"pachflow-{stage}", f"/pfs/{repo}", "/pfs/out"],
            "env": {"SOME_camelCase_KEY": "x"},
        },
        "input": {"pfs": {"repo": repo, "glob": glob}},
        "parallelismSpec": {"constant": 2},
        "datumTries": 3,
        "datumTimeout": "600s",
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A checkout-like tree: stages/<stage>/pyproject.toml and pipelines/{a,b}.json."""
    for stage, version in VERSIONS.items():
        (tmp_path / "stages" / stage).mkdir(parents=True)
        (tmp_path / "stages" / stage / "pyproject.toml").write_text(
            f'[project]\nname = "pachflow-{stage}"\nversion = "{version}"\n'
        )
    (tmp_path / "pipelines").mkdir()
    write(tmp_path, "a", _spec("a", "raw_data", "split"))
    write(tmp_path, "b", _spec("b", "a", "etl", glob="/"))
    return tmp_path


def write(root: Path, name: str, spec: dict[str, Any]) -> Path:
    path = root / "pipelines" / f"{name}.json"
    path.write_text(json.dumps(spec, indent=2) + "\n")
    return path


def problems(root: Path) -> list[str]:
    files = sorted((root / "pipelines").glob("*.json"))
    return validate_files(files, stages_dir=root / "stages").problems


def edit(root: Path, name: str, change: Callable[[dict[str, Any]], object]) -> Path:
    path = root / "pipelines" / f"{name}.json"
    spec = json.loads(path.read_text())
    change(spec)
    return write(root, name, spec)


def test_valid_specs_pass_and_cli_prints_dag_order(project: Path, monkeypatch) -> None:
    assert problems(project) == []
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "DAG order: a -> b" in result.output


def test_unknown_field_at_depth_suggests_the_closest_name(project: Path) -> None:
    path = edit(project, "b", lambda s: s["transform"].update(datumBatchng=True))
    assert problems(project) == [
        f"{path}: transform.datumBatchng: unknown field (did you mean datumBatching?)"
    ]


def test_unknown_field_deep_in_the_input_tree(project: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["input"] = {"cross": [spec["input"], {"pfs": {"repo": "raw_data", "glb": "/"}}]}

    path = edit(project, "b", change)
    found = problems(project)
    assert found == [f"{path}: input.cross[1].pfs.glb: unknown field (did you mean glob?)"]


def test_wrong_types_are_named_with_expected_and_found(project: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["parallelismSpec"]["constant"] = "two"
        spec["transform"]["cmd"] = "pachflow-etl /pfs/a /pfs/out"
        spec["transform"]["env"]["N"] = 3
        spec["datumTries"] = True

    path = edit(project, "b", change)
    found = problems(project)
    assert f"{path}: parallelismSpec.constant: expected an integer, found string 'two'" in found
    assert any(
        p.startswith(f"{path}: transform.cmd: expected an array, found string") for p in found
    )
    assert f"{path}: transform.env.N: expected a string, found number 3" in found
    assert f"{path}: datumTries: expected an integer, found boolean True" in found
    assert len(found) == 4


def test_negative_parallelism_is_out_of_range(project: Path) -> None:
    path = edit(project, "a", lambda s: s["parallelismSpec"].update(constant=-1))
    assert problems(project) == [
        f"{path}: parallelismSpec.constant: -1 is out of range for uint64 (0..18446744073709551615)"
    ]


@pytest.mark.parametrize("duration", ["10m", "600", 600, "1h30m", "s"])
def test_bad_durations(project: Path, duration: object) -> None:
    path = edit(project, "a", lambda s: s.update(jobTimeout=duration))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: jobTimeout: bad duration {duration!r}")
    assert 'e.g. "600s"' in problem


@pytest.mark.parametrize("duration", ["600s", "0.5s", "3600s"])
def test_good_durations(project: Path, duration: str) -> None:
    edit(project, "a", lambda s: s.update(datumTimeout=duration))
    assert problems(project) == []


def test_missing_cmd(project: Path) -> None:
    path = edit(project, "a", lambda s: s["transform"].pop("cmd"))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: transform.cmd: missing")


def test_empty_cmd_is_missing_too(project: Path) -> None:
    path = edit(project, "a", lambda s: s["transform"].update(cmd=[]))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: transform.cmd: missing")


def test_missing_image(project: Path) -> None:
    path = edit(project, "a", lambda s: s["transform"].pop("image"))
    assert problems(project) == [f"{path}: transform.image: missing: the container image to run"]


@pytest.mark.parametrize(
    ("glob", "why"),
    [
        # what ohmyglob cannot compile (every job would fail) and what pachd rejects
        ("/[a-z", "unexpected end of input"),
        ("/[]", "error parsing regexp"),
        ("/^(a)", "unimplemented quatifier ^"),
        ("", "empty glob"),
    ],
)
def test_bad_glob_syntax(project: Path, glob: str, why: str) -> None:
    path = edit(project, "a", lambda s: s["input"]["pfs"].update(glob=glob))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: input.pfs.glob: ")
    assert why in problem


@pytest.mark.parametrize(
    "glob",
    # pachd runs all of these (ohmyglob: an unclosed `{`, a stray `}` and a trailing `\`
    # are fine; extglob groups and POSIX classes are part of the language)
    [
        "/",
        "/*",
        "/*/*",
        "/**",
        "/shard=0[0-7]/*.parquet",
        "/{a,b}*",
        "/{a,b",
        "/a}",
        "/a\\",
        "/(*)",
        "/!(x)",
        "/[[:digit:]]*",
    ],
)
def test_good_globs(project: Path, glob: str) -> None:
    edit(project, "a", lambda s: s["input"]["pfs"].update(glob=glob))
    assert problems(project) == []


def test_input_naming_no_repo_or_pipeline(project: Path) -> None:
    path = edit(project, "b", lambda s: s["input"]["pfs"].update(repo="aa"))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: input.pfs.repo: 'aa' is neither a pipeline in these specs")
    assert "(a, b)" in problem
    assert "known input repo (raw_data, transactions;" in problem


def test_known_input_repos_are_configurable(project: Path, monkeypatch) -> None:
    edit(project, "a", lambda s: s["input"]["pfs"].update(repo="cards"))
    assert len(problems(project)) == 1
    files = sorted((project / "pipelines").glob("*.json"))
    report = validate_files(files, input_repos=["cards"], stages_dir=project / "stages")
    assert report.problems == []
    monkeypatch.chdir(project)
    monkeypatch.setenv("PACHFLOW_INPUT_REPOS", "cards,other")
    assert CliRunner().invoke(main, ["validate"]).exit_code == 0
    monkeypatch.delenv("PACHFLOW_INPUT_REPOS")
    result = CliRunner().invoke(main, ["validate", "--input-repo", "cards"])
    assert result.exit_code == 0, result.output


def test_input_without_repo(project: Path) -> None:
    path = edit(project, "a", lambda s: s["input"]["pfs"].pop("repo"))
    assert problems(project) == [f"{path}: input.pfs.repo: missing: the repo this input reads"]


def test_cycle(project: Path) -> None:
    path = edit(project, "a", lambda s: s["input"]["pfs"].update(repo="b"))
    [problem] = problems(project)
    assert problem == f"{path}: input: pipelines form a cycle: a -> b -> a"
    with pytest.raises(SpecError, match="cycle: a -> b -> a"):
        dag_order(load_specs(project / "pipelines"))


def test_self_loop_is_a_cycle(project: Path) -> None:
    edit(project, "a", lambda s: s["input"]["pfs"].update(repo="a"))
    [problem] = problems(project)
    assert problem.endswith("pipelines form a cycle: a -> a")


def test_tag_mismatch_names_the_stage_version_and_the_fix(project: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["transform"]["image"] = "reg.example:5000/pachflow-etl:0.3.0"

    path = edit(project, "b", change)
    [problem] = problems(project)
    assert problem.startswith(f"{path}: transform.image: reg.example:5000/pachflow-etl:0.3.0 ")
    assert "has tag '0.3.0' but stage etl is version 0.3.1" in problem
    assert "run `make pin`" in problem


def test_untagged_stage_image_and_unknown_stage(project: Path) -> None:
    edit(project, "a", lambda s: s["transform"].update(image="pachflow-split"))
    edit(project, "b", lambda s: s["transform"].update(image="pachflow-nope:1.0"))
    found = problems(project)
    assert any("pachflow-split has no tag but stage split is version 1.2.0" in p for p in found)
    assert any("no stage 'nope'" in p for p in found)


def test_third_party_images_are_not_pinned(project: Path) -> None:
    edit(project, "a", lambda s: s["transform"].update(image="python:3.11-slim"))
    assert problems(project) == []


def test_snake_case_is_accepted_like_pachd(project: Path) -> None:
    spec = _spec("a", "raw_data", "split")
    snake = {
        "pipeline": spec["pipeline"],
        "transform": {**spec["transform"], "datum_batching": True, "err_cmd": ["true"]},
        "input": {"pfs": {"repo": "raw_data", "glob": "/*", "empty_files": False}},
        "parallelism_spec": {"constant": 2},
        "resource_requests": {"cpu": 0.5, "memory": "512Mi"},
        "datum_tries": "4",
        "datum_timeout": "600s",
    }
    write(project, "a", snake)
    assert problems(project) == []
    loaded = load_spec_file(project / "pipelines" / "a.json")
    assert loaded.datum_batching is True
    assert loaded.parallelism == 2
    assert loaded.datum_tries == 4
    # map keys are data, not field names: never re-cased
    assert loaded.env == {"SOME_camelCase_KEY": "x"}


def test_the_same_field_twice_in_both_casings(project: Path) -> None:
    path = edit(project, "a", lambda s: s.update(datum_tries=2))
    assert problems(project) == [f"{path}: datum_tries: field given twice (also as 'datumTries')"]


def test_request_flags_are_refused_in_a_spec(project: Path) -> None:
    path = edit(project, "a", lambda s: s.update(update=True))
    assert problems(project) == [
        f"{path}: update: a request flag, not a spec field: pachflow deploy sets it"
    ]


def test_enum_values_are_checked(project: Path) -> None:
    path = edit(project, "a", lambda s: s.update(tolerations=[{"key": "k", "operator": "EXIST"}]))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: tolerations[0].operator: unknown value 'EXIST'")
    assert "did you mean EXISTS?" in problem


def test_duplicate_pipeline_names(project: Path) -> None:
    path = write(project, "c", _spec("a", "raw_data", "split"))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: pipeline.name: pipeline 'a' is also defined in ")


def test_input_named_out_and_duplicate_input_names(project: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["input"] = {
            "cross": [
                {"pfs": {"repo": "a", "glob": "/"}},
                {"pfs": {"repo": "raw_data", "name": "a", "glob": "/"}},
                {"pfs": {"repo": "raw_data", "name": "out", "glob": "/"}},
            ]
        }

    path = edit(project, "b", change)
    found = problems(project)
    assert (
        f"{path}: input.cross[1].pfs: input name 'a' is also used by input.cross[0].pfs: "
        "give one of them a distinct name" in found
    )
    assert any(
        p.startswith(f'{path}: input.cross[2].pfs: an input cannot be named "out"') for p in found
    )


def test_not_json_and_not_an_object(project: Path) -> None:
    bad = project / "pipelines" / "c.json"
    bad.write_text('{\n  "pipeline": ,\n}')
    other = project / "pipelines" / "d.json"
    other.write_text("[1, 2]")
    found = problems(project)
    assert f"{bad}: not valid JSON: Expecting value at line 2 column 15" in found
    assert f"{other}: expected a JSON object (one pipeline spec per file)" in found


def test_a_spec_that_is_not_utf8_is_one_problem_not_a_traceback(project: Path) -> None:
    bad = project / "pipelines" / "e.json"
    bad.write_bytes(b'{\n  "pipeline": {"name": "p\xff"}}')
    assert f"{bad}: not UTF-8 text: byte 0xff on line 2" in problems(project)


def test_cli_exits_2_with_one_line_per_problem(project: Path, monkeypatch) -> None:
    edit(project, "a", lambda s: s["transform"].update(datumBatchng=True))
    edit(project, "b", lambda s: s.update(datumTimeout="10m"))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "pipelines/a.json: transform.datumBatchng: unknown field (did you mean datumBatching?)",
        "pipelines/b.json: datumTimeout: bad duration '10m': expected seconds with an s suffix, "
        'e.g. "600s"',
    ]


def test_cli_validates_named_files_only(project: Path, monkeypatch) -> None:
    edit(project, "b", lambda s: s.update(datumTimeout="10m"))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["validate", "pipelines/a.json"])
    assert result.exit_code == 0, result.output


def test_load_specs_raises_with_every_problem(project: Path) -> None:
    edit(project, "a", lambda s: s["transform"].pop("image"))
    edit(project, "b", lambda s: s.update(datumTimeout="10m"))
    with pytest.raises(SpecError) as caught:
        load_specs(project / "pipelines")
    assert len(caught.value.problems) == 2


def test_dag_order_is_topological_and_stable(project: Path) -> None:
    write(project, "0", _spec("z_first_file", "b", "etl"))
    write(project, "c", _spec("c", "raw_data", "split"))
    order = [s.name for s in dag_order(load_specs(project / "pipelines"))]
    assert order == ["a", "c", "b", "z_first_file"]


@pytest.mark.parametrize("memory", ["4GB", "1 Gi", "512mi", "lots"])
def test_bad_memory_quantity(project: Path, memory: str) -> None:
    path = edit(project, "a", lambda s: s.update(resourceRequests={"cpu": 1, "memory": memory}))
    assert problems(project) == [
        f"{path}: resourceRequests.memory: bad quantity {memory!r}: expected a Kubernetes "
        "quantity like 512Mi or 2Gi"
    ]


def test_bad_pipeline_and_repo_names(project: Path) -> None:
    path = edit(project, "a", lambda s: s["pipeline"].update(name="my pipeline"))
    edit(project, "b", lambda s: s["input"]["pfs"].update(repo="raw.data"))
    found = problems(project)
    assert (
        f"{path}: pipeline.name: 'my pipeline': names may only contain letters, digits, "
        "'_' and '-'" in found
    )
    assert any("input.pfs.repo: 'raw.data': names may only contain" in p for p in found)


def test_negative_duration_is_refused(project: Path) -> None:
    path = edit(project, "a", lambda s: s.update(datumTimeout="-5s"))
    [problem] = problems(project)
    assert problem.startswith(f"{path}: datumTimeout: bad duration '-5s'")


def test_two_members_of_a_oneof(project: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["egress"] = {"objectStorage": {"url": "s3://b/x"}, "sqlDatabase": {"url": "pg://"}}

    path = edit(project, "a", change)
    assert problems(project) == [
        f"{path}: egress.sqlDatabase: only one of a oneof may be set (also 'objectStorage')"
    ]


def test_egress_url_is_spelled_URL_as_in_the_proto(project: Path) -> None:
    edit(project, "a", lambda s: s.update(egress={"URL": "s3://bucket/dir"}))
    assert problems(project) == []
    path = edit(project, "a", lambda s: s.update(egress={"url": "s3://bucket/dir"}))
    assert problems(project) == [f"{path}: egress.url: unknown field (did you mean URL?)"]


def test_a_stage_writing_outside_pfs_out_is_a_problem(project: Path) -> None:
    path = edit(project, "b", lambda spec: spec["transform"]["cmd"].__setitem__(-1, "/tmp/out"))
    found = problems(project)
    assert any(
        p.startswith(f"{path}: transform.cmd: the stage writes its output to its last argument")
        and "'/tmp/out'" in p
        for p in found
    ), found


def test_run_refuses_a_stage_writing_outside_pfs_out(project: Path, monkeypatch) -> None:
    edit(project, "b", lambda spec: spec["transform"]["cmd"].__setitem__(-1, "/tmp/elsewhere"))
    monkeypatch.setenv("PACHFLOW_HOME", str(project / "home"))
    result = CliRunner().invoke(main, ["run", "--specs", str(project / "pipelines")])
    assert result.exit_code == 2, result.output
    assert "expected /pfs/out" in result.output
