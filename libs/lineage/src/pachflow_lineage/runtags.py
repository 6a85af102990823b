"""Reading a run's `pachyderm.*` tags back into a job context (the inverse of
pachflow_lineage.context, which writes them; the tag names come from there)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pachflow_contracts.commits import CommitRef, is_commit_id
from pachflow_lineage import context as ctxmod


@dataclass
class RunContext:
    pipeline: str = ""
    project: str = "default"
    job_id: str = ""
    datum_id: str = ""
    output_commit: CommitRef | None = None
    spec_commit: str = ""
    inputs: list[CommitRef] = field(default_factory=list)


def run_context(tags: dict[str, str], datasets: list[dict[str, str]] | None = None) -> RunContext:
    """The job context a run was made in, from its tags; input commits also from its dataset
    inputs (named `<repo>@<commit>`) when the tags do not name them."""
    project = tags.get(ctxmod.TAG_PROJECT) or "default"
    pipeline = tags.get(ctxmod.TAG_PIPELINE, "")
    output_id = tags.get(ctxmod.TAG_OUTPUT_COMMIT, "")
    output = (
        CommitRef(repo=pipeline, id=output_id, project=project)
        if pipeline and is_commit_id(output_id)
        else None
    )
    inputs: dict[str, CommitRef] = {}
    for _name, repo, commit_id in input_tags(tags):
        if repo and is_commit_id(commit_id):
            ref = CommitRef(repo=repo, id=commit_id, project=project)
            inputs[ref.key] = ref
    for d in datasets or []:
        repo, _, commit_id = d.get("name", "").rpartition("@")
        repo = repo.split("/")[-1]
        if repo and is_commit_id(commit_id):
            ref = CommitRef(repo=repo, id=commit_id, project=project)
            inputs.setdefault(ref.key, ref)
    return RunContext(
        pipeline=pipeline,
        project=project,
        job_id=tags.get(ctxmod.TAG_JOB_ID, ""),
        datum_id=tags.get(ctxmod.TAG_DATUM_ID, ""),
        output_commit=output,
        spec_commit=tags.get(ctxmod.TAG_SPEC_COMMIT, ""),
        inputs=list(inputs.values()),
    )


def input_tags(tags: dict[str, str]) -> list[tuple[str, str, str]]:
    """(input name, repo, commit) for every `pachyderm.input.<name>.repo` tag."""
    prefix, _, suffix = ctxmod.TAG_INPUT_REPO.partition("{name}")
    found = []
    for key, repo in sorted(tags.items()):
        if key.startswith(prefix) and key.endswith(suffix) and len(key) > len(prefix + suffix):
            name = key[len(prefix) : -len(suffix)]
            found.append((name, repo, tags.get(ctxmod.TAG_INPUT_COMMIT.format(name=name), "")))
    return found


def output_commit_tags(ref: CommitRef) -> dict[str, str]:
    """The tags every run made by the job that produced `ref` carries."""
    return {ctxmod.TAG_PIPELINE: ref.repo, ctxmod.TAG_OUTPUT_COMMIT: ref.id}


def upstream_tag(ref: CommitRef) -> str:
    """`pachyderm.upstream.<repo>.commit`; a spec commit as repo `<pipeline>.spec`."""
    repo = ref.repo if ref.repo_type == "user" else f"{ref.repo}.{ref.repo_type}"
    return ctxmod.TAG_UPSTREAM_COMMIT.format(repo=repo)
