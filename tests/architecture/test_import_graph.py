"""The layout is the architecture: libs <- stages, libs <- apps, and nothing else.

Read from the tree itself (every package's pyproject and every import in its sources and
tests), so a new edge fails here before it reaches an image: a stage that imports another
stage would carry that stage and its dependencies in its container.
"""

from __future__ import annotations

import ast
import graphlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("libs", "stages", "apps")


@dataclass(frozen=True)
class Package:
    name: str  # distribution name, e.g. pachflow-etl
    module: str  # top-level import name, e.g. pachflow_etl
    layer: str  # libs | stages | apps
    root: Path
    dependencies: frozenset[str]


def _dist_name(requirement: str) -> str:
    for stop in "[<>=!~; ":
        requirement = requirement.split(stop)[0]
    return requirement.strip()


def packages() -> list[Package]:
    found = []
    for layer in LAYERS:
        for pyproject in sorted((REPO / layer).glob("*/pyproject.toml")):
            project = tomllib.loads(pyproject.read_text())["project"]
            (module,) = [p.name for p in (pyproject.parent / "src").iterdir() if p.is_dir()]
            deps = frozenset(_dist_name(d) for d in project.get("dependencies", []))
            found.append(Package(project["name"], module, layer, pyproject.parent, deps))
    return found


PACKAGES = packages()
BY_MODULE = {p.module: p for p in PACKAGES}
BY_NAME = {p.name: p for p in PACKAGES}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (top level or inside functions): `a.b` as written."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def allowed(src: Package, dst: Package) -> bool:
    return src is dst or dst.layer == "libs"  # nothing imports a stage or an app


def test_the_tree_has_every_layer() -> None:
    assert {p.layer for p in PACKAGES} == set(LAYERS)
    assert {"pachflow-split", "pachflow-etl", "pachflow-train", "pachflow-provenance"} <= {
        p.name for p in PACKAGES if p.layer == "stages"
    }


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_declared_dependencies_point_only_at_libs(package: Package) -> None:
    bad = sorted(
        d for d in package.dependencies if d in BY_NAME and not allowed(package, BY_NAME[d])
    )
    assert not bad, f"{package.name} ({package.layer}) depends on {bad}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_imports_point_only_at_libs_and_are_declared(package: Package) -> None:
    problems = []
    for path in sorted(package.root.rglob("*.py")):
        for name in imported_modules(path):
            dst = BY_MODULE.get(name.split(".")[0])
            if dst is None or dst is package:
                continue
            where = path.relative_to(REPO)
            if not allowed(package, dst):
                problems.append(f"{where} imports {name} ({dst.layer}/{dst.root.name})")
            in_tests = "tests" in path.relative_to(package.root).parts
            if not in_tests and dst.name not in package.dependencies:
                problems.append(f"{where} imports {name}, but {dst.name} is not a dependency")
    assert not problems, "\n".join(problems)


