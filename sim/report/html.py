"""The report page: one HTML file with its figures beside it, readable offline without the project.

It puts the question, the parameters with their sources, the scorecard and the
figures side by side, because a result is only as credible as the numbers it
rests on and a reader should not have to open the YAML to see them. A table of
contents, tables rather than preformatted text, SVG figures and links to the
score files and cited documents keep a long page navigable; nothing is loaded
from outside the folder.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from sim.evidence.scoring import Scorecard


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
th{background:#f2f2f2;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.wide{overflow-x:auto;max-width:100%}img{max-width:100%}nav ol{columns:2;font-size:0.9em}
figure{margin:1em 0}figcaption{font-size:0.8em;color:#666}tr.miss td{color:#888}</style>"""

_SKILL_NOTE = (
    "<p>Skill = 1 − score / baseline score: positive beats the naive baseline. Series baselines are leave-one-out\n"
    """straight-line interpolation and constant growth through the other recorded figures; event baselines a
constant Poisson rate from the other chronology windows. Outside the chronology windows the record is silent
and nothing is scored.</p>""")

#: (anchor, title) of the page's sections, in order: the table of contents.
SECTIONS = [("summary", "Summary"), ("scorecard", "Scorecard"), ("series", "Recorded series"),
            ("events", "Events per chronology window"), ("milestones", "Milestones"), ("figures", "Figures"),
            ("timeline", "Timeline"), ("parameters", "Parameters and their sources"), ("files", "Files")]

esc = html.escape


def _rows(cells: list[tuple[str, ...]]) -> str:
    return "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)


def _num(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, (bool,)) or type(v).__name__ == "bool_":
        return "yes" if v else "no"
    return f"{v:.{digits}f}" if isinstance(v, float) else esc(str(v))


def table(df, columns: list[str], digits: int = 3) -> str:
    """A DataFrame as an HTML table of the named columns (numbers right-aligned), scrollable if wide."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for _, r in df.iterrows():
        cls = ' class="miss"' if "status" in df.columns and r["status"] != "scored" else ""
        cells = "".join(f'<td class="n">{_num(r[c], digits)}</td>' if isinstance(r[c], float)
                        else f"<td>{_num(r[c].date() if hasattr(r[c], 'date') else r[c])}</td>" for c in columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="wide"><table><tr>{head}</tr>\n' + "\n".join(body) + "</table></div>"


class Links:
    """Links from the page to files beside it: only targets that exist when the page is written."""

    def __init__(self, out: Path, sources: Path | None):
        self.out, self.sources = out, sources

    def href(self, target: Path) -> str | None:
        target = Path(target)
        if not target.exists():
            return None
        return Path(os.path.relpath(target.resolve(), self.out.resolve())).as_posix()

    def file(self, target: Path, text: str | None = None) -> str:
        ref = self.href(target)
        label = esc(text or Path(target).name)
        return f'<a href="{esc(ref)}">{label}</a>' if ref else f"<code>{label}</code>"

    def source(self, citation: str) -> str:
        """``document.txt:LINE`` as a link to the document when the source folder is at hand."""
        doc = citation.split(":", 1)[0]
        if self.sources is None or not (self.sources / doc).is_file():
            return esc(citation)
        return f'<a href="{esc(self.href(self.sources / doc))}">{esc(citation)}</a>'


def _provenance(text: str, links: Links) -> str:
    out = esc(text)
    for cite in sorted(set(CITATION.findall(text)), key=len, reverse=True):
        out = out.replace(esc(cite), links.source(cite))
    return out


CITATION = re.compile(r"[A-Za-z0-9_.\-]+\.txt:[0-9]+")


def _parameters(loaded, links: Links) -> str:
    return _rows([(f"<code>{esc(p)}</code>", esc(v), esc(u), _provenance(s, links))
                  for p, v, u, s in param_rows(loaded)])


def _timeline(sc, links: Links) -> str:
    return _rows([(esc(e.date), f"<code>{esc(e.id)}</code>", esc(e.description),
                   links.source(e.source) if e.source else esc("assumption: " + (e.assumption or "")))
                  for e in sc.timeline])


def _figures(svgs: list[Path], links: Links) -> str:
    """Each figure as SVG (sharp at any zoom), linked to its PNG for slides and documents."""
    out = []
    for p in svgs:
        png = links.href(p.with_suffix(".png"))
        img = f'<img src="{esc(links.href(p))}" alt="{esc(p.stem)}" loading="lazy">'
        out.append(f'<figure id="fig-{esc(p.stem)}">' + (f'<a href="{esc(png)}">{img}</a>' if png else img)
                   + f"<figcaption>{esc(p.stem)}</figcaption></figure>")
    return "\n".join(out)


def _counterfactuals(others) -> str:
    items = "".join(f"<li><b>{esc(o.label)}</b>: "
                    f"{esc(o.loaded.scenario.meta.question or o.loaded.scenario.meta.description)}</li>"
                    for o in others if o.loaded is not None)
    return f"<h3>Counterfactuals</h3><ul>{items}</ul>" if items else ""


def _facts(base, card: Scorecard, links: Links) -> str:
    sc = base.loaded.scenario
    return (f"<p>Period {esc(sc.meta.start)} – {esc(sc.meta.end)}; focal pair {esc(' – '.join(sc.meta.focal))};\n"
            f"{card.members} replicates, base seed {esc(str(card.base_seed))}; scenario "
            f"{links.file(base.loaded.path)} (hash <code>{esc(base.loaded.hash[:16])}</code>); "
            f"record {links.file(Path(base.record_path) / 'record.yaml', str(base.record_path))}.</p>")


_OVERALL_KEYS = ["members", "series_scored", "series_crps_log", "series_skill_interp", "series_skill_growth",
                 "series_coverage50", "series_coverage90", "event_cells_scored", "events_ignorance",
                 "events_ignorance_baseline", "events_skill_ignorance", "events_coverage90", "milestones_scored",
                 "milestones_brier", "milestones_brier_baseline", "milestones_skill"]


def _overall_table(cards: list[Scorecard]) -> str:
    """The scorecards' headline numbers: one column per scenario."""
    overall = [c.overall() for c in cards]
    head = "<tr><th>measure</th>" + "".join(f"<th>{esc(c.scenario)}</th>" for c in cards) + "</tr>"
    rows = [f"<tr><td>{esc(k)}</td>" + "".join(f'<td class="n">{_num(o.get(k))}</td>' for o in overall) + "</tr>"
            for k in _OVERALL_KEYS if any(k in o for o in overall)]
    return f'<div class="wide"><table>{head}' + "\n".join(rows) + "</table></div>"


