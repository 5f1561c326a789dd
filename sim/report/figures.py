"""Figures that put simulated runs beside the recorded history.

Each function takes an :class:`~sim.evidence.scoring.Ensemble` (and the record), draws
one figure and returns it; ``save`` writes PNG and SVG.

Figures are plain :class:`matplotlib.figure.Figure` objects, never pyplot's:
importing this module must not change the backend of the notebook or program
that uses it, nor leave figures open in pyplot's registry. A Figure needs no
backend to save itself, and Jupyter shows one returned from a cell.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import Locator

from sim.core.columns import col_alignment, col_dyad, col_trade, family_of, unit_of
from sim.core.files import atomic_write
from sim.evidence.record import Record
from sim.evidence.scoring import Ensemble, Scorecard, n_months, series_observations
from sim.run.execution import Progress, progress_enabled

BAND = "#4C72B0"
OBS = "#C44E52"
BASE = "#8C8C8C"

def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, constrained_layout: bool = False, **kw):
    """``pyplot.subplots`` without pyplot: a detached Figure and its axes."""
    fig = Figure(figsize=figsize, layout="constrained" if constrained_layout else None)
    return fig, fig.subplots(nrows, ncols, **kw)


def _unit(column: str) -> str:
    return unit_of(column)


def _title(ens: Ensemble, what: str) -> str:
    seed = f", seed {ens.base_seed}" if ens.base_seed is not None else ""
    if ens.sampled:   # a results folder keeps the monthly series of its first replicates only
        return (f"{what} — scenario {ens.name}, quantiles over the first {ens.series_members:,} "
                f"of {ens.n_members:,} replicates{seed}")
    return f"{what} — scenario {ens.name}, {ens.n_members} replicates{seed}"


def _with_series(ens: Ensemble) -> int:
    return ens.series_members if ens.sampled else ens.n_members


# YearLocator builds a dateutil rrule each time an axis is drawn, which took a third of the time of
# writing a run's figures (thousands of draws: two formats, many panels). The same ticks, the first of
# January of every (second) year in view, are looked up in a table (years 1800-2200) instead.
_YEARS = np.arange(1800, 2201)
_JAN1 = mdates.date2num(pd.to_datetime([f"{y}-01-01" for y in _YEARS]).to_pydatetime())


class _YearTicks(Locator):
    def __init__(self, every: int):
        self.ticks = _JAN1[_YEARS % every == 0]

    def __call__(self):
        lo, hi = sorted(self.axis.get_view_interval())
        return self.ticks[np.searchsorted(self.ticks, lo):np.searchsorted(self.ticks, hi, side="right")]


def _date_axis(ax) -> None:
    ax.xaxis.set_major_locator(_YearTicks(2))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.xaxis.set_minor_locator(_YearTicks(1))
    ax.grid(True, alpha=0.3)


def series_values(ens: Ensemble, column: str) -> np.ndarray:
    vals = ens.columns[column]
    fam = family_of(column)
    if fam is not None and fam.plot == "rolling12":
        # monthly amounts are spiky: show a trailing 12-month sum (a yearly rate)
        kernel = np.ones(12)
        vals = np.stack([np.convolve(v, kernel)[: len(v)] for v in vals])
    return vals


def fan_chart(ens: Ensemble, column: str, record: Record | None = None, ax=None,
              held_out: tuple | None = None):
    """Median, 50% and 90% bands over the replicates; recorded figures as points with their period as a bar.

    ``held_out=(start, end)`` shades the period calibration never saw (the hindcast).
    """
    own = ax is None
    if own:
        fig, ax = subplots(figsize=(10, 4.8), constrained_layout=True)
    else:
        fig = ax.figure
    vals = series_values(ens, column)
    q = np.percentile(vals, [5, 25, 50, 75, 95], axis=0)
    x = ens.months + pd.Timedelta(days=14)
    ax.fill_between(x, q[0], q[4], color=BAND, alpha=0.18, lw=0, label="90% of replicates")
    ax.fill_between(x, q[1], q[3], color=BAND, alpha=0.35, lw=0, label="50% of replicates")
    ax.plot(x, q[2], color=BAND, lw=1.8, label="median")
    sources = []
    if record is not None:
        obs = series_observations(record)
        obs = obs[(obs["column"] == column) & ~obs["quantity"].str.endswith("_growth_yoy")] if len(obs) else obs
        is_rate = column.startswith(("trade.", "exports."))
        for _, r in obs.iterrows():
            months = n_months(r["start"], r["end"])
            if is_rate:
                y = r["value"] * 12.0 / months                 # annualised, like the simulated rate
            elif column.startswith("arms_"):
                y = r["value"] * 12.0 / max(months, 12.0)     # set against the 12-month sum
            else:
                y = r["value"]
            mid = r["start"] + (r["end"] - r["start"]) / 2
            ax.errorbar([mid], [y], xerr=[[mid - r["start"]], [r["end"] - mid]], fmt="o", color=OBS,
                        ms=6, capsize=3, zorder=5)
            sources.append(f"{r['start'].year}: {r['source']}")
        if len(obs):
            ax.plot([], [], "o", color=OBS, label="recorded (bar = period, annualised)")
    if held_out is not None:
        ax.axvspan(pd.Timestamp(held_out[0]), pd.Timestamp(held_out[1]), color="#999999", alpha=0.15, lw=0,
                   label="held out of calibration (hindcast)")
    ax.set_title(_title(ens, column))
    ax.set_ylabel(_unit(column))
    ax.set_xlabel("year")
    _date_axis(ax)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    if sources and own:
        caption = "Sources: " + "; ".join(dict.fromkeys(sources))
        fig.text(0.01, -0.02, _wrap(caption, 170), fontsize=7, va="top", color="#444444")
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(text, width))


def event_timeline(ens: Ensemble, record: Record, types: list[str] | None = None):
    """Simulated monthly events per type (median and 90% band), recorded events as ticks, windows shaded."""
    counts = record.event_counts(ens.focal)
    available = [c.split(".", 1)[1] for c in ens.columns if c.startswith("events.") and c != "events.total"]
    if types is None:
        types = _busiest_types(ens, counts, available)
    fig, axes = subplots(len(types), 1, figsize=(11, 1.7 * len(types) + 0.8), sharex=True,
                             constrained_layout=True)
    axes = np.atleast_1d(axes)
    wins = record.windows[record.windows["kind"].astype(str) == "chronology"]
    ev = record.involving(ens.focal)
    modelled = set(available)
    # quarterly means of the monthly counts: single months are too discrete to read
    quarter = (ens.months.year * 4 + (ens.months.month - 1) // 3).to_numpy()
    qkeys, qstart = np.unique(quarter, return_index=True)
    qx = ens.months[qstart] + pd.Timedelta(days=45)
    for ax, t in zip(axes, types, strict=True):
        col = "events.total" if t == "total" else f"events.{t}"
        vals = ens.columns[col]
        per_q = np.stack([vals[:, quarter == k].mean(axis=1) for k in qkeys], axis=1)
        q = np.percentile(per_q, [5, 50, 95], axis=0)
        ax.fill_between(qx, q[0], q[2], color=BAND, alpha=0.22, lw=0)
        ax.plot(qx, q[1], color=BAND, lw=1.4)
        for _, w in wins.iterrows():
            n = counts.loc[w["id"]].reindex(list(modelled)).sum() if t == "total" else counts.loc[w["id"]].get(t, 0)
            ax.plot([w["start"], w["end"]], [n / n_months(w["start"], w["end"])] * 2, color=OBS, lw=3,
                    solid_capstyle="butt", zorder=4)
        lo, hi = ens.months[0], ens.months[-1] + pd.offsets.MonthEnd(0)
        # the record is silent outside its windows: grey hatch marks "no data", not "zero"
        ax.axvspan(lo, hi, color="#DDDDDD", alpha=0.35, lw=0, hatch="//", zorder=0)
        for _, w in wins.iterrows():
            ax.axvspan(w["start"], w["end"], color="white", lw=0, zorder=0.5)
            ax.axvspan(w["start"], w["end"], color="#F2C14E", alpha=0.35, lw=0, zorder=0.6)
        sel = ev if t == "total" else ev[ev["type"].astype(str) == t]
        if t == "total":
            sel = sel[sel["type"].astype(str).isin(modelled)]
        in_win = sel["window"].astype(str) != "narrative"
        ymax = max(float(q[2].max()), float(counts.max().max()) / 3 if t != "total" else 1.0, 1.0)
        ax.plot(sel.loc[in_win, "start"], np.full(in_win.sum(), ymax * 1.05), "|", color=OBS, ms=10, mew=1.5)
        ax.plot(sel.loc[~in_win, "start"], np.full((~in_win).sum(), ymax * 1.05), "|", color="#7B3294",
                ms=8, mew=1)
        ax.set_ylim(0, ymax * 1.2)
        ax.set_xlim(lo, hi)
        ax.set_ylabel(t.replace("_", " "), fontsize=8)
        _date_axis(ax)
    axes[0].set_title(_title(ens, f"events between {ens.focal[0]} and {ens.focal[1]} per month"))
    fig.supylabel("events per month", fontsize=9)
    _timeline_legend(axes[-1])
    axes[-1].set_xlabel("year")
    return fig


def _busiest_types(ens: Ensemble, counts: pd.DataFrame, available: list[str]) -> list[str]:
    """The total and the six types with most events, recorded or simulated."""
    rec_tot = counts.sum()
    return ["total"] + sorted(available, key=lambda t: -(rec_tot.get(t, 0)
                                                         + np.median(ens.columns[f"events.{t}"].sum(1)) / 50))[:6]


def _timeline_legend(ax) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], color=BAND, label="simulated, quarterly mean per month: median (band: 90%)"),
               Line2D([], [], color=OBS, lw=3, label="recorded per month in the window"),
               Patch(color="#F2C14E", alpha=0.35, label="chronology window (record speaks)"),
               Patch(facecolor="#DDDDDD", hatch="//", alpha=0.35, label="record silent (not zero)"),
               Line2D([], [], marker="|", ls="", color=OBS, label="recorded event (chronology)"),
               Line2D([], [], marker="|", ls="", color="#7B3294", label="recorded event (narrative)")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8, frameon=False)


def difference_chart(base: Ensemble, other: Ensemble, columns: list[str]):
    """Counterfactual minus baseline, replicate by replicate (common seeds), median and 90% band."""
    if not np.array_equal(base.seeds, other.seeds):
        raise ValueError("difference charts pair replicates by seed: run both scenarios with the same seeds")
    n = len(columns)
    fig, axes = subplots(n, 1, figsize=(10, 2.4 * n + 0.6), sharex=True, constrained_layout=True)
    axes = np.atleast_1d(axes)
    x = base.months + pd.Timedelta(days=14)
    k = min(_with_series(base), _with_series(other))     # pairs whose monthly series both runs kept
    for ax, col in zip(axes, columns, strict=True):
        d = series_values(other, col)[:k] - series_values(base, col)[:k]
        q = np.percentile(d, [5, 50, 95], axis=0)
        ax.fill_between(x, q[0], q[2], color=BAND, alpha=0.25, lw=0, label="90% of paired replicates")
        ax.plot(x, q[1], color=BAND, lw=1.6, label="median difference")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylabel(f"Δ {col}\n{_unit(col)}", fontsize=8)
        _date_axis(ax)
    seed = f" (seed {base.base_seed})" if base.base_seed is not None else ""
    axes[0].set_title(f"{other.name} minus {base.name} — {k} replicate pairs with common seeds{seed}")
    axes[0].legend(loc="upper left", fontsize=8, frameon=False)
    axes[-1].set_xlabel("year")
    return fig


def _scored_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "scored"] if len(df) and "status" in df.columns else df.iloc[0:0]


def _empty_panel(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def _panel_rows(ax, df: pd.DataFrame, column: str, leave_out: str, title: str, empty: str) -> pd.DataFrame | None:
    """The first card's scored rows a panel draws (``column`` not ``leave_out``); None, and a panel saying
    ``empty``, when there are none."""
    rows = _scored_rows(df)
    rows = rows[rows[column] != leave_out] if len(rows) else rows
    ax.set_title(title)
    if not len(rows):
        _empty_panel(ax, empty)
        return None
    return rows


def _series_panel(ax, cards: list[Scorecard], width: float) -> None:
    s0 = _panel_rows(ax, cards[0].series, "scale", "linear", "recorded series",
                     "no recorded series scored in this period")
    if s0 is None:
        return
    labels = list(s0["id"])
    y = np.arange(len(labels))
    for k, card in enumerate(cards):
        s = _scored_rows(card.series).set_index("id")
        ax.barh(y + k * width, [s.loc[i, "crps"] if i in s.index else np.nan for i in labels], width,
                label=f"model: {card.scenario}")
    extrap = s0["baseline_extrapolated"].fillna(False).astype(bool).to_numpy() \
        if "baseline_extrapolated" in s0.columns else np.zeros(len(s0), dtype=bool)
    from matplotlib.patches import Patch
    handles, _ = ax.get_legend_handles_labels()
    for k, (col, colour, label) in enumerate((("crps_interp", BASE, "straight line (flat outside the data)"),
                                              ("crps_growth", "#BBBBBB", "constant growth"))):
        bars = ax.barh(y + (len(cards) + k) * width, s0[col], width, color=colour)
        for bar, out in zip(bars, extrap, strict=True):
            if out:
                bar.set_hatch("///")
        handles.append(Patch(color=colour, label=label))
    if extrap.any():
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///",
                             label="baseline predicts outside the other figures' span"))
    ax.set_yticks(y + width * (len(cards) + 1) / 2, [lab[:28] for lab in labels], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("CRPS on log scale (lower is better)")
    ax.legend(handles=handles, fontsize=7, frameon=True, framealpha=0.85, loc="best")
    ax.grid(True, axis="x", alpha=0.3)


def _events_panel(ax, cards: list[Scorecard], width: float) -> None:
    e0 = _panel_rows(ax, cards[0].events, "type", "total", "event counts per chronology window",
                     "no chronology window in this period:\nthe record is silent, nothing is scored")
    if e0 is None:
        return
    wins = list(dict.fromkeys(e0["window"]))
    x = np.arange(len(wins))
    for k, card in enumerate(cards):
        e = _scored_rows(card.events)
        e = e[e["type"] != "total"] if len(e) else e
        ax.bar(x + k * width, [e.loc[e["window"] == w, "ignorance"].mean() if len(e) else np.nan for w in wins],
               width, label=f"model: {card.scenario}")
    ax.bar(x + len(cards) * width, [e0.loc[e0["window"] == w, "ignorance_baseline"].mean() for w in wins], width,
           color=BASE, label="constant Poisson rate (leave one window out)")
    ax.set_xticks(x + width * len(cards) / 2, [w.replace("chron_", "") for w in wins], fontsize=8)
    ax.set_ylabel("mean ignorance per event type, bits (lower is better)")
    ax.legend(fontsize=7, frameon=False)
    ax.grid(True, axis="y", alpha=0.3)


def scorecard_chart(cards: list[Scorecard]):
    """Scores per recorded series and per chronology window, beside the naive baselines (lower is better).
    A period without series or without windows gets a panel that says so."""
    fig, (a1, a2) = subplots(1, 2, figsize=(13, 5.5), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / (len(cards) + 2)
    _series_panel(a1, cards, width)
    _events_panel(a2, cards, width)
    fig.suptitle("Scorecard — " + ", ".join(f"{c.scenario} ({c.members} replicates)" for c in cards)
                 + (f", seed {cards[0].base_seed}" if cards[0].base_seed is not None else ""))
    return fig


def save(fig, path_stem: str | Path) -> list[Path]:
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        p = stem.with_suffix(f".{ext}")
        atomic_write(p, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=130 if ext == "png" else None,
                                                         bbox_inches="tight"))
        out.append(p)
    return out


def default_columns(ens: Ensemble) -> list[str]:
    """The focal pair's main indicators, in a sensible order."""
    a, b = ens.focal
    want = [col_trade(a, b)] + [col_dyad(k, x, y) for k in ("exports", "trust", "arms_contracts", "arms_deliveries")
                                for x, y in ((a, b), (b, a))]
    out = [c for c in want if c in ens.columns]
    orgs = sorted({c.split(".")[2] for c in ens.columns if c.startswith(f"alignment.{a}.")}
                  & {c.split(".")[2] for c in ens.columns if c.startswith(f"alignment.{b}.")})
    out += [col_alignment(s, o) for o in orgs for s in (a, b)]
    return out


def plot_all(ens: Ensemble, record: Record | None, folder: str | Path, card: Scorecard | None = None,
             progress: bool | None = None) -> list[Path]:
    """Fan charts of the main indicators, the event timeline and (given a scorecard) the scorecard chart."""
    folder = Path(folder)
    jobs = [(f"fan_{safe_name(col)}", lambda col=col: fan_chart(ens, col, record)) for col in default_columns(ens)]
    if record is not None:
        jobs.append(("events_timeline", lambda: event_timeline(ens, record)))
    if card is not None:
        jobs.append(("scorecard", lambda: scorecard_chart([card])))
    written = []
    with Progress(len(jobs), enabled=progress_enabled(progress), unit="figure", label=f"figures of {ens.name}") as bar:
        for stem, draw in jobs:
            written += save(draw(), folder / stem)
            bar.update()
    return written


def safe_name(name: str) -> str:
    """A column name as part of a file name (dots would read as extensions)."""
    return name.replace(".", "_")
