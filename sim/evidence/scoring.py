"""Score an ensemble of runs against the historical record.

Three kinds of evidence, each scored only where the record speaks:

* **series** — quantitative observations (trade, exports, arms contract values,
  counts of leader meetings, growth rates) against the ensemble's values for
  the same pair and the same months (a half-year figure is compared with the
  same half of the simulated year). Scores: CRPS (on log scale for money, so
  a 1999 figure of $5 bn and a 2014 figure of $95 bn weigh alike), whether the
  observation lies in the central 50% and 90% intervals, and the median's
  relative bias. Naive baselines, fitted leave-one-out on the other recorded
  figures of the same series: straight-line interpolation and a
  constant-growth (log-linear) fit. Their CRPS is the absolute error of a
  point forecast.
* **events** — per chronology window and event type, the recorded count of
  the pair's events against the simulated distribution: 90% interval,
  ignorance (-log2 of the ensemble's predictive probability of the recorded
  count, smoothed as (n_equal + 0.5) / (M + 1) so that an unseen count is
  penalised but finite) and CRPS. Baseline: a constant Poisson rate per type
  estimated from the *other* recorded windows (leave one window out), with
  half an event added to their count so that a type they never saw does not
  get rate zero (which would cost the baseline ~40 bits and flatter the model).
  Outside the windows the record is silent and nothing is scored.
* **milestones** — dated one-off events from the record's narrative (the
  chronology windows are already scored as counts) of a type the model
  generates, excluding those the scenario itself schedules: Brier score of
  "at least one such event in that quarter" (in that year for year-precision
  dates), one question per type and period, against the constant-rate
  baseline. The narrative only lists what happened, so every question is a
  "yes": the Brier score rewards a model that makes such events likely, and a
  model that produced them everywhere would score well — read it beside the
  event counts, which punish excess.

Proper scores come from ``scoringrules`` (crps_ensemble, crps_poisson).
Skill = 1 - score / baseline score, from the mean scores over all scored
items; positive means the model beats the baseline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.errors import UserError
from sim.core.mechanisms import registry
from sim.core.provenance import package_versions
from sim.evidence.ensemble import Ensemble
from sim.evidence.record import Record
from sim.evidence.transforms import TRANSFORMS

MONEY_UNITS = {"bn USD": 1.0, "m USD": 1e-3}
SEEDS_LISTED = 10_000


# ---------------------------------------------------------------- series

def _series_spec(row) -> tuple[str, bool, str, float] | None:
    """(column, column is an annual rate, scale, unit factor) for an observation, or None if not modelled.

    The mechanisms declare which record quantities their columns simulate (``observables``).
    """
    q = row["quantity"]
    actors = [a for a in str(row["actors"]).split(";") if a]
    for mech in registry():
        for ob in mech.observables:
            if ob.quantity == q:
                column = ob.column(actors, row["exporter"] or "", row["importer"] or "")
                return (column, ob.rate, ob.scale, 1.0) if column else None
    return None


def series_observations(record: Record) -> pd.DataFrame:
    """Scorable observations (one row each; same-period arms contracts summed)."""
    obs = record.observations
    obs = obs[obs["kind"].astype(str) == "observation"].copy()
    rows = []
    for _, r in obs.iterrows():
        spec = _series_spec(r)
        if spec is None:
            continue
        column, is_rate, scale, _ = spec
        unit = str(r["unit"])
        value = float(r["value"])
        if unit in MONEY_UNITS:
            value *= MONEY_UNITS[unit]
        rows.append(dict(id=r["id"], quantity=str(r["quantity"]), column=column, rate=is_rate, scale=scale,
                         start=r["period_start"], end=r["period_end"], value=value, source=r["source"]))
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    arms = df["quantity"] == "arms_contract_value"
    if arms.any():
        grouped = (df[arms].groupby(["column", "start", "end"], as_index=False)
                   .agg(id=("id", "+".join), quantity=("quantity", "first"), rate=("rate", "first"),
                        scale=("scale", "first"), value=("value", "sum"), source=("source", "; ".join)))
        df = pd.concat([df[~arms], grouped], ignore_index=True)
    return df


def simulated_value(ens: Ensemble, r) -> np.ndarray | None:
    if r["quantity"].endswith("_growth_yoy"):
        now = ens.period_total(r["column"], r["start"], r["end"], r["rate"])
        before = ens.period_total(r["column"], r["start"] - pd.DateOffset(years=1),
                                  r["end"] - pd.DateOffset(years=1), r["rate"])
        if now is None or before is None:
            return None
        return 100.0 * (now / np.maximum(before, 1e-12) - 1.0)
    return ens.period_total(r["column"], r["start"], r["end"], r["rate"])


def n_months(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Length of a period in months: exact for whole calendar months, by days otherwise."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.day == 1 and end == end + pd.offsets.MonthEnd(0):
        return float((end.year - start.year) * 12 + end.month - start.month + 1)
    return max(1.0, ((end - start).days + 1) / 30.4375)


def _years(ts: pd.Timestamp) -> float:
    return ts.year + (ts.day_of_year - 0.5) / 365.25


def _baselines(group: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-out point forecasts from the other figures of the same series (level series only)."""
    mid = [(_years(s) + _years(e)) / 2 for s, e in zip(group["start"], group["end"], strict=True)]
    months = [n_months(s, e) for s, e in zip(group["start"], group["end"], strict=True)]
    rate = np.array([v * 12.0 / m for v, m in zip(group["value"], months, strict=True)])
    mid = np.array(mid)
    interp, growth = [], []
    for k in range(len(group)):
        others = np.array([j for j in range(len(group)) if j != k and mid[j] != mid[k]])
        if len(others) < 2:
            interp.append(np.nan)
            growth.append(np.nan)
            continue
        x, y = mid[others], rate[others]
        order = np.argsort(x)
        x, y = x[order], y[order]
        if x[0] <= mid[k] <= x[-1]:
            r_int = float(np.interp(mid[k], x, y))
        else:  # extrapolate the nearest segment
            i0, i1 = (0, 1) if mid[k] < x[0] else (-2, -1)
            r_int = float(y[i0] + (y[i1] - y[i0]) * (mid[k] - x[i0]) / (x[i1] - x[i0]))
        interp.append(max(r_int, 1e-6) * months[k] / 12.0)
        b, a = np.polyfit(x, np.log(np.maximum(y, 1e-9)), 1)
        growth.append(float(np.exp(a + b * mid[k])) * months[k] / 12.0)
    out = group.copy()
    out["baseline_interp"] = interp
    out["baseline_growth"] = growth
    return out


