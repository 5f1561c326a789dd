"""The tables of a run's results folder, written a chunk of replicates at a time.

``indicators.parquet/`` and ``events.parquet/`` hold the monthly series and
the events of the first ``series`` replicates, one Parquet part per chunk;
``replicates.parquet/`` holds one row per replicate, for every replicate: its
seed, the parameter-sample row it drew, and the window totals (a column's sum
over the months of a recorded period) that the summary and the scorecard are
computed from. Its parts hold up to PART_ROWS replicates, one row group per
chunk, so that reading one total back for a million replicates opens a few
files, not a thousand. The folder itself (atomic, hashed) is
:mod:`sim.core.results`; the layout is documented in docs/results.md.
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.core.columns import events_frame, indicator_columns, month_index_values
from sim.core.numerics import ordered_sum
from sim.core.provenance import package_versions
from sim.core.results import relative_to_folder
from sim.evidence.ensemble import scheduled_columns

INDICATORS, EVENTS, REPLICATES = "indicators.parquet", "events.parquet", "replicates.parquet"
PART_ROWS = 100_000          # replicates per part of replicates.parquet
SEEDS_IN_MANIFEST = 10_000   # above this many replicates the seeds are in replicates.parquet only
SEED_RULE = ("replicate i's seed is numpy.random.SeedSequence(base_seed).generate_state(replicates, uint32)[i] "
             "(sim.core.seeds.replicate_seeds); every seed is also in replicates.parquet")


class RunTables:
    """Writes the chunks of a run into ``folder`` as they finish; ``close`` lists the parts written."""

    def __init__(self, folder: Path, series: int, totals: list[str]):
        self.folder, self.series, self.totals = Path(folder), series, list(totals)
        self.parts: dict[str, list[str]] = {"indicators": [], "events": [], "replicates": []}
        self.columns: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0
        for name in (INDICATORS, EVENTS, REPLICATES):
            (self.folder / name).mkdir(parents=True, exist_ok=True)

    def add(self, result, offset: int, sample_rows: np.ndarray | None = None) -> None:
        """One finished chunk: its members are replicates ``offset``, ``offset + 1``, ..."""
        cols = indicator_columns(result.compiled)
        self.columns = self.columns or list(cols)
        keep = max(0, min(result.n_members, self.series - offset))
        if keep:
            self._series(result, cols, offset, keep)
        data = {"replicate": np.arange(offset, offset + result.n_members, dtype=np.int64),
                "seed": np.asarray(result.seeds).astype(np.int64)}
        if sample_rows is not None:
            data["sample_row"] = np.asarray(sample_rows, dtype=np.int64)
        data.update(window_totals(result, {**cols, **scheduled_columns(result.compiled)}, self.totals))
        table = pa.table(data)
        if self._writer is None or self._rows >= PART_ROWS:
            self._next_part(table.schema)
        self._writer.write_table(table)
        self._rows += result.n_members

    def _series(self, result, cols: dict, offset: int, keep: int) -> None:
        part = f"part-{len(self.parts['indicators']):05d}.parquet"
        ev = events_frame(result, replicate_offset=offset)
        if keep < result.n_members:
            ev = ev[ev["replicate"] < offset + keep]
        table = indicators_table(result, cols, offset, keep)
        pq.write_table(table, self.folder / INDICATORS / part, **encodings(table.schema))
        ev.to_parquet(self.folder / EVENTS / part, index=False)
        self.parts["indicators"].append(f"{INDICATORS}/{part}")
        self.parts["events"].append(f"{EVENTS}/{part}")

    def _next_part(self, schema: pa.Schema) -> None:
        if self._writer is not None:
            self._writer.close()
        part = f"{REPLICATES}/part-{len(self.parts['replicates']):05d}.parquet"
        self._writer = pq.ParquetWriter(self.folder / part, schema)   # totals repeat: dictionaries pay here
        self.parts["replicates"].append(part)
        self._rows = 0

    def close(self) -> dict[str, list[str]]:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.parts


def encodings(schema: pa.Schema) -> dict:
    """Parquet options for a results table: float columns byte-stream-split, the others dictionary-encoded.

    pyarrow's default first tries a dictionary on every column, which float series almost never repeat
    enough to use. On a 1,000-replicate chunk of the baseline's series (216,000 rows, 183 columns) the
    default wrote 253 MB in 1.54 s; these options write 193 MB in 0.54 s, and the values read back are
    the same (tests/test_results_folder.py). Any Parquet reader since format 2.8 reads them. The
    replicates' window totals are left to the default: many are small counts, which dictionaries
    store in less space (1.33 MB against 1.46 MB for 3,000 replicates).
    """
    floats = [f.name for f in schema if pa.types.is_floating(f.type)]
    return {"use_dictionary": [f.name for f in schema if f.name not in floats],
            "column_encoding": {name: "BYTE_STREAM_SPLIT" for name in floats} or None}


def indicators_table(result, cols: dict, offset: int, keep: int) -> pa.Table:
    """The first ``keep`` members' rows of :func:`sim.core.columns.indicators_frame`, built without pandas."""
    T = result.compiled.n_months
    data = {"replicate": np.repeat(np.arange(offset, offset + keep, dtype=np.int64), T),
            "seed": np.repeat(np.asarray(result.seeds[:keep]).astype(np.int64), T),
            "month": np.tile(month_index_values(result.compiled).values, keep)}
    for name, fn in cols.items():
        data[name] = np.asarray(fn(result), dtype=float)[:keep].reshape(-1)
    return pa.table(data)


