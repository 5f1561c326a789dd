"""The report page: one self-contained HTML file a reader can open without the project.

It puts the question, the parameters with their sources, the scorecard and the
figures side by side, because a result is only as credible as the numbers it
rests on and a reader should not have to open the YAML to see them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from sim.evidence.scoring import Scorecard, format_scorecard, side_by_side


def param_rows(loaded) -> list[tuple[str, str, str, str]]:
    """(path, value, unit, provenance) for every cited number in the scenario."""
    rows = []

    def walk(node, path):
        if isinstance(node, dict):
            if "value" in node and ("source" in node or "assumption" in node):
                prov = f"source {node['source']}" if node.get("source") else f"assumption: {node.get('assumption')}"
                if node.get("note"):
                    prov += f" — {node['note']}"
                rows.append((path, str(node["value"]), str(node.get("unit") or ""), prov))
                return
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
    walk(loaded.scenario.model_dump(mode="json", exclude_none=True), "")
    return rows


_STYLE = """<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:0.8em}img{max-width:100%}
figure{margin:1em 0}figcaption{font-size:0.8em;color:#666}</style>"""

_SKILL_NOTE = (
    "<p>Skill = 1 − score / baseline score: positive beats the naive baseline. Series baselines are leave-one-out\n"
    """straight-line interpolation and constant growth through the other recorded figures; event baselines a
constant Poisson rate from the other chronology windows. Outside the chronology windows the record is silent
and nothing is scored. Full numbers: <code>scores/*/scorecard.json</code>.</p>""")

esc = html.escape


def _rows(cells: list[tuple[str, ...]]) -> str:
    return "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)


def _parameters(loaded) -> str:
    return _rows([(f"<code>{esc(p)}</code>", esc(v), esc(u), esc(s)) for p, v, u, s in param_rows(loaded)])


def _timeline(sc) -> str:
    return _rows([(esc(e.date), f"<code>{esc(e.id)}</code>", esc(e.description),
                   esc(e.source or "assumption: " + (e.assumption or ""))) for e in sc.timeline])


def _figures(pngs: list[Path], out: Path) -> str:
    return "\n".join(f'<figure><img src="{esc(str(p.relative_to(out)))}" alt="{esc(p.stem)}">'
                     f"<figcaption>{esc(p.stem)}</figcaption></figure>" for p in pngs)


def _counterfactuals(others) -> str:
    items = "".join(f"<li><b>{esc(o.label)}</b>: "
                    f"{esc(o.loaded.scenario.meta.question or o.loaded.scenario.meta.description)}</li>"
                    for o in others if o.loaded is not None)
    return f"<h2>Counterfactuals</h2><ul>{items}</ul>" if items else ""


def _facts(base, card: Scorecard) -> str:
    sc = base.loaded.scenario
    return (f"<p>Period {esc(sc.meta.start)} – {esc(sc.meta.end)}; focal pair {esc(' – '.join(sc.meta.focal))};\n"
            f"{card.members} replicates; scenario hash <code>{esc(base.loaded.hash[:16])}</code>; "
            f"record <code>{esc(str(base.record_path))}</code>.</p>")


def _overall(card: Scorecard) -> str:
    rounded = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in card.overall().items()}
    return f'<p style="font-size:0.8em;color:#666">Overall numbers: {esc(json.dumps(rounded))}</p>'


def render_report(base, card: Scorecard, cards: list[Scorecard], others, pngs: list[Path], out: Path) -> str:
    """The page: ``base`` and ``others`` are the compared subjects (label, loaded scenario, record path)."""
    sc = base.loaded.scenario
    side = f"<pre>{esc(side_by_side(cards))}</pre>" if len(cards) > 1 else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(sc.meta.name)} — report</title>
{_STYLE}</head><body>
<h1>Scenario {esc(sc.meta.name)}</h1>
<p>{esc(sc.meta.description)}</p>
<p><b>Question:</b> {esc(sc.meta.question or '—')}</p>
{_facts(base, card)}
{_counterfactuals(others)}
<h2>Scorecard</h2>
<p>{esc(card.overall_line())}</p>
<pre>{esc(format_scorecard(card))}</pre>
{side}
{_SKILL_NOTE}
<h2>Figures</h2>
{_figures(pngs, out)}
<h2>Timeline</h2>
<table><tr><th>date</th><th>id</th><th>what</th><th>evidence</th></tr>
{_timeline(sc)}</table>
<h2>Parameters and their sources</h2>
<p>{len(param_rows(base.loaded))} cited values. Sources are <code>document:line</code> in the seed documents.</p>
<table><tr><th>path</th><th>value</th><th>unit</th><th>provenance</th></tr>
{_parameters(base.loaded)}</table>
{_overall(card)}
</body></html>
"""
