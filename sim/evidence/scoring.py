"""Score an ensemble of runs against the historical record.

Three kinds of evidence, each scored only where the record speaks, and every
row of the record accounted for (scored, or listed with the reason it is not):

* **series** — quantitative observations against the ensemble's values for
  the same pair and the same months (a half-year figure is compared with the
  same half of the simulated year). Which record quantities the model
  simulates is declared by the mechanisms (``Observable``); any other quantity
  is listed as "not modelled" with the quantities that are. Scores: CRPS (on
  log scale for money, so a 1999 figure of $5 bn and a 2014 figure of $95 bn
  weigh alike), whether the observation lies in the central 50% and 90%
  intervals, and the median's relative bias. Naive baselines
  (:mod:`sim.evidence.baselines`), leave-one-out on the other recorded figures
  of the same series: straight-line interpolation, held flat outside the other
  figures' range, and constant growth; rows predicted outside that range are
  marked ``baseline_extrapolated``. Their CRPS is the absolute error of a
  point forecast. A figure at or below zero on a log scale, or a growth rate
  whose simulated base year is zero, is listed, not scored.
* **events** — per chronology window and event type, the recorded count of
  the pair's events against the simulated distribution: 90% interval,
  ignorance (-log2 of the ensemble's predictive probability of the recorded
  count, smoothed as (n_equal + 0.5) / (M + 1) so that an unseen count is
  penalised but finite) and CRPS. Events the scenario schedules (calendars,
  organisation summits, timeline entries; see :mod:`sim.evidence.ensemble`)
  are inputs, not predictions: the model's scheduled channels are left out of
  the simulated count, and the number the scenario schedules in the window
  (the ensemble's mean, rounded) is taken off the recorded count, never below
  zero (columns ``recorded``, ``scheduled``, ``observed`` = what is compared).
  A type the model produces only from schedules is listed as "scheduled
  only". Baseline: a constant Poisson rate per type estimated from the
  *other* recorded windows (leave one window out, on the same
  schedule-adjusted counts), with half an event added to their count so that
  a type they never saw does not get rate zero (which would cost the baseline
  ~40 bits and flatter the model). Outside the windows the record is silent
  and nothing is scored; a period with no window scores no events.
* **milestones** — dated one-off events from the record's narrative (the
  chronology windows are already scored as counts) of a type the model
  predicts, excluding those the scenario itself schedules: Brier score of
  "at least one such event in that quarter" (in that year for year-precision
  dates), one question per type and period, against the constant-rate
  baseline. The narrative only lists what happened, so every question is a
  "yes": the Brier score rewards a model that makes such events likely, and a
  model that produced them everywhere would score well — read it beside the
  event counts, which punish excess.

Proper scores come from ``scoringrules`` (crps_ensemble, crps_poisson).
Skill = 1 - score / baseline score, from the mean scores over all scored
items with a baseline; positive means the model beats the baseline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scoringrules as sr
from scipy.stats import poisson

from sim.core.columns import unit_of
from sim.core.errors import UserError
from sim.core.files import atomic_write, write_text
from sim.core.mechanisms import registry
from sim.core.provenance import package_versions
from sim.evidence.baselines import n_months, poisson_rate, series_baselines
from sim.evidence.ensemble import SCHEDULED_ORIGINS, Ensemble
from sim.evidence.record import Record
from sim.evidence.transforms import TRANSFORMS

__all__ = ["Ensemble", "SCHEDULED_ORIGINS", "n_months", "series_observations", "unscored_observations",
           "simulated_value", "score_series", "score_events", "score_milestones", "Scorecard", "score",
           "overall_line", "format_scorecard", "side_by_side", "record_coverage"]

MONEY_UNITS = {"bn USD": 1.0, "m USD": 1e-3}
SERIES_COLUMNS = ["id", "quantity", "column", "start", "end", "observed", "scale", "source", "status", "reason"]
EVENT_COLUMNS = ["window", "type", "recorded", "scheduled", "observed", "start", "end", "status", "reason"]
MILESTONE_COLUMNS = ["id", "type", "date", "span", "period_start", "status", "reason", "probability", "brier",
                     "probability_baseline", "brier_baseline", "source", "note"]
LOG_SCALES = ("log",)


# ---------------------------------------------------------------- series

def simulated_quantities() -> dict[str, str]:
    """Record quantity -> the mechanism that simulates it (the mechanisms' ``observables``)."""
    return {ob.quantity: mech.name for mech in registry() for ob in mech.observables}


def _series_spec(row) -> tuple[tuple[str, bool, str, float] | None, str]:
    """((column, column is an annual rate, scale, unit factor), "") for an observation the model
    simulates, else (None, why not). The mechanisms declare which record quantities their columns
    simulate (``observables``); nothing else is read."""
    q = row["quantity"]
    actors = [a for a in str(row["actors"]).split(";") if a]
    for mech in registry():
        for ob in mech.observables:
            if ob.quantity == q:
                column = ob.column(actors, row["exporter"] or "", row["importer"] or "")
                if column:
                    return (column, ob.rate, ob.scale, 1.0), ""
                return None, (f"the {mech.name} mechanism simulates '{q}' only for rows naming what its column "
                              f"needs (actors, or exporter and importer); this row does not")
    return None, f"no mechanism simulates '{q}'"


def _money_factor(unit: str, column: str, scale: str) -> tuple[float | None, str]:
    """Factor to the column's unit; (None, why) for a money figure in a unit the model does not use.
    Rates of change (linear scale: growth in percent) are unit-free."""
    if scale == "linear" or not unit_of(column).startswith("bn USD"):
        return 1.0, ""
    if unit in MONEY_UNITS:
        return MONEY_UNITS[unit], ""
    return None, f"unit '{unit}' is not convertible to the model's bn USD ({', '.join(MONEY_UNITS)} are)"


def _classify_observations(record: Record) -> tuple[list[dict], list[dict]]:
    """(scorable rows, unscored rows with status and reason) of the record's observations."""
    scorable, unscored = [], []
    for _, r in record.observations.iterrows():
        base = dict(id=r["id"], quantity=str(r["quantity"]), start=r["period_start"], end=r["period_end"],
                    observed=float(r["value"]), source=r["source"], column="", scale="")
        kind = str(r["kind"])
        if kind != "observation":
            why = "a target (a goal or plan), not an observation" if kind == "target" else \
                "derived from other rows, not an observation"
            unscored.append(dict(base, status="not scored", reason=why))
            continue
        spec, why = _series_spec(r)
        factor = None
        if spec is not None:
            factor, why = _money_factor(str(r["unit"]), spec[0], spec[2])
        if spec is None or factor is None:
            unscored.append(dict(base, status="not modelled" if spec is None else "not scored", reason=why))
            continue
        column, is_rate, scale, _ = spec
        scorable.append(dict(id=r["id"], quantity=str(r["quantity"]), column=column, rate=is_rate, scale=scale,
                             start=r["period_start"], end=r["period_end"], value=float(r["value"]) * factor,
                             source=r["source"]))
    return scorable, unscored


def series_observations(record: Record) -> pd.DataFrame:
    """Scorable observations (one row each; same-period arms contracts summed)."""
    df = pd.DataFrame(_classify_observations(record)[0])
    if df.empty:
        return df
    arms = df["quantity"] == "arms_contract_value"
    if arms.any():
        grouped = (df[arms].groupby(["column", "start", "end"], as_index=False)
                   .agg(id=("id", "+".join), quantity=("quantity", "first"), rate=("rate", "first"),
                        scale=("scale", "first"), value=("value", "sum"), source=("source", "; ".join)))
        df = pd.concat([df[~arms], grouped], ignore_index=True)
    return df


def unscored_observations(record: Record) -> pd.DataFrame:
    """Observation rows the series scores cannot use, each with its status and reason."""
    return pd.DataFrame(_classify_observations(record)[1], columns=SERIES_COLUMNS)


def simulated_value(ens: Ensemble, r) -> np.ndarray | None:
    if r["quantity"].endswith("_growth_yoy"):
        now = ens.period_total(r["column"], r["start"], r["end"], r["rate"])
        before = ens.period_total(r["column"], r["start"] - pd.DateOffset(years=1),
                                  r["end"] - pd.DateOffset(years=1), r["rate"])
        if now is None or before is None:
            return None
        return 100.0 * (now / np.maximum(before, 1e-12) - 1.0)
    return ens.period_total(r["column"], r["start"], r["end"], r["rate"])


def _unscorable(ens: Ensemble, r) -> str:
    """Why a modelled row cannot be scored against this ensemble ("" when it can)."""
    if r["scale"] in LOG_SCALES and r["value"] <= 0:
        return f"a value of {r['value']:g} cannot be compared on a log scale"
    if r["quantity"].endswith("_growth_yoy"):
        before = ens.period_total(r["column"], r["start"] - pd.DateOffset(years=1),
                                  r["end"] - pd.DateOffset(years=1), r["rate"])
        if before is not None and (before <= 1e-12).any():
            return "the simulated flow a year earlier is zero in some replicates: no growth rate"
    return ""


def _with_baselines(df: pd.DataFrame) -> pd.DataFrame:
    # Baselines see every recorded figure of the series, scored or not (the record is what it is).
    levels = df[df["scale"] != "linear"]
    cols = ["id", "baseline_interp", "baseline_growth", "baseline_extrapolated"]
    if len(levels):
        base = pd.concat([series_baselines(g) for _, g in levels.groupby("column")])[cols]
        return df.merge(base, on="id", how="left")
    return df.assign(baseline_interp=np.nan, baseline_growth=np.nan, baseline_extrapolated=False)


def _score_row(ens: Ensemble, r) -> dict:
    row = dict(id=r["id"], quantity=r["quantity"], column=r["column"], start=r["start"], end=r["end"],
               observed=r["value"], scale=r["scale"], source=r["source"], reason="")
    sim = simulated_value(ens, r)
    if sim is None:
        outside = r["column"] in ens.columns
        return dict(row, status="outside simulated period" if outside else "not modelled",
                    reason="the period is not wholly inside the run" if outside else
                    f"this scenario has no column {r['column']}")
    why = _unscorable(ens, r)
    if why:
        return dict(row, status="not scored", reason=why)
    q = np.percentile(sim, [5, 25, 50, 75, 95])
    f = TRANSFORMS[r["scale"]]
    row.update(status="scored", median=q[2], q05=q[0], q95=q[4],
               in50=bool(q[1] <= r["value"] <= q[3]), in90=bool(q[0] <= r["value"] <= q[4]),
               bias=(q[2] - r["value"]) / abs(r["value"]) if abs(r["value"]) > 1e-12 else np.nan,
               crps=float(sr.crps_ensemble(f(np.float64(r["value"])), f(sim))),
               baseline_extrapolated=bool(r.get("baseline_extrapolated") is True))
    for b in ("interp", "growth"):
        base = r.get(f"baseline_{b}")
        row[f"crps_{b}"] = abs(float(f(np.float64(base)) - f(np.float64(r["value"])))) \
            if base is not None and not pd.isna(base) else np.nan
    return row


def _inside(period, start, end) -> bool:
    return period is None or (start >= period[0] and end <= period[1])


def score_series(ens: Ensemble, record: Record, period: tuple | None = None) -> pd.DataFrame:
    """One row per recorded observation in the period: scored, or its status and reason."""
    df = series_observations(record)
    rows = []
    if len(df):
        df = _with_baselines(df)
        rows = [_score_row(ens, r) for _, r in df.iterrows() if _inside(period, r["start"], r["end"])]
    rest = unscored_observations(record)
    rows += [r for r in rest.to_dict("records") if _inside(period, r["start"], r["end"])]
    out = pd.DataFrame(rows)
    return out if len(out) else pd.DataFrame(columns=SERIES_COLUMNS)


# ---------------------------------------------------------------- events

def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _adjusted_counts(ens: Ensemble, record: Record, counts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scheduled, recorded minus scheduled never below zero) per window and type. The scheduled number
    of a window is the ensemble's mean count of the scenario's scheduled channels there, rounded; a
    window outside the run has none the run could know."""
    wins = record.windows.set_index("id")
    sched = pd.DataFrame(0, index=counts.index, columns=counts.columns)
    for w in counts.index:
        mask = ens._mask(wins.loc[w, "start"], wins.loc[w, "end"])
        if mask is None:
            continue
        for t in ens.scheduled:
            if t in sched.columns:
                sched.loc[w, t] = _half_up(float(ens.scheduled_count(t, mask).mean()))
    return sched, (counts - sched).clip(lower=0)


def _event_cell(ens, t, w, mask, obs: int, lam: float) -> dict:
    """Scores of one window-type cell (or the total) given the compared count and the baseline's rate."""
    if t == "total":
        sim = sum((ens.predicted_count(x, mask) for x in sorted(ens.predicted_types())), np.zeros(ens.n_members))
    else:
        sim = ens.predicted_count(t, mask)
    q5, q50, q95 = np.percentile(sim, [5, 50, 95])
    p = ((sim == obs).sum() + 0.5) / (len(sim) + 1.0)
    p_base = max(float(poisson.pmf(obs, lam)), 1e-12) if not np.isnan(lam) else np.nan
    return dict(status="scored", median=q50, q05=q5, q95=q95, in90=bool(q5 <= obs <= q95),
                ignorance=-math.log2(p), crps=float(sr.crps_ensemble(np.float64(obs), sim.astype(float))),
                baseline_rate=lam, ignorance_baseline=-math.log2(p_base) if not np.isnan(p_base) else np.nan,
                crps_baseline=float(sr.crps_poisson(np.float64(obs), max(lam, 1e-9))) if not np.isnan(lam) else np.nan)


def _cell_status(ens: Ensemble, t: str, mask) -> tuple[str, str]:
    if t != "total" and t not in ens.event_types():
        return "not modelled", f"no channel of the model produces '{t}' events"
    if t != "total" and t not in ens.predicted_types():
        return "scheduled only", (f"every '{t}' event the model produces is scheduled by the scenario "
                                  f"({', '.join(sorted(SCHEDULED_ORIGINS))}): nothing to predict")
    if mask is None:
        return "outside simulated period", "the window is not wholly inside the run"
    return "", ""


def score_events(ens: Ensemble, record: Record, period: tuple | None = None) -> pd.DataFrame:
    counts = record.event_counts(ens.focal)
    wins = record.windows.set_index("id")
    predicted = [t for t in counts.columns if t in ens.predicted_types()]
    sched, adjusted = _adjusted_counts(ens, record, counts)
    adjusted["total"] = adjusted[predicted].sum(axis=1)
    sched["total"] = sched[predicted].sum(axis=1)
    counts = counts.assign(total=counts[predicted].sum(axis=1))
    months_of = {w: n_months(wins.loc[w, "start"], wins.loc[w, "end"]) for w in counts.index}
    types = [t for t in counts.columns if t != "total" and (counts[t].sum() > 0 or t in ens.event_types())]
    rows = []
    for w in counts.index:
        w_start, w_end = wins.loc[w, "start"], wins.loc[w, "end"]
        if not _inside(period, w_start, w_end):
            continue
        mask = ens._mask(w_start, w_end)
        for t in types + ["total"]:
            row = dict(window=w, type=t, recorded=int(counts.loc[w, t]), scheduled=int(sched.loc[w, t]),
                       observed=int(adjusted.loc[w, t]), start=w_start, end=w_end)
            status, reason = _cell_status(ens, t, mask)
            if status:
                rows.append(dict(row, status=status, reason=reason))
                continue
            lam = poisson_rate(adjusted[t], months_of, w)
            rows.append(dict(row, reason="", **_event_cell(ens, t, w, mask, row["observed"], lam)))
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=EVENT_COLUMNS)


