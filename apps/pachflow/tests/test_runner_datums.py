"""Glob datums (Pachyderm's rules), datum ids and hashes."""

from __future__ import annotations

import pytest

from pachflow.local import globbing
from pachflow.local.datums import build_datums
from pachflow.local.specs import SpecError
from pachflow_store import CommitRef

FILES = [
    "/a.csv",
    "/b.csv.gz",
    "/notes.txt",
    "/shard=00/x.parquet",
    "/shard=00/y.parquet",
    "/shard=01/x.parquet",
    "/deep/one/two.txt",
]


def matched(pattern: str) -> list[str]:
    return [entry for entry, _ in globbing.match(pattern, FILES)]


def test_root_glob_is_the_whole_repo_as_one_datum():
    assert globbing.match("/", FILES) == [("/", sorted(FILES))]
    assert globbing.match("", FILES) == [("/", sorted(FILES))]


def test_star_is_one_datum_per_top_level_entry_files_and_directories():
    assert matched("/*") == ["/a.csv", "/b.csv.gz", "/deep", "/notes.txt", "/shard=00", "/shard=01"]
    held = dict(globbing.match("/*", FILES))
    assert held["/shard=00"] == ["/shard=00/x.parquet", "/shard=00/y.parquet"]
    assert held["/a.csv"] == ["/a.csv"]


def test_star_star_levels_and_wildcards():
    assert matched("/*/*") == [
        "/deep/one",
        "/shard=00/x.parquet",
        "/shard=00/y.parquet",
        "/shard=01/x.parquet",
    ]
    assert matched("/*.csv") == ["/a.csv"]  # * does not cross '/', and is not a suffix match
    assert matched("*.csv*") == ["/a.csv", "/b.csv.gz"]  # a glob without leading / is the same
    assert matched("/shard=0?") == ["/shard=00", "/shard=01"]
    assert matched("/[ab]*") == ["/a.csv", "/b.csv.gz"]
    assert matched("/[!ab]*.txt") == ["/notes.txt"]
    assert matched("/{a,notes}.*") == ["/a.csv", "/notes.txt"]
    assert matched("/deep/**") == ["/deep/one", "/deep/one/two.txt"]
    assert matched("/nothing*") == []


def test_a_bad_glob_is_an_error():
    with pytest.raises(globbing.GlobError, match="without a closing"):
        globbing.glob_regex("/[ab")


def commits(manifest: dict[str, tuple[str, int]], repo: str = "raw", cid: str = "a" * 32):
    return {repo: (CommitRef(repo, cid), manifest)}


def test_datum_ids_depend_on_paths_and_hashes_on_content_and_spec():
    tree = {"pfs": {"repo": "raw", "glob": "/*"}}
    one = build_datums(tree, commits({"/x": ("h1", 1), "/y": ("h2", 1)}), "salt")
    changed = build_datums(tree, commits({"/x": ("h9", 1), "/y": ("h2", 1)}, cid="b" * 32), "salt")
    other_spec = build_datums(tree, commits({"/x": ("h1", 1), "/y": ("h2", 1)}), "salt2")

    assert [d.id for d in one] == [d.id for d in changed]  # same paths, same datum ids
    assert one[0].hash != changed[0].hash  # x's content changed
    assert one[1].hash == changed[1].hash  # y did not (a new commit id alone changes nothing)
    assert all(a.hash != b.hash for a, b in zip(one, other_spec, strict=True))


def test_unsupported_input_kinds_are_named():
    with pytest.raises(SpecError, match="cron"):
        build_datums({"cron": {"name": "tick"}}, {}, "s")