def score_series(ens: Ensemble, record: Record, period: tuple | None = None) -> pd.DataFrame:
    import scoringrules as sr  # here, not at the top: sweep and calibration workers start a second sooner
    df = series_observations(record)
    if df.empty:
        return df
    # Baselines see every recorded figure of the series, scored or not (the record is what it is).
    levels = df[df["scale"] != "linear"]
    with_base = pd.concat([_baselines(g) for _, g in levels.groupby("column")]) if len(levels) else levels
    df = df.merge(with_base[["id", "baseline_interp", "baseline_growth"]], on="id", how="left")
    rows = []
    for _, r in df.iterrows():
        if period is not None and not (r["start"] >= period[0] and r["end"] <= period[1]):
            continue
        sim = simulated_value(ens, r)
        row = dict(id=r["id"], quantity=r["quantity"], column=r["column"], start=r["start"], end=r["end"],
                   observed=r["value"], scale=r["scale"], source=r["source"])
        if sim is None:
            row["status"] = "outside simulated period" if r["column"] in ens.columns else "not modelled"
            rows.append(row)
            continue
        q = np.percentile(sim, [5, 25, 50, 75, 95])
        f = TRANSFORMS[r["scale"]]
        row.update(status="scored", median=q[2], q05=q[0], q95=q[4],
                   in50=bool(q[1] <= r["value"] <= q[3]), in90=bool(q[0] <= r["value"] <= q[4]),
                   bias=(q[2] - r["value"]) / abs(r["value"]) if r["value"] else np.nan,
                   crps=float(sr.crps_ensemble(f(np.float64(r["value"])), f(sim))))
        for b in ("interp", "growth"):
            base = r.get(f"baseline_{b}")
            row[f"crps_{b}"] = abs(float(f(np.float64(base)) - f(np.float64(r["value"])))) \
                if base is not None and not pd.isna(base) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- events

def _window_months(ens: Ensemble, start, end) -> np.ndarray | None:
    return ens._mask(pd.Timestamp(start), pd.Timestamp(end))