# ---------------------------------------------------------------- milestones

def _milestone_period(e) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    start = pd.Timestamp(e["start"])
    if str(e["precision"]) == "year":
        return (pd.Timestamp(year=start.year, month=1, day=1), pd.Timestamp(year=start.year, month=12, day=31),
                "year")
    p0 = pd.Timestamp(year=start.year, month=(start.month - 1) // 3 * 3 + 1, day=1)
    return p0, p0 + pd.offsets.QuarterEnd(0), "quarter"


def _schedules(ens: Ensemble, t: str, p0, p1, mask) -> bool:
    """Does the scenario schedule a ``t`` event in [p0, p1] (an emitted timeline event, a calendar)?"""
    if any(et == t and p0 <= em <= p1 for et, em in ens.emitted):
        return True
    return mask is not None and bool(ens.scheduled_count(t, mask).sum() > 0)


def _milestone_status(ens: Ensemble, e, p0, p1, span, mask, seen: dict) -> tuple[str, str]:
    t = str(e["type"])
    if t not in ens.event_types():
        return "not modelled", f"no channel of the model produces '{t}' events"
    if t not in ens.predicted_types():
        return "scheduled only", f"every '{t}' event the model produces is scheduled by the scenario"
    if mask is None:
        return "outside simulated period", f"the {span} is not wholly inside the run"
    if _schedules(ens, t, p0, p1, mask):
        return "scheduled", f"the scenario schedules a '{t}' event in that {span}: an input, not a prediction"
    if (t, p0) in seen:
        return "same question", f"one question per type and {span}: asked for {seen[(t, p0)]}"
    return "", ""


def score_milestones(ens: Ensemble, record: Record, period: tuple | None = None) -> pd.DataFrame:
    ev = record.involving(ens.focal)
    ev = ev[ev["window"].astype(str) == "narrative"]     # chronology windows are scored as counts
    counts = record.event_counts(ens.focal)
    wins = record.windows.set_index("id")
    total_months = sum(n_months(wins.loc[w, "start"], wins.loc[w, "end"]) for w in counts.index)
    rows, seen = [], {}
    for _, e in ev.iterrows():
        t = str(e["type"])
        p0, p1, span = _milestone_period(e)
        if not _inside(period, p0, p1):
            continue
        mask = ens._mask(p0, p1)
        row = dict(id=e["id"], type=t, date=pd.Timestamp(e["start"]).date().isoformat(), span=span,
                   period_start=p0, source=e["source"], note=e["note"])
        status, reason = _milestone_status(ens, e, p0, p1, span, mask, seen)
        if status:
            rows.append(dict(row, status=status, reason=reason))
            continue
        seen[(t, p0)] = e["id"]
        p = float((ens.columns[f"events.{t}"][:, mask].sum(axis=1) > 0).mean())
        lam = (counts[t].sum() + 0.5) / total_months * mask.sum() if total_months and t in counts.columns else 0.0
        p_base = 1.0 - math.exp(-lam)
        rows.append(dict(row, status="scored", reason="", probability=p, brier=(1.0 - p) ** 2,
                         probability_baseline=p_base, brier_baseline=(1.0 - p_base) ** 2))
    return pd.DataFrame(rows, columns=MILESTONE_COLUMNS) if rows else pd.DataFrame(columns=MILESTONE_COLUMNS)


# ---------------------------------------------------------------- scorecard

def _scored(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "scored"] if len(df) and "status" in df.columns else df.iloc[0:0]


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
    coverage: pd.DataFrame | None = None

    def overall(self) -> dict:
        out: dict = {"scenario": self.scenario, "members": self.members}
        out.update(_overall_series(_scored(self.series)))
        out.update(_overall_events(_scored(self.events)))
        m = _scored(self.milestones)
        if len(m):
            out["milestones_scored"] = int(len(m))
            out["milestones_brier"] = float(m["brier"].mean())
            out["milestones_brier_baseline"] = float(m["brier_baseline"].mean())
            out["milestones_skill"] = 1.0 - out["milestones_brier"] / out["milestones_brier_baseline"]
        if self.coverage is not None and len(self.coverage):
            used = self.coverage["status"].str.startswith("scored")
            out["record_rows"] = int(len(self.coverage))
            out["record_rows_scored"] = int(used.sum())
        return out

    def overall_line(self) -> str:
        return overall_line(self.scenario, self.overall())

    def to_dict(self) -> dict:
        def records(df):
            return json.loads(df.to_json(orient="records", date_format="iso")) if df is not None and len(df) else []
        return {"scenario": self.scenario, "scenario_hash": self.scenario_hash, "members": self.members,
                "base_seed": self.base_seed, "seeds": [int(x) for x in self.seeds],
                "record": self.record, "record_hash": self.record_hash,
                "versions": package_versions(),
                "period": [str(p.date()) for p in self.period] if self.period else None,
                "overall": self.overall(), "series": records(self.series), "events": records(self.events),
                "milestones": records(self.milestones), "record_coverage": records(self.coverage)}

    def save(self, folder: str | Path) -> dict[str, Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / "scorecard.json"}
        write_text(paths["json"], json.dumps(self.to_dict(), indent=1, default=_json_default) + "\n")
        for name in ("series", "events", "milestones", "coverage"):
            df = getattr(self, name)
            if df is not None and len(df):
                paths[name] = folder / f"scores_{name}.parquet"
                table = df.astype({c: str for c in df.columns if df[c].dtype == object})
                atomic_write(paths[name], lambda tmp, table=table: table.to_parquet(tmp, index=False))
        return paths


def _overall_series(s: pd.DataFrame) -> dict:
    if not len(s):
        return {}
    out: dict = {"series_scored": int(len(s)), "series_coverage50": float(s["in50"].mean()),
                 "series_coverage90": float(s["in90"].mean()),
                 "series_median_abs_bias": float(s["bias"].abs().median())}
    lv = s[s["scale"] != "linear"]
    if len(lv):
        out["series_crps_log"] = float(lv["crps"].mean())
        for b in ("interp", "growth"):
            ok = lv[f"crps_{b}"].notna()
            if ok.any():
                base = float(lv.loc[ok, f"crps_{b}"].mean())
                out[f"series_crps_log_{b}"] = base
                out[f"series_skill_{b}"] = 1.0 - float(lv.loc[ok, "crps"].mean()) / base if base > 0 else np.nan
        ok = lv["crps_interp"].notna()
        out["series_baseline_rows"] = int(ok.sum())
        out["series_baseline_extrapolated"] = int(lv.loc[ok, "baseline_extrapolated"].astype(bool).sum())
    return out


def _overall_events(e: pd.DataFrame) -> dict:
    cells = e[e["type"] != "total"] if len(e) else e
    if not len(cells):
        return {}
    out: dict = {"event_cells_scored": int(len(cells)), "events_coverage90": float(cells["in90"].mean()),
                 "events_ignorance": float(cells["ignorance"].mean()),
                 "events_crps": float(cells["crps"].mean())}
    if cells["ignorance_baseline"].notna().any():
        out["events_ignorance_baseline"] = float(cells["ignorance_baseline"].mean())
        out["events_skill_ignorance"] = 1.0 - out["events_ignorance"] / out["events_ignorance_baseline"]
        out["events_crps_baseline"] = float(cells["crps_baseline"].mean())
        out["events_skill_crps"] = 1.0 - out["events_crps"] / out["events_crps_baseline"]
    tot = e[e["type"] == "total"]
    if len(tot):
        out["events_total_coverage90"] = float(tot["in90"].mean())
    return out


def overall_line(label: str, o: dict) -> str:
    """One line per scorecard: what a reader scans first."""
    parts = [f"{label}:"]
    if "series_scored" in o:
        extra = f" ({o['series_baseline_extrapolated']} of {o['series_baseline_rows']} baseline rows extrapolated)" \
            if o.get("series_baseline_extrapolated") else ""
        parts.append(f"series n={o['series_scored']} CRPS(log) {o.get('series_crps_log', float('nan')):.3f} "
                     f"skill vs interp {o.get('series_skill_interp', float('nan')):+.2f}, "
                     f"vs growth {o.get('series_skill_growth', float('nan')):+.2f}{extra}, "
                     f"cover50 {o['series_coverage50']:.0%} cover90 {o['series_coverage90']:.0%}")
    else:
        parts.append("no recorded series in the period")
    if "event_cells_scored" in o:
        parts.append(f"| events n={o['event_cells_scored']} ign {o['events_ignorance']:.2f} "
                     f"vs Poisson {o.get('events_ignorance_baseline', float('nan')):.2f} "
                     f"(skill {o.get('events_skill_ignorance', float('nan')):+.2f}), "
                     f"cover90 {o['events_coverage90']:.0%}")
    else:
        parts.append("| no chronology window in the period")
    if "milestones_scored" in o:
        parts.append(f"| milestones n={o['milestones_scored']} Brier {o['milestones_brier']:.3f} "
                     f"vs {o['milestones_brier_baseline']:.3f} (skill {o['milestones_skill']:+.2f})")
    if "record_rows" in o:
        parts.append(f"| record rows used {o['record_rows_scored']}/{o['record_rows']}")
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
    series, events = score_series(ens, record, period), score_events(ens, record, period)
    milestones = score_milestones(ens, record, period)
    return Scorecard(ens.name, ens.scenario_hash, ens.n_members, series, events, milestones, period,
                     tuple(ens.seeds), str(record.folder), record.content_hash, ens.base_seed,
                     record_coverage(record, ens.focal, series, events, milestones, period))


def record_coverage(record: Record, focal, series: pd.DataFrame, events: pd.DataFrame,
                    milestones: pd.DataFrame, period: tuple | None = None) -> pd.DataFrame:
    """Every row of the record inside the period: how the scorecard used it, or why it did not."""
    rows = []
    for _, r in series.iterrows():
        for rid in str(r["id"]).split("+"):
            rows.append(dict(table="observations", id=rid, status=_used(r["status"], "scored: series"),
                             reason=r.get("reason") or ""))
    cells = events.set_index(["window", "type"]) if len(events) else None
    ms = milestones.set_index("id") if len(milestones) else None
    pair = set(focal)
    for _, e in record.events.iterrows():
        if not _inside(period, e["start"], e["end"]):
            continue
        rows.append(dict(table="events", id=e["id"], **_event_use(e, pair, cells, ms)))
    return pd.DataFrame(rows, columns=["table", "id", "status", "reason"])


def _used(status: str, label: str) -> str:
    return label if status == "scored" else status


def _event_use(e, pair: set, cells, ms) -> dict:
    """How one recorded event entered the scores."""
    if not pair.issubset(str(e["actors"]).split(";")):
        return dict(status="not about the pair", reason=f"actors {e['actors']}")
    t, w = str(e["type"]), str(e["window"])
    if t == "other":
        return dict(status="not modelled", reason="type 'other': no dyadic content")
    if w == "narrative":
        if ms is None or e["id"] not in ms.index:
            return dict(status="not scored", reason="the period is outside the scored period")
        m = ms.loc[e["id"]]
        return dict(status=_used(m["status"], "scored: milestone"), reason=m.get("reason") or "")
    if cells is None or (w, t) not in cells.index:
        return dict(status="not scored", reason="its window is outside the scored period")
    c = cells.loc[(w, t)]
    return dict(status=_used(c["status"], f"scored: count in {w}"), reason=c.get("reason") or "")


def format_scorecard(card: Scorecard) -> str:
    lines = [card.overall_line(), ""]
    lines += _format_series(card.series)
    lines += _format_events(card.events)
    m = _scored(card.milestones)
    if len(m):
        lines.append("")
        lines.append(f"milestones: {len(m)} dated events; mean P(model produces one in that {m['span'].iloc[0]}+) "
                     f"{m['probability'].mean():.2f} vs baseline {m['probability_baseline'].mean():.2f}")
    if card.coverage is not None and len(card.coverage):
        lines.append("")
        lines.append("record rows not used (status: reason, rows); the mechanisms simulate "
                     + ", ".join(sorted(simulated_quantities())))
        unused = card.coverage[~card.coverage["status"].str.startswith("scored")]
        for (status, reason), g in unused.groupby(["status", "reason"], sort=True):
            ids = ", ".join(g["id"].head(4)) + (" ..." if len(g) > 4 else "")
            lines.append(f"  {status}: {reason[:110]} ({len(g)}: {ids})")
    return "\n".join(lines)


def _format_series(s: pd.DataFrame) -> list[str]:
    sc = _scored(s)
    if not len(sc):
        return ["series: none recorded in the period" if not len(s) else "series: none scored"]
    lines = ["series (observed vs ensemble median [90%]; CRPS on the series' scale; baselines' abs. error; "
             "* = baseline predicts outside the other figures' span)"]
    for _, r in sc.iterrows():
        label = f"  {r['id'][:34]:34s} {str(r['start'])[:7]}..{str(r['end'])[:7]}"
        mark = "*" if r.get("baseline_extrapolated") is True else " "
        lines.append(f"{label} obs {r['observed']:8.2f}  sim {r['median']:8.2f} [{r['q05']:7.2f}, {r['q95']:7.2f}]"
                     f"  {'in90' if r['in90'] else '    '}  crps {r['crps']:.3f}"
                     f"  interp {r['crps_interp']:.3f}{mark} growth {r['crps_growth']:.3f}{mark}")
    return lines


def _format_events(e: pd.DataFrame) -> list[str]:
    lines = [""]
    sc = _scored(e)
    if not len(sc):
        return lines + ["events: no chronology window in the period" if not len(e) else "events: none scored"]
    lines.append("events per chronology window (recorded - scheduled by the scenario = compared, vs simulated "
                 "unscheduled median [90%])")
    for w, g in sc.groupby("window", sort=False):
        tot = g[g["type"] == "total"].iloc[0]
        lines.append(f"  {w}: total {tot['recorded']} - {tot['scheduled']} = {tot['observed']} vs "
                     f"{tot['median']:.0f} [{tot['q05']:.0f}, {tot['q95']:.0f}]")
        cells = ", ".join(f"{r['type']} {r['observed']}/{r['median']:.0f}" for _, r in g.iterrows()
                          if r["type"] != "total" and (r["observed"] or r["median"]))
        lines.append(f"    {cells}")
    for status in ("not modelled", "scheduled only"):
        nm = e[e["status"] == status]
        if len(nm):
            lines.append(f"  recorded but {status}: " + ", ".join(
                f"{t} ({int(n)})" for t, n in nm.groupby("type")["recorded"].sum().items() if n))
    return lines


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
    s0 = _scored(cards[0].series)
    if len(s0):
        lines.append("  series medians:")
        for i in s0["id"]:
            obs = s0.loc[s0["id"] == i, "observed"].iloc[0]
            meds = []
            for c in cards:
                m = _scored(c.series)
                m = m.loc[m["id"] == i, "median"]
                meds.append(f"{m.iloc[0]:.2f}" if len(m) and not np.isnan(m.iloc[0]) else "–")
            lines.append(f"    {i[:30]:30s} obs {obs:8.2f}  " + "  ".join(f"{v:>{colw}s}" for v in meds))
    return "\n".join(lines)
