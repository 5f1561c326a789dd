"""Agent-based simulation of a relationship between two states, held up against the historical record.

The path from file to figure, as a notebook would walk it::

    from sim import load_scenario, run, RelationsModel
    sc = load_scenario("scenarios/baseline.yaml")      # validated scenario
    out = run(sc, replicates=50)                        # ensemble of Mesa-equivalent runs
    out.indicators, out.events, out.manifest()          # tables and provenance
    model = RelationsModel("scenarios/baseline.yaml", rng=1).run()   # one Mesa run

Layers, each importing only from those before it (tests/test_architecture.py):
``sim.core`` (scenarios, compilation, dynamics, the Mesa model) <-
``sim.evidence`` (the record, scores) <- ``sim.run`` (replicates, sweeps,
calibration) <- ``sim.report`` (figures, pages) <- ``sim.cli``.
"""

import sys
import types

from sim.core.errors import UserError
from sim.core.loading import load_scenario

__version__ = "0.1.0"


class _Package(types.ModuleType):
    """``sim.run`` is the function :func:`sim.run.runner.run`, not the subpackage of the same name.

    Importing a submodule binds it as an attribute of its parent, so once
    anything imported ``sim.run.<module>`` the name ``run`` would turn into the
    package; a data descriptor on the module's class keeps the function (and
    keeps it lazy). The subpackage is reached with ``from sim.run.<module> import ...``.
    """

    @property
    def run(self):
        from sim.run.runner import run
        return run

    @run.setter
    def run(self, value):   # the import system binding the subpackage: the function stays
        pass


sys.modules[__name__].__class__ = _Package


def __getattr__(name):  # lazy: importing mesa costs ~0.7 s and only the model needs it
    if name == "RelationsModel":
        from sim.core.model import RelationsModel
        return RelationsModel
    if name == "RunOutput":
        from sim.run.runner import RunOutput
        return RunOutput
    raise AttributeError(name)


__all__ = ["UserError", "load_scenario", "run", "RunOutput", "RelationsModel"]