def score_events(ens: Ensemble, record: Record, period: tuple | None = None) -> pd.DataFrame:
    import scoringrules as sr
    from scipy.stats import poisson
    counts = record.event_counts(ens.focal)
    wins = record.windows.set_index("id")
    modelled = {c.split(".", 1)[1] for c in ens.columns if c.startswith("events.") and c != "events.total"}
    months_of = {w: n_months(wins.loc[w, "start"], wins.loc[w, "end"]) for w in counts.index}
    rows = []
    types = [t for t in counts.columns if counts[t].sum() > 0 or t in modelled]
    for w in counts.index:
        w_start, w_end = wins.loc[w, "start"], wins.loc[w, "end"]
        if period is not None and not (w_start >= period[0] and w_end <= period[1]):
            continue
        mask = _window_months(ens, w_start, w_end)
        others = [o for o in counts.index if o != w]
        for t in types + ["total"]:
            if t == "total":
                obs = int(counts.loc[w, [c for c in counts.columns if c in modelled]].sum())
                obs_other = counts.loc[others, [c for c in counts.columns if c in modelled]].sum().sum()
            else:
                obs = int(counts.loc[w, t])
                obs_other = counts.loc[others, t].sum()
            row = dict(window=w, type=t, observed=obs, start=w_start, end=w_end)
            if t != "total" and t not in modelled:
                row["status"] = "not modelled"
                rows.append(row)
                continue
            if mask is None:
                row["status"] = "outside simulated period"
                rows.append(row)
                continue
            col = "events.total" if t == "total" else f"events.{t}"
            sim = ens.window_total(col, mask)
            q5, q50, q95 = np.percentile(sim, [5, 50, 95])
            p = ((sim == obs).sum() + 0.5) / (len(sim) + 1.0)
            lam = (obs_other + 0.5) / sum(months_of[o] for o in others) * months_of[w] if others else np.nan
            p_base = max(float(poisson.pmf(obs, lam)), 1e-12) if not np.isnan(lam) else np.nan
            row.update(status="scored", median=q50, q05=q5, q95=q95, in90=bool(q5 <= obs <= q95),
                       ignorance=-math.log2(p), crps=float(sr.crps_ensemble(np.float64(obs), sim.astype(float))),
                       baseline_rate=lam, ignorance_baseline=-math.log2(p_base) if not np.isnan(p_base) else np.nan,
                       crps_baseline=float(sr.crps_poisson(np.float64(obs), max(lam, 1e-9)))
                       if not np.isnan(lam) else np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- milestones

def score_milestones(ens: Ensemble, record: Record, period: tuple | None = None) -> pd.DataFrame:
    ev = record.involving(ens.focal)
    ev = ev[ev["window"].astype(str) == "narrative"]     # chronology windows are scored as counts
    modelled = {c.split(".", 1)[1] for c in ens.columns if c.startswith("events.") and c != "events.total"}
    counts = record.event_counts(ens.focal)
    wins = record.windows.set_index("id")
    total_months = sum(n_months(wins.loc[w, "start"], wins.loc[w, "end"]) for w in counts.index)
    rows, seen = [], set()
    for _, e in ev.iterrows():
        t = str(e["type"])
        if t not in modelled:
            continue
        start = pd.Timestamp(e["start"])
        if str(e["precision"]) == "year":
            p0, p1 = pd.Timestamp(year=start.year, month=1, day=1), pd.Timestamp(year=start.year, month=12, day=31)
            span = "year"
        else:
            qs = (start.month - 1) // 3 * 3 + 1
            p0 = pd.Timestamp(year=start.year, month=qs, day=1)
            p1 = p0 + pd.offsets.QuarterEnd(0)
            span = "quarter"
        if period is not None and not (p0 >= period[0] and p1 <= period[1]):
            continue
        if any(et == t and p0 <= em <= p1 for et, em in ens.emitted):
            continue          # the scenario schedules it: an input, not a prediction
        if (t, p0) in seen:
            continue          # one question per type and period: "did at least one happen?"
        seen.add((t, p0))
        mask = _window_months(ens, p0, p1)
        if mask is None:
            continue
        sim = ens.window_total(f"events.{t}", mask)
        p = float((sim > 0).mean())
        months = mask.sum()
        lam = (counts[t].sum() + 0.5) / total_months * months if t in counts.columns else 0.0
        p_base = 1.0 - math.exp(-lam)
        rows.append(dict(id=e["id"], type=t, date=start.date().isoformat(), span=span, period_start=p0,
                         probability=p, brier=(1.0 - p) ** 2, probability_baseline=p_base,
                         brier_baseline=(1.0 - p_base) ** 2, source=e["source"], note=e["note"]))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- scorecard

@dataclass
class Scorecard:
    scenario: str
    scenario_hash: str
    members: int
    series: pd.DataFrame
    events: pd.DataFrame
    milestones: pd.DataFrame
    period: tuple | None = None
    seeds: tuple = ()
    record: str = ""
    record_hash: str = ""
    base_seed: int | None = None

    def overall(self) -> dict:
        out: dict = {"scenario": self.scenario, "members": self.members}
        s = self.series
        if len(s):
            s = s[s.get("status", pd.Series(dtype=str)) == "scored"]
        if len(s):
            lv = s[s["scale"] != "linear"]
            out["series_scored"] = int(len(s))
            out["series_coverage50"] = float(s["in50"].mean())
            out["series_coverage90"] = float(s["in90"].mean())
            out["series_median_abs_bias"] = float(s["bias"].abs().median())
            if len(lv):
                out["series_crps_log"] = float(lv["crps"].mean())
                for b in ("interp", "growth"):
                    ok = lv[f"crps_{b}"].notna()
                    if ok.any():
                        base = float(lv.loc[ok, f"crps_{b}"].mean())
                        out[f"series_crps_log_{b}"] = base
                        out[f"series_skill_{b}"] = 1.0 - float(lv.loc[ok, "crps"].mean()) / base if base > 0 else np.nan
        e = self.events[self.events["status"] == "scored"] if len(self.events) else self.events
        if len(e):
            cells = e[e["type"] != "total"]
            out["event_cells_scored"] = int(len(cells))
            out["events_coverage90"] = float(cells["in90"].mean())
            out["events_ignorance"] = float(cells["ignorance"].mean())
            out["events_ignorance_baseline"] = float(cells["ignorance_baseline"].mean())
            out["events_skill_ignorance"] = 1.0 - out["events_ignorance"] / out["events_ignorance_baseline"]
            out["events_crps"] = float(cells["crps"].mean())
            out["events_crps_baseline"] = float(cells["crps_baseline"].mean())
            out["events_skill_crps"] = 1.0 - out["events_crps"] / out["events_crps_baseline"]
            tot = e[e["type"] == "total"]
            out["events_total_coverage90"] = float(tot["in90"].mean())
        if len(self.milestones):
            out["milestones_scored"] = int(len(self.milestones))
            out["milestones_brier"] = float(self.milestones["brier"].mean())
            out["milestones_brier_baseline"] = float(self.milestones["brier_baseline"].mean())
            out["milestones_skill"] = 1.0 - out["milestones_brier"] / out["milestones_brier_baseline"]
        return out

    def overall_line(self) -> str:
        return overall_line(self.scenario, self.overall())

    def to_dict(self) -> dict:
        def records(df):
            return json.loads(df.to_json(orient="records", date_format="iso")) if len(df) else []
        return {"scenario": self.scenario, "scenario_hash": self.scenario_hash, "members": self.members,
                "base_seed": self.base_seed,
                # a million seeds would make a 10 MB file: past SEEDS_LISTED they are in the run's replicates.parquet
                "seeds": [int(x) for x in self.seeds] if len(self.seeds) <= SEEDS_LISTED else None,
                "record": self.record, "record_hash": self.record_hash,
                "versions": package_versions(),
                "period": [str(p.date()) for p in self.period] if self.period else None,
                "overall": self.overall(), "series": records(self.series), "events": records(self.events),
                "milestones": records(self.milestones)}

    def save(self, folder: str | Path) -> dict[str, Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / "scorecard.json"}
        paths["json"].write_text(json.dumps(self.to_dict(), indent=1, default=_json_default) + "\n")
        for name in ("series", "events", "milestones"):
            df = getattr(self, name)
            if len(df):
                paths[name] = folder / f"scores_{name}.parquet"
                df.to_parquet(paths[name], index=False)
        return paths


def overall_line(label: str, o: dict) -> str:
    """One line per scorecard: what a reader scans first."""
    parts = [f"{label}:"]
    if "series_scored" in o:
        parts.append(f"series n={o['series_scored']} CRPS(log) {o.get('series_crps_log', float('nan')):.3f} "
                     f"skill vs interp {o.get('series_skill_interp', float('nan')):+.2f}, "
                     f"vs growth {o.get('series_skill_growth', float('nan')):+.2f}, "
                     f"cover50 {o['series_coverage50']:.0%} cover90 {o['series_coverage90']:.0%}")
    if "event_cells_scored" in o:
        parts.append(f"| events n={o['event_cells_scored']} ign {o['events_ignorance']:.2f} "
                     f"vs Poisson {o['events_ignorance_baseline']:.2f} "
                     f"(skill {o['events_skill_ignorance']:+.2f}), cover90 {o['events_coverage90']:.0%}")
    if "milestones_scored" in o:
        parts.append(f"| milestones n={o['milestones_scored']} Brier {o['milestones_brier']:.3f} "
                     f"vs {o['milestones_brier_baseline']:.3f} (skill {o['milestones_skill']:+.2f})")
    return " ".join(parts)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


def score(ens: Ensemble, record: Record, period: tuple | None = None) -> Scorecard:
    """Score an ensemble; ``period=(start, end)`` keeps only evidence that lies wholly inside it."""
    pair = getattr(record, "pair", None)
    if pair is not None and set(pair) != set(ens.focal):
        raise UserError(f"the record is about {'-'.join(pair)} but the scenario's focal pair is "
                        f"{'-'.join(ens.focal)}", path="meta.focal")
    if period is not None:
        period = (pd.Timestamp(period[0]), pd.Timestamp(period[1]))
    return Scorecard(ens.name, ens.scenario_hash, ens.n_members, score_series(ens, record, period),
                     score_events(ens, record, period), score_milestones(ens, record, period), period,
                     tuple(ens.seeds), str(record.folder), record.content_hash, ens.base_seed)


def format_scorecard(card: Scorecard) -> str:
    lines = [card.overall_line(), ""]
    s = card.series
    if len(s):
        lines.append("series (observed vs ensemble median [90%]; CRPS on the series' scale; baselines' abs. error)")
        for _, r in s.iterrows():
            label = f"  {r['id'][:34]:34s} {str(r['start'])[:7]}..{str(r['end'])[:7]}"
            if r["status"] != "scored":
                lines.append(f"{label} obs {r['observed']:8.2f}  ({r['status']})")
                continue
            lines.append(f"{label} obs {r['observed']:8.2f}  sim {r['median']:8.2f} [{r['q05']:7.2f}, {r['q95']:7.2f}]"
                         f"  {'in90' if r['in90'] else '    '}  crps {r['crps']:.3f}"
                         f"  interp {r['crps_interp']:.3f}  growth {r['crps_growth']:.3f}")
    e = card.events
    if len(e):
        lines.append("")
        lines.append("events per chronology window (recorded vs simulated median [90%]; ignorance model / Poisson)")
        sc = e[e["status"] == "scored"]
        for w, g in sc.groupby("window", sort=False):
            tot = g[g["type"] == "total"].iloc[0]
            lines.append(f"  {w}: total {tot['observed']} vs {tot['median']:.0f} [{tot['q05']:.0f}, {tot['q95']:.0f}]")
            cells = ", ".join(f"{r['type']} {r['observed']}/{r['median']:.0f}" for _, r in g.iterrows()
                              if r["type"] != "total" and (r["observed"] or r["median"]))
            lines.append(f"    {cells}")
        nm = e[e["status"] == "not modelled"]
        if len(nm):
            lines.append("  recorded but not modelled: " + ", ".join(
                f"{t} ({int(n)})" for t, n in nm.groupby("type")["observed"].sum().items() if n))
    m = card.milestones
    if len(m):
        lines.append("")
        lines.append(f"milestones: {len(m)} dated events; mean P(model produces one in that {m['span'].iloc[0]}+) "
                     f"{m['probability'].mean():.2f} vs baseline {m['probability_baseline'].mean():.2f}")
    return "\n".join(lines)


def side_by_side(cards: list[Scorecard]) -> str:
    """Several scorecards in columns, with each recorded series' medians: how scenarios differ on the evidence."""
    rows = [("", [c.scenario for c in cards])]
    keys = ["series_crps_log", "series_skill_interp", "series_skill_growth", "series_coverage50",
            "series_coverage90", "events_ignorance", "events_ignorance_baseline", "events_skill_ignorance",
            "events_coverage90", "milestones_brier", "milestones_skill"]
    overall = [c.overall() for c in cards]
    for k in keys:
        if any(k in o for o in overall):
            rows.append((k, [f"{o[k]:.3f}" if k in o else "–" for o in overall]))
    width = max(len(r[0]) for r in rows)
    colw = max(12, *(len(c.scenario) for c in cards))
    lines = ["side by side (lower CRPS/ignorance/Brier is better; skill > 0 beats the baseline)"]
    for name, vals in rows:
        lines.append(f"  {name:{width}s}  " + "  ".join(f"{v:>{colw}s}" for v in vals))
    s0 = cards[0].series
    if len(s0):
        lines.append("  series medians:")
        ids = s0.loc[s0["status"] == "scored", "id"]
        for i in ids:
            obs = s0.loc[s0["id"] == i, "observed"].iloc[0]
            meds = []
            for c in cards:
                m = c.series.loc[c.series["id"] == i, "median"]
                meds.append(f"{m.iloc[0]:.2f}" if len(m) and not np.isnan(m.iloc[0]) else "–")
            lines.append(f"    {i[:30]:30s} obs {obs:8.2f}  " + "  ".join(f"{v:>{colw}s}" for v in meds))
    return "\n".join(lines)
