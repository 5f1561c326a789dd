"""Golden outputs: fingerprints of every number a few fixed runs produce.

Refactors must keep the numbers. ``python scripts/golden.py --write`` stores a
fingerprint (SHA-256 of the exact bytes) of each output column of a few fixed
runs in tests/golden/golden.json; tests/test_golden.py recomputes them and
fails on any difference. Rewrite the file only when the dynamics change on
purpose, and say so in the commit message.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
GOLDEN = ROOT / "tests" / "golden" / "golden.json"


def _digest(values) -> str:
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind in "UM":
        data = "\x1f".join(map(str, arr.tolist())).encode()
    else:
        data = np.ascontiguousarray(arr.astype(np.float64 if arr.dtype.kind == "f" else np.int64)).tobytes()
    return hashlib.sha256(data).hexdigest()[:20]


def frame_digest(df: pd.DataFrame) -> dict[str, str]:
    return {c: _digest(df[c].to_numpy()) for c in df.columns}


def cases() -> dict[str, dict[str, str]]:
    from sim import RelationsModel, load_scenario, run
    from sim.evidence.record import load_record
    from sim.evidence.scoring import Ensemble, score
    from sim.run.sweep.execute import run_sweep
    from sim.run.sweep.results import read_results
    from sim.run.sweep.spec import load_sweep

    sc = ROOT / "scenarios"
    out: dict[str, dict[str, str]] = {}
    for name, file, reps, seed in (("baseline_s1", "baseline.yaml", 3, 1),
                                    ("baseline_default_seed", "baseline.yaml", 2, None),
                                    ("no_2014_sanctions", "no_2014_sanctions.yaml", 3, 1),
                                    ("posterior", "baseline_calibrated.yaml", 4, 7)):
        res = run(load_scenario(sc / file), replicates=reps, seed=seed)
        for kind, df in (("indicators", res.indicators), ("events", res.events)):
            out[f"{name}/{kind}"] = frame_digest(df)
    model = RelationsModel(sc / "baseline.yaml", rng=5).run()
    out["mesa_rng5/datacollector"] = frame_digest(model.datacollector.get_model_vars_dataframe())
    base = load_scenario(sc / "baseline.yaml")
    card = score(Ensemble.from_run(run(base, replicates=6, seed=3)), load_record(base.record_path))
    out["scorecard/overall"] = {k: repr(v) for k, v in sorted(card.overall().items())}
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(load_sweep(ROOT / "tests" / "golden" / "golden_sweep.yaml"), Path(tmp) / "s", workers=1,
                  progress=False)
        _, runs = read_results(Path(tmp) / "s")
        out["sweep/runs"] = frame_digest(runs.drop(columns=["chunk"]))
    out.update(engine_records())
    return out


def engine_records() -> dict[str, dict[str, str]]:
    """Every variable the engine records, for 40 members of every shipped scenario (the examples included):
    what the outputs above are computed from, so that a change shows where it starts."""
    from sim.core.compile import compile_scenario
    from sim.core.engine import run_ensemble
    from sim.core.loading import load_scenario
    from sim.core.seeds import replicate_seeds

    out = {}
    sc = ROOT / "scenarios"
    for path in sorted(sc.glob("*.yaml")) + sorted(sc.glob("examples/*/scenario.yaml")):
        res = run_ensemble(compile_scenario(load_scenario(path)), replicate_seeds(7, 40))
        out[f"records/{path.relative_to(ROOT / 'scenarios').as_posix()}"] = {
            name: _digest(arr) for name, arr in sorted(res.records.items())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store the current fingerprints")
    args = ap.parse_args(argv)
    now = cases()
    if args.write:
        GOLDEN.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
        return 0
    stored = json.loads(GOLDEN.read_text())
    bad = [f"{case}:{col}" for case in stored for col in stored[case]
           if now.get(case, {}).get(col) != stored[case][col]]
    bad += [f"{case}:{col} (new)" for case in now for col in now[case] if col not in stored.get(case, {})]
    print("golden outputs: " + ("identical" if not bad else f"{len(bad)} differ: " + ", ".join(bad[:20])))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
