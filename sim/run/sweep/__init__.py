"""Parameter sweeps: many scenario variants, each run many times, summarised per run.

A sweep file names a base scenario, the scenario values to vary, a design that
places the parameter points, and the few numbers to keep from every run. The
dynamics are never re-implemented here: each chunk of points is compiled by
:mod:`sim.run.points` (the same ``load_scenario`` + ``compile_scenario`` a
single run uses) and run as one ensemble by the engine, so a sweep member is
bit-identical to a single run with the same seed and overrides.

Why chunks: one ensemble per chunk keeps the arrays (about 0.33 MB per member
of the baseline) bounded while amortising the per-month Python overhead over
many members; chunks are also the unit of parallel work, of writing and of
resuming. The plan of chunks depends only on the sweep (never on the number of
workers), and every run's seed derives from the sweep seed and its
(point, replicate) index, so results are identical whatever the executor.

Modules: ``spec`` (the sweep file), ``designs`` (points and seeds),
``execute`` (chunks, the results folder, resume), ``outputs`` (numbers kept per
run), ``results`` (reading a folder back) and ``sensitivity`` (SALib indices).
"""
