"""Renderers for a Lineage: a readable table, JSON, Mermaid, Graphviz DOT and PNG."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from pachflow_lineage.model import Commit, Lineage

MAX_FILES_SHOWN = 5


class GraphvizMissing(RuntimeError):
    """`dot` is not on PATH: PNG rendering needs graphviz."""


def to_json(lineage: Lineage) -> str:
    return json.dumps(lineage.to_dict(), indent=2, sort_keys=False) + "\n"


def ordered_keys(lineage: Lineage) -> list[str]:
    """Every node key, upstream first (topological over the edges, ties by insertion)."""
    keys = [
        *lineage.commits,
        *lineage.jobs,
        *lineage.datums,
        *lineage.runs,
        *lineage.model_versions,
    ]
    incoming: dict[str, int] = dict.fromkeys(keys, 0)
    outgoing: dict[str, list[str]] = {k: [] for k in keys}
    for edge in lineage.edges:
        if edge.src in incoming and edge.dst in incoming:
            incoming[edge.dst] += 1
            outgoing[edge.src].append(edge.dst)
    ready = [k for k in keys if incoming[k] == 0]
    order: list[str] = []
    while ready:
        key = ready.pop(0)
        order.append(key)
        for dst in outgoing[key]:
            incoming[dst] -= 1
            if incoming[dst] == 0:
                ready.append(dst)
    # A cycle cannot happen in real provenance; keep any leftovers rather than drop them.
    return order + [k for k in keys if k not in order]


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns


def _table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    lines += [fmt.format(*r).rstrip() for r in rows]
    return lines


def _commit_rows(commits: list[Commit]) -> list[list[str]]:
    rows: list[list[str]] = []
    for c in commits:
        name = c.ref.label.rsplit("@", 1)[0]
        rows.append([name, c.ref.id, c.origin or "-", _size(c.size), c.created or "-"])
        for f in c.files[:MAX_FILES_SHOWN]:
            rows.append([f"  {f.path}", "", "", _size(f.size), ""])
        if len(c.files) > MAX_FILES_SHOWN:
            rows.append([f"  ... {len(c.files) - MAX_FILES_SHOWN} more files", "", "", "", ""])
    return rows


def to_table(lineage: Lineage) -> str:
    """The default, human output: one section per kind of node, upstream first."""
    order = {k: i for i, k in enumerate(ordered_keys(lineage))}
    lines = [f"lineage {lineage.direction} of {lineage.subject}"]
    lines += [f"  {name}: {value}" for name, value in lineage.info.items()]
    lines.append("")
    if lineage.commits:
        # data first (upstream to downstream), then the spec versions
        commits = sorted(
            lineage.commits.values(), key=lambda c: (c.ref.type != "user", order[c.key])
        )
        lines += [
            "commits",
            *_table(["repo", "id", "origin", "size", "created"], _commit_rows(commits)),
            "",
        ]
    if lineage.jobs:
        jobs = sorted(lineage.jobs.values(), key=lambda j: order[j.key])
        rows = [
            [
                j.label,
                j.state or "-",
                "-"
                if j.data_total is None
                else f"{j.data_processed or 0}/{j.data_skipped or 0}/{j.data_failed or 0}"
                f"/{j.data_total}",
                j.finished or "-",
            ]
            for j in jobs
        ]
        lines += [
            "jobs",
            *_table(["job", "state", "datums done/skip/fail/total", "finished"], rows),
            "",
        ]
    if lineage.runs:
        rows = [
            [r.run_id, r.name or "-", r.status or "-", r.experiment_id or "-"]
            for r in lineage.runs.values()
        ]
        lines += ["mlflow runs", *_table(["run id", "name", "status", "experiment"], rows), ""]
    if lineage.model_versions:
        rows = [
            [m.name, m.version, ",".join(m.aliases) or "-", m.run_id or "-"]
            for m in lineage.model_versions.values()
        ]
        lines += ["model versions", *_table(["model", "version", "aliases", "run id"], rows), ""]
    if lineage.edges:
        lines += ["edges"]
        lines += [
            f"  {lineage.node_label(e.src)} --{e.kind}--> {lineage.node_label(e.dst)}"
            for e in sorted(lineage.edges, key=lambda e: (order.get(e.src, 0), e.dst))
        ]
        lines.append("")
    if lineage.links:
        lines += ["links", *(f"  {name}: {url}" for name, url in lineage.links.items()), ""]
    lines += [f"note: {n}" for n in lineage.notes]
    return "\n".join(lines).rstrip() + "\n"


def _ids(lineage: Lineage) -> dict[str, str]:
    return {key: f"n{i}" for i, key in enumerate(ordered_keys(lineage))}


def _quote_mermaid(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


_MERMAID_SHAPE = {
    "commit": ("[(", ")]"),
    "job": ("[[", "]]"),
    "datum": (">", "]"),
    "run": ("([", "])"),
    "model": ("{{", "}}"),
}


def to_mermaid(lineage: Lineage) -> str:
    """A Mermaid flowchart (left to right): cylinders are commits, boxes jobs, pills runs."""
    ids = _ids(lineage)
    lines = ["flowchart LR"]
    for key, node_id in ids.items():
        open_, close = _MERMAID_SHAPE[key.partition(":")[0]]
        lines.append(f"  {node_id}{open_}{_quote_mermaid(lineage.node_label(key))}{close}")
    for e in lineage.edges:
        if e.src in ids and e.dst in ids:
            lines.append(f"  {ids[e.src]} -->|{e.kind}| {ids[e.dst]}")
    subject = ids.get(lineage.subject)
    if subject:
        lines.append(f"  style {subject} stroke-width:3px")
    return "\n".join(lines) + "\n"


_DOT_SHAPE = {
    "commit": "cylinder",
    "job": "box",
    "datum": "note",
    "run": "ellipse",
    "model": "hexagon",
}


def _quote_dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(lineage: Lineage) -> str:
    """Graphviz DOT, left to right, the subject drawn bold."""
    ids = _ids(lineage)
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    for key, node_id in ids.items():
        attrs = [
            f"label={_quote_dot(lineage.node_label(key))}",
            f"shape={_DOT_SHAPE[key.partition(':')[0]]}",
        ]
        if key == lineage.subject:
            attrs.append("penwidth=3")
        lines.append(f"  {node_id} [{', '.join(attrs)}];")
    for e in lineage.edges:
        if e.src in ids and e.dst in ids:
            lines.append(f"  {ids[e.src]} -> {ids[e.dst]} [label={_quote_dot(e.kind)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def write_png(lineage: Lineage, path: str | Path) -> Path:
    """Render the DOT graph to a PNG with graphviz `dot`; GraphvizMissing when absent."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            "graphviz is not installed (no `dot` on PATH): install it (Debian: apt-get install "
            "graphviz) or use --dot / --mermaid"
        )
    out = Path(path)
    subprocess.run(
        [dot, "-Tpng", "-o", str(out)],
        input=to_dot(lineage).encode(),
        check=True,
        capture_output=True,
    )
    return out
