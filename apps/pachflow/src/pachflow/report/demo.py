"""`pachflow demo`: PaySim-like data -> raw_data -> the whole DAG, then what came out: the
MLflow run, the registered model version, its metrics and the lineage back to raw_data."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pachflow.report.results import TrainResult, mlflow_lines
from pachflow_contracts.heldout_scores import HELDOUT_SCORES
from pachflow_contracts.run_manifest import RUN_JSON, RunManifest
from pachflow_store import USER, CommitRef, NotFound, Store, file_digest, short_id

if TYPE_CHECKING:
    from pachflow_lineage.diff import SharedHeldout

RAW_REPO = "raw_data"
#: The score pipeline's input repo (new transactions) and its output.
SCORE_REPO = "transactions"
SCORE_PIPELINE = "score"
PROVENANCE_PIPELINE = "provenance"
LINEAGE_JSON = "/lineage.json"


#: The demo's second raw file is this share of the first: new data on top of a model.
INCREMENT_SHARE = 0.05


def demo_file(store: Store, rows: int, seed: int) -> Path:
    return store.home / "demo" / f"paysim-{rows}rows-seed{seed}.csv.gz"


def increment_rows(rows: int) -> int:
    return max(1, round(rows * INCREMENT_SHARE))


def generate(path: Path, rows: int, seed: int) -> bool:
    """Write the data once (deterministic for rows+seed); False when it already exists."""
    if path.exists():
        return False
    from pachflow_paysim.generator import write_paysim  # numpy/pandas: only when needed

    path.parent.mkdir(parents=True, exist_ok=True)
    write_paysim(path, rows, seed)
    return True


def put_if_new(store: Store, local: Path, repo: str = RAW_REPO) -> tuple[CommitRef, bool]:
    """Put the file into `repo`, unless repo@master already holds exactly these bytes at
    that path (then nothing new is committed and nothing will run)."""
    target = "/" + local.name
    head = store.head(repo)
    if head is not None:
        ref = CommitRef(repo, head)
        entry = store.manifest(ref).get(target)
        if entry is not None and entry[0] == file_digest(local)[0]:
            return ref, False
    return store.put_files(repo, [(target, local)], description="pachflow demo"), True


#: The held-out file the demo scores: this share of the first file, another seed (so other
#: customers: PaySim's ids are random), at least 1,000 rows.
HELDOUT_SHARE = 0.02


def heldout_rows(rows: int) -> int:
    return max(1000, round(rows * HELDOUT_SHARE))


def scoring_lines(store: Store, name: str) -> list[str]:
    """What the score pipeline made of file `name`: flagged customers and the model."""
    head = store.head(SCORE_PIPELINE)
    if head is None:
        return []
    ref = CommitRef(SCORE_PIPELINE, head)
    record = json.loads(store.file_blob(ref, f"/{name}/scoring.json").read_bytes())
    c, m = record["counts"], record["model"]
    lines = [
        f"scored {name} ({c['rows_read']:,} held-out transactions, {c['customers']:,} "
        f"customers): {c['flagged']:,} flagged (fraud_score >= {m['threshold']:g})",
        f"  by model {m['name']}/{m['version']} ({m['requested']}), MLflow run {m['run_id']}",
    ]
    if c["labelled_fraud"]:
        lines.append(
            f"  the file's own labels: {c['labelled_fraud']:,} customers with fraud, "
            f"{c['flagged_labelled_fraud']:,} of them flagged"
        )
    lines.append(
        f"  predictions: {SCORE_PIPELINE}@{short_id(ref.id)}:/{name}/predictions.parquet; "
        f"their lineage: pachflow lineage commit {SCORE_PIPELINE}@{ref.id}"
    )
    return lines


def lineage(store: Store, start: CommitRef) -> Iterator[tuple[int, CommitRef, str]]:
    """(depth, commit, spec commit) from `start` back through its data provenance."""
    seen: set[CommitRef] = set()

    def walk(ref: CommitRef, depth: int) -> Iterator[tuple[int, CommitRef, str]]:
        if ref in seen:
            return
        seen.add(ref)
        provenance = store.inspect_commit(ref).provenance
        spec = next((str(p) for p in provenance if p.repo_type != USER), "")
        yield depth, ref, spec
        for parent in provenance:
            if parent.repo_type == USER:
                yield from walk(parent, depth + 1)

    yield from walk(start, 0)


def provenance_table(store: Store, result: TrainResult) -> str | None:
    """The provenance pipeline's lineage of this train commit, as its readable table, when
    that pipeline ran on it (same commit set); None otherwise."""
    head = store.head(PROVENANCE_PIPELINE)
    if head is None or head != result.commit.id:
        return None
    try:
        blob = store.file_blob(CommitRef(PROVENANCE_PIPELINE, head), LINEAGE_JSON)
    except NotFound:
        return None
    from pachflow_lineage.graph import Lineage  # MLflow imports: only when needed
    from pachflow_lineage.render import to_table

    return to_table(Lineage.from_dict(json.loads(blob.read_text())))


#: The metrics side_by_side compares (test part when there is one).
HEADLINE = ("areaUnderPR", "areaUnderROC", "f1_at_best", "precision_at_best", "recall_at_best")


def metric_lines(metrics: dict[str, float]) -> list[str]:
    """The test part's size, its headline metrics, and how to read them."""
    if "test_areaUnderPR" not in metrics:  # not pachflow-train's metrics: show what there is
        return [
            "metrics         " + ", ".join(f"{k}={v:.4f}" for k, v in list(metrics.items())[:6])
        ]
    rows, frauds = int(metrics.get("test_rows", 0)), int(metrics.get("test_positives", 0))
    share = frauds / rows if rows else 0.0

    def get(k: str) -> float:
        return metrics.get(f"test_{k}", 0.0)

    return [
        f"test part       {rows:,} customers held out, {frauds:,} of them fraud ({share:.2%})",
        f"metrics         areaUnderPR {get('areaUnderPR'):.4f}, areaUnderROC "
        f"{get('areaUnderROC'):.4f}, best F1 {get('f1_at_best'):.4f} (precision "
        f"{get('precision_at_best'):.4f}, recall {get('recall_at_best'):.4f})",
        *reading_guide(frauds),
    ]


