"""The one walk over a spec's input tree (pachflow.pipeline_spec.input_tree) and the one
pipeline order (pachflow.pipeline_spec.dag): what every reader of a spec relies on.

The order of pfs inputs is the order of /pfs mounts, worker env vars and datum inputs;
a nested cross-in-union or a join/group must be reached wherever it sits; input names may
repeat across the branches of a union only (pachd's ValidateNames)."""

from __future__ import annotations

from typing import Any

import pytest

from pachflow.pipeline_spec import SpecError
from pachflow.pipeline_spec.checks import check_semantics
from pachflow.pipeline_spec.dag import pipeline_order
from pachflow.pipeline_spec.input_tree import InputNode, apart_in_union, fold, pfs_inputs, walk
from pachflow.pipeline_spec.spec import collect_pfs_inputs


def pfs(repo: str, name: str = "", **extra: Any) -> dict[str, Any]:
    return {"pfs": {"repo": repo, "glob": "/*", **({"name": name} if name else {}), **extra}}


# union( cross(a, union(b, c)), join(d, e), group(f), cron t )
TREE: dict[str, Any] = {
    "union": [
        {"cross": [pfs("a"), {"union": [pfs("b"), pfs("c")]}]},
        {"join": [pfs("d", join_on="$1"), pfs("e", join_on="$1")]},
        {"group": [pfs("f", group_by="$1")]},
        {"cron": {"name": "t", "spec": "@every 60s"}},
    ]
}


def test_walk_visits_every_node_parents_first_left_to_right() -> None:
    assert [(node.path, node.kind) for node in walk(TREE)] == [
        ("input", "union"),
        ("input.union[0]", "cross"),
        ("input.union[0].cross[0]", "pfs"),
        ("input.union[0].cross[1]", "union"),
        ("input.union[0].cross[1].union[0]", "pfs"),
        ("input.union[0].cross[1].union[1]", "pfs"),
        ("input.union[1]", "join"),
        ("input.union[1].join[0]", "pfs"),
        ("input.union[1].join[1]", "pfs"),
        ("input.union[2]", "group"),
        ("input.union[2].group[0]", "pfs"),
        ("input.union[3]", "cron"),
    ]


def test_pfs_inputs_in_depth_first_order_with_their_json_paths() -> None:
    assert [p["repo"] for p in pfs_inputs(TREE)] == ["a", "b", "c", "d", "e", "f"]
    found = collect_pfs_inputs(TREE)
    assert [(i.repo, i.path) for i in found] == [
        ("a", "input.union[0].cross[0].pfs"),
        ("b", "input.union[0].cross[1].union[0].pfs"),
        ("c", "input.union[0].cross[1].union[1].pfs"),
        ("d", "input.union[1].join[0].pfs"),
        ("e", "input.union[1].join[1].pfs"),
        ("f", "input.union[2].group[0].pfs"),
    ]
    assert [(i.join_on, i.group_by) for i in found[3:]] == [("$1", ""), ("$1", ""), ("", "$1")]
    assert pfs_inputs(None) == [] and pfs_inputs({}) == []


def test_pfs_inputs_are_the_trees_own_fields() -> None:
    # reproduce --runtime cluster moves every input into its project by editing them
    tree = {"cross": [pfs("a"), {"union": [pfs("b")]}]}
    for found in pfs_inputs(tree):
        found["project"] = "p"
    assert tree["cross"][1]["union"][0]["pfs"]["project"] == "p"


def test_fold_combines_each_kind_bottom_up() -> None:
    def leaf(node: InputNode) -> str:
        return node.pfs["repo"] if node.pfs else f"{node.kind}:{node.cron['name']}"  # type: ignore[index]

    def combine(node: InputNode, children: list[str]) -> str:
        return f"{node.kind}({', '.join(children)})"

    assert fold(TREE, leaf, combine) == "union(cross(a, union(b, c)), join(d, e), group(f), cron:t)"


def test_apart_in_union_only_across_branches_of_one_union() -> None:
    nodes = {node.path: node for node in walk(TREE)}
    a = nodes["input.union[0].cross[0]"]
    b = nodes["input.union[0].cross[1].union[0]"]
    c = nodes["input.union[0].cross[1].union[1]"]
    d = nodes["input.union[1].join[0]"]
    e = nodes["input.union[1].join[1]"]
    assert apart_in_union(b, c) and apart_in_union(a, d) and apart_in_union(c, e)
    assert not apart_in_union(a, b)  # crossed: both are in one datum
    assert not apart_in_union(d, e)  # joined
    assert not apart_in_union(a, a)


def _name_problems(tree: dict[str, Any]) -> list[str]:
    spec = {"pipeline": {"name": "p"}, "transform": {"image": "i:1", "cmd": ["c"]}, "input": tree}
    return [f"{p.path}: {p.message}" for p in check_semantics(spec) if "also used" in p.message]


def test_input_names_may_repeat_across_union_branches_only() -> None:
    assert _name_problems({"union": [pfs("a"), pfs("a")]}) == []
    assert _name_problems({"union": [{"cross": [pfs("x"), pfs("y")]}, pfs("x")]}) == []
    # a union crossed with an input: its branches' names are all mounted next to it
    assert _name_problems(
        {"cross": [{"union": [pfs("a", "n"), pfs("b", "n")]}, pfs("c", "n")]}
    ) == [
        "input.cross[1].pfs: input name 'n' is also used by input.cross[0].union[0].pfs: "
        "give one of them a distinct name"
    ]
    # inside one branch the rule holds again; a cron input's name counts too
    nested = {"union": [{"join": [pfs("a"), pfs("b", "a")]}, {"group": [pfs("a")]}]}
    assert _name_problems(nested) == [
        "input.union[0].join[1].pfs: input name 'a' is also used by input.union[0].join[0].pfs: "
        "give one of them a distinct name"
    ]
    cron = {"cross": [pfs("a", "t"), {"cron": {"name": "t", "spec": "@every 60s"}}]}
    assert _name_problems(cron) == [
        "input.cross[1].cron: input name 't' is also used by input.cross[0].pfs: "
        "give one of them a distinct name"
    ]


def test_pipeline_order_puts_readers_after_writers_and_keeps_ties_in_order() -> None:
    reads = {"score": ["transactions"], "train": ["etl"], "etl": ["split"], "split": ["raw"]}
    assert pipeline_order(reads) == ["score", "split", "etl", "train"]
    # a pipeline reading two others waits for both, wherever they are listed
    assert pipeline_order({"c": ["a", "b"], "b": ["a"], "a": []}) == ["a", "b", "c"]
    with pytest.raises(SpecError, match="pipelines form a cycle: a -> b -> a"):
        pipeline_order({"a": ["b"], "b": ["a"]})
