"""``dyadsim viz``: a SolaraViz dashboard of one scenario, its record and a counterfactual.

Mesa's SolaraViz supplies the page, the Step / Run / Reset controls and the
parameter sliders, and re-creates the model on Reset with the slider values;
this module supplies the model (a :class:`RelationsModel` that also runs a small
ensemble with the same parameters, so that a fan chart has a band to show) and
the figures: fan charts of the focal pair over the record with the live Mesa
run drawn month by month, the event timeline over the chronologies, and the
counterfactual's band when its toggle is on.

Which coefficients get sliders: those a calibration file of the project fits
(their prior ranges are the slider ranges), else the scenario's coefficients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.columns import family_of
from sim.core.errors import UserError
from sim.core.loading import LoadedScenario, load_scenario
from sim.core.model import RelationsModel
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble
from sim.report import figures
from sim.run.runner import run

CF_COLOUR = "#DD8452"
LIVE_COLOUR = "#2A2A2A"
MAX_DEFAULT_SLIDERS = 8


class DashboardModel(RelationsModel):
    """The Mesa run the controls step, plus the ensembles its charts draw (same parameters, fixed seeds).

    The ensembles use the scenario's own seed so that moving a slider shows the
    parameter's effect, not new noise; the stepped run takes ``rng`` like any
    Mesa model (None: a new run on every Reset).
    """

    def __init__(self, scenario=None, *, scenario_file=None, rng=None, replicates: int = 30,
                 counterfactual: bool = False, counterfactual_file: str | None = None, **overrides: Any):
        super().__init__(scenario, scenario_file=scenario_file, rng=rng, collect=False, **overrides)
        base = load_scenario(self.loaded.path, self.loaded.overrides)
        seed = base.scenario.meta.seed
        self.ensemble = Ensemble.from_run(run(base, replicates=int(replicates), seed=seed))
        self.counterfactual = None
        if counterfactual and counterfactual_file:
            other = load_scenario(counterfactual_file, dict(self.loaded.overrides) or None)
            self.counterfactual = Ensemble.from_run(run(other, replicates=int(replicates), seed=seed))
        self.record = load_record(base.record_path) if base.record_path else None
        self.focal_columns = figures.default_columns(self.ensemble)[:2]
        self.live: dict[str, list[float]] = {c: [] for c in self.focal_columns}

    def step(self) -> None:
        super().step()
        for c in self.focal_columns:
            self.live[c].append(self.indicator(c))


def fan_figure(model: DashboardModel, column: str):
    """The ensemble's fan over the record, the counterfactual's band if on, the stepped run so far."""
    fig, ax = figures.subplots(figsize=(8, 3.6), constrained_layout=True)
    figures.fan_chart(model.ensemble, column, model.record, ax=ax)
    x = model.ensemble.months + pd.Timedelta(days=14)
    if model.counterfactual is not None:
        vals = figures.series_values(model.counterfactual, column)
        lo, med, hi = np.percentile(vals, [5, 50, 95], axis=0)
        ax.fill_between(x, lo, hi, color=CF_COLOUR, alpha=0.18, lw=0)
        ax.plot(x, med, color=CF_COLOUR, lw=1.6, label=f"counterfactual {model.counterfactual.name}: median, 90%")
    live = np.asarray(model.live[column], dtype=float)
    if len(live):
        family = family_of(column)
        if family is not None and family.plot == "rolling12":          # as the fan shows it: a 12-month sum
            live = np.convolve(live, np.ones(12))[: len(live)]
        ax.plot(x[: len(live)], live, color=LIVE_COLOUR, lw=1.2, label=f"this run (seed {model.seed}), {model.month}")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    return fig


@dataclass
class Slider:
    path: str
    value: float
    low: float
    high: float
    label: str = field(default="")

    def spec(self) -> dict:
        return {"type": "SliderFloat", "value": float(self.value), "min": float(self.low), "max": float(self.high),
                "step": slider_step(self.value, self.low, self.high), "label": self.label or self.path}


def _on_grid(x: float, step: float) -> bool:
    k = x / step
    return abs(k - round(k)) < 1e-6


def slider_step(value: float, low: float, high: float, ticks: int = 50) -> float:
    """A round step (1, 2 or 5 times a power of ten) with the value and the ends on its grid.

    The browser's slider rounds what it holds to its grid; were the scenario's
    value off the grid, Reset would re-create the model with a slightly
    different number and a different run.
    """
    span = max(high - low, abs(value), 1e-12)
    exponent = int(np.floor(np.log10(span / ticks)))
    for e in range(exponent, exponent - 12, -1):
        for m in (5, 2, 1):
            step = m * 10.0 ** e
            if step <= span / ticks and all(_on_grid(x, step) for x in (value, low, high)):
                return float(f"{step:.12g}")
    return span / 1000.0


def _value(loaded: LoadedScenario, path: str) -> float:
    node: Any = loaded.scenario.model_dump(mode="python")
    for part in path.split("."):
        node = node[part]
    return float(node["value"] if isinstance(node, dict) else node)


def _calibration_for(loaded: LoadedScenario) -> Path | None:
    """A calibration file of the project whose base scenario is this one (or the one it extends)."""
    from sim.run.calibrate.priors import load_calibration
    chain = {Path(loaded.path).resolve()}
    for spec in sorted((Path(loaded.path).resolve().parent.parent / "calibration").glob("*.yaml")):
        try:
            cal = load_calibration(spec)
        except (UserError, ValueError, KeyError, TypeError):
            continue
        if Path(cal.base).resolve() in chain | {Path(loaded.path).resolve()}:
            return spec
    return None


def default_sliders(loaded: LoadedScenario, paths: list[str] | None = None) -> list[Slider]:
    """Sliders for ``paths`` (0 to twice the value), else a calibration file's priors, else the coefficients."""
    if paths:
        return [_around(loaded, p) for p in paths]
    cal_file = _calibration_for(loaded)
    if cal_file is not None:
        from sim.run.calibrate.priors import load_calibration
        out = []
        for prior in load_calibration(cal_file).spec.parameters:
            v = _value(loaded, prior.path)
            out.append(Slider(prior.path, min(max(v, prior.low), prior.high), prior.low, prior.high))
        return out
    coeffs = loaded.scenario.model_dump(mode="python").get("coefficients", {})
    names = [k for k, v in coeffs.items() if isinstance(v, dict) and isinstance(v.get("value"), (int, float))]
    return [_around(loaded, f"coefficients.{k}") for k in names[:MAX_DEFAULT_SLIDERS]]


