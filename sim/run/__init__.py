"""Running the model many times: replicates, parameter sweeps and calibration.

Builds on :mod:`sim.core` (the dynamics) and :mod:`sim.evidence` (the record
and its statistics), and never draws: figures live in :mod:`sim.report`, so
that a worker process running chunks never imports matplotlib.

``sim.run`` (the attribute of the ``sim`` package) is the function
:func:`sim.run.runner.run`; import from this package's modules with
``from sim.run.<module> import ...``.
"""
