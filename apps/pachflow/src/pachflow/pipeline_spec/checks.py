"""Checks on one spec beyond its field types: what pachd (or a sane deploy) needs."""

from __future__ import annotations

import re
from typing import Any

from betterproto.casing import camel_case

from pachflow.pipeline_spec.cronspec import CronSpecError, parse_schedule
from pachflow.pipeline_spec.errors import Problem
from pachflow.pipeline_spec.globs import ROOT, clean_glob, glob_problem
from pachflow.pipeline_spec.input_tree import (
    COMBINATIONS,
    KINDS,
    InputNode,
    apart_in_union,
    pfs_inputs,
    walk,
)

# pachd's rule for repo (and so pipeline) names.
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_NAME_MAX = 63  # a pipeline name becomes part of Kubernetes object names
# Kubernetes resource.Quantity, e.g. 512Mi, 1.5Gi, 100M, 1e9.
_QUANTITY_RE = re.compile(
    r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$"
)
_RESOURCE_FIELDS = (
    "resource_requests",
    "resource_limits",
    "sidecar_resource_requests",
    "sidecar_resource_limits",
)


def _name_problem(name: str) -> str | None:
    if not _NAME_RE.match(name):
        return f"{name!r}: names may only contain letters, digits, '_' and '-'"
    if len(name) > _NAME_MAX:
        return f"{name!r} is {len(name)} characters long; at most {_NAME_MAX}"
    return None


def check_semantics(spec: dict[str, Any]) -> list[Problem]:
    """Problems in a type-checked, snake_case spec: name, transform, input tree, globs."""
    problems: list[Problem] = []
    pipeline = spec.get("pipeline") or {}
    if not pipeline.get("name"):
        problems.append(Problem("pipeline.name", "missing: every pipeline needs a name"))
    elif issue := _name_problem(pipeline["name"]):
        problems.append(Problem("pipeline.name", issue))
    problems.extend(_check_resources(spec))
    transform = spec.get("transform")
    if not transform:
        problems.append(Problem("transform", "missing: a pipeline needs transform.image and .cmd"))
    else:
        if not transform.get("image"):
            problems.append(Problem("transform.image", "missing: the container image to run"))
        if not transform.get("cmd"):
            problems.append(
                Problem(
                    "transform.cmd",
                    "missing: pachd ignores the image ENTRYPOINT, so cmd must give the argv",
                )
            )
        for index, secret in enumerate(transform.get("secrets") or []):
            where = f"transform.secrets[{index}]"
            if not secret.get("name"):
                problems.append(Problem(f"{where}.name", "missing: the Kubernetes secret name"))
            if bool(secret.get("env_var")) == bool(secret.get("mount_path")):
                problems.append(Problem(where, "give exactly one of envVar or mountPath"))
            if secret.get("env_var") and not secret.get("key"):
                problems.append(Problem(f"{where}.key", "missing: the key to put in envVar"))
    if spec.get("s3_out") and (spec.get("service") or spec.get("spout")):
        problems.append(Problem("s3Out", "s3 output is not supported in spouts or services"))
    if not spec.get("spout"):
        if not spec.get("input"):
            problems.append(Problem("input", "missing: a pipeline needs an input (or a spout)"))
        else:
            problems.extend(check_input(spec["input"]))
            problems.extend(_duplicate_names(spec["input"]))
    return problems


def check_input(tree: dict[str, Any], path: str = "input") -> list[Problem]:
    """Exactly one input kind per node; pfs inputs name a repo and have a valid glob."""
    problems: list[Problem] = []
    for node in walk(tree, path):
        problems.extend(_node_problems(node))
    return problems


def _node_problems(node: InputNode) -> list[Problem]:
    problems: list[Problem] = []
    if len(node.kinds) != 1:
        found = ", ".join(node.kinds) or "none"
        problems.append(
            Problem(node.path, f"exactly one of {', '.join(KINDS)} must be set (found {found})")
        )
    if node.pfs:
        problems.extend(_pfs_problems(node.pfs, f"{node.path}.pfs"))
    for kind in COMBINATIONS:
        children = node.node.get(kind)
        if children is None:
            continue
        where = f"{node.path}.{kind}"
        if len(children) < 1:
            problems.append(Problem(where, f"{kind} needs at least one input"))
        if kind != "cross" and any(_has_s3(child) for child in children):
            # api_server.go validateInput: "S3 inputs in <kind> expressions are not supported"
            problems.append(Problem(where, f"s3 inputs in a {kind} are not supported"))
    if node.cron:
        problems.extend(_cron_problems(node.cron, f"{node.path}.cron"))
    return problems


