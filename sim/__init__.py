"""Agent-based simulation of a relationship between two states, held up against the historical record.

The path from file to figure, as a notebook would walk it::

    from sim import load_scenario, run, RelationsModel
    sc = load_scenario("scenarios/baseline.yaml")      # validated scenario
    out = run(sc, replicates=50)                        # ensemble of Mesa-equivalent runs
    out.indicators, out.events, out.manifest()          # tables and provenance
    model = RelationsModel("scenarios/baseline.yaml", rng=1).run()   # one Mesa run
"""

__version__ = "0.1.0"

from sim.errors import UserError  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def __getattr__(name):  # lazy: importing mesa costs ~0.7 s and only the model needs it
    if name == "RelationsModel":
        from sim.model import RelationsModel
        return RelationsModel
    if name in ("run", "RunOutput"):
        from sim import runner
        return getattr(runner, name)
    raise AttributeError(name)


__all__ = ["UserError", "load_scenario", "run", "RunOutput", "RelationsModel"]
