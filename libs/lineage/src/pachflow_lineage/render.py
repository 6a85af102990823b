"""Renderers for a Lineage: a readable table, JSON, Mermaid, Graphviz DOT and PNG."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from pachflow_lineage.graph import Commit, Lineage
from pachflow_store import short_id

MAX_FILES_SHOWN = 5
SHORT_NOTE = "ids are shortened to their first 12 hex digits; --json gives them in full"


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


_LONG_ID = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{20}\b")


def _short_ids(text: str) -> str:
    """Every 32-hex id in `text` cut to its short form."""
    return _LONG_ID.sub(r"\1", text)


def short_label(lineage: Lineage, key: str) -> str:
    """One line per node kind, with short ids: `repo@id`, `job pipeline@id`, `datum id`,
    `run id`, `model name vN (aliases)`."""
    kind, _, rest = key.partition(":")
    if kind == "commit":
        name, _, cid = rest.rpartition("@")
        return f"{name}@{short_id(cid)}"
    if kind == "job":
        name, _, jid = rest.rpartition("@")
        return f"job {name}@{short_id(jid)}"
    if kind == "datum":
        return f"datum {short_id(rest.rsplit('/', 1)[-1])}"
    if kind == "run":
        return f"run {short_id(rest)}"
    if kind == "model":
        mv = lineage.model_versions.get(key)
        name, _, version = rest.rpartition("/")
        aliases = f" ({', '.join(mv.aliases)})" if mv and mv.aliases else ""
        return f"model {name} v{version}{aliases}"
    return rest


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


def _shown_files(c: Commit) -> tuple[list[str], int]:
    """File lines under a commit: hidden files (Spark's .crc checksums) are not shown."""
    visible = [f for f in c.files if not f.path.rsplit("/", 1)[-1].startswith(".")]
    lines = [f"    {f.path}  {_size(f.size)}" for f in visible[:MAX_FILES_SHOWN]]
    return lines, len(c.files) - len(lines)


def _commit_lines(commits: list[Commit]) -> list[str]:
    rows = [
        [
            c.ref.label.rsplit("@", 1)[0],
            short_id(c.ref.id),
            c.origin or "-",
            _size(c.size),
            c.created or "-",
        ]
        for c in commits
    ]
    table = _table(["repo", "id", "origin", "size", "created"], rows)
    lines = table[:2]
    for c, row in zip(commits, table[2:], strict=True):
        files, more = _shown_files(c)
        lines += [row, *files]
        if more:
            lines.append(f"    ... {more} more files")
    return lines


def to_table(lineage: Lineage) -> str:
    """The default, human output: one section per kind of node, upstream first."""
    order = {k: i for i, k in enumerate(ordered_keys(lineage))}
    lines = [f"lineage {lineage.direction} of {lineage.subject}"]
    lines += [f"  {name}: {_short_ids(str(value))}" for name, value in lineage.info.items()]
    lines.append("")
    if lineage.commits:
        # data first (upstream to downstream), then the spec versions
        commits = sorted(
            lineage.commits.values(), key=lambda c: (c.ref.repo_type != "user", order[c.key])
        )
        lines += ["commits", *_commit_lines(commits), ""]
    if lineage.jobs:
        jobs = sorted(lineage.jobs.values(), key=lambda j: order[j.key])
        rows = [
            [
                short_label(lineage, j.key).removeprefix("job "),
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
            [short_id(r.run_id), r.name or "-", r.status or "-", r.experiment_id or "-"]
            for r in lineage.runs.values()
        ]
        lines += ["mlflow runs", *_table(["run id", "name", "status", "experiment"], rows), ""]
    if lineage.model_versions:
        rows = [
            [m.name, m.version, ",".join(m.aliases) or "-", short_id(m.run_id) or "-"]
            for m in lineage.model_versions.values()
        ]
        lines += ["model versions", *_table(["model", "version", "aliases", "run id"], rows), ""]
    if lineage.edges:
        lines += ["edges"]
        lines += [
            f"  {short_label(lineage, e.src)} --{e.kind}--> {short_label(lineage, e.dst)}"
            for e in sorted(lineage.edges, key=lambda e: (order.get(e.src, 0), e.dst))
        ]
        lines.append("")
    if lineage.links:
        lines += ["links", *(f"  {name}: {url}" for name, url in lineage.links.items()), ""]
    lines += [f"note: {n}" for n in lineage.notes]
    lines.append(f"note: {SHORT_NOTE}")
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
    """A Mermaid flowchart (top down): cylinders are commits, boxes jobs, pills runs."""
    ids = _ids(lineage)
    lines = ["flowchart TD"]
    for key, node_id in ids.items():
        open_, close = _MERMAID_SHAPE[key.partition(":")[0]]
        lines.append(f"  {node_id}{open_}{_quote_mermaid(short_label(lineage, key))}{close}")
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
    """Graphviz DOT, top down (data flows down, as the pipeline runs), short ids, the
    subject drawn bold."""
    ids = _ids(lineage)
    lines = [
        "digraph lineage {",
        "  rankdir=TB;",
        "  nodesep=0.25; ranksep=0.35;",
        '  node [fontname="Helvetica", fontsize=11, style=filled, fillcolor="#f4f6f8"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for key, node_id in ids.items():
        attrs = [
            f"label={_quote_dot(short_label(lineage, key))}",
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
