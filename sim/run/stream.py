"""Runs that stream: replicates in chunks of bounded memory, each chunk written as soon as it is done.

A replicate's arrays take 0.33 MB (the baseline); held together, 100,000
replicates would need 33 GB. So ``run.py run`` cuts the replicates into chunks whose
arrays fit in CHUNK_BYTES, runs each chunk through the engine and writes it
(:class:`sim.run.results.RunTables`) before the next one starts; memory is
bounded by the chunk, not the run. The numbers do not depend on the chunking:
each member draws from its own seed, and every per-member number is computed
member by member.

What the summary and the scorecard need from every replicate are window
totals (a column's sum over a recorded period). Which ones is found by a dry
run of the summary and the scorer on an ensemble that records what is asked
(:func:`needed_totals`), so that the list cannot drift from the scorer; each
chunk stores them per replicate, and the summary and the scores are then
computed from the folder, reading one total at a time. The monthly series and
events are kept for the first ``series`` replicates (all of them up to
SERIES_DEFAULT): a million replicates' series would fill 100 GB of disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.columns import indicator_columns, month_index_values
from sim.core.compile import Compiled, compile_scenario
from sim.core.engine import Engine
from sim.core.loading import LoadedScenario
from sim.core.seeds import load_samples, replicate_seeds
from sim.evidence.ensemble import ColumnNames, Ensemble, channel_split, emitted_events
from sim.evidence.scoring import score
from sim.run.execution import Progress, progress_enabled
from sim.run.memory import check_fits, member_bytes
from sim.run.results import RunTables, run_manifest
from sim.run.runner import _sample_name, compile_members, write_resolved_scenario
from sim.run.summary import summarise

SERIES_DEFAULT = 10_000        # replicates whose monthly series and events a run keeps by default
CHUNK_BYTES = 512 * 2**20      # engine arrays (and their tables) of one chunk, about
PER_REPLICATE_BYTES = 64       # seeds (generated, then read back) and a total and its sorted copy, per replicate


@dataclass
class Streamed:
    """A streamed run written into ``folder``: what its manifest says, its summary."""

    folder: Path
    manifest: dict
    summary: str

    def ensemble(self) -> Ensemble:
        """The run as an ensemble read back from its folder (columns and totals one at a time)."""
        return Ensemble.from_manifest(self.folder, self.manifest)


def chunk_size(cp: Compiled, replicates: int) -> int:
    """Replicates per chunk so that a chunk's engine arrays (and its tables, about as big) fit CHUNK_BYTES."""
    per_member = sum(a.nbytes for a in Engine(cp, [0]).records.values())
    return int(max(1, min(replicates, CHUNK_BYTES // (2 * max(per_member, 1)))))


def stream_bytes(cp: Compiled, replicates: int, chunk: int) -> int:
    """Memory a streamed run takes at most: one chunk's arrays and tables, and a few numbers per replicate
    (its seed, and one window total or column at a time read back for the summary and the scores)."""
    return 2 * chunk * member_bytes(cp) + PER_REPLICATE_BYTES * replicates


def needed_totals(cp: Compiled, loaded: LoadedScenario, record=None) -> list[str]:
    """Every window total the summary (and, given a record, the scorecard) will ask of each replicate."""
    asked: dict[str, None] = {}

    def record_key(key: str) -> np.ndarray:
        asked[key] = None
        return np.zeros(1)

    sc = loaded.scenario
    focal = tuple(sc.meta.focal)
    sched, predicted = channel_split([(ch.type, ch.actors, ch.origin) for ch in cp.channels], focal)
    dry = Ensemble(sc.meta.name, month_index_values(cp), ColumnNames(indicator_columns(cp)), focal,
                   np.zeros(1), loaded.hash, emitted_events(sc.model_dump(mode="json"), focal), 0,
                   totals=record_key, scheduled=ColumnNames(sched), predicted=predicted)
    summarise(dry, (sc.meta.start, sc.meta.end), 0.0)
    if record is not None:
        score(dry, record)
    return list(asked)


def stream_run(loaded: LoadedScenario, folder: str | Path, replicates: int | None = None, seed: int | None = None,
               samples: pd.DataFrame | None = None, *, record=None, series: int | None = SERIES_DEFAULT,
               chunk: int | None = None, progress: bool | None = None) -> Streamed:
    """Run the replicates chunk by chunk into ``folder`` (a :class:`sim.core.results.FolderWriter`'s ``tmp``).

    ``record`` (a loaded record) adds the scorecard's totals; ``series`` is how
    many replicates keep their monthly series (None: all).
    """
    t0 = time.perf_counter()
    folder = Path(folder)
    n = loaded.scenario.meta.replicates if replicates is None else replicates
    base = loaded.scenario.meta.seed if seed is None else seed
    if samples is None and loaded.posterior_path is not None:
        samples = load_samples(loaded.posterior_path)
    shared = compile_scenario(loaded)                   # every chunk's, unless replicates draw parameters
    keys = needed_totals(shared, loaded, record)
    chunk = chunk or chunk_size(shared, n)
    check_fits(stream_bytes(shared, n, chunk), f"{n:,} replicates (chunks of {chunk:,})",
               "ask for fewer replicates (--replicates, or meta.replicates)")
    seeds = replicate_seeds(base, n)
    kept = n if series is None else min(series, n)
    tables = RunTables(folder, kept, keys)
    bar = Progress(n, 0, enabled=progress_enabled(progress) and n > chunk, label="run", unit="replicate")
    drawn = samples is not None
    for a in range(0, n, chunk):
        s = seeds[a:a + chunk]
        cp, points, rows = compile_members(loaded, s, samples) if drawn else (shared, None, None)
        tables.add(Engine(cp, s, points).run(), a, rows)
        bar.update(len(s))
    bar.close()
    write_resolved_scenario(loaded, folder)
    manifest = run_manifest(loaded, folder, base_seed=base, seeds=seeds, series=kept, columns=tables.columns,
                            channels=shared.channels, totals=keys, tables=tables.close(), chunk=chunk,
                            wall_time_s=time.perf_counter() - t0,
                            record_hash=getattr(record, "content_hash", None),
                            sample=_sample_name(loaded, seeds if drawn else None))
    text = summarise(Ensemble.from_manifest(folder, manifest), (loaded.scenario.meta.start,
                                                               loaded.scenario.meta.end), manifest["wall_time_s"])
    (folder / "summary.txt").write_text(text + "\n")
    return Streamed(folder, manifest, text)
