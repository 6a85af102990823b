"""How people name things (pachflow_store.refs): commits as REPO@ID|BRANCH|PREFIX, jobs as
PIPELINE@ID|PREFIX, model versions as NAME/VERSION|NAME@ALIAS; a prefix of 4+ hex digits
resolves when unique and is refused, listing the candidates, when not."""

from __future__ import annotations

import pytest

from pachflow_store import (
    ORIGIN_AUTO,
    Ambiguous,
    BadName,
    CommitName,
    CommitRef,
    ModelName,
    NotFound,
    Store,
    parse_commit_name,
    parse_job_name,
    parse_model_name,
)

A = "abcd1111" + "0" * 24
B = "abcd2222" + "0" * 24


def _commit(store: Store, repo: str, commit_id: str) -> CommitRef:
    with store.writing_blobs():
        blob = store.blobs.put_bytes(commit_id.encode())
        with store.transaction() as tx:
            return store.insert_commit(
                tx, CommitRef(repo, commit_id), {"/f": blob}, [], ORIGIN_AUTO
            )


def test_commit_names_parse_every_form_people_type() -> None:
    assert parse_commit_name("raw_data") == CommitName("raw_data")
    assert parse_commit_name("raw_data@master") == CommitName("raw_data", "master")
    assert parse_commit_name(f"p1/raw_data@{A}:/x.csv") == CommitName("raw_data", A, "/x.csv", "p1")
    assert parse_commit_name("split.spec@abcd").repo == "split.spec"
    for bad in ("raw data@x", "raw@", "@abcd", "raw@a b"):
        with pytest.raises(BadName, match="expected"):
            parse_commit_name(bad)
    with pytest.raises(BadName, match="PATH"):
        parse_commit_name("raw@master", need_path=True)


def test_model_names_take_version_and_alias_with_either_separator() -> None:
    assert parse_model_name("fraud/3") == ModelName("fraud", version="3")
    assert parse_model_name("fraud@candidate") == ModelName("fraud", alias="candidate")
    assert parse_model_name("fraud/candidate") == ModelName("fraud", alias="candidate")
    assert parse_model_name("team/fraud@champion") == ModelName("team/fraud", alias="champion")
    for bad in ("fraud", "fraud/", "@x", "fraud@a b"):
        with pytest.raises(BadName, match="NAME/VERSION"):
            parse_model_name(bad)


def test_job_names_need_a_pipeline_and_4_hex_digits() -> None:
    assert parse_job_name("train@abcd").pipeline == "train"
    for bad in ("train", "train@abc", "train@master"):
        with pytest.raises(BadName, match="PIPELINE@ID"):
            parse_job_name(bad)


def test_a_unique_prefix_names_the_commit_an_ambiguous_one_lists_them(store: Store) -> None:
    _commit(store, "raw", A)
    _commit(store, "raw", B)
    assert store.resolve("raw", "abcd1").id == A
    assert store.resolve_uri("raw@abcd2:/f") == (CommitRef("raw", B), "/f")
    with pytest.raises(
        Ambiguous,
        match=r"raw commit prefix abcd is ambiguous: 2 match "
        r"\(abcd11110000, abcd22220000\)",
    ):
        store.resolve("raw", "abcd")
    with pytest.raises(NotFound, match="no raw commit id starts with abce"):
        store.resolve("raw", "abce")
    with pytest.raises(NotFound, match="no such branch"):
        store.resolve("raw", "abc")  # 3 digits: too short to be a prefix
    assert store.resolve_commit_set("abcd2") == B
