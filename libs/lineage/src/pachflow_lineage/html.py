"""`--html FILE`: the lineage as one self-contained page (no network, no external file):
first each MLflow run's headline metrics (areaUnderPR, F1 at the best threshold,
precision, recall on the test part) with its MLflow UI link; then an SVG graph laid out in
columns (upstream left) that fits the window (viewBox; zoom buttons and scrolling for a
closer look); and for every node a card with what a person looks for: commit (repo, id,
origin, size, files), job (state, datums), MLflow run (status, headline metrics first,
link to the MLflow UI), model version (aliases, link). A small inline script zooms, and
highlights a node's card when its box is clicked, and records that it ran (`data-ready`)
and any error (`data-errors`), which the browser test checks."""

from __future__ import annotations

import html
import json
from pathlib import Path

from pachflow_lineage.graph import Lineage
from pachflow_lineage.render import ordered_keys

BOX_W, BOX_H, GAP_X, GAP_Y = 220, 44, 70, 18
MAX_METRICS = 12
#: What a person reads first about a fraud model: train's test-part metrics.
HEADLINE = (
    ("areaUnderPR", "test_areaUnderPR"),
    ("F1 at best threshold", "test_f1_at_best"),
    ("best threshold", "test_best_f1_threshold"),
    ("precision", "test_precision_at_best"),
    ("recall", "test_recall_at_best"),
)

