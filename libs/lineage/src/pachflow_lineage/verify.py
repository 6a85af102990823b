"""`lineage verify RUN_ID`: re-read the commits a run names and check them against what the
run recorded, both ways.

run -> data: every input commit in the run's `pachyderm.input.*` tags has a matching MLflow
dataset input (digest = commit id) and vice versa; each still exists; the output commit's
provenance holds exactly those inputs; every commit and file in the lineage.json the link
stage logged to the run still has the same size and content hash; every
`pachyderm.upstream.<repo>.commit` tag names a commit of the upstream walk made now.
data -> run: the output commit's `mlflow.run_id` metadata names this run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pachflow_contracts import run_tags
from pachflow_contracts.commits import CommitRef, is_commit_id
from pachflow_contracts.run_tags import input_tags, run_context, upstream_tag
from pachflow_lineage.audit import Verdict
from pachflow_lineage.errors import UnknownCommit
from pachflow_lineage.graph import Lineage
from pachflow_lineage.resolve import META_RUN_ID

if TYPE_CHECKING:
    from pachflow_lineage.resolve import Resolver

LINEAGE_ARTIFACT = "lineage/lineage.json"  # what the link stage logs to the run


def verify_run(resolver: Resolver, run_id: str) -> Verdict:
    tracking, backend = resolver.tracking, resolver.backend
    mlrun = tracking.get_run(run_id)
    run = tracking.run_node(mlrun)
    tags = dict(mlrun.data.tags)
    ctx = run_context(tags)
    verdict = Verdict(subject=f"run {run_id} ({run.name})", title="verified")
    project = ctx.project

    # run tags <-> MLflow dataset inputs
    tagged = {
        CommitRef(repo, commit, project=project).label
        for _, repo, commit in input_tags(tags)
        if commit
    }
    datasets = {d["name"]: d for d in run.datasets}
    for label in sorted(tagged):
        found = datasets.get(label)
        commit_id = label.rpartition("@")[2]
        verdict.add(
            f"input {label}: dataset input",
            found is not None and found.get("digest") == commit_id,
            expected=f"digest {commit_id}",
            found=f"digest {found.get('digest')}" if found else "no dataset input",
        )
    for name in sorted(set(datasets) - tagged):
        if is_commit_id(name.rpartition("@")[2]):
            verdict.add(f"dataset {name}: input tag", False, "a pachyderm.input tag", "none")

    # each input commit still exists
    inputs = [CommitRef(r, c, project=project) for _, r, c in input_tags(tags) if is_commit_id(c)]
    for ref in inputs:
        _exists(resolver, verdict, ref)

    # the output commit: provenance = inputs; metadata names this run
    out = ctx.output_commit
    if out is None:
        verdict.add("output commit", False, "a pachyderm.output_commit tag", "none")
    elif _exists(resolver, verdict, out):
        rec = resolver.record(out, files=False)
        data_prov = {p.label for p in rec.provenance if p.repo_type == "user"}
        want = {r.label for r in inputs}
        verdict.add(
            f"output {out.label}: provenance",
            data_prov == want,
            expected=", ".join(sorted(want)),
            found=", ".join(sorted(data_prov)),
        )
        linked = rec.commit.metadata.get(META_RUN_ID)
        verdict.add(
            f"output {out.label}: {META_RUN_ID} metadata",
            linked in (None, run_id),
            expected=run_id,
            found=linked or "",
            note="" if linked else "not linked yet (no provenance pipeline ran)",
        )
        if ctx.spec_commit:
            spec = {p.id for p in rec.provenance if p.repo_type == "spec"}
            verdict.add(
                f"output {out.label}: spec commit", ctx.spec_commit in spec, ctx.spec_commit, spec
            )

    # what the link stage recorded: commits, files (size + hash), upstream tags
    recorded = tracking.load_json_artifact(run_id, LINEAGE_ARTIFACT)
    if recorded is None:
        verdict.info["files"] = f"no {LINEAGE_ARTIFACT} on the run: file hashes not checked"
    else:
        _check_files(resolver, verdict, Lineage.from_dict(recorded))
    if out is not None:
        _check_upstream_tags(resolver, verdict, tags, out)
    verdict.info["backend"] = backend.name
    verdict.info["tracking uri"] = tracking.tracking_uri
    return verdict


def _exists(resolver: Resolver, verdict: Verdict, ref: CommitRef) -> bool:
    try:
        resolver.record(ref, files=False)
    except UnknownCommit as exc:
        verdict.add(f"commit {ref.label}: exists", False, "present", "missing", note=str(exc))
        return False
    verdict.add(f"commit {ref.label}: exists", True)
    return True


def _check_files(resolver: Resolver, verdict: Verdict, recorded: Lineage) -> None:
    for commit in recorded.commits.values():
        if commit.ref.repo_type != "user" or not commit.files:
            continue
        try:
            fresh = resolver.backend.inspect_commit(commit.ref, files=True)
            now = {f.path: f for f in fresh.commit.files}
        except UnknownCommit:
            verdict.add(f"commit {commit.ref.label}: files", False, "present", "commit missing")
            continue
        then = {f.path: f for f in commit.files}
        changed = [
            p
            for p, f in then.items()
            if p not in now or now[p].size != f.size or (f.hash and now[p].hash != f.hash)
        ]
        added = sorted(set(now) - set(then)) if len(then) == len(commit.files) else []
        verdict.add(
            f"commit {commit.ref.label}: {len(then)} files (size, hash)",
            not changed and not added,
            expected="as recorded",
            found=", ".join([f"changed/missing {p}" for p in changed[:5]] + added[:5]),
        )


def _check_upstream_tags(
    resolver: Resolver, verdict: Verdict, tags: dict[str, str], out: CommitRef
) -> None:
    prefix = run_tags.TAG_UPSTREAM_PREFIX
    tagged = {k: v for k, v in tags.items() if k.startswith(prefix)}
    if not tagged:
        return
    walk = resolver.upstream_of_commit(out)
    now: dict[str, set[str]] = {}
    for c in walk.commits.values():
        now.setdefault(upstream_tag(c.ref), set()).add(c.ref.id)
    for key, ids in sorted(tagged.items()):
        want = set(ids.split(","))
        verdict.add(
            f"tag {key}",
            want == now.get(key, set()),
            expected=ids,
            found=",".join(sorted(now.get(key, set()))) or "not upstream",
        )
