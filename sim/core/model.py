"""The Mesa face of the model: states and organisations as agents, one step a month.

The arithmetic lives in :mod:`sim.core.engine` so that single runs, sweeps and
calibration share one implementation; a ``RelationsModel`` is an ensemble of
one member whose agents are live views on that member's state. Mesa users get
what they expect: keyword parameters that ``mesa.batch_run`` and SolaraViz can
drive, ``rng`` taking an int, a Generator or None, an ``AgentSet`` of typed
agents and a ``DataCollector``.

Mesa 3.5 gives every model a ``scenario`` (``mesa.experimental.scenarios.Scenario``)
and SolaraViz passes one as ``scenario=`` when it re-creates a model on Reset.
Here the YAML file is the keyword ``scenario_file``; ``scenario`` still takes a
path or a loaded scenario (as it always has) and also accepts Mesa's Scenario,
whose ``rng`` and extra attributes are used as ``rng`` and dotted-path overrides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim.core.bundle import data_root
from sim.core.columns import indicator_columns
from sim.core.compile import compile_scenario
from sim.core.engine import Engine
from sim.core.loading import LoadedScenario, load_scenario

DEFAULT_SCENARIO = str(data_root() / "scenarios" / "baseline.yaml")
#: Seeds the model draws itself stay below this, like every derived seed (they fit Parquet's int64).
_SEED_BOUND = 2**63


class ReadOnlyState(Mapping):
    """A state variable of one agent, partner -> value: readable like a dict, never silently written.

    The state lives in the engine's arrays, shared with the ensemble runs; a
    write here would change nothing the model uses, so it is refused with a
    hint at what does change the run.
    """

    def __init__(self, owner: str, name: str, values: dict[str, float]):
        self._owner, self._name, self._values = owner, name, values

    def __getitem__(self, key: str) -> float:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(f"{self._owner}.{self._name} has no entry '{key}' "
                           f"(entries: {', '.join(self._values)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __setitem__(self, key, value) -> None:
        raise TypeError(read_only_message(f"{self._owner}.{self._name}[{key!r}]",
                                          f"states.{self._owner}.{self._name}.{key}"))

    __delitem__ = __setitem__

    def __repr__(self) -> str:
        return f"{self._name}({self._values!r})"


#: State variables whose starting value is a scenario field of the same name under ``states.ID``.
SCENARIO_FIELDS = ("gdp", "exports", "trust", "alignment", "arms_capability")


def read_only_message(what: str, scenario_path: str) -> str:
    field = scenario_path.split(".")[2] if scenario_path.startswith("states.") else ""
    start = (f"create the model with an override, e.g. RelationsModel(**{{'{scenario_path}': value}}), or "
             if field in SCENARIO_FIELDS or scenario_path.startswith("organisations.") else "")
    return (f"{what} is read-only: agents show the run's state, they do not hold it. To change the run, "
            f"{start}add a timeline event to the scenario")


class _ReadOnlyAttributes:
    """Refuse assignments to the state properties with a message instead of a bare AttributeError."""

    _STATE = ()

    def __setattr__(self, name: str, value) -> None:
        if name in self._STATE:
            raise AttributeError(read_only_message(f"{self!r}.{name}", self.scenario_path(name)))
        super().__setattr__(name, value)


class StateAgent(_ReadOnlyAttributes, mesa.Agent):
    """A state; its attributes read the current month of the run through the model's named accessors.

    ``trust``, ``exports``, ``lean``, ``arms_grade`` and ``alignment`` map a
    partner (or organisation) to a value, ``gdp`` and ``arms_capability`` are
    numbers; ``state`` holds every recorded variable the scenario's mechanisms
    keep for this state. A variable a scenario does not model (no arms in a
    pair without an arms trade) raises AttributeError saying so, which is what
    ``AgentSet.get`` and ``getattr(agent, name, default)`` expect.
    """

    #: attribute -> the mechanisms' state variable it reads
    VARIABLES = {"exports": "exports", "trust": "trust", "lean": "lean", "alignment": "alignment",
                 "arms_grade": "grade", "arms_capability": "capability", "gdp": "gdp"}
    _STATE = (*VARIABLES, "state")

    def scenario_path(self, name: str) -> str:
        return f"states.{self.state_id}.{name}"

    def __init__(self, model: RelationsModel, state_id: str, name: str):
        super().__init__(model)
        self.state_id = state_id
        self.name = name

    def _read(self, attribute: str):
        var = self.VARIABLES[attribute]
        if var not in self.model.engine.state:
            raise AttributeError(f"{self!r}.{attribute}: this scenario's mechanisms keep no '{var}' "
                                 f"(kept: {', '.join(self.model.recorded_variables)})")
        return self._wrap(var, self.model.state_of(var, self.state_id))

    def _wrap(self, var: str, value):
        return ReadOnlyState(self.state_id, var, value) if isinstance(value, dict) else value

    @property
    def exports(self) -> Mapping[str, float]:
        """bn USD a year to each partner."""
        return self._read("exports")

    @property
    def trust(self) -> Mapping[str, float]:
        """Trust in each partner, 0..1."""
        return self._read("trust")

    @property
    def lean(self) -> Mapping[str, float]:
        """Strategic lean toward each partner, 0..1."""
        return self._read("lean")

    @property
    def alignment(self) -> Mapping[str, float]:
        """Alignment with each organisation, 0..1."""
        return self._read("alignment")

    @property
    def arms_grade(self) -> Mapping[str, float]:
        """Grade of the arms released to each partner, 0..1."""
        return self._read("arms_grade")

    @property
    def arms_capability(self) -> float:
        return self._read("arms_capability")

    @property
    def gdp(self) -> float:
        """bn USD."""
        return self._read("gdp")

    @property
    def state(self) -> Mapping[str, object]:
        """Every recorded state variable of this state in the current month (what the mechanisms keep)."""
        keep = [*self.model.recorded_variables, "alignment"]
        return ReadOnlyState(self.state_id, "state", {
            var: self._wrap(var, self.model.state_of(var, self.state_id)) for var in dict.fromkeys(keep)
            if var in self.model.engine.state and self.model.compiled.state_var(var).index != "orgs"})

    def __repr__(self) -> str:
        return f"StateAgent({self.state_id!r})"


class OrganisationAgent(_ReadOnlyAttributes, mesa.Agent):
    """An organisation; membership follows the scenario's join and leave dates."""

    _STATE = ("members", "coordination")

    def scenario_path(self, name: str) -> str:
        return f"organisations.{self.org_id}"

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
        scenario: path to a scenario YAML file, or an already loaded scenario (kept for
            ``RelationsModel("scenarios/x.yaml")``); also Mesa's own ``Scenario``, which
            SolaraViz passes on Reset: its ``rng`` and other attributes are used.
        scenario_file: the scenario YAML file, by keyword (default: the bundled baseline).
        rng: as in Mesa: an integer seed, a ``numpy.random.Generator`` (a seed is drawn
            from it) or None (a seed is drawn from fresh OS entropy). The seed used is
            ``model.seed``; ``RelationsModel(..., rng=model.seed)`` repeats the run.
            Equal seeds give identical runs.
        collect: keep a DataCollector table of every indicator each month.
        **overrides: dotted scenario paths and values, e.g.
            ``RelationsModel(**{"coefficients.trade_diversion": 0.3})``; this is how
            ``mesa.batch_run`` and SolaraViz vary parameters.
    """

    def __init__(self, scenario: str | Path | LoadedScenario | MesaScenario | None = None, *,
                 scenario_file: str | Path | None = None, rng: Any = None, collect: bool = True,
                 **overrides: Any):
        source, rng, overrides = _split_scenario(scenario, scenario_file, rng, overrides)
        loaded = _load(source, overrides)
        seed, chosen = seed_from_rng(rng)
        super().__init__(rng=seed)
        self.loaded = loaded
        self.seed = seed
        if loaded.posterior_path is not None:      # draw this run's parameters as an ensemble member would
            loaded = self.loaded = _posterior_draw(loaded, seed)
        self.compiled = compile_scenario(loaded)
        # One member: its random numbers are keyed streams of this seed (sim/core/streams.py), exactly as
        # the member with this seed in any ensemble; self.rng stays free for users' own draws.
        self.engine = Engine(self.compiled, [self.seed])
        for sid, st in loaded.scenario.states.items():
            StateAgent(self, sid, st.name)
        for oid, org in loaded.scenario.organisations.items():
            OrganisationAgent(self, oid, org.name)
        self._columns = indicator_columns(self.compiled)
        reporters = {name: partial(_report, name=name) for name in self._columns} if collect else {}
        if collect and chosen:                     # the only record of a seed the caller did not choose
            reporters["seed"] = _seed_of
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
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
        """A scripted (prepared) per-state path in the current month, e.g. ``oil_exposure``."""
        return float(self.compiled.arrays[name][0, self.month_index, self.compiled.states.index(state_id)])

    @property
    def recorded_variables(self) -> list[str]:
        """The state variables the scenario's mechanisms keep and record, in their order."""
        return [sv.name for mech in self.compiled.mechanisms for sv in mech.state_vars if sv.record]

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


