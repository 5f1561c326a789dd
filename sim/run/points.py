"""Parameter points: a base scenario with overrides, compiled side by side.

An ensemble drawing its parameters from a posterior, a sweep's chunk and a
calibration's particles all run several parameter points as one ensemble.
Each point must be built exactly as a single run with those overrides would
be (``load_scenario`` then ``compile_scenario``), or a member would stop being
bit-identical to that single run; so this is the only place that does it.

Loading and compiling a scenario costs 5-10 ms, more than a run of the model,
so points are not compiled one by one when that can be avoided. Points whose
overrides are all cited numbers (or plain numbers) of the schema go into ONE
compilation with a table of per-point values (:class:`sim.core.compile.Values`);
each value is checked against its field's bounds as the loader would check it,
and a point outside them is handed to the loader, so that it fails with the
loader's own message. Anything the table cannot express (a path that is not a
number of the schema, a number the compilation does not read through the
table) falls back to one compilation per point, and those are grouped by
structure. A probe compiles one point of each table the slow way and compares
every prepared array, so that a mechanism that read a number behind the
table's back would be caught rather than silently give every point the base
value.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from sim.core import mechanisms
from sim.core.compile import Compiled, Values, compile_scenario, stack_points
from sim.core.engine import EnsembleResult, run_ensemble
from sim.core.errors import UserError
from sim.core.loading import LoadedScenario, load_scenario
from sim.core.params import Cited, Range, _not_bool
from sim.core.schema import scenario_model

_SPLIT_BELOW = 4     # a failing table of this many points or fewer is compiled point by point


@dataclass
class PointGroup:
    """Points compiled together: ``rows`` are their indices in the caller's table, in point order."""

    compiled: Compiled
    rows: np.ndarray


@dataclass
class CompiledPoints:
    """What :func:`compile_points` made of a table of points."""

    groups: list[PointGroup]
    ok: np.ndarray                               # (n,) which rows compiled
    errors: dict[int, str] = field(default_factory=dict)   # row -> why not (with skip_invalid)
    table: bool = False                          # whether a table compilation was used

    def single(self) -> tuple[Compiled, np.ndarray]:
        """Every point in one compiled ensemble, and each row's point in it (groups must share structure)."""
        if not self.ok.all():
            raise ValueError("some points did not compile")
        order = np.concatenate([g.rows for g in self.groups])
        where = np.empty(len(order), dtype=int)
        where[order] = np.arange(len(order))
        if len(self.groups) == 1:
            return self.groups[0].compiled, where
        return stack_points([g.compiled for g in self.groups]), where   # raises if their structure differs


def compile_points(base: str | Path, paths: Sequence[str], values: np.ndarray,
                   base_overrides: dict[str, Any] | None = None, skip_invalid: bool = False) -> CompiledPoints:
    """The points (rows of ``values``, one column per path in ``paths``), compiled in as few groups as possible.

    A point the scenario rejects raises the loader's error; with ``skip_invalid``
    it is left out instead (``ok`` False, its message in ``errors``).
    """
    values = np.asarray(values, dtype=float).reshape(len(values), len(paths))
    loaded = load_scenario(base, base_overrides)
    checks = _table_checks(loaded, paths)
    out = CompiledPoints([], np.zeros(len(values), dtype=bool))
    slow = np.arange(len(values))
    if checks is not None and len(values):
        bad = _out_of_bounds(values, checks)
        groups, rest = _tabled(loaded, (base, base_overrides, paths), values, np.flatnonzero(~bad))
        for g in groups:
            out.groups.append(g)
            out.ok[g.rows] = True
        out.table = bool(groups)
        slow = np.sort(np.concatenate([np.flatnonzero(bad), rest]))
    _compile_slowly(out, base, base_overrides, paths, values, slow, skip_invalid)
    out.groups = _merged(out.groups)
    return out


def run_groups(points: CompiledPoints, seeds: np.ndarray,
               months: int | None = None) -> Iterator[tuple[np.ndarray, EnsembleResult]]:
    """Each group's points as one ensemble: ``seeds`` is (points, replicates) for every row, members point-major.

    Yields (rows, result); the result's members are rows[0]'s replicates, then rows[1]'s, and so on.
    ``months`` runs only the first months of the period (``Engine.run``).
    """
    for g in points.groups:
        yield g.rows, run_points(g.compiled, seeds[g.rows], months)


def run_points(cp: Compiled, seeds: np.ndarray, months: int | None = None) -> EnsembleResult:
    """Every point's replicates as one ensemble: ``seeds`` is (points, replicates), members point-major."""
    n, replicates = seeds.shape
    return run_ensemble(cp, seeds.ravel().astype(np.uint64), np.repeat(np.arange(n), replicates), months)


# ---------------------------------------------------------------- the table compilation