def _files(cards: list[Scorecard], out: Path, links: Links) -> str:
    items = []
    for c in cards:
        folder = out / "scores" / c.scenario
        files = ", ".join(links.file(p) for p in sorted(folder.glob("*")) if p.is_file())
        items.append(f"<li>{esc(c.scenario)}: {files}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _toc() -> str:
    return "<nav><h2>Contents</h2><ol>" + "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in SECTIONS) \
        + "</ol></nav>"


def _scores(card: Scorecard) -> str:
    return f"""<h2 id="series">Recorded series</h2>
{table(card.series, ["id", "start", "end", "observed", "median", "q05", "q95", "in90", "crps", "crps_interp",
                      "crps_growth", "status"])}
<h2 id="events">Events per chronology window</h2>
{table(card.events[card.events["status"] == "scored"] if len(card.events) else card.events,
       ["window", "type", "observed", "median", "q05", "q95", "in90", "ignorance", "ignorance_baseline"], 2)}
<h2 id="milestones">Milestones</h2>
{table(card.milestones, ["id", "type", "date", "probability", "probability_baseline", "brier", "brier_baseline"])}"""


def render_report(base, card: Scorecard, cards: list[Scorecard], others, svgs: list[Path], out: Path,
                  sources: Path | None = None) -> str:
    """The page: ``base`` and ``others`` are the compared subjects (label, loaded scenario, record path).

    ``sources`` is the folder of the cited documents: citations link there when it exists.
    """
    sc = base.loaded.scenario
    links = Links(out, sources)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(sc.meta.name)} — report</title>
{_STYLE}</head><body>
<h1>Scenario {esc(sc.meta.name)}</h1>
{_toc()}
<h2 id="summary">Summary</h2>
<p>{esc(sc.meta.description)}</p>
<p><b>Question:</b> {esc(sc.meta.question or '—')}</p>
{_facts(base, card, links)}
{_counterfactuals(others)}
<h2 id="scorecard">Scorecard</h2>
<p>{esc(card.overall_line())}</p>
{_overall_table(cards)}
{_SKILL_NOTE}
{_scores(card)}
<h2 id="figures">Figures</h2>
{_figures(svgs, links)}
<h2 id="timeline">Timeline</h2>
<div class="wide"><table><tr><th>date</th><th>id</th><th>what</th><th>evidence</th></tr>
{_timeline(sc, links)}</table></div>
<h2 id="parameters">Parameters and their sources</h2>
<p>{len(param_rows(base.loaded))} cited values. Sources are <code>document:line</code> in the seed documents.</p>
<div class="wide"><table><tr><th>path</th><th>value</th><th>unit</th><th>provenance</th></tr>
{_parameters(base.loaded, links)}</table></div>
<h2 id="files">Files</h2>
<p>Full scorecards (JSON, with seeds, hashes and versions) and score tables (Parquet):</p>
{_files(cards, out, links)}
</body></html>
"""
