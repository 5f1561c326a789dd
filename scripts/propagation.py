"""Does what a third state does reach the focal pair? The nine perturbations of the agents issue.

Each perturbation changes one value of the baseline that belongs to a third
state, an organisation, or a side of the pair that acts on others; the runs
use the same seeds as the baseline (keyed random streams pair them exactly),
so every difference is the perturbation's effect. Prints, for the focal pair,
the mean over replicates of: trade 2000-2017 (bn USD a year), each side's
trust and lean, total events, and the value of arms contracts between them,
with the relative change against the baseline. tests/test_agents.py asserts
that every perturbation changes these outputs and, where the documents give
one, the direction.

    python scripts/propagation.py [--replicates 40] [--scenario scenarios/baseline.yaml]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# name -> (scenario path, how to change the baseline value, documented direction of the effect)
PERTURBATIONS = {
    "a's trust in the hegemon -> 0": ("states.russia.trust.usa", lambda v: 0.0,
                                      "X10: broken ties with the West turn it toward the partner"),
    "client's trust in a -> 0": ("states.india.trust.russia", lambda v: 0.0,
                                 "A6: a client that turns away pushes the seller toward the partner"),
    "a's alignment with the club -> 0": ("states.russia.alignment.sco", lambda v: 0.0, ""),
    "hegemon's exports to a x10": ("states.usa.exports.russia", lambda v: 10 * v,
                                   "X2: dependence on Western markets caps the turn to the partner"),
    "b's GDP x10": ("states.china.gdp", lambda v: 10 * v, "P5: a dominant partner makes a hedge"),
    "a's GDP / 10": ("states.russia.gdp", lambda v: v / 10, ""),
    "a's fear of the client copying -> 0.9": ("states.russia.arms_clients.india.copy_fear", lambda v: 0.9,
                                              "A6: less to the other client, more to the partner"),
    "client's arms capability -> 0.9": ("states.india.arms_capability", lambda v: 0.9,
                                        "A2/A6: the client needs less, the seller turns to the partner"),
    "club's security agenda -> 0": ("organisations.sco.agenda.security", lambda v: 0.0, ""),
}

OUTPUTS = ("trade", "trust a>b", "trust b>a", "lean a>b", "lean b>a", "events", "arms a>b")


def focal_summary(result, focal: tuple[str, str]) -> dict[str, np.ndarray]:
    """Per replicate: the focal pair's outputs over the whole period."""
    from sim.core.columns import col_trade, indicator_columns
    cols = indicator_columns(result.compiled)
    a, b = focal

    def mean(name):
        return np.asarray(cols[name](result), dtype=float).mean(axis=1) if name in cols else None

    arms = cols.get(f"arms_contracts.{a}.{b}")
    return {"trade": mean(col_trade(a, b)), "trust a>b": mean(f"trust.{a}.{b}"), "trust b>a": mean(f"trust.{b}.{a}"),
            "lean a>b": mean(f"lean.{a}.{b}"), "lean b>a": mean(f"lean.{b}.{a}"),
            "events": np.asarray(cols["events.total"](result), dtype=float).sum(axis=1),
            "arms a>b": np.asarray(arms(result), dtype=float).sum(axis=1) if arms else None}


def base_value(loaded, path: str) -> float:
    node = loaded.raw
    for part in path.split("."):
        node = node[part]
    return float(node["value"] if isinstance(node, dict) else node)


def run_all(scenario: Path, replicates: int, seed: int = 11, focal=("russia", "china")):
    from sim.core.compile import compile_scenario
    from sim.core.engine import run_ensemble
    from sim.core.loading import load_scenario
    from sim.core.seeds import replicate_seeds
    base = load_scenario(scenario)
    seeds = replicate_seeds(seed, replicates)
    out = {"baseline": focal_summary(run_ensemble(compile_scenario(base), seeds), focal)}
    for name, (path, change, _) in PERTURBATIONS.items():
        loaded = load_scenario(scenario, {path: change(base_value(base, path))})
        out[name] = focal_summary(run_ensemble(compile_scenario(loaded), seeds), focal)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=40)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    args = ap.parse_args(argv)
    res = run_all(Path(args.scenario), args.replicates)
    base = res["baseline"]
    print(f"{'perturbation (a = russia, b = china)':40s}" + "".join(f"{o:>16s}" for o in OUTPUTS))
    for name, vals in res.items():
        cells = []
        for o in OUTPUTS:
            if vals[o] is None:
                cells.append(f"{'-':>16s}")
                continue
            m = vals[o].mean()
            rel = "" if name == "baseline" else f" {100 * (m / base[o].mean() - 1):+5.1f}%"
            cells.append(f"{m:>9.3g}{rel:>7s}")
        print(f"{name:40s}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
