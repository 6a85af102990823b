"""The example pipelines (pipelines/examples/, one per input kind) run locally with the
datums pachd would make: each datum writes the files it sees under /pfs and its
PACH_DATUM_* keys, so the output commit shows every datum."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow.cli import main
from pachflow.local.cron import tick_all
from pachflow.local.progress import Progress
from pachflow.local.runner import SUCCESS, WAITING, Runner
from pachflow.local.specs import load_specs

EXAMPLES = Path(__file__).resolve().parents[3] / "pipelines" / "examples"

EVENTS = {
    "/web/0107-a.log": "1",
    "/web/0108-a.log": "2",
    "/db/0107-x.log": "3",
    "/archive/0101-old.log": "4",
}
LEFT = {"/a.txt": "a", "/b.txt": "b", "/c.txt": "c"}
RIGHT = {"/a.csv": "A", "/b.csv": "B"}


@pytest.fixture
def example(tmp_path: Path):
    """example(name) -> the runner over a specs dir holding only that example."""

    def make(name: str) -> Path:
        specs = tmp_path / f"specs-{name}"
        specs.mkdir(exist_ok=True)
        shutil.copy(EXAMPLES / f"{name}.json", specs)
        return specs

    return make


def datums_seen(store, pipeline: str) -> list[dict]:
    ref = store.resolve(pipeline)
    seen = [json.loads(store.file_blob(ref, f.path).read_text()) for f in store.walk_files(ref)]
    return sorted(seen, key=json.dumps)


def run_once(store, specs: Path):
    return Runner(store, load_specs(specs), progress=Progress(quiet=True)).run()


def test_pfs_example_extended_glob_one_datum_per_directory_but_archive(store, put, example):
    put("ex_events", EVENTS)
    summary = run_once(store, example("pfs"))
    assert summary.outcomes[0].status == SUCCESS
    assert datums_seen(store, "ex-pfs") == [
        {"files": ["ex_events/db/0107-x.log"], "keys": {}},
        {"files": ["ex_events/web/0107-a.log", "ex_events/web/0108-a.log"], "keys": {}},
    ]


def test_cross_example_every_pair(store, put, example):
    put("ex_left", LEFT)
    put("ex_right", RIGHT)
    run_once(store, example("cross"))
    seen = datums_seen(store, "ex-cross")
    assert len(seen) == 6
    assert {"files": ["ex_left/a.txt", "ex_right/b.csv"], "keys": {}} in seen


def test_union_example_both_repos_under_one_name(store, put, example):
    put("ex_left", LEFT)
    put("ex_right", RIGHT)
    run_once(store, example("union"))
    assert [d["files"] for d in datums_seen(store, "ex-union")] == [
        ["in/a.csv"],
        ["in/a.txt"],
        ["in/b.csv"],
        ["in/b.txt"],
        ["in/c.txt"],
    ]


def test_join_example_pairs_by_stem_and_keeps_the_outer_side_alone(store, put, example):
    put("ex_left", LEFT)
    put("ex_right", RIGHT)
    run_once(store, example("join"))
    assert datums_seen(store, "ex-join") == [
        {
            "files": ["ex_left/a.txt", "ex_right/a.csv"],
            "keys": {"PACH_DATUM_ex_left_JOIN_ON": "a", "PACH_DATUM_ex_right_JOIN_ON": "a"},
        },
        {
            "files": ["ex_left/b.txt", "ex_right/b.csv"],
            "keys": {"PACH_DATUM_ex_left_JOIN_ON": "b", "PACH_DATUM_ex_right_JOIN_ON": "b"},
        },
        {"files": ["ex_left/c.txt"], "keys": {"PACH_DATUM_ex_left_JOIN_ON": "c"}},
    ]


def test_group_example_one_datum_per_day(store, put, example):
    put("ex_events", EVENTS)
    run_once(store, example("group"))
    assert datums_seen(store, "ex-group") == [
        {
            "files": ["ex_events/db/0107-x.log", "ex_events/web/0107-a.log"],
            "keys": {"PACH_DATUM_ex_events_GROUP_BY": "0107"},
        },
        {
            "files": ["ex_events/web/0108-a.log"],
            "keys": {"PACH_DATUM_ex_events_GROUP_BY": "0108"},
        },
    ]


def test_cron_example_ticks_are_commits_and_each_tick_is_a_new_datum(store, example):
    specs = load_specs(example("cron"))
    assert run_once(store, example("cron")).outcomes[0].status == WAITING  # no tick yet
    for _ in range(2):
        tick_all(store, specs)
        summary = run_once(store, example("cron"))
    outcome = summary.outcomes[0]
    # the second job sees both ticks and skips the first (unchanged), as pachd does
    assert (outcome.status, outcome.processed, outcome.skipped) == (SUCCESS, 1, 1)
    ticks = sorted(f.path for f in store.walk_files(store.resolve("ex-cron_tick")))
    assert ticks == ["/2025-01-07T00:10:00Z", "/2025-01-07T00:20:00Z"]
    assert [d["files"] for d in datums_seen(store, "ex-cron")] == [
        ["tick/2025-01-07T00:10:00Z"],
        ["tick/2025-01-07T00:20:00Z"],
    ]


def test_pachflow_run_cron_ticks_runs_once_per_tick(home, example):
    result = CliRunner().invoke(main, ["run", "--specs", str(example("cron")), "--cron-ticks", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("cron tick") == 3
    assert result.output.count("ex-cron      success") == 3


def test_cron_ticks_without_a_cron_input_is_bad_usage(home, example):
    result = CliRunner().invoke(main, ["run", "--specs", str(example("pfs")), "--cron-ticks", "1"])
    assert result.exit_code == 2 and "no spec has a cron input" in result.output
