"""Build-time half of the packaging: the example project goes into the wheel as ``sim/examples``.

The repository's ``scenarios/``, ``calibration/`` and ``sweeps/`` stay the
single source of truth; ``package_dir`` maps them into the package when the
wheel is built, so no copy is committed. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

EXAMPLES = {
    "sim.examples.scenarios": ("scenarios", ["*.yaml", "*.parquet", "examples/*/*.yaml", "examples/*/record/*.csv",
                                             "examples/*/record/*.yaml"]),
    "sim.examples.calibration": ("calibration", ["*.yaml", "record/*.csv", "record/*.yaml"]),
    "sim.examples.sweeps": ("sweeps", ["*.yaml"]),
}

setup(
    packages=find_packages(include=["sim", "sim.*", "dyadsim"]) + list(EXAMPLES),
    package_dir={name: folder for name, (folder, _) in EXAMPLES.items()},
    package_data={name: globs for name, (_, globs) in EXAMPLES.items()},
    include_package_data=False,
)