def _around(loaded: LoadedScenario, path: str) -> Slider:
    try:
        v = _value(loaded, path)
    except (KeyError, TypeError):
        raise UserError(f"--param: '{path}' is not a number in the scenario", file=str(loaded.path)) from None
    return Slider(path, v, 0.0, 2.0 * v if v > 0 else 1.0)


def counterfactuals_of(loaded: LoadedScenario) -> list[Path]:
    """Scenario files beside this one that extend it and change the world, not draw from a posterior."""
    out = []
    me = Path(loaded.path).resolve()
    for p in sorted(me.parent.glob("*.yaml")):
        if p.resolve() == me or f"extends: {me.name}" not in p.read_text(encoding="utf-8"):
            continue
        try:
            if load_scenario(p).posterior_path is None:
                out.append(p)
        except UserError:
            continue
    return out


def model_params(loaded: LoadedScenario, sliders: list[Slider], counterfactual: Path | None,
                 replicates: int) -> dict:
    params: dict[str, Any] = {"scenario_file": str(loaded.path)}
    params["replicates"] = {"type": "SliderInt", "value": replicates, "min": 10, "max": 200, "step": 10,
                            "label": "replicates in the fan charts"}
    if counterfactual is not None:
        params["counterfactual_file"] = str(counterfactual)
        params["counterfactual"] = {"type": "Checkbox", "value": False,
                                    "label": f"counterfactual: {counterfactual.stem}"}
    params.update({s.path: s.spec() for s in sliders})
    return params


def initial_kwargs(params: dict) -> dict:
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}


def build_page(config: dict):
    """The SolaraViz page for a config (scenario, sliders, counterfactual, replicates) from ``dyadsim viz``."""
    import solara
    from mesa.visualization import SolaraViz

    loaded = load_scenario(config["scenario"])
    cf = Path(config["counterfactual"]) if config.get("counterfactual") else None
    params = model_params(loaded, default_sliders(loaded, config.get("params")), cf, config.get("replicates", 30))
    model = DashboardModel(**initial_kwargs(params))

    def fan(index: int):
        def FanChart(model):
            return solara.FigureMatplotlib(fan_figure(model, model.focal_columns[index]), format="png")
        return FanChart

    @solara.component
    def Timeline(model):      # a component, not a function: drawn once per model (Reset), not every step
        fig = solara.use_memo(lambda: figures.event_timeline(model.ensemble, model.record), [model])
        return solara.FigureMatplotlib(fig, format="png", dependencies=[model])

    def Status(model):
        cf_name = model.counterfactual.name if model.counterfactual is not None else "off"
        # plain text: solara's Markdown loads KaTeX from a CDN that an offline machine cannot reach
        return solara.Text(f"{loaded.scenario.meta.name}: month {model.month}, step {model.steps}, seed {model.seed}; "
                           f"{model.ensemble.n_members} replicates; counterfactual: {cf_name}")

    components = [(Status, 0), (fan(0), 0), (fan(1), 0)]
    if model.record is not None:
        components.append((Timeline, 0))
    return SolaraViz(model, components=components, model_params=params,
                     name=f"dyadsim — {loaded.scenario.meta.name}")


CONFIG_ENV = "DYADSIM_VIZ_CONFIG"


def config_from_env() -> dict:
    import json
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise UserError(f"{CONFIG_ENV} is not set: start the dashboard with 'dyadsim viz SCENARIO'")
    return json.loads(raw)
