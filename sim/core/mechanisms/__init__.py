"""The model's mechanisms, discovered from this package and ordered by when they act in a month.

Every module here that defines ``MECHANISM`` is part of the model: adding a
mechanism is adding a module (and its coefficients to the baseline scenario,
unless they have defaults). ``registry()`` is the one list that the scenario
schema, the compiler, the engine, the output columns and the generated model
description all read.
"""

from __future__ import annotations

import importlib
import pkgutil

from sim.core.mechanisms.base import Mechanism

_extra: list[Mechanism] = []
_cache: tuple[Mechanism, ...] | None = None
_version = 0


def _discover() -> list[Mechanism]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        mech = getattr(module, "MECHANISM", None)
        if isinstance(mech, Mechanism):
            found.append(mech)
    return found


def registry() -> tuple[Mechanism, ...]:
    """All mechanisms in execution order (ties broken by name)."""
    global _cache
    if _cache is None:
        mechs = _discover() + _extra
        names = [m.name for m in mechs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise RuntimeError(f"two mechanisms share the name(s) {sorted(dup)}")
        _cache = tuple(sorted(mechs, key=lambda m: (m.order, m.name)))
    return _cache


def version() -> int:
    """Changes whenever the registry does (so derived schemas can be rebuilt)."""
    return _version


def register(mech: Mechanism) -> None:
    """Add a mechanism defined outside this package (plug-ins, tests)."""
    global _cache, _version
    _extra.append(mech)
    _cache = None
    _version += 1


def unregister(mech: Mechanism) -> None:
    global _cache, _version
    _extra.remove(mech)
    _cache = None
    _version += 1


def coefficient_fields() -> dict[str, tuple]:
    """Every mechanism's coefficients as pydantic field definitions, checked for clashes."""
    fields: dict[str, tuple] = {}
    owner: dict[str, str] = {}
    for mech in registry():
        for name, info in mech.Coefficients.model_fields.items():
            if name in fields:
                raise RuntimeError(f"coefficient '{name}' is declared by both {owner[name]} and {mech.name}")
            fields[name] = (info.annotation, info)
            owner[name] = mech.name
    return fields


def coefficient_default(name: str) -> dict | None:
    """A coefficient's cited default as a scenario file would write it (None for an unknown name)."""
    info = coefficient_fields().get(name)
    return None if info is None else info[1].default.model_dump(exclude_none=True)


def owner_of(coefficient: str) -> Mechanism | None:
    for mech in registry():
        if coefficient in mech.Coefficients.model_fields:
            return mech
    return None


__all__ = ["registry", "register", "unregister", "coefficient_fields", "owner_of", "version", "Mechanism"]
