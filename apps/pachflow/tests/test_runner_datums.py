"""Datums of every input kind as pachd makes them (src/server/worker/datum, cases from
pachyderm/pachyderm@7ed6c9f iterator_test.go and pachyderm_test.go), datum ids and hashes."""

from __future__ import annotations

from pachflow.local.datums import DatumError, build_datums
from pachflow.local.specs import pachd_input
from pachflow_store import CommitRef

FOO = {f"/foo{i}": (f"h{i}", 1) for i in range(50)}  # iterator_test.go:27-33: /foo0../foo49


def commits(**repos: dict[str, tuple[str, int]]):
    return {
        (repo, "master"): (CommitRef(repo, repo[0] * 32), files) for repo, files in repos.items()
    }


def pfs(repo: str, glob: str, name: str = "", **extra):
    return {"pfs": {"repo": repo, "glob": glob, "name": name or repo, **extra}}


def over_foo(kind: str, a: dict[str, object], b: dict[str, object]) -> dict:
    """A `kind` ("join", "group") of two inputs named a and b, each on repo in's
    /foo(?)(?) with its own options (join_on, group_by)."""
    return {kind: [pfs("in", "/foo(?)(?)", "a", **a), pfs("in", "/foo(?)(?)", "b", **b)]}


def shapes(tree, repos=None) -> list[list[str]]:
    """Each datum as its inputs' `name:path`, in the runner's order; repos: repo `in`
    holding FOO unless given."""
    repos = repos or commits(**{"in": FOO})
    return [[f"{i.name}:{i.match}" for i in d.inputs] for d in build_datums(tree, repos, "s")]


def test_union_of_two_globs_counts_a_shared_datum_once():
    # iterator_test.go:66-71: /foo?1 (4) and /foo*2 (5), /foo2 is not in the first
    tree = {"union": [pfs("in", "/foo?1"), pfs("in", "/foo*2")]}
    assert len(shapes(tree)) == 9
    same = {"union": [pfs("in", "/foo1*"), pfs("in", "/foo1?")]}  # /foo10.. twice
    assert len(shapes(same)) == 11


def test_cross_is_every_combination_and_empty_with_an_empty_side():
    # iterator_test.go:73-97
    tree = {"cross": [pfs("in", "/foo?1", "a"), pfs("in", "/foo*2", "b")]}
    assert len(shapes(tree)) == 20
    empty = {"cross": [pfs("in", "/foo?1", "a"), pfs("in", "!(**)", "z")]}
    assert shapes(empty) == []


def test_join_pairs_inputs_with_equal_keys():
    # iterator_test.go:98-123: /foo(?)(?) on $1$2 x /foo(?)(?) on $2$1
    tree = over_foo("join", {"join_on": "$1$2"}, {"join_on": "$2$1"})
    got = shapes(tree)
    assert len(got) == 16
    assert ["a:/foo12", "b:/foo21"] in got
    assert not any("a:/foo10" in d for d in got)  # /foo01 does not exist


def test_outer_join_keeps_the_unmatched_outer_inputs_alone():
    # iterator_test.go:125-142
    tree = {
        "join": [
            pfs("in", "/foo1(?)", "a", join_on="$1", outer_join=True),
            pfs("in", "/foo(?)1", "b", join_on="$1", outer_join=True),
        ]
    }
    got = shapes(tree)
    pairs = [d for d in got if len(d) == 2]
    alone = sorted(d[0] for d in got if len(d) == 1)
    assert len(pairs) == 4
    assert alone == ["a:/foo10", "a:/foo15", "a:/foo16", "a:/foo17", "a:/foo18", "a:/foo19"]


def test_group_puts_every_input_with_one_key_in_one_datum():
    # iterator_test.go:146-176
    one = {"group": [pfs("in", "/foo(?)(?)", group_by="$1")]}
    got = shapes(one)
    assert sorted(len(d) for d in got) == [10, 10, 10, 10]
    two = over_foo("group", {"group_by": "$1"}, {"group_by": "$2"})
    got = shapes(two)
    assert len(got) == 10
    zero = next(d for d in got if "b:/foo10" in d)
    assert sorted(zero) == ["b:/foo10", "b:/foo20", "b:/foo30", "b:/foo40"]  # 2nd input only