def _tabled(loaded: LoadedScenario, point: tuple, values: np.ndarray,
            rows: np.ndarray) -> tuple[list[PointGroup], np.ndarray]:
    """Table compilations of ``rows`` and the rows left for one-by-one compilation.

    A compilation that fails (a point whose numbers the model rejects, e.g. a
    negative oil price) is split in halves, so that only the bad points pay
    for compiling one at a time; a probe that disagrees sends every row there.
    """
    base, base_overrides, paths = point
    if not len(rows):
        return [], rows
    try:
        cp = compile_scenario(loaded, Values({p: values[rows, j] for j, p in enumerate(paths)}))
    except (UserError, ValueError):
        if len(rows) <= _SPLIT_BELOW:
            return [], rows
        a, ra = _tabled(loaded, point, values, rows[: len(rows) // 2])
        b, rb = _tabled(loaded, point, values, rows[len(rows) // 2:])
        return a + b, np.concatenate([ra, rb])
    for k in _probe_rows(loaded, paths, values[rows]):
        single = compile_scenario(load_scenario(base, _overrides(base_overrides, paths, values[rows[k]])))
        if not _same_point(cp, k, single):
            return [], rows
    return [PointGroup(cp, np.asarray(rows))], rows[:0]


def _probe_rows(loaded: LoadedScenario, paths, values: np.ndarray) -> list[int]:
    """A few rows that, together, move every path away from its base value (so a direct read would show)."""
    differs = np.column_stack([values[:, j] != _base_value(loaded, p) for j, p in enumerate(paths)])
    probes, covered = [], np.zeros(len(paths), dtype=bool)
    while True:
        gain = (differs & ~covered).sum(axis=1)
        k = int(np.argmax(gain))
        if gain[k] == 0:
            return probes or [0]
        probes.append(k)
        covered |= differs[k]


def _base_value(loaded: LoadedScenario, path: str) -> float:
    node = _raw_node(loaded.raw, _canonical(path))
    return float(node["value"] if isinstance(node, dict) else node)


def _same_point(cp: Compiled, k: int, single: Compiled) -> bool:
    """Point ``k`` of a table compilation equals the compilation of that point alone, array by array."""
    if (cp.months, cp.states, cp.orgs, cp.focal, cp.pairs, cp.channels) != \
            (single.months, single.states, single.orgs, single.focal, single.pairs, single.channels):
        return False
    if cp.arrays.keys() != single.arrays.keys() or cp.coef.keys() != single.coef.keys() \
            or cp.fixed.keys() != single.fixed.keys():
        return False
    rows = [(cp.arrays[n], single.arrays[n]) for n in cp.arrays] + [(cp.coef[n], single.coef[n]) for n in cp.coef]
    if len(cp.jumps) != len(single.jumps) or any(len(a) != len(b) for a, b in zip(cp.jumps, single.jumps, strict=True)):
        return False
    for a, b in zip(cp.jumps, single.jumps, strict=True):
        for ja, jb in zip(a, b, strict=True):
            if (ja.var, ja.index, ja.op) != (jb.var, jb.index, jb.op):
                return False
            rows.append((ja.value, jb.value))
    return all(_equal(a[k] if a.shape[0] > 1 else a[0], b[0]) for a, b in rows) and \
        all(_equal(cp.fixed[n], single.fixed[n]) for n in cp.fixed)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f")


# ---------------------------------------------------------------- which paths a table can hold

def _canonical(path: str) -> str:
    return path[: -len(".value")] if path.endswith(".value") else path


def _table_checks(loaded: LoadedScenario, paths: Sequence[str]) -> list[list[tuple[str, float]]] | None:
    """Per path, the bounds a value must meet; None unless every path is a number of the scenario."""
    if len({_canonical(p) for p in paths}) != len(paths):
        return None
    out = []
    for p in paths:
        node = _raw_node(loaded.raw, _canonical(p))
        is_number = isinstance(node, (int, float)) and not isinstance(node, bool)
        cited = isinstance(node, dict) and isinstance(node.get("value"), (int, float)) \
            and not isinstance(node.get("value"), bool)
        checks = _field_checks(_canonical(p), cited) if (is_number or cited) else None
        if checks is None:
            return None
        out.append(checks)
    return out


def _raw_node(raw: Any, path: str) -> Any:
    """The number (or cited number) at ``path`` of the scenario file; a coefficient the file leaves to its
    default is that default, as the loader fills it in when it is overridden."""
    parts = path.split(".")
    if len(parts) == 2 and parts[0] == "coefficients" and parts[1] not in (raw.get("coefficients") or {}):
        return mechanisms.coefficient_default(parts[1])
    node = raw
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _unwrap(t: Any, meta: list) -> tuple[Any, list]:
    """Strip ``Annotated`` (keeping its metadata) and ``X | None``."""
    while True:
        if typing.get_origin(t) is typing.Annotated:
            meta = meta + list(t.__metadata__)
            t = typing.get_args(t)[0]
        elif typing.get_origin(t) in (typing.Union, types.UnionType):
            arms = [a for a in typing.get_args(t) if a is not type(None)]
            if len(arms) != 1:
                return None, meta
            t = arms[0]
        else:
            return t, meta


def _step(t: Any, part: str) -> tuple[Any, list] | None:
    """The type (and field metadata) one path part further down, or None when the schema has no such part."""
    if isinstance(t, type) and issubclass(t, BaseModel):
        info = t.model_fields.get(part)
        if info is None or not _plain_model(t, part):
            return None
        return info.annotation, list(info.metadata)
    if typing.get_origin(t) is dict:
        return typing.get_args(t)[1], []
    if typing.get_origin(t) is list and part.isdigit():
        return typing.get_args(t)[0], []
    return None


def _plain_model(model: type[BaseModel], fld: str) -> bool:
    """No validator of ``model`` looks at ``fld`` beyond its type (a citation check does not)."""
    dec = model.__pydantic_decorators__
    if set(dec.model_validators) - set(Cited.__pydantic_decorators__.model_validators):
        return False
    return not any(fld in v.info.fields or "*" in v.info.fields for v in dec.field_validators.values())


def _field_checks(path: str, cited: bool) -> list[tuple[str, float]] | None:
    """Bounds of the number at ``path`` as (kind, bound) pairs; None when the schema says more than bounds."""
    t, meta = scenario_model(), []
    for part in path.split("."):
        t, meta = _unwrap(t, meta)
        nxt = _step(t, part)
        if nxt is None:
            return None
        t, meta = nxt
    t, meta = _unwrap(t, meta)
    if cited:
        if not (isinstance(t, type) and issubclass(t, BaseModel) and _plain_model(t, "value")):
            return None
        inner = t.model_fields.get("value")
        if inner is None or inner.annotation is not float:
            return None
        meta = meta + list(inner.metadata)
    elif t is not float:
        return None
    return _bounds(meta)


def _bounds(meta: list) -> list[tuple[str, float]] | None:
    out = []
    for m in meta:
        fn = getattr(m, "func", None)
        if fn is _not_bool:
            continue                            # a table holds floats, never booleans
        if isinstance(fn, Range):
            out += [("range_lo", fn.lo)] if fn.lo is not None else []
            out += [("range_hi", fn.hi)] if fn.hi is not None else []
        elif type(m).__module__ == "annotated_types" and type(m).__name__ in ("Ge", "Gt", "Le", "Lt"):
            kind = type(m).__name__.lower()     # pydantic's Field(ge=..., le=...) bounds
            out.append((kind, float(getattr(m, kind))))
        else:
            return None
    return out


def _out_of_bounds(values: np.ndarray, checks: list[list[tuple[str, float]]]) -> np.ndarray:
    """Rows some value of which the loader would reject (compiled one by one, so the loader says why)."""
    bad = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        for j, col_checks in enumerate(checks):
            v = values[:, j]
            bad |= ~np.isfinite(v)              # the schemas refuse NaN and infinities (allow_inf_nan=False)
            for kind, bound in col_checks:
                if kind == "range_lo":
                    bad |= v < bound
                elif kind == "range_hi":
                    bad |= v > bound
                else:
                    bad |= ~{"ge": v >= bound, "gt": v > bound, "le": v <= bound, "lt": v < bound}[kind]
    return bad


# ---------------------------------------------------------------- one point at a time

def _overrides(base_overrides, paths, row) -> dict[str, Any]:
    return {**(base_overrides or {}), **{p: float(v) for p, v in zip(paths, row, strict=True)}}


def _compile_slowly(out: CompiledPoints, base, base_overrides, paths, values, rows: np.ndarray,
                    skip_invalid: bool) -> None:
    """The loader and the compiler per point, as a single run would do it."""
    for i in rows:
        try:
            cp = compile_scenario(load_scenario(base, _overrides(base_overrides, paths, values[i])))
        except (UserError, ValueError) as exc:
            if not skip_invalid:
                raise
            out.errors[int(i)] = f"{type(exc).__name__}: {exc}"
            continue
        out.groups.append(PointGroup(cp, np.array([i], dtype=int)))
        out.ok[i] = True


def _merged(groups: list[PointGroup]) -> list[PointGroup]:
    """Groups that share the scenario's structure stacked into one ensemble each."""
    by_structure: dict[tuple, list[PointGroup]] = {}
    for g in groups:
        by_structure.setdefault(_structure(g.compiled), []).append(g)
    return [gs[0] if len(gs) == 1 else PointGroup(stack_points([g.compiled for g in gs]),
                                                  np.concatenate([g.rows for g in gs]))
            for gs in by_structure.values()]


def _structure(cp: Compiled) -> tuple:
    """What points must share to run in one ensemble (what ``stack_points`` takes from the first)."""
    return (tuple(cp.months), tuple(cp.states), tuple(cp.orgs), cp.focal, repr(cp.pairs),
            tuple((c.type, c.actors, c.organisation, c.origin, c.name) for c in cp.channels),
            tuple((k, v.shape, v.tobytes()) for k, v in sorted(cp.fixed.items())),
            tuple((k, v.shape[1:]) for k, v in sorted(cp.arrays.items())),
            tuple(tuple((j.var, j.index, j.op) for j in step) for step in cp.jumps))
