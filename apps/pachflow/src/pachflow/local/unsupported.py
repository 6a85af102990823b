"""What the local runner cannot do as pachd does: `pachflow validate --local` and
`pachflow run` reject a spec that uses it, naming the field (docs/local-runner.md has the
table of every CreatePipelineRequest field: honoured, ignored with the reason, rejected).
"""

from __future__ import annotations

from typing import Any

from pachflow.local import s3rver
from pachflow.pipeline_spec import PipelineSpec
from pachflow.pipeline_spec.errors import Problem
from pachflow.pipeline_spec.input_tree import walk
from pachflow_contracts.commits import DEFAULT_BRANCH

# Top-level fields the local runner rejects when set, and why.
_REJECTED = {
    "tf_job": "Kubeflow TFJobs need a Kubernetes cluster",
    "service": "services need Kubernetes (a long-running pod and a Service)",
    "spout": "spouts need a long-running pod writing to pachd",
    "determined": "Determined integration needs a Determined cluster",
}
# transform fields the local runner does not implement.
_REJECTED_TRANSFORM = {
    "stdin": "the local runtimes start the command without stdin; put the script in cmd",
    "err_stdin": "the local runtimes start errCmd without stdin; put the script in errCmd",
    "working_dir": "datums run in $PACHFLOW_HOME; use absolute paths",
}
_REJECTED_PFS = {
    "trigger": "branch triggers are not implemented locally",
    "reference": "reference inputs (not downloaded) are not implemented locally",
    "commit": "pachd rejects it too: use a branch whose head is the commit",
}


def local_problems(spec: PipelineSpec) -> list[Problem]:
    """Problems with running `spec` locally with pachd's meaning, one per field."""
    snake = spec.spec
    problems = [
        Problem(_camel(field), f"not supported by the local runner: {why}")
        for field, why in _REJECTED.items()
        if snake.get(field)
    ]
    transform = snake.get("transform") or {}
    problems.extend(
        Problem(f"transform.{_camel(field)}", f"not supported by the local runner: {why}")
        for field, why in _REJECTED_TRANSFORM.items()
        if transform.get(field)
    )
    if transform.get("err_cmd") and transform.get("datum_batching"):
        problems.append(
            Problem(
                "transform.errCmd",
                "not supported by the local runner together with datumBatching "
                "(the batched process reports its own errors)",
            )
        )
    branch = snake.get("output_branch")
    if branch and branch != DEFAULT_BRANCH:
        problems.append(
            Problem(
                "outputBranch", f"the local runner writes output commits to {DEFAULT_BRANCH} only"
            )
        )
    reprocess = snake.get("reprocess_spec")
    if reprocess and reprocess not in ("until_success", "every_job"):
        # pachd's own check (api_server.go validatePipelineRequest)
        problems.append(
            Problem("reprocessSpec", f"{reprocess!r}: must be until_success or every_job")
        )
    problems.extend(_egress_problems(snake.get("egress") or {}))
    if snake.get("input"):
        problems.extend(_input_problems(snake["input"]))
    problems.extend(_gateway_problems(snake))
    return problems


def _gateway_problems(snake: dict[str, Any]) -> list[Problem]:
    """s3 inputs and s3Out need the local S3 gateway (node + s3rver: s3gateway.py)."""
    fields = ["s3Out"] if snake.get("s3_out") else []
    fields += _s3_input_fields(snake.get("input") or {})
    why = s3rver.missing() if fields else ""
    return [Problem(f, f"needs the local S3 gateway: {why}") for f in fields] if why else []


def _s3_input_fields(tree: dict[str, Any]) -> list[str]:
    return [f"{node.path}.pfs.s3" for node in walk(tree) if node.pfs and node.pfs.get("s3")]


def _egress_problems(egress: dict[str, Any]) -> list[Problem]:
    if egress.get("object_storage") or egress.get("sql_database"):
        field = "objectStorage" if egress.get("object_storage") else "sqlDatabase"
        return [Problem(f"egress.{field}", "the local runner egresses to file:// URLs only")]
    url = egress.get("url") or ""
    if url and not url.startswith("file:///"):
        return [
            Problem(
                "egress.URL",
                f"{url!r}: the local runner egresses to file:///<absolute dir> only "
                "(pachd's file scheme)",
            )
        ]
    return []


def _input_problems(tree: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for node in walk(tree):
        if not node.pfs:
            continue
        where = f"{node.path}.pfs"
        problems.extend(
            Problem(f"{where}.{_camel(field)}", f"not supported by the local runner: {why}")
            for field, why in _REJECTED_PFS.items()
            if node.pfs.get(field)
        )
        if node.pfs.get("repo_type") not in (None, "", "user"):
            problems.append(Problem(f"{where}.repoType", "the local runner reads user repos only"))
    return problems


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)
