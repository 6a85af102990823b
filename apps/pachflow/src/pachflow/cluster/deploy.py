"""Deploy, undeploy and put data on a Pachyderm cluster through pachyderm_sdk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs, pps

from pachflow.cluster.requests import (
    branch_for_put,
    input_repos,
    pipeline_ref,
    pipeline_request_json,
    projects,
    put_paths,
    same_spec,
)
from pachflow.pipeline_spec.dag import dag_order
from pachflow.pipeline_spec.spec import PipelineSpec
from pachflow_contracts.commits import DEFAULT_BRANCH, DEFAULT_PROJECT

Echo = Callable[[str], None]


class DeployError(Exception):
    """pachd refused an operation: the message names what and why."""


def _details(err: grpc.RpcError) -> str:
    if isinstance(err, grpc.Call):
        return f"{err.code().name}: {err.details()}"
    return str(err)


def deploy(
    client: Client,
    specs: Sequence[PipelineSpec],
    echo: Echo,
    *,
    dry_run: bool = False,
    reprocess: bool = False,
) -> None:
    """Create missing projects and input repos, then create or update every pipeline in DAG
    order (create_pipeline_v2, as pachctl does, so pachd applies its cluster defaults)."""
    prefix = "[dry run] " if dry_run else ""
    try:
        for name in projects(specs):
            project = pfs.Project(name=name)
            if not client.pfs.project_exists(project):
                if not dry_run:
                    client.pfs.create_project(project=project)
                echo(f"{prefix}created project {name}")
        for repo in input_repos(specs):
            if client.pfs.repo_exists(repo.repo):
                echo(f"input repo {repo.name} exists")
                continue
            if not dry_run:
                client.pfs.create_repo(repo=repo.repo, description="pachflow input repo")
            echo(f"{prefix}created input repo {repo.name}")
    except grpc.RpcError as err:
        raise DeployError(f"creating projects and input repos failed: {_details(err)}") from None
    for spec in dag_order(specs):
        request = pipeline_request_json(spec)
        try:
            info = _deployed(client, spec)
            if info is not None and same_spec(info, request) and not reprocess:
                # An update makes a new spec commit and so a new job: skip a no-op.
                echo(f"pipeline {spec.name} unchanged (version {info.version})")
                continue
            # update=True only for an existing pipeline: pachd refuses to create one that
            # exists unless asked to update it, and this works on every 2.x version.
            client.pps.create_pipeline_v2(
                create_pipeline_request_json=request,
                update=info is not None,
                reprocess=reprocess and info is not None,
                dry_run=dry_run,
            )
        except grpc.RpcError as err:
            raise DeployError(f"{spec.path}: pipeline {spec.name}: {_details(err)}") from None
        verb = "updated" if info is not None else "created"
        echo(f"{prefix}{verb} pipeline {spec.name} ({spec.image})")


def _deployed(client: Client, spec: PipelineSpec) -> pps.PipelineInfo | None:
    """The deployed pipeline's info, or None when it does not exist."""
    try:
        return client.pps.inspect_pipeline(pipeline=pipeline_ref(spec), details=False)
    except grpc.RpcError as err:
        if isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def undeploy(
    client: Client,
    specs: Sequence[PipelineSpec],
    echo: Echo,
    *,
    delete_input_repos: bool = False,
) -> None:
    """Delete the pipelines (and their output repos) downstream first; input repos only
    when asked, since they hold the user's data."""
    for spec in reversed(dag_order(specs)):
        ref = pipeline_ref(spec)
        try:
            if not client.pps.pipeline_exists(ref):
                echo(f"pipeline {spec.name} not deployed")
                continue
            client.pps.delete_pipeline(pipeline=ref, force=True)
        except grpc.RpcError as err:
            raise DeployError(f"deleting pipeline {spec.name}: {_details(err)}") from None
        echo(f"deleted pipeline {spec.name} and its output repo")
    if not delete_input_repos:
        return
    for repo in input_repos(specs):
        try:
            if client.pfs.repo_exists(repo.repo):
                client.pfs.delete_repo(repo=repo.repo, force=True)
                echo(f"deleted input repo {repo.name}")
        except grpc.RpcError as err:
            raise DeployError(f"deleting input repo {repo.name}: {_details(err)}") from None


def put_files(
    client: Client,
    repo: str,
    files: Sequence[Path],
    echo: Echo,
    *,
    branch: str = DEFAULT_BRANCH,
    project: str = DEFAULT_PROJECT,
    wait: bool = False,
) -> str:
    """Upload `files` (at /<file name>) to repo@branch in one commit, creating the repo if
    needed; returns the commit id. With `wait`, block until every downstream job finished."""
    target = branch_for_put(repo, project, branch)
    uploads = put_paths(files)  # ValueError when two files would land at the same path
    try:
        if not client.pfs.repo_exists(target.repo):
            client.pfs.create_repo(repo=target.repo, description="pachflow input repo")
            echo(f"created repo {repo}")
        with client.pfs.commit(branch=target) as commit:
            for path, repo_path in uploads:
                with path.open("rb") as handle:
                    commit.put_file_from_file(path=repo_path, file=handle)
                echo(f"put {path} -> {repo}@{branch}:{repo_path}")
        commit_id: str = commit.id
        echo(f"committed {repo}@{commit_id}")
        if wait:
            infos = commit.wait_all()
            for info in infos:
                state = "failed: " + info.error if info.error else "done"
                echo(f"  {info.commit.repo.name}@{info.commit.id}: {state}")
    except grpc.RpcError as err:
        raise DeployError(f"putting files into {repo}@{branch}: {_details(err)}") from None
    return commit_id
