"""Safe YAML loading that remembers where every value came from.

Error messages must name the file and line of a bad field, and with
``extends:`` a value may come from a different file than its neighbours; so
each loaded document is paired with a map from field path to (file, line).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import yaml

from sim.core.errors import UserError

Path_ = tuple[str | int, ...]
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
Origins = dict[Path_, tuple[str, int]]


def _construct(node: yaml.Node, loader: yaml.SafeLoader, file: str, path: Path_, origins: Origins) -> Any:
    origins[path] = (file, node.start_mark.line + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        raise UserError(f"malformed YAML: tag '{node.tag}' is not allowed (files are loaded safely)",
                        file=file, line=node.start_mark.line + 1, path=_fmt(path) or None)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (int, float, bool)) or key is None:
                key = str(key) if key is not None else "null"
            if not isinstance(key, str):
                raise UserError("mapping keys must be plain strings", file=file,
                                line=key_node.start_mark.line + 1, path=_fmt(path))
            if key in out:
                raise UserError(f"duplicate key '{key}'", file=file,
                                line=key_node.start_mark.line + 1, path=_fmt(path))
            out[key] = _construct(value_node, loader, file, path + (key,), origins)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, file, path + (i,), origins) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _fmt(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


format_path = _fmt


# Parsed documents keyed by (file name, text hash). A sweep loads the same base
# scenario once per parameter point, and parsing (pure-Python PyYAML) costs ten
# times more than validating and compiling; keying on the text itself means an
# edited file is never served stale.
_PARSED: dict[tuple[str, str], tuple[bytes, Origins]] = {}
_PARSED_MAX = 64


def load_yaml(file: str | Path) -> tuple[Any, Origins]:
    """Load one YAML file safely; returns the data and the origin of every node.

    The caller owns the returned objects (they are copies of a cached parse),
    so it may change them in place.
    """
    file = Path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", file=str(file)) from None
    except IsADirectoryError:
        raise UserError("is a directory, expected a YAML file", file=str(file)) from None
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text ({exc.reason})", file=str(file)) from None
    key = (str(file), hashlib.sha256(text.encode("utf-8")).hexdigest())
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        data, origins = _parse(text, file)
        _PARSED[key] = (pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), origins)
    blob, origins = _PARSED[key]
    # A pickle round trip copies plain YAML data several times faster than deepcopy.
    return pickle.loads(blob), dict(origins)


def _parse(text: str, file: Path) -> tuple[Any, Origins]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {(): (str(file), 1)}
        origins: Origins = {}
        data = _construct(node, loader, str(file), (), origins)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise UserError(f"malformed YAML: {problem}", file=str(file), line=line) from None
    except yaml.YAMLError as exc:
        raise UserError(f"malformed YAML: {exc}", file=str(file)) from None
    finally:
        loader.dispose()
    return data, origins


def deep_merge(base: Any, over: Any, base_origins: Origins, over_origins: Origins,
               path: Path_ = ()) -> tuple[Any, Origins]:
    """Overlay ``over`` on ``base``: mappings merge key by key, anything else is replaced.

    A mapping with a ``value`` (a cited number) is replaced whole: a number and
    its citation travel together, so a child never inherits a source that
    described the parent's value.

    Lists are replaced whole rather than concatenated, so a counterfactual that
    rewrites a membership list or a timeline says exactly what it means.
    To drop an inherited timeline entry, a child lists the ids under
    ``timeline_remove`` (handled by the scenario loader, not here).
    """
    if isinstance(base, dict) and isinstance(over, dict) and "value" not in over:
        out = dict(base)
        origins = {p: o for p, o in base_origins.items()}
        for key, value in over.items():
            sub = path + (key,)
            if key in base:
                merged, merged_origins = deep_merge(base[key], value, _sub(base_origins, sub),
                                                    _sub(over_origins, sub), sub)
                for p in [p for p in origins if p[: len(sub)] == sub]:
                    del origins[p]
                origins.update(merged_origins)
                out[key] = merged
            else:
                out[key] = _copy(value)
                origins.update(_sub(over_origins, sub))
        return out, origins
    return _copy(over), _sub(over_origins, path)


def _copy(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _sub(origins: Origins, prefix: Path_) -> Origins:
    n = len(prefix)
    return {p: o for p, o in origins.items() if p[:n] == prefix}


def origin_of(origins: Origins, path: Path_) -> tuple[str | None, int | None]:
    """Closest known origin for a path (walks up when the exact node is missing)."""
    path = tuple(path)
    while True:
        if path in origins:
            return origins[path]
        if not path:
            return None, None
        path = path[:-1]


def validation_error(exc, origins: Origins, file: str, messages=None) -> UserError:
    """A pydantic ValidationError as one UserError at the first bad field's file and line.

    ``messages(err) -> (loc, msg) | None`` may rewrite an error (e.g. drop a union
    tag from the path); further errors are summarised after the first.
    """
    found = []
    for err in exc.errors():
        loc, msg = tuple(err["loc"]), err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        if messages is not None:
            loc, msg = messages(err, loc, msg)
        src, line = origin_of(origins, loc)
        found.append((src or file, line, _fmt(loc), msg))
    src, line, path, msg = found[0]
    if len(found) > 1:
        rest = "; ".join(f"{f}:{n}: {p}: {m}" if n else f"{f}: {p}: {m}" for f, n, p, m in found[1:4])
        msg += f" (+{len(found) - 1} more: {rest})"
    return UserError(msg, file=src, line=line, path=path or None)
