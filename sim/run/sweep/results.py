"""Reading a sweep's results folder back, trusting nothing in it.

Layout of a results folder (see docs/sweeps.md)::

    manifest.json            what was run, by whom, with which versions
    runs/part-00012.parquet  one row per run of chunk 12
    series/part-00012.parquet  monthly series (only with keep_series)

A chunk's runs file is written last and atomically, so its presence means the
chunk is done; readers see only finished chunks. A folder can still be damaged
afterwards (a file truncated by a full disk, a part copied under another name,
rows deleted by hand), and sensitivity indices computed on such a folder would
be silently wrong; so every part is checked against the manifest, and the
first problem found is reported as one line naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.core.errors import UserError
from sim.core.files import MiB, read_json_object
from sim.core.params import Real, Whole
from sim.core.yamlio import validation_error

MANIFEST = "manifest.json"
RUNS_DIR = "runs"
SERIES_DIR = "series"
_PART_RE = re.compile(r"part-(\d{5})\.parquet")
_ID_COLUMNS = ("point", "replicate", "seed", "chunk")


def part_name(chunk: int) -> str:
    return f"part-{chunk:05d}.parquet"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class _Design(_Open):
    method: Literal["grid", "random", "lhs", "sobol", "morris"]


class _Problem(_Open):
    names: list[str] = Field(min_length=1)
    bounds: list[tuple[Real, Real]]


class _Output(_Open):
    label: str


class _Chunks(_Open):
    count: Whole = Field(ge=1)
    points_per_chunk: Whole = Field(ge=1)


class _Identity(_Open):
    replicates: Whole = Field(ge=1)


class SweepManifest(_Open):
    """The fields of manifest.json that readers and a resumed sweep rely on."""

    design: _Design
    problem: _Problem
    outputs: list[_Output] = Field(min_length=1)
    points: Whole = Field(ge=1)
    chunks: _Chunks
    identity: _Identity


def read_manifest(folder: str | Path) -> dict:
    """A results folder's manifest, checked for the fields readers use; one line naming the file when it is not."""
    folder = Path(folder)
    file = folder / MANIFEST
    if not file.exists():
        raise UserError(f"not a sweep results folder (no {MANIFEST})", file=str(folder))
    manifest = read_json_object(file, 64 * MiB, "manifest")
    try:
        SweepManifest.model_validate(manifest)
    except ValidationError as exc:
        raise validation_error(exc, {}, str(file)) from None
    return manifest


def read_results(folder: str | Path) -> tuple[dict, pd.DataFrame]:
    """Manifest and the runs table of a results folder (rows sorted by point and replicate)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not (folder / RUNS_DIR).is_dir():
        raise UserError(f"no {RUNS_DIR}/ folder: not a sweep results folder, or damaged", file=str(folder))
    parts = sorted((folder / RUNS_DIR).glob("part-*.parquet"))
    if not parts:
        raise UserError(f"{folder} has no finished chunks yet")
    runs = pd.concat([read_part(p, manifest) for p in parts], ignore_index=True)
    return manifest, runs.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)


def read_part(path: Path, manifest: dict) -> pd.DataFrame:
    """One chunk's runs, checked: its name, its rows (every run of the chunk, once) and their values."""
    m = _PART_RE.fullmatch(path.name)
    chunk = int(m.group(1)) if m else -1
    count = manifest["chunks"]["count"]
    if not 0 <= chunk < count:
        raise UserError(f"not a chunk of this sweep (it has {count} chunks, part-00000 to {part_name(count - 1)}); "
                        "remove the file", file=str(path))
    if not path.is_file():
        raise UserError("expected a Parquet file", file=str(path))
    try:
        runs = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise UserError(f"not a readable Parquet file ({type(exc).__name__}); delete it and run the same sweep "
                        "command again to redo this chunk", file=str(path)) from None
    names = manifest["problem"]["names"]
    labels = [o["label"] for o in manifest["outputs"]]
    for col in (*_ID_COLUMNS, "status", *names, *labels):
        if col not in runs.columns:
            raise UserError(f"column '{col}' is missing", file=str(path))
    _check_rows(path, runs, chunk, manifest)
    _check_values(path, runs, names, labels)
    return runs


def _check_rows(path: Path, runs: pd.DataFrame, chunk: int, manifest: dict) -> None:
    for col in _ID_COLUMNS:
        if not pd.api.types.is_integer_dtype(runs[col]):
            raise UserError(f"column '{col}' holds {runs[col].dtype} values, expected whole numbers", file=str(path))
    if (runs["chunk"] != chunk).any():
        other = int(runs.loc[runs["chunk"] != chunk, "chunk"].iloc[0])
        raise UserError(f"holds rows of chunk {other}, not of chunk {chunk} (a copied file?); remove it",
                        file=str(path))
    per, reps = manifest["chunks"]["points_per_chunk"], manifest["identity"]["replicates"]
    first, last = chunk * per, min(manifest["points"], (chunk + 1) * per)
    want = {(p, r) for p in range(first, last) for r in range(reps)}
    have = set(zip(runs["point"].tolist(), runs["replicate"].tolist(), strict=True))
    if len(runs) != len(want) or have != want:
        raise UserError(f"has {len(have & want)} of the chunk's {len(want)} runs"
                        f"{' and rows that do not belong to it' if have - want or len(runs) != len(have) else ''}; "
                        "delete it and run the same sweep command again to redo this chunk", file=str(path))


def _check_values(path: Path, runs: pd.DataFrame, names: list[str], labels: list[str]) -> None:
    bad_status = ~runs["status"].isin(["ok", "failed"])
    if bad_status.any():
        raise UserError(f"status '{runs['status'][bad_status].iloc[0]}' is neither ok nor failed", file=str(path))
    ok = runs["status"] == "ok"
    for col in names + labels:
        try:
            values = runs[col].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise UserError(f"column '{col}' does not hold numbers", file=str(path)) from None
        finite = np.isfinite(values)
        if col in names and not finite.all():
            raise UserError(f"parameter column '{col}' holds values that are not finite numbers", file=str(path))
        if col in labels and not finite[ok.to_numpy()].all():
            row = runs[ok & ~finite].iloc[0]
            raise UserError(f"run (point {row['point']}, replicate {row['replicate']}) is marked ok but output "
                            f"'{col}' has no finite value", file=str(path))


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
