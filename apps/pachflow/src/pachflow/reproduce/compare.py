"""Original run vs reproduction: params equal, metrics equal within a tolerance (wall-clock
metrics, and the params naming the Spark it ran on, are listed, not compared), the data
every stage wrote equal (content hashes of the commits upstream of both runs), and the
model equal: each fitted stage's data files (the
tree's nodes) row for row and its params, and the logged input example. Model files are
compared without a JVM: a Spark model is Parquet data plus JSON metadata."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pachflow_contracts.commits import USER
from pachflow_lineage.audit import Verdict
from pachflow_lineage.graph import Lineage

if TYPE_CHECKING:
    from pachflow_lineage.tracking import Tracking

TIMING_SUFFIX = "_seconds"  # train's fit_seconds, evaluate_seconds: how long, not what
#: train's params that say which Spark ran it and with how much memory, not what it
#: computed: a model fitted on the warm engine (sc://...) reproduces in-process (local[N]).
WHERE_IT_RAN = {"spark_master", "spark_driver_memory"}
SPARK_MODEL = "model/sparkml"
INPUT_EXAMPLE = "model/input_example.json"
#: Spark model metadata that differs on every save by design: the save time, the random
#: uid, and the defaults derived from it (a default `seed` is a hash of the uid, a default
#: `outputCol` embeds it). What was set (`paramMap`) and what was fitted are compared.
VOLATILE_METADATA = {"timestamp", "uid", "sparkVersion", "defaultParamMap"}


def compare_runs(
    tracking: Tracking,
    original: str,
    new: str,
    tolerance: float,
    original_lineage: Lineage,
    new_lineage: Lineage,
    own_repo: str = "train",
) -> Verdict:
    """`own_repo`: the pipeline that made the runs; its output commits hold the run ids,
    so they differ by design and are compared through the run (params, metrics, model)."""
    verdict = Verdict(subject=f"run {new} reproduces run {original}", title="reproduced")
    a, b = tracking.get_run(original), tracking.get_run(new)
    _params(verdict, dict(a.data.params), dict(b.data.params))
    _metrics(verdict, dict(a.data.metrics), dict(b.data.metrics), tolerance)
    _data(verdict, original_lineage, new_lineage, own_repo)
    with tempfile.TemporaryDirectory(prefix="pachflow-reproduce-") as tmp:
        _model(verdict, tracking, original, new, Path(tmp))
    verdict.info["tolerance"] = f"metrics: |a - b| <= {tolerance:g} * max(1, |a|)"
    return verdict


def _params(verdict: Verdict, a: dict[str, str], b: dict[str, str]) -> None:
    where = [k for k in sorted(set(a) | set(b)) if k in WHERE_IT_RAN and a.get(k) != b.get(k)]
    if where:
        verdict.info["not compared (where it ran)"] = "; ".join(
            f"{k} {a.get(k)} -> {b.get(k)}" for k in where
        )
    for key in sorted((set(a) | set(b)) - set(where)):
        verdict.add(f"param {key}", a.get(key) == b.get(key), a.get(key), b.get(key))


def _metrics(verdict: Verdict, a: dict[str, float], b: dict[str, float], tol: float) -> None:
    timing = sorted(k for k in set(a) | set(b) if k.endswith(TIMING_SUFFIX))
    if timing:
        verdict.info["not compared (wall-clock)"] = ", ".join(timing)
    for key in sorted((set(a) | set(b)) - set(timing)):
        va, vb = a.get(key), b.get(key)
        ok = va is not None and vb is not None and math.isclose(va, vb, rel_tol=tol, abs_tol=tol)
        verdict.add(f"metric {key}", ok, va, vb)


def _data(verdict: Verdict, a: Lineage, b: Lineage, own_repo: str) -> None:
    """Each repo's commit upstream of the run: same files with the same content hashes."""

    def files(lineage: Lineage) -> dict[str, dict[str, str]]:
        return {
            c.ref.repo: {f.path: f.hash for f in c.files}
            for c in lineage.commits.values()
            if c.ref.repo_type == USER and c.ref.repo != own_repo
        }

    fa, fb = files(a), files(b)
    for repo in sorted(set(fa) | set(fb)):
        left, right = fa.get(repo, {}), fb.get(repo, {})
        differ = sorted(p for p in set(left) | set(right) if left.get(p) != right.get(p))
        verdict.add(
            f"data {repo}: {len(left)} files, content hashes",
            not differ and bool(left),
            "identical",
            ", ".join(differ[:5]) + (f" (+{len(differ) - 5})" if len(differ) > 5 else ""),
        )


def _model(verdict: Verdict, tracking: Tracking, a: str, b: str, tmp: Path) -> None:
    try:
        ma = Path(tracking.download(a, SPARK_MODEL, str(tmp / "a")))
        mb = Path(tracking.download(b, SPARK_MODEL, str(tmp / "b")))
    except Exception as exc:
        verdict.add("model files", False, f"{SPARK_MODEL} on both runs", str(exc)[:200])
        return
    stages_a, stages_b = _stages(ma), _stages(mb)
    verdict.add("model stages", len(stages_a) == len(stages_b), len(stages_a), len(stages_b))
    for (name_a, da), (_, db) in zip(stages_a, stages_b, strict=False):
        kind = name_a.split("_", 1)[-1]  # the class, e.g. DecisionTreeClassificationModel
        _equal(verdict, f"model {kind}: params", _meta(da) == _meta(db))
        _equal(verdict, f"model {kind}: fitted data", _table(da) == _table(db))
    try:
        ea = Path(tracking.download(a, INPUT_EXAMPLE, str(tmp / "ea"))).read_text()
        eb = Path(tracking.download(b, INPUT_EXAMPLE, str(tmp / "eb"))).read_text()
        _equal(verdict, "model input example", json.loads(ea) == json.loads(eb))
    except Exception as exc:
        verdict.add("model input example", False, "logged on both runs", str(exc)[:200])


def _equal(verdict: Verdict, item: str, equal: bool) -> None:
    verdict.add(item, equal, "equal", "equal" if equal else "differ")


def _stages(model_dir: Path) -> list[tuple[str, Path]]:
    """[("0_VectorAssembler", dir), ...]: index and class, without the random uid suffix."""
    stages = model_dir / "stages"
    if not stages.is_dir():
        return []
    found = [("_".join(p.name.split("_")[:2]), p) for p in stages.iterdir() if p.is_dir()]
    return sorted(found, key=lambda item: int(item[0].split("_")[0]))


def _meta(stage: Path) -> dict[str, Any]:
    text = next((stage / "metadata").glob("part-*")).read_text()
    meta = json.loads(text.splitlines()[0])
    return {k: v for k, v in meta.items() if k not in VOLATILE_METADATA}


def _table(stage: Path) -> list[dict[str, Any]] | None:
    data = stage / "data"
    if not data.is_dir():
        return None
    import pyarrow.parquet as pq

    parts = sorted(data.glob("*.parquet"))
    return [row for p in parts for row in pq.read_table(p).to_pylist()]