_CSS = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.2em}
.graph{border:1px solid #ddd;background:#fafafa;overflow:auto;max-height:80vh}
.graph svg{display:block;width:100%;height:auto}
.zoom button{margin-right:.3em}
table.headline{border-collapse:collapse;margin:.5em 0 1em}
table.headline th,table.headline td{border:1px solid #ddd;padding:.2em .7em;text-align:right}
table.headline th:first-child,table.headline td:first-child{text-align:left}
.node rect{fill:#fff;stroke:#888;rx:6} .node text{font-size:11px}
.node.commit rect{fill:#eef6ff} .node.spec rect{fill:#f3f3f3} .node.job rect{fill:#fff7e6}
.node.run rect{fill:#eaffea} .node.model rect{fill:#fdeeff} .node.datum rect{fill:#fffdf0}
.node:hover rect,.node.sel rect{stroke:#d33;stroke-width:2}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:.6em 0}
.card.sel{border-color:#d33;box-shadow:0 0 4px #d33} .card h2{font-size:1em;margin:.2em 0}
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.3em 0}
dt{color:#666} dd{margin:0;font-family:monospace;word-break:break-all}
"""

_JS = """
(function(){
  var errors=[];
  window.addEventListener('error',function(e){errors.push(String(e.message));
    document.body.dataset.errors=errors.join(' | ');});
  var svg=document.querySelector('.graph svg'), scale=1;
  function zoom(to){scale=Math.min(8,Math.max(1,to));svg.style.width=(100*scale)+'%';
    document.body.dataset.zoom=String(scale);}
  document.querySelectorAll('.zoom button').forEach(function(b){
    b.addEventListener('click',function(){var z=b.dataset.zoom;
      zoom(z==='fit'?1:z==='in'?scale*1.5:scale/1.5);});});
  var nodes=document.querySelectorAll('svg .node');
  nodes.forEach(function(n){n.addEventListener('click',function(){
    document.querySelectorAll('.sel').forEach(function(s){s.classList.remove('sel');});
    var card=document.getElementById('card-'+n.dataset.id);
    n.classList.add('sel'); if(card){card.classList.add('sel');card.scrollIntoView();}
  });});
  document.body.dataset.ready=String(nodes.length);
})();
"""


def _kind(key: str, lineage: Lineage) -> str:
    kind = key.partition(":")[0]
    if kind == "commit" and lineage.commits[key].ref.repo_type != "user":
        return "spec"
    return kind


def _layout(lineage: Lineage, keys: list[str]) -> dict[str, tuple[int, int]]:
    """Column = longest path from a source; row = order within the column."""
    depth = dict.fromkeys(keys, 0)
    for key in keys:  # keys are topologically ordered
        for e in lineage.edges:
            if e.src == key and e.dst in depth:
                depth[e.dst] = max(depth[e.dst], depth[key] + 1)
    rows: dict[int, int] = {}
    pos = {}
    for key in keys:
        col = depth[key]
        pos[key] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return pos


def _svg(lineage: Lineage, keys: list[str], ids: dict[str, str]) -> str:
    pos = _layout(lineage, keys)
    cols = max((c for c, _ in pos.values()), default=0) + 1
    rows = max((r for _, r in pos.values()), default=0) + 1
    width, height = cols * (BOX_W + GAP_X), rows * (BOX_H + GAP_Y) + GAP_Y

    def xy(key: str) -> tuple[int, int]:
        c, r = pos[key]
        return c * (BOX_W + GAP_X) + 10, r * (BOX_H + GAP_Y) + GAP_Y

    # viewBox + width 100%: the whole graph fits the window's width; zoom widens it
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" data-width="{width}">'
    ]
    parts.append(
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>'
    )
    for e in lineage.edges:
        if e.src in pos and e.dst in pos:
            (x1, y1), (x2, y2) = xy(e.src), xy(e.dst)
            parts.append(
                f'<line class="edge" data-kind="{e.kind}" x1="{x1 + BOX_W}" y1="{y1 + BOX_H // 2}"'
                f' x2="{x2}" y2="{y2 + BOX_H // 2}" stroke="#aaa" marker-end="url(#arrow)"/>'
            )
    for key in keys:
        x, y = xy(key)
        label = lineage.node_label(key)
        short = label if len(label) <= 34 else label[:31] + "..."
        kind = _kind(key, lineage)
        parts.append(
            f'<g class="node {kind}" data-id="{ids[key]}" data-key="{html.escape(key)}">'
            f'<title>{html.escape(label)}</title><rect x="{x}" y="{y}" width="{BOX_W}" '
            f'height="{BOX_H}"/><text x="{x + 8}" y="{y + 18}">{_kind(key, lineage)}</text>'
            f'<text x="{x + 8}" y="{y + 34}">{html.escape(short)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _link(url: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(url)}</a>' if url else "-"


def _fields(lineage: Lineage, key: str) -> list[tuple[str, str]]:
    esc = html.escape
    if key in lineage.commits:
        c = lineage.commits[key]
        files = ", ".join(f"{f.path} ({f.size} B)" for f in c.files[:10])
        more = f" (+{len(c.files) - 10} more)" if len(c.files) > 10 else ""
        return [
            ("commit", esc(c.ref.label)),
            ("origin", esc(c.origin or "-")),
            ("size", esc(str(c.size if c.size is not None else "-"))),
            ("created", esc(c.created or "-")),
            ("files", esc(files + more) or "-"),
        ] + [(f"metadata {k}", esc(v)) for k, v in sorted(c.metadata.items())]
    if key in lineage.jobs:
        j = lineage.jobs[key]
        datums = (
            f"{j.data_processed} processed, {j.data_skipped} skipped, "
            f"{j.data_failed} failed of {j.data_total}"
        )
        return [
            ("job", esc(j.label)),
            ("state", esc(j.state or "-")),
            ("datums", esc(datums)),
            ("created", esc(j.created or "-")),
            ("finished", esc(j.finished or "-")),
        ]
    if key in lineage.datums:
        d = lineage.datums[key]
        return [
            ("datum", esc(d.id)),
            ("job", esc(f"{d.pipeline}@{d.job_id}")),
            ("state", esc(d.state or "-")),
        ]
    if key in lineage.runs:
        r = lineage.runs[key]
        headline = [(label, r.metrics[name]) for label, name in HEADLINE if name in r.metrics]
        shown = {name for _, name in HEADLINE}
        rest = sorted((k, v) for k, v in r.metrics.items() if k not in shown)
        return (
            [
                ("MLflow run", esc(r.run_id)),
                ("name", esc(r.name or "-")),
                ("status", esc(r.status or "-")),
                ("MLflow UI", _link(r.url)),
            ]
            + [(f"<b>{esc(label)}</b>", f"<b>{v:.4f}</b>") for label, v in headline]
            + [(f"metric {esc(k)}", f"{v:.6g}") for k, v in rest[: MAX_METRICS - len(headline)]]
        )
    m = lineage.model_versions[key]
    return [
        ("model version", esc(f"{m.name}/{m.version}")),
        ("aliases", esc(", ".join(m.aliases) or "-")),
        ("run", esc(m.run_id or "-")),
        ("MLflow UI", _link(m.url)),
    ]


def _headline(lineage: Lineage) -> str:
    """One row per MLflow run: its test-part headline metrics and its MLflow UI link."""
    runs = [r for r in lineage.runs.values() if any(n in r.metrics for _, n in HEADLINE)]
    if not runs:
        return ""
    esc = html.escape
    head = "".join(f"<th>{esc(label)}</th>" for label, _ in HEADLINE)
    rows = []
    for r in runs:
        cells = "".join(
            f"<td>{r.metrics[name]:.4f}</td>" if name in r.metrics else "<td>-</td>"
            for _, name in HEADLINE
        )
        link = f'<a href="{esc(r.url)}">{esc(r.run_id[:12])}</a>' if r.url else esc(r.run_id)
        rows.append(f"<tr><td>{link}</td>{cells}</tr>")
    return (
        '<table class="headline"><caption>test part (held out)</caption>'
        f"<tr><th>MLflow run</th>{head}</tr>{''.join(rows)}</table>"
    )


_ZOOM = (
    '<div class="zoom"><button data-zoom="fit">fit</button><button data-zoom="in">+</button>'
    '<button data-zoom="out">-</button></div>'
)


def to_html(lineage: Lineage) -> str:
    keys = ordered_keys(lineage)
    ids = {key: f"n{i}" for i, key in enumerate(keys)}
    cards = []
    for key in keys:
        rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in _fields(lineage, key))
        cards.append(
            f'<div class="card" id="card-{ids[key]}" data-key="{html.escape(key)}">'
            f"<h2>{html.escape(lineage.node_label(key))}</h2><dl>{rows}</dl></div>"
        )
    info = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in lineage.info.items()
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in lineage.notes)
    title = f"pachflow lineage: {lineage.subject} ({lineage.direction})"
    data = html.escape(json.dumps({"subject": lineage.subject, "nodes": keys}))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f'<body data-lineage="{data}"><h1>{html.escape(title)}</h1>{_headline(lineage)}'
        f"<dl>{info}</dl>{'<ul>' + notes + '</ul>' if notes else ''}"
        f'{_ZOOM}<div class="graph">{_svg(lineage, keys, ids)}</div>'
        f"{''.join(cards)}<script>{_JS}</script></body></html>\n"
    )


def write_html(lineage: Lineage, path: str | Path) -> Path:
    """Write the page (all or nothing: a temp file renamed into place)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(to_html(lineage), encoding="utf-8")
    tmp.replace(target)
    return target
