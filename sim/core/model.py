"""The Mesa face of the model: states and organisations as agents, one step a month.

The arithmetic lives in :mod:`sim.core.engine` so that single runs, sweeps and
calibration share one implementation; a ``RelationsModel`` is an ensemble of
one member whose agents are live views on that member's state. Mesa users get
what they expect: keyword parameters that ``mesa.batch_run`` can drive, a
seeded ``rng``, an ``AgentSet`` of typed agents and a ``DataCollector``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.core.columns import indicator_columns
from sim.core.compile import compile_scenario
from sim.core.engine import Engine
from sim.core.loading import LoadedScenario, load_scenario

DEFAULT_SCENARIO = str(Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml")


class StateAgent(mesa.Agent):
    """A state; its attributes read the current month of the run through the model's named accessors."""

    def __init__(self, model: RelationsModel, state_id: str, name: str):
        super().__init__(model)
        self.state_id = state_id
        self.name = name

    @property
    def exports(self) -> dict[str, float]:
        return self.model.state_of("exports", self.state_id)

    @property
    def trust(self) -> dict[str, float]:
        return self.model.state_of("trust", self.state_id)

    @property
    def alignment(self) -> dict[str, float]:
        return self.model.state_of("alignment", self.state_id)

    @property
    def arms_capability(self) -> float:
        return self.model.state_of("capability", self.state_id)

    @property
    def gdp(self) -> float:
        return self.model.prepared_of("gdp", self.state_id)

    def __repr__(self) -> str:
        return f"StateAgent({self.state_id!r})"


class OrganisationAgent(mesa.Agent):
    """An organisation; membership follows the scenario's join and leave dates."""

    def __init__(self, model: RelationsModel, org_id: str, name: str):
        super().__init__(model)
        self.org_id = org_id
        self.name = name
        self._k = model.compiled.orgs.index(org_id)

    def _members_mask(self) -> np.ndarray:
        return self.model.compiled.arrays["members"][0, self.model.month_index, :, self._k]

    @property
    def members(self) -> list[str]:
        return [s for s, m in zip(self.model.compiled.states, self._members_mask(), strict=True) if m]

    @property
    def coordination(self) -> float:
        """Mean alignment of the current members."""
        mem = self._members_mask()
        if not mem.any():
            return float("nan")
        return float(self.model.engine.state["alignment"][0, mem, self._k].mean())

    def __repr__(self) -> str:
        return f"OrganisationAgent({self.org_id!r})"


class RelationsModel(mesa.Model):
    """Monthly simulation of a bilateral relationship within its international setting.

    Args:
        scenario: path to a scenario YAML file, or an already loaded scenario.
        rng: integer seed (the scenario's seed when omitted). Equal seeds give identical runs.
        collect: keep a DataCollector table of every indicator each month.
        **overrides: dotted scenario paths and values, e.g.
            ``RelationsModel(**{"coefficients.trade_diversion": 0.3})``; this is how
            ``mesa.batch_run`` varies parameters.
    """

    def __init__(self, scenario: str | Path | LoadedScenario = DEFAULT_SCENARIO, *, rng: Any = None,
                 collect: bool = True, **overrides: Any):
        if isinstance(scenario, LoadedScenario):
            loaded = scenario if not overrides else load_scenario(scenario.path, {**scenario.overrides, **overrides})
        else:
            loaded = load_scenario(scenario, overrides)
        seed = loaded.scenario.meta.seed if rng is None else rng
        if not isinstance(seed, (int, np.integer)):
            raise TypeError("rng must be an integer seed so that the run can be reproduced")
        super().__init__(rng=int(seed))
        self.loaded = loaded
        self.seed = int(seed)
        if loaded.posterior_path is not None:      # draw this run's parameters as an ensemble member would
            from sim.core.seeds import load_samples, sample_index
            samples = load_samples(loaded.posterior_path)
            row = samples.iloc[sample_index(samples, self.seed)]
            loaded = load_scenario(loaded.path, {**loaded.overrides,
                                                 **{c: float(row[c]) for c in samples.columns if c != "weight"}})
            self.loaded = loaded
        self.compiled = compile_scenario(loaded)
        # One member: its random numbers are keyed streams of this seed (sim/core/streams.py), exactly as
        # the member with this seed in any ensemble; self.rng stays free for users' own draws.
        self.engine = Engine(self.compiled, [self.seed])
        for sid, st in loaded.scenario.states.items():
            StateAgent(self, sid, st.name)
        for oid, org in loaded.scenario.organisations.items():
            OrganisationAgent(self, oid, org.name)
        self._columns = indicator_columns(self.compiled)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_report, name=name) for name in self._columns} if collect else {})
        self.running = True

    @property
    def month(self) -> str:
        """The month the last step simulated."""
        return self.compiled.months[self.month_index]

    @property
    def month_index(self) -> int:
        return min(max(self.engine.t - 1, 0), self.compiled.n_months - 1)

    def state_of(self, var: str, state_id: str):
        """A state variable seen from one state: a float, or a dict partner (state or organisation) -> value."""
        cp, value = self.compiled, self.engine.state[var][0]
        i = cp.states.index(state_id)
        index = cp.state_var(var).index
        if index == "states":
            return float(value[i])
        if index == "states*orgs":
            return {o: float(value[i, k]) for k, o in enumerate(cp.orgs)}
        return {cp.states[b]: float(value[p]) for p, (a, b) in enumerate(cp.pairs[index[len("pairs:"):]]) if a == i}

    def prepared_of(self, name: str, state_id: str) -> float:
        """A scripted (prepared) per-state path in the current month, e.g. ``gdp``."""
        return float(self.compiled.arrays[name][0, self.month_index, self.compiled.states.index(state_id)])

    @property
    def states(self):
        return self.agents_by_type[StateAgent]

    @property
    def organisations(self):
        return self.agents_by_type[OrganisationAgent]

    def indicator(self, name: str) -> float:
        """Value of one indicator column in the month just simulated."""
        fn = self._columns[name]
        return float(fn(self.engine, self.engine.t - 1)[0])

    def step(self) -> None:
        self.engine.step()
        if self.datacollector.model_reporters:
            self.datacollector.collect(self)
        if self.engine.done:
            self.running = False

    def run(self) -> RelationsModel:
        while self.running:
            self.step()
        return self

    def result(self):
        return self.engine.result()


def _report(model: RelationsModel, name: str) -> float:
    """Module-level so that reporters pickle (batch_run uses spawn)."""
    return model.indicator(name)
