import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"


def seeds_dir() -> Path:
    return Path(os.environ.get("DYADSIM_SEEDS", ROOT.parent / "shared" / "seeds"))


@pytest.fixture
def scenario_copy(tmp_path):
    """Copy the bundled scenarios into tmp_path; returns a function that rewrites one of them."""
    for f in SCENARIOS.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)

    def make(old: str | None = None, new: str | None = None, name: str = "baseline.yaml") -> Path:
        path = tmp_path / name
        if old is not None:
            text = path.read_text()
            assert old in text, f"test setup: {old!r} not in {name}"
            path.write_text(text.replace(old, new, 1))
        return path
    return make


def line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")
