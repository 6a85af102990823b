"""The `pachyderm.*` MLflow tag names a run and its model versions carry, and reading them
back into the job context they were written in.

Written by the stages (train through PachydermContext.tags, provenance, score), read by
lineage and `pachflow`: the names live here so producers and readers agree on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pachflow_contracts.commits import DEFAULT_PROJECT, CommitRef, is_commit_id

# --- MLflow tag names (runs and model versions) --------------------------------------------
TAG_PREFIX = "pachyderm."
TAG_JOB_ID = "pachyderm.job_id"
TAG_PIPELINE = "pachyderm.pipeline"
TAG_PROJECT = "pachyderm.project"
TAG_OUTPUT_COMMIT = "pachyderm.output_commit"
TAG_SPEC_COMMIT = "pachyderm.spec_commit"
TAG_DATUM_ID = "pachyderm.datum_id"
#: "pachyderm" inside a worker (or the local runner, which sets the same env), else "local".
TAG_CONTEXT = "pachyderm.context"
#: All inputs as "repo@commit" joined by ",", sorted by input name (easy to read and LIKE).
TAG_INPUTS = "pachyderm.inputs"
#: Per input, keyed by the input's name.
TAG_INPUT_REPO = "pachyderm.input.{name}.repo"
TAG_INPUT_COMMIT = "pachyderm.input.{name}.commit"
#: Written by the provenance stage: every upstream repo's commit, down to raw_data.
TAG_UPSTREAM_COMMIT = "pachyderm.upstream.{repo}.commit"
TAG_UPSTREAM_PREFIX = TAG_UPSTREAM_COMMIT.partition("{repo}")[0]
#: On a model version, per scoring commit that used it (value `<pipeline>@<commit>`).
TAG_SCORING = "pachyderm.scoring.{commit}"
#: train's held-out customers: the assignment rule and a digest of the set (same digest:
#: the same test customers), so two versions' metrics say on which customers they were made.
TAG_HOLDOUT_RULE = "pachflow.holdout.rule"
TAG_HOLDOUT_DIGEST = "pachflow.holdout.digest"
#: How the fit's sample of non-fraud rows was drawn (train's data.sample_rule).
TAG_SAMPLE_RULE = "pachflow.sample.rule"

#: Dataset-input tags (on the logged dataset, not the run).
DATASET_TAG_REPO = "pachyderm.repo"
DATASET_TAG_COMMIT = "pachyderm.commit"
#: The object-store URL the data was read from (`s3a://etl`: a Pachyderm S3 gateway's
#: bucket, valid during the job only; the dataset's source stays the commit).
DATASET_TAG_READ_FROM = "pachflow.read_from"

#: Values of TAG_CONTEXT.
CONTEXT_PACHYDERM = "pachyderm"
CONTEXT_LOCAL = "local"


@dataclass
class RunContext:
    """The job context a run was made in, as its tags (and dataset inputs) tell it."""

    pipeline: str = ""
    project: str = DEFAULT_PROJECT
    job_id: str = ""
    datum_id: str = ""
    output_commit: CommitRef | None = None
    spec_commit: str = ""
    inputs: list[CommitRef] = field(default_factory=list)


def run_context(
    tags: Mapping[str, str], datasets: list[dict[str, str]] | None = None
) -> RunContext:
    """The job context a run was made in, from its tags; input commits also from its dataset
    inputs (named `<repo>@<commit>`) when the tags do not name them."""
    project = tags.get(TAG_PROJECT) or DEFAULT_PROJECT
    pipeline = tags.get(TAG_PIPELINE, "")
    output_id = tags.get(TAG_OUTPUT_COMMIT, "")
    output = (
        CommitRef(pipeline, output_id, project=project)
        if pipeline and is_commit_id(output_id)
        else None
    )
    inputs: dict[str, CommitRef] = {}
    for _name, repo, commit_id in input_tags(tags):
        if repo and is_commit_id(commit_id):
            ref = CommitRef(repo, commit_id, project=project)
            inputs[ref.key] = ref
    for d in datasets or []:
        repo, _, commit_id = d.get("name", "").rpartition("@")
        repo = repo.split("/")[-1]
        if repo and is_commit_id(commit_id):
            ref = CommitRef(repo, commit_id, project=project)
            inputs.setdefault(ref.key, ref)
    return RunContext(
        pipeline=pipeline,
        project=project,
        job_id=tags.get(TAG_JOB_ID, ""),
        datum_id=tags.get(TAG_DATUM_ID, ""),
        output_commit=output,
        spec_commit=tags.get(TAG_SPEC_COMMIT, ""),
        inputs=list(inputs.values()),
    )


def input_tags(tags: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(input name, repo, commit) for every input the per-input tags name, sorted by name
    (the inverse of PachydermContext.tags: repo defaults to the name, as when written)."""
    repo_prefix, _, repo_suffix = TAG_INPUT_REPO.partition("{name}")
    commit_prefix, _, commit_suffix = TAG_INPUT_COMMIT.partition("{name}")
    names = set()
    for key in tags:
        for prefix, suffix in ((repo_prefix, repo_suffix), (commit_prefix, commit_suffix)):
            long_enough = len(key) > len(prefix + suffix)
            if long_enough and key.startswith(prefix) and key.endswith(suffix):
                names.add(key[len(prefix) : -len(suffix)])
    return [
        (
            name,
            tags.get(TAG_INPUT_REPO.format(name=name)) or name,
            tags.get(TAG_INPUT_COMMIT.format(name=name), ""),
        )
        for name in sorted(names)
    ]


def output_commit_tags(ref: CommitRef) -> dict[str, str]:
    """The tags every run made by the job that produced `ref` carries."""
    return {TAG_PIPELINE: ref.repo, TAG_OUTPUT_COMMIT: ref.id}


def upstream_tag(ref: CommitRef) -> str:
    """`pachyderm.upstream.<repo>.commit`; a spec commit as repo `<pipeline>.spec`."""
    return TAG_UPSTREAM_COMMIT.format(repo=ref.repo_label)
