"""The example notebook (docs/notebook.ipynb) runs from top to bottom and shows its figures.

It is executed as a user would: a Jupyter kernel (ipykernel) driven by nbclient,
the inline backend, the notebook's own folder as working directory.
"""

from __future__ import annotations

import base64

import pytest

from tests.conftest import ROOT

NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed():
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}},
                   allow_errors=False).execute()
    return nb


def _outputs(cell, kind: str) -> list:
    return [o for o in cell.get("outputs", []) if kind in o.get("data", {})]


def _png_bytes(cell) -> list[int]:
    return [len(base64.b64decode(o["data"]["image/png"])) for o in _outputs(cell, "image/png")]


def test_every_cell_runs_without_an_error(executed):
    codes = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in codes)
    errors = [o for c in codes for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


def test_figures_are_shown_including_the_users_own_pyplot(executed):
    """Each plotting cell shows exactly one real image: dyadsim's Figures and, after them, plain pyplot."""
    by_source = {c.source.splitlines()[-1] if "plt.show()" not in c.source else "plt.show()": c
                 for c in executed.cells if c.cell_type == "code"}
    for key in ('base.plot("trade.china.russia")', "base.plot_events()", "effect.plot()", "plt.show()"):
        sizes = _png_bytes(by_source[key])
        assert len(sizes) == 1 and sizes[0] > 10_000, (key, sizes)


def test_tables_and_messages_a_reader_sees(executed):
    text = "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in executed.cells for o in c.get("outputs", []))
    assert "unknown indicator column 'trade.russia.chna'" in text and "trade.china.russia" in text
    html = [o["data"]["text/html"] for c in executed.cells for o in _outputs(c, "text/html")]
    assert any("<th>month</th>" in h and "q50" in h for h in html)            # pandas tables with a month column
    assert any("series_crps_log" in h for h in html)                            # the comparison table
