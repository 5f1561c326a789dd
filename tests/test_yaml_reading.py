"""Reading YAML through libyaml's parser must not change what any file means, where its values came from,
or how a bad file is reported."""

from __future__ import annotations

import pytest
import yaml

from sim.core import yamlio
from sim.core.errors import UserError
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML was built without libyaml")

SHIPPED = sorted(str(p.relative_to(ROOT)) for top in ("calibration", "scenarios", "sweeps", "tests")
                 for p in (ROOT / top).rglob("*.y*ml"))


def _read(loader, text: str):
    try:
        return yamlio._parse_with(loader, text, "doc.yaml")
    except UserError as exc:
        return ("error", exc.message, exc.line)


def test_every_shipped_yaml_file_reads_the_same_through_libyaml_and_pure_pyyaml():
    assert len(SHIPPED) > 20
    for name in SHIPPED:
        text = (ROOT / name).read_text(encoding="utf-8")
        fast, slow = _read(yamlio._FastLoader, text), _read(yamlio._Loader, text)
        assert fast == slow, name
        assert fast[0] != "error", name


@pytest.mark.parametrize("text, words, line", [
    ("a:\n  b: 1\n\tc: 2\n", "indent with spaces, not tabs", 3),
    ("a: [1, 2\nb: 3\n", "expected ',' or ']'", 2),
    ("a: 1\na: 2\n", "duplicate key 'a'", 2),
    ("a: !!python/object:os.system x\n", "could not determine a constructor", 1),
    ("x: " + "[" * 70 + "]" * 70 + "\n", "nested more than 64 levels", 1),
])
def test_a_bad_document_is_reported_in_pyyamls_words_at_its_line(text, words, line):
    with pytest.raises(UserError) as exc:
        yamlio._parse(text, "doc.yaml")
    assert words in exc.value.message and exc.value.line == line
    assert _read(yamlio._Loader, text) == ("error", exc.value.message, exc.value.line)


@pytest.mark.parametrize("text, value", [
    ("- {title: Prime Mi?nister, short: [Aso]}\n", [{"title": "Prime Mi?nister", "short": ["Aso"]}]),
    ("note: a\tb\n", {"note": "a\tb"}),
])
def test_valid_yaml_that_pure_pyyaml_refuses_now_loads(text, value):
    assert _read(yamlio._Loader, text)[0] == "error"
    data, origins = yamlio._parse(text, "doc.yaml")
    assert data == value and origins[()] == ("doc.yaml", 1)


def test_without_libyaml_pure_pyyaml_reads_the_file(monkeypatch):
    text = (ROOT / "scenarios" / "baseline.yaml").read_text(encoding="utf-8")
    expected = yamlio._parse(text, "baseline.yaml")
    monkeypatch.setattr(yamlio, "_FastLoader", None)
    assert yamlio._parse(text, "baseline.yaml") == expected
