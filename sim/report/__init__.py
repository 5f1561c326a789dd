"""Figures and pages: what people look at.

Depends on :mod:`sim.core`, :mod:`sim.evidence` and :mod:`sim.run`, never the
other way round, so that running and scoring never import a plotting library
and a worker process stays light.
"""
