"""``dyadsim viz SCENARIO``: the interactive dashboard (Mesa's SolaraViz) in the browser."""

from __future__ import annotations

import argparse
import json
import os
import sys

from sim.cli.common import positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "viz", help="interactive dashboard: sliders, Step/Run/Reset, fan charts, counterfactual toggle",
        description="Serve a SolaraViz dashboard of a scenario on http://HOST:PORT: sliders for the main "
                    "coefficients (those a calibration file of the project fits, with its prior ranges), Step, "
                    "Run and Reset, fan charts of the focal pair against the record with the stepped run drawn "
                    "month by month, the event timeline, and a counterfactual toggle. Needs the viz extra: "
                    "pip install 'dyadsim[viz]'.",
        epilog="example:\n  python run.py viz scenarios/baseline.yaml --vs scenarios/no_2014_sanctions.yaml\n"
               "  python run.py viz scenarios/baseline.yaml --param coefficients.trade_diversion --port 8800",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--vs", metavar="CF.yaml",
                   help="counterfactual for the toggle (default: the first scenario beside it that extends it)")
    p.add_argument("--param", action="append", metavar="PATH", help="a slider for this dotted path; repeatable")
    p.add_argument("--replicates", type=positive_int, default=30, help="replicates in the fan charts (default 30)")
    p.add_argument("--host", default="localhost", help="address to listen on (default localhost)")
    p.add_argument("--port", type=positive_int, default=8765, help="port (default 8765)")
    p.set_defaults(func=cmd_viz)


def cmd_viz(args) -> int:
    from sim.core.errors import UserError
    from sim.core.loading import load_scenario
    try:
        import solara  # noqa: F401
        from mesa.visualization import SolaraViz  # noqa: F401
    except ImportError:
        raise UserError("the dashboard needs Mesa's visualisation extra: pip install 'dyadsim[viz]'") from None
    from sim.report.dashboard import CONFIG_ENV, counterfactuals_of, default_sliders

    loaded = load_scenario(args.scenario)                 # a bad file is one line and exit 2, before any server
    if args.vs:
        load_scenario(args.vs)
        cf = args.vs
    else:
        found = counterfactuals_of(loaded)
        cf = str(found[0]) if found else None
    default_sliders(loaded, args.param)
    config = {"scenario": str(loaded.path), "counterfactual": cf, "params": args.param,
              "replicates": args.replicates}
    env = {**os.environ, CONFIG_ENV: json.dumps(config), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "solara", "run", "sim.report.dashboard_app", "--host", args.host,
           "--port", str(args.port), "--production", "--no-open"]
    print(f"dashboard of {loaded.scenario.meta.name} on http://{args.host}:{args.port} (Ctrl-C stops it)",
          file=sys.stderr, flush=True)
    os.execve(sys.executable, cmd, env)     # the server replaces this process: signals reach it directly
    return 1
