"""`lineage diff A B`: what changed between two model versions (or runs): input commits
and the files added, removed or changed in them, stage (pipeline spec) versions and
images, params, metrics, and on which held-out customers the metrics were made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pachflow_contracts.commits import SPEC, USER
from pachflow_contracts.run_tags import TAG_HOLDOUT_DIGEST, TAG_HOLDOUT_RULE
from pachflow_lineage.graph import Commit, Lineage
from pachflow_lineage.subject import Subject, resolve_run

if TYPE_CHECKING:
    from pachflow_contracts.heldout_scores import HeldoutMetrics
    from pachflow_lineage.resolve import Resolver
    from pachflow_lineage.tracking import Tracking


@dataclass
class Change:
    section: str  # input, file, stage, param, holdout, metric
    item: str
    a: str
    b: str


@dataclass
class LineageDiff:
    a: str
    b: str
    changes: list[Change] = field(default_factory=list)
    same: dict[str, int] = field(default_factory=dict)  # section -> items found equal
    holdout: str = ""  # what the two test parts have in common, in words
    shared_heldout: SharedHeldout | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"a": self.a, "b": self.b}
        data["changes"] = [asdict(c) for c in self.changes]
        data |= {"same": self.same, "holdout": self.holdout}
        data["shared_heldout"] = self.shared_heldout.to_dict() if self.shared_heldout else None
        return json.dumps(data, indent=2) + "\n"

    def to_table(self) -> str:
        lines = [f"A = {self.a}", f"B = {self.b}"]
        sections = ["input", "file", "stage", "param", "holdout", "metric"]
        for section in sections:
            rows = [c for c in self.changes if c.section == section]
            same = self.same.get(section, 0)
            lines.append(f"{section}s: {len(rows)} changed, {same} same")
            width = max((len(c.item) for c in rows), default=0)
            lines += [f"  {c.item.ljust(width)}  {c.a or '-'}  ->  {c.b or '-'}" for c in rows]
            if section == "holdout" and self.holdout:
                lines.append(f"  {self.holdout}")
            if section == "holdout" and self.shared_heldout:
                lines += self.shared_heldout.lines("A", "B")
        return "\n".join(lines) + "\n"


@dataclass
class SharedHeldout:
    """Both versions' metrics on the customers both held out (from each run's
    evaluation/heldout_scores.parquet), or why there are none."""

    a: HeldoutMetrics | None = None
    b: HeldoutMetrics | None = None
    missing: str = ""  # e.g. "run X has no evaluation/heldout_scores.parquet (...)"

    def to_dict(self) -> dict[str, Any]:
        if self.a is None or self.b is None:
            return {"missing": self.missing}
        return {"customers": self.a.customers, "a": self.a.to_dict(), "b": self.b.to_dict()}

    def lines(self, a_name: str, b_name: str, indent: str = "  ") -> list[str]:
        if self.a is None or self.b is None:
            return [f"{indent}no shared held-out comparison: {self.missing}"]
        rows = [
            ("frauds", f"{self.a.frauds:,}", f"{self.b.frauds:,}"),
            *(
                (name, f"{getattr(self.a, attr):.4f}", f"{getattr(self.b, attr):.4f}")
                for name, attr in SHARED_METRICS
            ),
        ]
        out = [
            f"{indent}on the {self.a.customers:,} held-out customers both runs share:",
            f"{indent}  {'':<22}  {a_name:>12}  {b_name:>12}",
        ]
        return out + [f"{indent}  {n:<22}  {x:>12}  {y:>12}" for n, x, y in rows]


SHARED_METRICS = (
    ("areaUnderPR", "area_under_pr"),
    ("precision (prediction)", "precision"),
    ("recall (prediction)", "recall"),
    ("F1 (prediction)", "f1"),
)


def shared_heldout(tracking: Tracking, run_a: str, run_b: str) -> SharedHeldout:
    """Each run's held-out scores from MLflow, compared on the customers both held out."""
    from pachflow_contracts.heldout_scores import HELDOUT_SCORES

    return compare_heldout(
        (f"run {run_a}", tracking.load_artifact(run_a, HELDOUT_SCORES)),
        (f"run {run_b}", tracking.load_artifact(run_b, HELDOUT_SCORES)),
    )


def compare_heldout(a: tuple[str, bytes | None], b: tuple[str, bytes | None]) -> SharedHeldout:
    """Two (name, held-out scores file or None) compared on the customers both held out."""
    from pachflow_contracts import heldout_scores as hs

    try:
        import pyarrow  # noqa: F401  (the parquet extra)
    except ImportError:
        return SharedHeldout(missing="pyarrow is not installed (pachflow-lineage[parquet])")
    for name, data in (a, b):
        if data is None:
            return SharedHeldout(
                missing=f"{name} has no {hs.HELDOUT_SCORES} (train before 0.4 did not "
                "record each held-out customer's score)"
            )
    ma, mb = hs.compare(hs.read(a[1] or b""), hs.read(b[1] or b""))
    return SharedHeldout(ma, mb)