def reading_guide(frauds: int) -> list[str]:
    """One paragraph on what the numbers mean (shown under the metrics)."""
    one_miss = f"{1 / frauds:.1%}" if frauds else "all"
    text = (
        "How to read them: fraud is rare, so accuracy would say nothing; areaUnderPR (precision "
        "against recall over every threshold) is the one to watch, and best F1 is the balance at "
        f"the best threshold. With {frauds:,} test frauds one miss costs {one_miss} recall. "
        "Scores this high are what trees get on the real PaySim file too (F1 ~0.99 in public "
        "notebooks): its fraud empties the victim's account (amount == oldbalanceOrg in ~98 % "
        "of frauds, almost never otherwise), and the generator copies that "
        "(libs/paysim/README.md). Real-world fraud is harder; train warns when one feature "
        "alone separates the classes (leakage)."
    )
    return ["  " + line for line in textwrap.wrap(text, 90)]


def lineage_chain(store: Store, result: TrainResult) -> str:
    """train@id <- etl@id <- ... <- raw_data@id, short ids, from each commit's provenance."""
    return "  <-  ".join(
        f"{ref.repo}@{short_id(ref.id)}" for _, ref, _ in lineage(store, result.commit)
    )


def report_lines(
    store: Store, result: TrainResult, tracking_uri: str, verbose: bool = False
) -> list[str]:
    m = result.manifest
    lines = mlflow_lines(result, tracking_uri)
    lines += metric_lines(dict(m.metrics))
    lines += [
        f"lineage         {lineage_chain(store, result)}",
        f"                all of it: pachflow lineage run {result.run_id}  (--png FILE draws it)",
        f"files           pachflow get {result.commit.repo}@master:/{RUN_JSON} (every metric),"
        f" pachflow ls {result.commit.repo}@master:/{m.spark_model_dir}",
    ]
    table = provenance_table(store, result) if verbose else None
    if table is not None:
        lines.append("lineage (the provenance pipeline's):")
        lines += ["  " + line if line else "" for line in table.splitlines()]
    return lines


