"""Versions of everything that can change a number, for manifests and scorecards.

A result file must say what produced it; the same list serves runs, sweeps,
calibrations and scorecards so that they can be compared with each other.
"""

from __future__ import annotations

import platform
from importlib import metadata

_PACKAGES = ["numpy", "pandas", "mesa", "pydantic", "pyarrow", "pyyaml", "matplotlib", "scipy", "scoringrules",
             "salib", "dask", "distributed", "dyadsim", "tqdm"]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
