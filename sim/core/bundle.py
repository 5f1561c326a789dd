"""Where the example project lives: the repository's own folders in a checkout, a copy inside an installed wheel.

The repository's top-level ``scenarios/``, ``calibration/`` and ``sweeps/`` are
the single source of truth. A wheel carries them as ``sim/examples/...`` (the
build maps those folders into the package, see ``setup.py``), with the same
relative layout, so that the relative paths inside the files (``extends``,
``meta.record``, a sweep's ``scenario``) keep working from wherever pip put
them. A checkout, editable install included, has no ``sim/examples`` and reads
the folders themselves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.core.errors import UserError

SOURCE_ROOT = Path(__file__).resolve().parents[2]
PACKAGED_ROOT = Path(__file__).resolve().parents[1] / "examples"

#: (folder, glob) pairs that make up the example project; ``calibration/reports`` stays out (it is output).
EXAMPLE_FILES = [("scenarios", "*.yaml"), ("scenarios", "*.parquet"), ("scenarios/examples", "*/*.yaml"),
                 ("scenarios/examples", "*/record/*"), ("calibration", "*.yaml"), ("calibration/record", "*"),
                 ("sweeps", "*.yaml")]


def data_root() -> Path:
    """The folder holding ``scenarios/``, ``calibration/`` and ``sweeps/``."""
    if (PACKAGED_ROOT / "scenarios").is_dir():
        return PACKAGED_ROOT
    return SOURCE_ROOT


def example_files() -> list[Path]:
    """Every file of the example project, relative to :func:`data_root`."""
    root = data_root()
    return sorted(p.relative_to(root) for folder, pattern in EXAMPLE_FILES
                  for p in (root / folder).glob(pattern) if p.is_file())


def example_scenarios() -> dict[str, Path]:
    """Bundled scenario name -> path: the file stem, or the pair's folder name for ``scenarios/examples/PAIR``."""
    root = data_root() / "scenarios"
    found = {p.stem: p for p in sorted(root.glob("*.yaml"))}
    found.update({p.parent.name: p for p in sorted((root / "examples").glob("*/scenario.yaml"))})
    return found


def example_scenario(name: str) -> Path:
    """The bundled scenario called ``name`` (``baseline``, ``no_2014_sanctions``, ...)."""
    found = example_scenarios()
    if name not in found:
        raise UserError(f"no bundled example scenario '{name}' (bundled: {', '.join(found)})")
    return found[name]


def write_example_project(folder: str | Path, force: bool = False) -> list[Path]:
    """Copy the example project into ``folder``; refuses to overwrite a file unless ``force``."""
    root, out = data_root(), Path(folder)
    files = example_files()
    clash = [f for f in files if (out / f).exists()]
    if clash and not force:
        raise UserError(f"{len(clash)} file(s) already exist, e.g. {clash[0]}; pass --force to overwrite",
                        file=str(out))
    written = []
    for rel in files:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, out / rel)
        written.append(out / rel)
    return written