def module_graph(package: Package) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (sources only)."""
    src = package.root / "src"
    modules = {}
    for path in src.rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for module, path in modules.items():
        edges = set()
        for name in imported_modules(path):
            # `from pkg import mod` names a module; `from pkg.mod import f` names f's module
            while name and name not in modules:
                name = name.rpartition(".")[0]
            is_parent_package = module.startswith(name + ".")
            if name and name != module and not is_parent_package:
                edges.add(name)
        graph[module] = edges
    return graph


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_import_cycles_between_modules(package: Package) -> None:
    graph = module_graph(package)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"{package.name}: import cycle {' -> '.join(exc.args[1])}")


#: apps/pachflow's rooms and the rooms each may import (cli.py and commands/ import them
#: all): specs, the local engine, what a run made told to a person, the cluster paths.
APP_ROOMS: dict[str, set[str]] = {
    "pachflow.pipeline_spec": set(),
    "pachflow.local": {"pachflow.pipeline_spec"},
    "pachflow.report": {"pachflow.local"},
    "pachflow.cluster": {"pachflow.pipeline_spec"},
    "pachflow.reproduce": {"pachflow.local", "pachflow.pipeline_spec"},
}


def test_pachflow_rooms_import_only_the_rooms_below_them() -> None:
    def room(module: str) -> str:
        return ".".join(module.split(".")[:2])

    graph = module_graph(BY_NAME["pachflow"])
    assert set(APP_ROOMS) <= {room(module) for module in graph}, "a room is gone: update"
    problems = [
        f"{module} imports {name}"
        for module, edges in sorted(graph.items())
        if room(module) in APP_ROOMS
        for name in sorted(edges)
        if room(name) != room(module) and room(name) not in APP_ROOMS[room(module)]
    ]
    assert not problems, "\n".join(problems)


def test_package_dependencies_have_no_cycles() -> None:
    graph = {p.name: {d for d in p.dependencies if d in BY_NAME} for p in PACKAGES}
    tuple(graphlib.TopologicalSorter(graph).static_order())


def test_the_checker_sees_a_stage_importing_a_stage(tmp_path: Path) -> None:
    """The rule itself: what it must refuse."""
    stage = Package("pachflow-a", "pachflow_a", "stages", tmp_path, frozenset())
    other = Package("pachflow-b", "pachflow_b", "stages", tmp_path, frozenset())
    lib = Package("pachflow-l", "pachflow_l", "libs", tmp_path, frozenset())
    app = Package("pachflow", "pachflow", "apps", tmp_path, frozenset())
    assert not allowed(stage, other) and not allowed(lib, stage) and not allowed(lib, app)
    assert allowed(stage, lib) and allowed(app, lib)
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from pachflow_b.cli import main\n")
    assert "pachflow_b.cli" in imported_modules(source)


# --- the run's contract has one home; the write side does not carry the read side ----
SOURCES = sorted(
    p for layer in ("libs", "stages", "apps") for p in (REPO / layer).glob("*/src/**/*.py")
)


def closure(name: str) -> set[str]:
    """A workspace package and every workspace package it depends on."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen and current in BY_NAME:
            seen.add(current)
            todo += BY_NAME[current].dependencies
    return seen


def test_train_carries_neither_the_store_nor_the_lineage_read_side() -> None:
    """train writes the run's contract; answering lineage questions (store, resolver,
    lineage commands) is not in its image."""
    assert closure("pachflow-train").isdisjoint({"pachflow-lineage", "pachflow-store"})


def test_one_commit_ref_class() -> None:
    defined = [p for p in SOURCES if re.search(r"^class CommitRef\b", p.read_text(), re.M)]
    assert [p.relative_to(REPO).as_posix() for p in defined] == [
        "libs/contracts/src/pachflow_contracts/commits.py"
    ]


def test_run_json_is_named_once() -> None:
    """Every writer and reader of run.json goes through RunManifest (RUN_JSON)."""
    naming = [p for p in SOURCES if re.search(r"""(["'])/?run\.json\1""", p.read_text())]
    assert [p.relative_to(REPO).as_posix() for p in naming] == [
        "libs/contracts/src/pachflow_contracts/run_manifest.py"
    ]


def test_tag_names_are_spelled_once() -> None:
    """`pachyderm.<x>` tag names are constants of pachflow_contracts.run_tags."""
    spelled = re.compile(
        r"""["']pachyderm\.(job_id|pipeline|project|output_commit|datum_id|inputs|input\.|upstream\.|scoring\.)"""
    )
    found = [p for p in SOURCES if spelled.search(p.read_text())]
    assert [p.relative_to(REPO).as_posix() for p in found] == [
        "libs/contracts/src/pachflow_contracts/run_tags.py"
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        r"^DEFAULT_BRANCH\s*=",
        r"^DEFAULT_PROJECT\s*=",
        r"^class BadInput\b",
        r"""click\.option\(\s*["']--json["'], ["']as_json["']""",
        r"""click\.option\(\s*["']--threshold["']""",
        r"""envvar=["']MLFLOW_TRACKING_URI["']""",
    ],
)
def test_shared_words_have_one_home(pattern: str) -> None:
    """The default branch and project, the bad-input error and the options several commands
    share (--json, --threshold, --tracking-uri) are each defined in one module, which the
    others import."""
    found = [p for p in SOURCES if re.search(pattern, p.read_text(), re.M)]
    assert len(found) == 1, [p.relative_to(REPO).as_posix() for p in found]