def _pfs_problems(pfs: dict[str, Any], where: str) -> list[Problem]:
    problems: list[Problem] = []
    if not pfs.get("repo"):
        problems.append(Problem(f"{where}.repo", "missing: the repo this input reads"))
    elif issue := _name_problem(pfs["repo"]):
        problems.append(Problem(f"{where}.repo", issue))
    if (pfs.get("name") or pfs.get("repo")) == "out":
        problems.append(
            Problem(where, 'an input cannot be named "out": /pfs/out is the output; set name')
        )
    if pfs.get("s3"):
        problems.extend(_s3_input_problems(pfs, where))
    elif issue := glob_problem(pfs.get("glob") or ""):
        problems.append(Problem(f"{where}.glob", issue))
    return problems


def _cron_problems(cron: dict[str, Any], where: str) -> list[Problem]:
    problems: list[Problem] = []
    if not cron.get("name"):
        problems.append(Problem(f"{where}.name", "missing: a cron input needs a name"))
    try:
        parse_schedule(cron.get("spec") or "")
    except CronSpecError as exc:  # pachd rejects it at CreatePipeline
        problems.append(Problem(f"{where}.spec", str(exc)))
    return problems


def _s3_input_problems(pfs: dict[str, Any], where: str) -> list[Problem]:
    """pachd's validateInput for `s3: true`: the S3 gateway serves the whole commit as a
    bucket, so glob must be "/" (after pfsfile.CleanPath; an empty glob is an error), and
    lazy / emptyFiles, which shape files in /pfs, cannot be set."""
    glob = pfs.get("glob") or ""
    problems = []
    if not glob or clean_glob(glob) != ROOT:
        problems.append(
            Problem(f"{where}.glob", f'{glob!r}: an s3 input must use glob "/" (the whole commit)')
        )
    problems.extend(
        Problem(f"{where}.{camel_case(flag)}", "cannot be set with s3: the files are in a bucket")
        for flag in ("lazy", "empty_files")
        if pfs.get(flag)
    )
    return problems


def _has_s3(tree: dict[str, Any]) -> bool:
    """ppsutil.ContainsS3Inputs."""
    return any(pfs.get("s3") for pfs in pfs_inputs(tree))


def _check_resources(spec: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for field in _RESOURCE_FIELDS:
        resources = spec.get(field) or {}
        json_field = camel_case(field)
        for key in ("memory", "disk"):
            value = resources.get(key)
            if value and not _QUANTITY_RE.match(value):
                problems.append(
                    Problem(
                        f"{json_field}.{key}",
                        f"bad quantity {value!r}: expected a Kubernetes quantity like 512Mi or 2Gi",
                    )
                )
        if (resources.get("cpu") or 0) < 0:
            problems.append(Problem(f"{json_field}.cpu", "must not be negative"))
    return problems


def _duplicate_names(tree: dict[str, Any]) -> list[Problem]:
    """pachd's ppsutil.ValidateNames: pfs and cron input names are unique (both would be
    /pfs/<name>), except that the branches of a union may reuse each other's names."""
    problems: list[Problem] = []
    named: list[tuple[str, str, InputNode]] = []  # (name, its field's path, node) so far
    for node in walk(tree):
        leaf = node.pfs or node.cron
        if not leaf:
            continue
        name = leaf.get("name") or leaf.get("repo") or ""
        where = f"{node.path}.{'pfs' if node.pfs else 'cron'}"
        clash = next(
            (at for seen, at, other in named if seen == name and not apart_in_union(other, node)),
            None,
        )
        if clash:
            problems.append(
                Problem(
                    where,
                    f"input name {name!r} is also used by {clash}: "
                    "give one of them a distinct name",
                )
            )
        named.append((name, where, node))
    return problems
