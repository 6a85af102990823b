"""Checks on one spec beyond its field types: what pachd (or a sane deploy) needs."""

from __future__ import annotations

import re
from typing import Any

from betterproto.casing import camel_case

from pachflow.pipeline_spec.cronspec import CronSpecError, parse_schedule
from pachflow.pipeline_spec.errors import Problem
from pachflow.pipeline_spec.globs import ROOT, clean_glob, glob_problem

_INPUT_KINDS = ("pfs", "cross", "union", "join", "group", "cron")
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
            problems.extend(check_input(spec["input"], "input"))
            problems.extend(_duplicate_names(spec["input"]))
    return problems


def check_input(node: dict[str, Any], path: str) -> list[Problem]:
    """Exactly one input kind per node; pfs inputs name a repo and have a valid glob."""
    problems: list[Problem] = []
    kinds = [kind for kind in _INPUT_KINDS if node.get(kind)]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        problems.append(
            Problem(path, f"exactly one of {', '.join(_INPUT_KINDS)} must be set (found {found})")
        )
    pfs = node.get("pfs")
    if pfs:
        where = f"{path}.pfs"
        if not pfs.get("repo"):
            problems.append(Problem(f"{where}.repo", "missing: the repo this input reads"))
        elif issue := _name_problem(pfs["repo"]):
            problems.append(Problem(f"{where}.repo", issue))
        if (pfs.get("name") or pfs.get("repo")) == "out":
            problems.append(
                Problem(where, 'an input cannot be named "out": /pfs/out is the output; set name')
            )
        glob = pfs.get("glob") or ""
        if pfs.get("s3"):
            problems.extend(_s3_input_problems(pfs, where))
        else:
            issue = glob_problem(glob)
            if issue:
                problems.append(Problem(f"{where}.glob", issue))
    for kind in ("cross", "union", "join", "group"):
        children = node.get(kind)
        if children is None:
            continue
        if len(children) < 1:
            problems.append(Problem(f"{path}.{kind}", f"{kind} needs at least one input"))
        if kind != "cross" and any(_has_s3(child) for child in children):
            # api_server.go validateInput: "S3 inputs in <kind> expressions are not supported"
            problems.append(Problem(f"{path}.{kind}", f"s3 inputs in a {kind} are not supported"))
        for index, child in enumerate(children):
            problems.extend(check_input(child, f"{path}.{kind}[{index}]"))
    cron = node.get("cron")
    if cron:
        if not cron.get("name"):
            problems.append(Problem(f"{path}.cron.name", "missing: a cron input needs a name"))
        try:
            parse_schedule(cron.get("spec") or "")
        except CronSpecError as exc:  # pachd rejects it at CreatePipeline
            problems.append(Problem(f"{path}.cron.spec", str(exc)))
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


def _has_s3(node: dict[str, Any]) -> bool:
    """ppsutil.ContainsS3Inputs."""
    if node.get("pfs"):
        return bool(node["pfs"].get("s3"))
    return any(
        _has_s3(c) for kind in ("cross", "union", "join", "group") for c in node.get(kind) or []
    )


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


def _duplicate_names(node: dict[str, Any]) -> list[Problem]:
    """pachd's ppsutil.ValidateNames: pfs and cron input names are unique (both would be
    /pfs/<name>), except that the branches of a union may reuse each other's names."""
    problems: list[Problem] = []
    _names(node, "input", {}, problems)
    return problems


def _names(node: dict[str, Any], path: str, seen: dict[str, str], out: list[Problem]) -> None:
    leaf = node.get("pfs") or node.get("cron")
    if leaf:
        kind = "pfs" if node.get("pfs") else "cron"
        name = leaf.get("name") or leaf.get("repo") or ""
        if name in seen:
            out.append(
                Problem(
                    f"{path}.{kind}",
                    f"input name {name!r} is also used by {seen[name]}: "
                    "give one of them a distinct name",
                )
            )
        seen.setdefault(name, f"{path}.{kind}")
        return
    if node.get("union"):
        branches = []
        for index, child in enumerate(node["union"]):
            copy = dict(seen)
            _names(child, f"{path}.union[{index}]", copy, out)
            branches.append(copy)
        for names in branches:
            for name, where in names.items():
                seen.setdefault(name, where)
        return
    for kind in ("cross", "join", "group"):
        for index, child in enumerate(node.get(kind) or []):
            _names(child, f"{path}.{kind}[{index}]", seen, out)
