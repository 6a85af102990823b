"""Repos, commits (32-hex ids, parents, manifests), files, provenance, commit sets and
metadata in the local store."""

from __future__ import annotations

import os
import stat

import pytest

from pachflow_store import (
    ORIGIN_AUTO,
    ORIGIN_USER,
    SPEC,
    CommitRef,
    DuplicateContent,
    NotFound,
    Store,
    StoreError,
    is_commit_id,
    new_id,
)


def test_put_creates_the_repo_and_a_32_hex_commit(store: Store, local_file):
    ref = store.put_files("raw", [("/a.csv", local_file("a", "1,2\n"))])

    assert ref.repo == "raw" and is_commit_id(ref.id)
    info = store.inspect_commit(ref)
    assert (info.origin, info.parent, info.branch, info.size) == (ORIGIN_USER, None, "master", 4)
    assert store.resolve("raw").id == ref.id == store.resolve("raw", "master").id
    assert [r.name for r in store.list_repos()] == ["raw"]


def test_each_put_is_a_new_commit_on_top_of_the_previous_files(store: Store, local_file):
    first = store.put_files("raw", [("/a", local_file("a", "A")), ("/d/b", local_file("b", "B"))])
    second = store.put_files("raw", [("/a", local_file("a2", "A2")), ("/c", local_file("c", "C"))])

    assert store.inspect_commit(second).parent == first.id
    assert sorted(store.manifest(second)) == ["/a", "/c", "/d/b"]
    assert store.file_blob(second, "/a").read_text() == "A2"
    assert store.file_blob(first, "/a").read_text() == "A"  # old commits never change
    assert [(f.path, f.type, f.size) for f in store.list_files(second)] == [
        ("/a", "file", 2),
        ("/c", "file", 1),
        ("/d/", "dir", 1),
    ]
    assert [f.path for f in store.list_files(second, "/d")] == ["/d/b"]
    assert [c.commit.id for c in store.list_commits("raw")] == [second.id, first.id]


def test_blobs_are_content_addressed_and_read_only(store: Store, local_file):
    ref = store.put_files(
        "raw",
        [("/x", local_file("x", "same")), ("/y", local_file("y", "same"))],
        allow_duplicate=True,  # a copy on purpose: refused otherwise (the next test)
    )
    manifest = store.manifest(ref)

    assert manifest["/x"][0] == manifest["/y"][0]  # one blob for one content
    blob = store.file_blob(ref, "/x")
    assert not os.stat(blob).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_a_copy_of_content_the_branch_holds_is_refused_naming_it(store: Store, local_file):
    store.put_files("raw", [("/a.csv", local_file("a", "rows"))])
    with pytest.raises(
        DuplicateContent,
        match=r"raw@master:/b.csv has the same content .* as "
        "raw@master:/a.csv, which the repo already holds",
    ):
        store.put_files("raw", [("/b.csv", local_file("b", "rows"))])
    assert len(store.list_commits("raw")) == 1
    store.put_files("raw", [("/a.csv", local_file("a", "rows"))])  # its own path: no copy
    store.put_files("other", [("/b.csv", local_file("b", "rows"))])  # another repo: fine


def test_provenance_subvenance_and_commit_sets(store: Store, local_file):
    raw = store.put_files("raw", [("/a", local_file("a", "A"))])
    run_id = new_id()
    spec = CommitRef("p", run_id, repo_type=SPEC)
    out = CommitRef("p", run_id)
    blob = store.blobs.put_bytes(b"{}")
    with store.transaction() as tx:
        store.insert_commit(tx, spec, {"/spec.json": blob}, [], ORIGIN_USER)
        store.insert_commit(tx, out, {"/o": blob}, [raw, spec], ORIGIN_AUTO)

    info = store.inspect_commit(out)
    assert set(info.provenance) == {raw, spec} and info.origin == ORIGIN_AUTO
    assert store.inspect_commit(raw).subvenance == [out]
    assert {str(c.commit) for c in store.inspect_commit_set(run_id)} == {
        f"p@{run_id}",
        f"p.spec@{run_id}",
    }
    assert [s[0] for s in store.list_commit_sets()] == [run_id, raw.id]
    assert store.resolve("p.spec").id == run_id


def test_commit_metadata(store: Store, local_file):
    ref = store.put_files("raw", [("/a", local_file("a", "A"))])
    store.set_metadata(ref, "mlflow.run_id", "abc")
    store.set_metadata(ref, "mlflow.run_id", "def")  # set again: replaced
    store.set_metadata(ref, "k", "v")

    assert store.get_metadata(ref) == {"k": "v", "mlflow.run_id": "def"}
    assert store.inspect_commit(ref).metadata["mlflow.run_id"] == "def"


def test_what_does_not_exist_is_named(store: Store, local_file):
    ref = store.put_files("raw", [("/d/a", local_file("a", "A"))])
    missing = "0" * 32
    cases = [
        (lambda: store.resolve("nope"), "repo nope does not exist"),
        (lambda: store.resolve("raw", missing), f"commit raw@{missing} does not exist"),
        (lambda: store.resolve("raw", "dev"), "raw@dev has no commit"),
        (lambda: store.file_blob(ref, "/zz"), f"{ref}:/zz does not exist"),
        (lambda: store.file_blob(ref, "/d"), f"{ref}:/d is a directory"),
        (lambda: store.list_files(ref, "/zz"), f"{ref}:/zz does not exist"),
        (lambda: store.set_metadata(CommitRef("raw", missing), "k", "v"), "does not exist"),
        (lambda: store.inspect_commit_set(missing), f"commit set {missing} does not exist"),
        (lambda: store.list_jobs("ghost"), "pipeline ghost does not exist"),
    ]
    for call, message in cases:
        with pytest.raises(NotFound, match=message):
            call()


def test_uris(store: Store, local_file):
    ref = store.put_files("raw", [("/d/a", local_file("a", "A"))])
    assert store.resolve_uri("raw") == (ref, "/")
    assert store.resolve_uri(f"raw@{ref.id}:/d/a") == (ref, "/d/a")
    assert store.resolve_uri("raw@master:d") == (ref, "/d")


def test_repo_names_follow_pachyderm_rules(store: Store, local_file):
    with pytest.raises(StoreError, match="not valid"):
        store.put_files("raw.data", [("/a", local_file("a", "A"))])


def test_put_manifest_shares_the_other_stores_blobs_as_hard_links(tmp_path, local_file):
    with Store(tmp_path / "a") as source, Store(tmp_path / "b") as copy:
        ref = source.put_files("raw", [("/x.csv", local_file("x", "rows"))])
        manifest = source.manifest(ref)
        new = copy.put_manifest("raw", manifest, source.blobs, description="copy")

        assert copy.manifest(new) == manifest
        ((digest, _),) = manifest.values()
        assert os.stat(copy.blobs.path(digest)).st_ino == os.stat(source.blobs.path(digest)).st_ino
        assert copy.file_blob(new, "/x.csv").read_text() == "rows"
