"""A pipeline spec's input tree (pps.Input): pfs and cron inputs under cross, union, join and
group. The one walk over it: every module reads the tree through `walk`, `fold` or
`pfs_inputs`, so which keys hold the children is written here only.

It reads either spelling of a spec (the file's camelCase, the loader's snake_case): the
input kinds are one word in both. The tree is a spec's JSON; the walk only reads it (the
dicts it hands out are the tree's own, so a caller may edit them in place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

#: pps.Input's kinds, in the order pachd's messages list them.
KINDS = ("pfs", "cross", "union", "join", "group", "cron")
#: The kinds whose value is a list of inputs.
COMBINATIONS = ("cross", "union", "join", "group")

Input = dict[str, Any]  # one pps.Input as JSON
T = TypeVar("T")


@dataclass(frozen=True)
class InputNode:
    """One node of an input tree and where it sits: `steps` are the (combination, child
    index) pairs from the root, so `path` is its JSON path, e.g. `input.cross[1]`."""

    node: Input
    steps: tuple[tuple[str, int], ...] = ()
    root: str = "input"

    @property
    def path(self) -> str:
        return self.root + "".join(f".{kind}[{index}]" for kind, index in self.steps)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds set on this node (exactly one in a valid tree)."""
        return tuple(kind for kind in KINDS if self.node.get(kind))

    @property
    def kind(self) -> str:
        """The node's kind: "" when none is set, the first of KINDS when several are."""
        return next(iter(self.kinds), "")

    @property
    def pfs(self) -> Input | None:
        """The pfs input's fields when this node is one."""
        return self.node.get("pfs") or None

    @property
    def cron(self) -> Input | None:
        """The cron input's fields when this node is one."""
        return self.node.get("cron") or None

    def children(self) -> Iterator[InputNode]:
        """The inputs this node combines, left to right (of every combination set on it,
        so that a check sees all of an invalid node)."""
        for kind in COMBINATIONS:
            for index, child in enumerate(self.node.get(kind) or ()):
                yield InputNode(child, (*self.steps, (kind, index)), self.root)

    def walk(self) -> Iterator[InputNode]:
        """This node and every node under it, depth-first, left to right (parents first)."""
        yield self
        for child in self.children():
            yield from child.walk()


def walk(tree: Input | None, root: str = "input") -> Iterator[InputNode]:
    """Every node of an input tree, depth-first, left to right (parents first); `root` is
    the tree's JSON path, which each node's `path` starts with."""
    return InputNode(tree or {}, root=root).walk()


def pfs_inputs(tree: Input | None) -> list[Input]:
    """The fields of every pfs input in the tree, depth-first, left to right."""
    return [node.pfs for node in walk(tree) if node.pfs]


def fold(
    tree: Input | InputNode,
    leaf: Callable[[InputNode], T],
    combine: Callable[[InputNode, list[T]], T],
) -> T:
    """The tree's value, bottom up: `leaf` of each node that combines nothing (a pfs or
    cron input, or a node with no kind set), `combine` of each cross, union, join or group
    with its children's values, left to right."""
    node = tree if isinstance(tree, InputNode) else InputNode(tree)
    if node.kind not in COMBINATIONS:
        return leaf(node)
    return combine(node, [fold(child, leaf, combine) for child in node.children()])


def apart_in_union(a: InputNode, b: InputNode) -> bool:
    """Whether two nodes sit in different branches of one union (where only one of them is
    in any datum: pachd lets such inputs share a name)."""
    for step_a, step_b in zip(a.steps, b.steps, strict=False):
        if step_a != step_b:
            return step_a[0] == step_b[0] == "union"
    return False