def window_totals(result, columns: dict, keys: list[str]) -> dict[str, np.ndarray]:
    """Per member, each ``column@YYYY-MM..YYYY-MM`` total: the column's monthly values added in order."""
    months = result.compiled.months
    by_column: dict[str, list[tuple[str, int, int]]] = {}
    for key in keys:
        column, span = key.rsplit("@", 1)
        first, last = span.split("..")
        by_column.setdefault(column, []).append((key, months.index(first), months.index(last)))
    out = {}
    for column, wanted in by_column.items():
        arr = np.asarray(columns[column](result), dtype=float)
        for key, i, j in wanted:
            out[key] = ordered_sum(arr[:, i:j + 1])
    return {k: out[k] for k in keys}


def run_manifest(loaded, folder: Path, *, base_seed: int, seeds: np.ndarray, series: int, columns: list[str],
                 channels: list, totals: list[str], tables: dict[str, list[str]], chunk: int, wall_time_s: float,
                 record_hash: str | None = None, sample: str | None = None) -> dict:
    """What a run's folder holds and how to reproduce it; paths absolute (and relative to the folder)."""
    sc = loaded.scenario
    scenario_rel, scenario_abs = relative_to_folder(Path(loaded.path).resolve(), folder)
    record_rel, record_abs = relative_to_folder(loaded.record_path.resolve() if loaded.record_path else None,
                                                folder)
    n = len(seeds)
    return {
        "kind": "run", "scenario": sc.meta.name, "scenario_path": scenario_abs, "scenario_path_relative": scenario_rel,
        "scenario_hash": loaded.hash, "overrides": dict(loaded.overrides),
        "period": [sc.meta.start, sc.meta.end], "focal": list(sc.meta.focal),
        # absolute, and relative to the results folder: a folder moved with its record still finds it
        "record": record_abs, "record_relative": record_rel, "record_hash": record_hash,
        "parameter_sample": sample,
        "base_seed": base_seed, "replicates": n, "seed_rule": SEED_RULE,
        "seeds": [int(s) for s in seeds] if n <= SEEDS_IN_MANIFEST else None,
        "series_replicates": series, "chunk_replicates": chunk,
        "columns": columns, "totals": totals, "tables": tables,
        # every event channel as (type, actors, origin): which events the scenario schedules (scoring)
        "channels": [[ch.type, ";".join(ch.actors), ch.origin] for ch in channels],
        "versions": package_versions(), "wall_time_s": round(wall_time_s, 4),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