def raw_inputs(store: Store, result: TrainResult) -> tuple[CommitRef, list[tuple[str, str]]]:
    """The raw_data commit a train commit came from, and each of its files with the
    commit that put it there (walking parents while the file's content is unchanged)."""
    raw = next(ref for _, ref, _ in lineage(store, result.commit) if ref.repo == RAW_REPO)
    files = []
    for path, (blob, _) in sorted(store.manifest(raw).items()):
        origin = raw
        while (parent := store.inspect_commit(origin).parent) is not None:
            ref = CommitRef(RAW_REPO, parent)
            if store.manifest(ref).get(path, (None,))[0] != blob:
                break
            origin = ref
        files.append((path, origin.id))
    return raw, files


def datum_lines(outcomes: list[Any]) -> list[str]:
    """What one `pachflow run` did per pipeline: datums run and skipped (runner Outcomes)."""
    lines = []
    for o in outcomes:
        if o.job_id:
            lines.append(
                f"  {o.pipeline:<11} {o.processed:>3} datum(s) run, {o.skipped:>3} skipped"
                f" of {o.total}  ({o.elapsed:.1f} s)"
            )
        else:
            lines.append(f"  {o.pipeline:<11} no job: {o.reason or o.status}")
    return lines


def side_by_side(
    old: RunManifest, new: RunManifest, shared: SharedHeldout | None = None
) -> list[str]:
    """Two train manifests' model versions, held-out customers and headline metrics, in two
    columns, then on which test customers the numbers were made, then (`shared`) both
    versions' metrics on the held-out customers both share."""

    def version(m: RunManifest) -> str:
        r = m.registered_model
        return f"v{r.version if r else None}"

    old_m, new_m = dict(old.metrics), dict(new.metrics)
    both = old_m | new_m
    keys = [f"test_{k}" if f"test_{k}" in both else k for k in HEADLINE]
    keys = [k for k in keys if k in both]
    width = max([len(k) for k in keys] + [19])
    lines = [
        f"  {'':<{width}}  {'before':>12}  {'after':>12}",
        f"  {'model version':<{width}}  {version(old):>12}  {version(new):>12}",
        f"  {'MLflow run':<{width}}  {old.run_id[:12]:>12}  {new.run_id[:12]:>12}",
    ]

    def count(m: dict[str, float]) -> str:
        return "-" if "test_rows" not in m else f"{int(m['test_rows']):,}"

    if "test_rows" in both:
        lines.append(f"  {'held-out customers':<{width}}  {count(old_m):>12}  {count(new_m):>12}")
    old_h, new_h = dict(old.holdout), dict(new.holdout)
    if old_h or new_h:

        def digest(h: dict[str, str]) -> str:
            return str(h.get("digest") or "-")[:12]

        lines.append(
            f"  {'held-out set digest':<{width}}  {digest(old_h):>12}  {digest(new_h):>12}"
        )
    for k in keys:
        a, b = old_m.get(k), new_m.get(k)
        lines.append(f"  {k:<{width}}  {_four(a):>12}  {_four(b):>12}")
    if old_h or new_h:
        from pachflow_lineage.diff import holdout_words  # the words `lineage diff` uses

        words = holdout_words(
            old_h | {"customers": count(old_m)}, new_h | {"customers": count(new_m)}
        )
        lines += ["  " + line for line in textwrap.wrap(f"test parts: {words}.", 90)]
    if shared is not None:
        lines += shared.lines("before", "after")
    return lines


def shared_heldout(store: Store, old: TrainResult, new: TrainResult) -> SharedHeldout:
    """The two train commits' held-out scores compared on the customers both held out
    (the comparison `lineage diff` makes from MLflow)."""
    from pachflow_lineage.diff import compare_heldout

    def scores(result: TrainResult) -> tuple[str, bytes | None]:
        name = f"{result.commit.repo}@{result.commit.id[:12]}"
        try:
            return name, store.file_blob(result.commit, "/" + HELDOUT_SCORES).read_bytes()
        except NotFound:
            return name, None

    return compare_heldout(scores(old), scores(new))


def _four(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