@dataclass
class _Side:
    run_id: str
    label: str
    lineage: Lineage
    params: dict[str, str]
    metrics: dict[str, float]
    holdout: dict[str, str]  # rule, digest, customers (train's held-out part)


def _side(resolver: Resolver, subject: Subject) -> _Side:
    run_id, mv = resolve_run(resolver.tracking, subject)
    mlrun = resolver.tracking.get_run(run_id)
    label = f"{mv.name}/{mv.version} (run {run_id})" if mv else f"run {run_id}"
    return _Side(
        run_id,
        label,
        resolver.upstream_of_run(run_id),
        dict(mlrun.data.params),
        dict(mlrun.data.metrics),
        _holdout(dict(mlrun.data.tags), dict(mlrun.data.metrics)),
    )


def _holdout(tags: dict[str, str], metrics: dict[str, float]) -> dict[str, str]:
    found = {
        "rule": tags.get(TAG_HOLDOUT_RULE, ""),
        "digest": tags.get(TAG_HOLDOUT_DIGEST, ""),
        "customers": f"{int(metrics['test_rows']):,}" if "test_rows" in metrics else "",
    }
    return {k: v for k, v in found.items() if v}


def holdout_words(a: dict[str, str], b: dict[str, str]) -> str:
    """On which test customers the two versions' metrics were made, in one sentence."""
    if not a.get("rule") or not b.get("rule"):
        return (
            "test parts not comparable: a version without a recorded held-out rule "
            "(train before 0.3 drew its test rows per row at random)"
        )
    if a.get("digest") == b.get("digest"):
        return f"same {a.get('customers', '?')} held-out customers: the metrics compare directly"
    if a["rule"] == b["rule"]:
        return (
            f"held out by customer with one rule ({a['rule']}): every customer both versions "
            "saw is on the same side in both; the test parts differ only by customers one of "
            f"them did not see ({a.get('customers', '?')} -> {b.get('customers', '?')})"
        )
    return "different held-out rules (seed or fraction): the test parts differ, compare with care"


def _by_repo(lineage: Lineage, kind: str) -> dict[str, Commit]:
    return {c.ref.repo: c for c in lineage.commits.values() if c.ref.repo_type == kind}


def diff(resolver: Resolver, a: Subject, b: Subject) -> LineageDiff:
    left, right = _side(resolver, a), _side(resolver, b)
    result = LineageDiff(left.label, right.label)

    def compare(section: str, a_items: dict[str, Any], b_items: dict[str, Any]) -> None:
        for key in sorted(set(a_items) | set(b_items)):
            va, vb = a_items.get(key), b_items.get(key)
            if va == vb:
                result.same[section] = result.same.get(section, 0) + 1
            else:
                result.changes.append(Change(section, key, _s(va), _s(vb)))

    a_in, b_in = _by_repo(left.lineage, USER), _by_repo(right.lineage, USER)
    compare("input", {r: c.ref.id for r, c in a_in.items()}, {r: c.ref.id for r, c in b_in.items()})
    for repo in sorted(set(a_in) & set(b_in)):
        if a_in[repo].ref.id != b_in[repo].ref.id:
            compare("file", _files(a_in[repo]), _files(b_in[repo]))
    a_spec, b_spec = _by_repo(left.lineage, SPEC), _by_repo(right.lineage, SPEC)
    compare("stage", _stages(resolver, a_spec), _stages(resolver, b_spec))
    compare("param", left.params, right.params)
    compare("holdout", left.holdout, right.holdout)
    result.holdout = holdout_words(left.holdout, right.holdout)
    result.shared_heldout = shared_heldout(resolver.tracking, left.run_id, right.run_id)
    compare("metric", left.metrics, right.metrics)
    return result


def _files(commit: Commit) -> dict[str, str]:
    return {
        f"{commit.ref.repo}:/{f.path}": f"{f.size} B {f.hash[:12]}".strip() for f in commit.files
    }


def _stages(resolver: Resolver, specs: dict[str, Commit]) -> dict[str, str]:
    """pipeline -> `spec <id> image <image>` (the image as the spec version names it)."""
    result = {}
    for name, commit in specs.items():
        spec = resolver.backend.spec(commit.ref) or {}
        image = (spec.get("transform") or {}).get("image", "")
        result[name] = f"spec {commit.ref.id}" + (f" image {image}" if image else "")
    return result


def _s(value: Any) -> str:
    return "" if value is None else str(value)
