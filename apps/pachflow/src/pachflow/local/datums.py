"""Datums of a job: glob matches over each pfs input, combined by cross and union.

A datum's ID depends only on its input paths (stable across jobs, like Pachyderm's
DatumID); its hash also covers each file's content hash and the spec's salt, so a datum
whose files and spec did not change has the same hash and is skipped
(reprocess_spec until_success).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

from pachflow.local import globbing
from pachflow.local.specs import SpecError
from pachflow_store import CommitRef, Manifest


@dataclass(frozen=True)
class DatumInput:
    """One pfs input's part of a datum: the glob match and the files under it."""

    name: str  # /pfs/<name>, the <name> and <name>_COMMIT env vars
    commit: CommitRef
    match: str  # the matched entry ("/" for the whole repo)
    files: tuple[tuple[str, str, int], ...]  # (path, blob, size)


@dataclass(frozen=True)
class Datum:
    id: str
    hash: str
    inputs: tuple[DatumInput, ...]

    def file_labels(self) -> list[str]:
        return [f"{i.name}:{p}" for i in self.inputs for p, _, _ in i.files]


InputCommits = dict[str, tuple[CommitRef, Manifest]]  # input name -> (commit, manifest)


def input_name(pfs: dict[str, Any]) -> str:
    return str(pfs.get("name") or pfs["repo"])


def _pfs_datums(pfs: dict[str, Any], commits: InputCommits) -> list[tuple[DatumInput, ...]]:
    name = input_name(pfs)
    commit, manifest = commits[name]
    try:
        matches = globbing.match(str(pfs.get("glob", "/")), list(manifest))
    except globbing.GlobError as exc:
        raise SpecError([f"input {name}: {exc}"]) from exc
    return [
        (DatumInput(name, commit, entry, tuple((p, *manifest[p]) for p in files)),)
        for entry, files in matches
    ]


def _tree_datums(node: dict[str, Any], commits: InputCommits) -> list[tuple[DatumInput, ...]]:
    if "pfs" in node:
        return _pfs_datums(node["pfs"], commits)
    if "cross" in node:
        parts = [_tree_datums(child, commits) for child in node["cross"]]
        return [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
    if "union" in node:
        return [d for child in node["union"] for d in _tree_datums(child, commits)]
    kinds = ", ".join(sorted(node)) or "(empty)"
    raise SpecError(
        [f"input kind {kinds} is not supported by the local runner (pfs, cross, union)"]
    )


def datum_id(inputs: tuple[DatumInput, ...]) -> str:
    h = hashlib.sha256()
    for i in inputs:
        h.update(f"{i.name}\0{i.match}\0".encode())
    return h.hexdigest()


def datum_hash(inputs: tuple[DatumInput, ...], salt: str) -> str:
    h = hashlib.sha256(salt.encode())
    for i in inputs:
        h.update(f"\1{i.name}\0{i.match}".encode())
        for path, blob, _ in i.files:
            h.update(f"\2{path}\0{blob}".encode())
    return h.hexdigest()


def build_datums(input_tree: dict[str, Any], commits: InputCommits, salt: str) -> list[Datum]:
    datums = [
        Datum(datum_id(inputs), datum_hash(inputs, salt), inputs)
        for inputs in _tree_datums(input_tree, commits)
    ]
    return datums
