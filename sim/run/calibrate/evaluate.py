"""The hindcast check: prior and posterior ensembles scored on the fitted and the held-out years.

Calibration improves the fit on what it sees by construction; only the
held-out period says whether it learned something. Both ensembles run with
the same seeds, so their difference is the parameters' alone. Figures are
drawn by :mod:`sim.report.calibration` from the :class:`Evaluation` returned
here, so that this layer never imports a plotting library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.core.loading import LoadedScenario, load_scenario
from sim.core.seeds import load_samples
from sim.evidence.record import Record, load_record
from sim.evidence.scoring import Ensemble, Scorecard, overall_line, score
from sim.run.calibrate.priors import LoadedCalibration, Prior, prior_samples
from sim.run.runner import run

PRIOR_DRAWS = 1000


@dataclass
class Evaluation:
    """Scores and everything the evaluation figures need."""

    result: dict                                  # what evaluation.json holds
    ensembles: dict[str, Ensemble]                # "prior", "posterior"
    cards: dict[tuple[str, str], Scorecard]       # (period, ensemble)
    periods: dict[str, tuple[pd.Timestamp, pd.Timestamp]]
    record: Record
    priors: list[Prior]
    prior: pd.DataFrame                           # the prior draws the prior ensemble used
    posterior: pd.DataFrame                       # the weighted posterior sample


def _periods(cal: LoadedCalibration, loaded: LoadedScenario) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    start = pd.Timestamp(loaded.scenario.meta.start + "-01")
    end = pd.Timestamp(loaded.scenario.meta.end + "-01") + pd.offsets.MonthEnd(0)
    periods = {"calibration": (start, cal.until or end)}
    if cal.until is not None and cal.until < end:
        periods["hindcast"] = (cal.until + pd.Timedelta(days=1), end)
    return periods


def evaluate(cal: LoadedCalibration, out: str | Path, replicates: int = 200, seed: int | None = None) -> Evaluation:
    """Score the prior and the posterior ensembles on the calibration period and on the held-out period."""
    out = Path(out)
    seed = cal.spec.seed if seed is None else seed
    loaded = load_scenario(cal.base)
    record = load_record(cal.record_path)
    post = load_samples(out / "posterior.parquet")
    prior = prior_samples(list(cal.spec.parameters), PRIOR_DRAWS, seed)
    ens = {"prior": Ensemble.from_run(run(loaded, replicates, seed, samples=prior)),
           "posterior": Ensemble.from_run(run(loaded, replicates, seed, samples=post))}
    for k, e in ens.items():
        e.name = f"{loaded.scenario.meta.name} {k}"
    periods = _periods(cal, loaded)
    result: dict = {"replicates": replicates, "seed": seed, "periods": {k: [str(a.date()), str(b.date())]
                                                                         for k, (a, b) in periods.items()}}
    cards = {}
    for pname, per in periods.items():
        for ename, e in ens.items():
            card = score(e, record, per)
            card.scenario = f"{ename} ({pname})"
            cards[(pname, ename)] = card
            card.save(out / "evaluation" / f"{pname}_{ename}")
            result[f"{pname}/{ename}"] = card.overall()
    (out / "evaluation.json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    return Evaluation(result, ens, cards, periods, record, list(cal.spec.parameters), prior, post)


def headline(result: dict) -> str:
    """One scorecard line per period and ensemble, for the terminal and the README."""
    return "\n".join(overall_line(key, o) for key, o in result.items() if "/" in key)
