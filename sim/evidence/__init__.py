"""The historical record and how runs are scored against it.

Depends on :mod:`sim.core` only: the record, its chronologies and the scores
must be usable on any ensemble, whatever produced it (a run, a results folder,
a sweep's chunk or a calibration's particles).
"""
