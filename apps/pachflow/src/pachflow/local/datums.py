"""Datums of a job, as pachd's datum package makes them (src/server/worker/datum: create.go,
worker.go), for pfs, cross, union, join and group inputs (cron inputs arrive here as the
pfs input pachd makes of them: the cron repo with glob `/*`, see specs.py).

- pfs: one datum per entry pachd's GlobFile returns (glob_entries.match); each input part
  carries its join_on / group_by key (`$n` of the glob's captures, ohmyglob's Replace).
- cross: every combination, first input outermost; union: every child's datums, a datum
  two children make alike (same inputs) counted once.
- join: per join_on key, the cross of the children's inputs with that key; a key some
  child lacks gives only the outer_join inputs (nothing if there are none).
- group: per group_by key, one datum holding every child's inputs with that key.

A datum's ID is pachd's DatumID (BLAKE2b-256 over each input's name, repo, branch and
path, common.go), stable across jobs; its hash also covers each file's content and the
spec's salt, so an unchanged datum is skipped (reprocess_spec until_success). Datums run
in pachd's order: the index pfs/cross give them, then the ID.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pachflow.pipeline_spec import glob_entries
from pachflow.pipeline_spec.globs import compile_pach_glob
from pachflow.pipeline_spec.input_tree import InputNode, fold
from pachflow_contracts.commits import DEFAULT_BRANCH
from pachflow_store import CommitRef, Manifest


class DatumError(Exception):
    """pachd could not make the job's datums (a glob ohmyglob rejects, a bad key template):
    the job fails with this reason."""


@dataclass(frozen=True)
class DatumInput:
    """One pfs input's part of a datum: the matched entry and the files under it."""

    name: str  # /pfs/<name>, the <name> and <name>_COMMIT env vars
    repo: str
    branch: str
    commit: CommitRef
    match: str  # pachd's path of the entry: "/", "/dir/" or "/file"
    files: tuple[tuple[str, str, int], ...]  # (path, blob, size)
    join_on: str = ""
    group_by: str = ""
    outer_join: bool = False
    empty_files: bool = False  # pfs.emptyFiles: files appear empty in /pfs
    s3: bool = False  # pfs.s3: served as the bucket <name> (s3gateway.py), not in /pfs


@dataclass(frozen=True)
class Datum:
    id: str
    hash: str
    inputs: tuple[DatumInput, ...]

    def file_labels(self) -> list[str]:
        return [f"{i.name}:{p}" for i in self.inputs for p, _, _ in i.files]


InputCommits = dict[tuple[str, str], tuple[CommitRef, Manifest]]  # (repo, branch) -> head


def input_name(pfs: dict[str, Any]) -> str:
    return str(pfs.get("name") or pfs["repo"])


def input_branch(pfs: dict[str, Any]) -> str:
    return str(pfs.get("branch") or DEFAULT_BRANCH)


def datum_id(inputs: tuple[DatumInput, ...]) -> str:
    h = hashlib.blake2b(digest_size=32)
    for i in inputs:
        for part in (i.name, i.repo, i.branch, i.match):
            data = part.encode()
            h.update(data)
            h.update(len(data).to_bytes(8, "big"))
    return h.hexdigest()


def datum_hash(inputs: tuple[DatumInput, ...], salt: str) -> str:
    h = hashlib.sha256(salt.encode())
    for i in inputs:
        h.update(f"\1{i.name}\0{i.match}".encode())
        for path, blob, _ in i.files:
            h.update(f"\2{path}\0{blob}".encode())
    return h.hexdigest()


# An input node's datums: (index, inputs), the index ordering them as pachd schedules them.
_Datums = list[tuple[int, tuple[DatumInput, ...]]]


def _by_id(datums: _Datums) -> _Datums:
    """pachd's datum filesets are keyed by DatumID: that is the order children are read in."""
    return sorted(datums, key=lambda d: datum_id(d[1]))


def _pfs(pfs: dict[str, Any], commits: InputCommits) -> _Datums:
    name, branch = input_name(pfs), input_branch(pfs)
    commit, manifest = commits[(pfs["repo"], branch)]
    pattern = str(pfs.get("glob") or "/")
    try:
        matches = glob_entries.match(pattern, list(manifest))
        glob = compile_pach_glob(pattern)
        datums: _Datums = []
        for index, (entry, files) in enumerate(matches):
            part = DatumInput(
                name=name,
                repo=pfs["repo"],
                branch=branch,
                commit=commit,
                match=entry,
                files=tuple((p, *manifest[p]) for p in files),
                join_on=glob.replace(entry, str(pfs.get("join_on") or "")),
                group_by=glob.replace(entry, str(pfs.get("group_by") or "")),
                outer_join=bool(pfs.get("outer_join")),
                empty_files=bool(pfs.get("empty_files")),
                s3=bool(pfs.get("s3")),
            )
            datums.append((index, (part,)))
    except glob_entries.GlobError as exc:
        raise DatumError(f"input {name}: glob {pattern!r}: {exc}") from None
    return _by_id(datums)


def _cross(children: list[_Datums]) -> _Datums:
    combos = itertools.product(*[[inputs for _, inputs in child] for child in children])
    return _by_id([(n, tuple(itertools.chain.from_iterable(c))) for n, c in enumerate(combos)])


def _union(children: list[_Datums]) -> _Datums:
    seen: dict[str, tuple[int, tuple[DatumInput, ...]]] = {}
    for child in children:
        for index, inputs in child:
            seen.setdefault(datum_id(inputs), (index, inputs))
    return _by_id(list(seen.values()))


def _keyed(children: list[_Datums], key: str) -> dict[str, list[list[DatumInput]]]:
    """key -> for each child, its inputs with that key (a child's datums are split into
    their single inputs, as pachd's key task does)."""
    table: dict[str, list[list[DatumInput]]] = defaultdict(lambda: [[] for _ in children])
    for n, child in enumerate(children):
        for _, inputs in child:
            for part in inputs:
                table[getattr(part, key)][n].append(part)
    return table


def _join(children: list[_Datums]) -> _Datums:
    datums: _Datums = []
    for per_child in _keyed(children, "join_on").values():
        present = [parts for parts in per_child if parts]
        for combo in itertools.product(*present):
            if len(present) == len(children):
                datums.append((0, combo))
            elif outer := tuple(p for p in combo if p.outer_join):
                datums.append((0, outer))
    return _union([datums])  # an outer input alone can come out of several combinations


def _group(children: list[_Datums]) -> _Datums:
    groups = _keyed(children, "group_by").values()
    return _by_id([(0, tuple(itertools.chain.from_iterable(g))) for g in groups])


_COMBINE = {"cross": _cross, "union": _union, "join": _join, "group": _group}


def _tree(tree: dict[str, Any], commits: InputCommits) -> _Datums:
    def leaf(node: InputNode) -> _Datums:
        if node.pfs:
            return _pfs(node.pfs, commits)
        kinds = ", ".join(sorted(node.node)) or "(empty)"
        raise DatumError(f"input kind {kinds} is not supported by the local runner")

    return fold(tree, leaf, lambda node, children: _COMBINE[node.kind](children))


def build_datums(input_tree: dict[str, Any], commits: InputCommits, salt: str) -> list[Datum]:
    """The job's datums in pachd's order; DatumError when pachd would fail making them."""
    made = [(index, datum_id(inputs), inputs) for index, inputs in _tree(input_tree, commits)]
    made.sort(key=lambda d: d[:2])
    return [Datum(did, datum_hash(inputs, salt), inputs) for _, did, inputs in made]
