"""The `pachflow` local commands end to end through click: put/run/ls/get/list/inspect/jobs/
logs, `--json`, and exit 2 naming whatever does not exist."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from pachflow.cli import main


def cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def ran(home, tmp_path, write_spec, copy_stage, specs_dir):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "one.txt").write_text("1")
    (data / "sub" / "two.txt").write_text("22")
    raw = cli("put", "raw", str(data / "one.txt"), str(data / "sub")).strip()
    cli("run", "--specs", str(specs_dir), "-q")
    return raw


def test_put_run_ls_get(ran, tmp_path):
    assert ran.startswith("raw@") and len(ran.split("@")[1]) == 32
    listing = json.loads(cli("ls", "raw", "--json"))
    assert [(e["path"], e["type"]) for e in listing] == [("/one.txt", "file"), ("/two.txt", "file")]
    assert "/one.txt.out" in cli("ls", "a@master:/")
    assert cli("get", f"{ran}:/two.txt") == "22"
    cli("get", "a:/one.txt.out", "-o", str(tmp_path / "got"))
    assert (tmp_path / "got").read_text() == "1"


def test_list_and_inspect_commits(ran):
    sets = json.loads(cli("list", "commit", "--json"))
    run_set = next(s for s in sets if "a@" + s["id"] in s["commits"])
    commits = json.loads(cli("list", "commit", run_set["id"], "--json"))
    assert {c["commit"] for c in commits} == {f"a@{run_set['id']}", f"a.spec@{run_set['id']}"}
    info = json.loads(cli("inspect", "commit", f"a@{run_set['id']}", "--json"))
    assert set(info["provenance"]) == {ran, f"a.spec@{run_set['id']}"}
    assert "Provenance:" in cli("inspect", "commit", "a@master")
    repos = {r["name"] + "." + r["type"] for r in json.loads(cli("list", "repo", "--json"))}
    assert repos == {"raw.user", "a.user", "a.spec"}
    jobs = json.loads(cli("jobs", "--json"))
    assert [(j["pipeline"], j["state"], j["processed"]) for j in jobs] == [("a", "JOB_SUCCESS", 2)]
    assert "--- try 1/3" in cli("logs", "a")


def test_running_again_says_nothing_to_do(ran, specs_dir):
    result = CliRunner().invoke(main, ["run", "--specs", str(specs_dir)])
    assert result.exit_code == 0
    assert "nothing to do" in result.output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["ls", "nope"], "repo nope does not exist"),
        (["ls", "raw@" + "0" * 32], f"commit raw@{'0' * 32} does not exist"),
        (["ls", "raw@dev"], "raw@dev has no commit"),
        (["get", "raw:/missing.txt"], "/missing.txt does not exist"),
        (["inspect", "commit", "a@" + "f" * 32], f"commit a@{'f' * 32} does not exist"),
        (["list", "commit", "e" * 32], f"commit set {'e' * 32} does not exist"),
        (["jobs", "ghost"], "pipeline ghost does not exist"),
        (["logs", "ghost"], "pipeline ghost does not exist"),
        (["logs", "a", "--datum", "zzz"], "datum zzz does not exist"),
    ],
)
def test_things_that_do_not_exist_exit_2_naming_them(ran, args, named):
    assert named in cli(*args, code=2)


def test_an_invalid_spec_exits_2_naming_file_and_field(home, specs_dir):
    (specs_dir / "bad.json").write_text(
        json.dumps(
            {
                "pipeline": {"name": "bad"},
                "transform": {"image": "x:1", "cmd": ["x"]},
                "input": {"pfs": {"repo": "r", "glob": "/*"}},
                "parallelismSpek": {},
            }
        )
    )
    out = cli("run", "--specs", str(specs_dir), code=2)
    assert "bad.json" in out and "parallelismSpek" in out


def test_run_shows_progress_per_pipeline_and_a_summary(home, tmp_path, write_spec, copy_stage):
    specs = tmp_path / "specs"
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    (tmp_path / "one.txt").write_text("1")
    (tmp_path / "two.txt").write_text("2")
    cli("put", "raw", str(tmp_path / "one.txt"), str(tmp_path / "two.txt"))

    out = cli("run", "--specs", str(specs))

    # one line per job (CliRunner is no terminal: the final line only), short ids
    lines = [line for line in out.splitlines() if line.startswith("a ")]
    assert len(lines) == 1 and "a            success  2/2 datums  " in lines[0]
    assert len(lines[0].rsplit("job ", 1)[1]) == 12
    assert out.splitlines()[-2:] == ["produced", f"  a@{lines[0].rsplit('job ', 1)[1]}"]


def test_delete_file_removes_exactly_that_files_output(ran, specs_dir):
    """`pachflow delete file` commits raw without the file; the next run drops the output
    of that file's datum and keeps the other datum's (skipped, not rerun)."""
    commit = cli("delete", "file", "raw@master:/one.txt").strip()
    assert commit.startswith("raw@") and commit != ran
    assert [e["path"] for e in json.loads(cli("ls", "raw", "--json"))] == ["/two.txt"]
    cli("run", "--specs", str(specs_dir), "-q")
    assert [e["path"] for e in json.loads(cli("ls", "a", "--json"))] == ["/two.txt.out"]
    latest = json.loads(cli("jobs", "a", "--json"))[0]
    assert (latest["processed"], latest["skipped"]) == (0, 1)


def test_delete_file_of_a_missing_path_exits_2_naming_it(ran):
    out = cli("delete", "file", "raw@master:/nope.txt", code=2)
    assert "raw@master:/nope.txt does not exist" in out
    assert "expected REPO[@BRANCH]:/PATH" in cli("delete", "file", "raw", code=2)


def test_put_refuses_content_the_repo_holds_under_another_path(ran, home, tmp_path):
    copy = tmp_path / "copy-of-one.txt"
    copy.write_text("1")  # the bytes of /one.txt
    before = cli("list", "commit", "raw", "--json")
    blobs = sorted(p.name for p in (home / "blobs").rglob("*") if p.is_file())

    refused = cli("put", "raw", str(copy), code=2)

    assert "raw@master:/copy-of-one.txt has the same content" in refused
    assert "as raw@master:/one.txt, which the repo already holds" in refused
    assert "--allow-duplicate" in refused
    assert cli("list", "commit", "raw", "--json") == before  # nothing written
    assert sorted(p.name for p in (home / "blobs").rglob("*") if p.is_file()) == blobs
    (tmp_path / "new.txt").write_text("new")
    (tmp_path / "new2.txt").write_text("new")
    refused = cli("put", "raw", str(tmp_path / "new.txt"), str(tmp_path / "new2.txt"), code=2)
    assert "as raw@master:/new.txt, in the same put" in refused
    # the same file again at its own path is no duplicate; --allow-duplicate takes a copy
    cli("put", "raw", str(tmp_path / "data" / "one.txt"))
    cli("put", "raw", str(copy), "--allow-duplicate")
    assert "/copy-of-one.txt" in cli("ls", "raw")


def test_every_printed_short_id_is_taken_back(ran, specs_dir):
    """The ids `run` prints (job <12 hex>, a@<12 hex>) work in every command taking one."""
    result = CliRunner().invoke(main, ["run", "--specs", str(specs_dir), "--reprocess", "a"])
    assert result.exit_code == 0, result.output
    job = re.search(r"^a\s+\S+.*job ([0-9a-f]{12})", result.output, re.M)[1]
    commit = re.search(r"^\s+a@([0-9a-f]{12})$", result.output, re.M)[1]
    assert job == commit  # one run, one global id
    for short in (job, job[:4]):
        assert json.loads(cli("jobs", short, "--json"))[0]["id"].startswith(short)
        assert json.loads(cli("jobs", f"a@{short}", "--json"))[0]["pipeline"] == "a"
        assert f"a@{job}" in cli("inspect", "job", f"a@{short}")
        assert "=== datum" in cli("logs", f"a@{short}")
        assert "=== datum" in cli("logs", "a", "--job", short)
        assert json.loads(cli("inspect", "commit", f"a@{short}", "--json"))["commit"].startswith(
            f"a@{short}"
        )
        assert [c["commit"] for c in json.loads(cli("list", "commit", short, "--json"))] == [
            f"a@{json.loads(cli('jobs', short, '--json'))[0]['id']}"
        ]
        assert "/one.txt.out" in cli("ls", f"a@{short}")
        assert cli("get", f"a@{short}:/one.txt.out") == "1"
    raw_short = ran.split("@")[1][:12]
    assert cli("get", f"raw@{raw_short}:/one.txt") == "1"
    # too short, unknown, malformed: exit 2 naming it
    assert "no such branch or commit id" in cli("ls", "a@abc", code=2)
    assert "malformed job" in cli("logs", "a@xyz", code=2)