def _seed_of(model: RelationsModel) -> int:
    return model.seed


def seed_from_rng(rng: Any) -> tuple[int, bool]:
    """(seed, whether this function chose it) from anything Mesa accepts as ``rng``.

    The engine needs an integer seed so that a run can be written down and
    repeated (and matched by an ensemble member); a Generator or fresh entropy
    therefore yields one, drawn once, kept as ``model.seed``.
    """
    if isinstance(rng, bool):
        raise TypeError("rng must be an integer seed, a numpy Generator or None, not a bool")
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"rng: seeds are non-negative, got {rng}")
        return int(rng), False
    if rng is None:
        return int(np.random.default_rng().integers(_SEED_BOUND)), True
    if isinstance(rng, np.random.BitGenerator):
        rng = np.random.Generator(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(_SEED_BOUND)), True
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0] >> np.uint64(1)), True
    raise TypeError(f"rng must be an integer seed, a numpy Generator or None, not {type(rng).__name__}")


def _split_scenario(scenario, scenario_file, rng, overrides: dict) -> tuple[Any, Any, dict]:
    """(YAML path or loaded scenario, rng, overrides) from the ways Mesa and users name them."""
    if isinstance(scenario, MesaScenario):          # SolaraViz's Reset, or a Mesa user's own Scenario
        extra = {k: v for k, v in scenario.to_dict().items() if k not in ("rng", "model", "_scenario_id")}
        overrides = {**extra, **overrides}
        if rng is None:
            rng = scenario.rng
        scenario = None
    if scenario is not None and scenario_file is not None:
        raise TypeError("give the scenario once: positionally (or scenario=) or as scenario_file=, not both")
    source = scenario if scenario is not None else scenario_file
    return (DEFAULT_SCENARIO if source is None else source), rng, overrides


def _load(source, overrides: dict) -> LoadedScenario:
    if isinstance(source, LoadedScenario):
        return source if not overrides else load_scenario(source.path, {**source.overrides, **overrides})
    return load_scenario(source, overrides)


def _posterior_draw(loaded: LoadedScenario, seed: int) -> LoadedScenario:
    from sim.core.seeds import load_samples, sample_index
    samples = load_samples(loaded.posterior_path)
    row = samples.iloc[sample_index(samples, seed)]
    return load_scenario(loaded.path, {**loaded.overrides,
                                       **{c: float(row[c]) for c in samples.columns if c != "weight"}})