def test_group_of_a_join_and_a_union_of_group_and_plain():
    # iterator_test.go:180-264
    join = over_foo(
        "join", {"join_on": "$1$2", "group_by": "$1"}, {"join_on": "$2$1", "group_by": "$2"}
    )
    got = shapes({"group": [join]})
    first = next(d for d in got if "a:/foo11" in d)
    assert len(got) == 4 and sorted(first) == sorted(
        [
            "a:/foo11",
            "b:/foo11",
            "a:/foo12",
            "b:/foo21",
            "a:/foo13",
            "b:/foo31",
            "a:/foo14",
            "b:/foo41",
        ]
    )
    union = {
        "union": [
            pfs("in", "/foo(?)(?)", "a"),
            {"group": [pfs("in", "/foo(?)(?)", "b", group_by="$2")]},
        ]
    }
    got = shapes(union)
    assert sorted(len(d) for d in got).count(1) == 40 and len(got) == 50


def test_join_on_capture_groups_of_dirs_and_files():
    # iterator_test.go:323-406 (also with the glob /(*)/) and pachyderm_test.go:5019-5111
    files = {f"/foo-{i}": (f"h{i}", 1) for i in range(10)}
    for glob in ("/(*)", "/(*)/"):
        tree = {
            "join": [
                pfs("r0", glob, join_on="$1"),
                pfs("r1", glob, join_on="$1"),
            ]
        }
        assert len(shapes(tree, commits(r0=files, r1=files))) == 10
    bits = {f"/file-{c}.{i:04b}": ("h", 1) for i, c in enumerate("ABCDEFGHIJKLMNOP")}
    tree = {
        "join": [pfs("r0", "/file-?.(11*)", join_on="$1"), pfs("r1", "/file-?.(*0)", join_on="$1")]
    }
    got = build_datums(tree, commits(r0=bits, r1=bits), "s")
    assert sorted(d.inputs[0].join_on for d in got) == ["1100", "1110"]
    dirs = {
        "join": [
            pfs("r0", "/dir-(?)(?)", join_on="$2"),
            pfs("r1", "/dir-(?)(?)", join_on="$1"),
        ]
    }
    repos = commits(r0={"/dir-01/foo": ("h", 1)}, r1={"/dir-10/bar": ("h", 1)})
    assert shapes(dirs, repos) == [["r0:/dir-01/", "r1:/dir-10/"]]


def test_inputs_are_sorted_by_name_like_pps_sort_input():
    # src/pps/util.go:93-111 SortInput, before names default to repos
    tree = pachd_input({"cross": [pfs("b", "/*"), pfs("a", "/*")]}, "p")
    assert [c["pfs"]["name"] for c in tree["cross"]] == ["a", "b"]
    unnamed = pachd_input({"cross": [{"pfs": {"repo": "b"}}, {"pfs": {"repo": "a"}}]}, "p")
    assert [c["pfs"]["repo"] for c in unnamed["cross"]] == ["b", "a"]


def test_cron_reads_its_repo_with_glob_star():
    # src/server/worker/datum/create.go:365-374; api_server.go:2783-2789 (default repo)
    tree = pachd_input({"cron": {"name": "tick", "spec": "@every 60s"}}, "pipe")
    assert tree == {"pfs": {"name": "tick", "repo": "pipe_tick", "branch": "master", "glob": "/*"}}


def test_datum_ids_are_pachds_and_hashes_cover_content_and_spec():
    tree = pfs("raw", "/*")
    one = build_datums(tree, commits(raw={"/x": ("h1", 1), "/y": ("h2", 1)}), "salt")
    changed = build_datums(tree, commits(raw={"/x": ("h9", 1), "/y": ("h2", 1)}), "salt")
    other_spec = build_datums(tree, commits(raw={"/x": ("h1", 1), "/y": ("h2", 1)}), "salt2")
    assert [d.id for d in one] == [d.id for d in changed]
    assert one[0].hash != changed[0].hash and one[1].hash == changed[1].hash
    assert all(a.hash != b.hash for a, b in zip(one, other_spec, strict=True))
    # common.go:40-54: BLAKE2b-256 over name, repo, branch, path, each with its length
    import hashlib

    h = hashlib.blake2b(digest_size=32)
    for part in (b"raw", b"raw", b"master", b"/x"):
        h.update(part + len(part).to_bytes(8, "big"))
    assert one[0].id == h.hexdigest()


def test_a_glob_pachd_cannot_compile_fails_the_job_with_its_error():
    try:
        build_datums(pfs("raw", "/[ab"), commits(raw={"/a": ("h", 1)}), "s")
    except DatumError as exc:
        assert "unexpected end of input" in str(exc) and "raw" in str(exc)
    else:
        raise AssertionError("no DatumError")
