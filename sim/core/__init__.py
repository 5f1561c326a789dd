"""The model itself: scenario files, their compilation and the dynamics.

Nothing here knows about the historical record, sweeps, calibration, figures
or the command line; every other layer builds on this one, so it must stay
importable on its own (tests/test_architecture.py checks the direction).
"""
