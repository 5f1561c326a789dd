"""Reading a sweep's results folder back.

Layout of a results folder (see docs/sweeps.md)::

    manifest.json            what was run, by whom, with which versions
    runs/part-00012.parquet  one row per run of chunk 12
    series/part-00012.parquet  monthly series (only with keep_series)

A chunk's runs file is written last and atomically, so its presence means the
chunk is done; readers see only finished chunks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.core.errors import UserError

MANIFEST = "manifest.json"
RUNS_DIR = "runs"
SERIES_DIR = "series"


def part_name(chunk: int) -> str:
    return f"part-{chunk:05d}.parquet"


def read_results(folder: str | Path) -> tuple[dict, pd.DataFrame]:
    """Manifest and the runs table of a results folder (rows sorted by point and replicate)."""
    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        raise UserError(f"{folder} is not a sweep results folder (no {MANIFEST})")
    manifest = json.loads((folder / MANIFEST).read_text())
    parts = sorted((folder / RUNS_DIR).glob("part-*.parquet"))
    if not parts:
        raise UserError(f"{folder} has no finished chunks yet")
    runs = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return manifest, runs.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)


def point_means(manifest: dict, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per design point (all of them, in id order): parameter values and outputs averaged
    over the successful replicates; NaN where a point has no successful run."""
    names = manifest["problem"]["names"]
    labels = [o["label"] for o in manifest["outputs"]]
    params = runs.groupby("point")[names].first()
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("point")[labels].mean()
    table = params.join(means, how="left")
    return table.reindex(pd.RangeIndex(manifest["points"], name="point"))
