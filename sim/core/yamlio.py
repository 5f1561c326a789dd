"""Safe YAML loading that remembers where every value came from, within limits.

Error messages must name the file and line of a bad field, and with
``extends:`` a value may come from a different file than its neighbours; so
each loaded document is paired with a map from field path to (file, line).

A few hundred bytes of YAML can describe billions of values (aliases of
aliases) or nest deeper than Python's stack; a scenario is a small document, so
size, nesting depth and values after alias expansion are capped (the limits are
documented in docs/errors.md) and a document beyond them is refused at its line.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import yaml

from sim.core.errors import UserError
from sim.core.files import MiB, control_character, read_text

Path_ = tuple[str | int, ...]
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
Origins = dict[Path_, tuple[str, int]]

MAX_BYTES = 4 * MiB          # one document
MAX_DEPTH = 64               # nested mappings and lists
MAX_VALUES = 200_000         # values (nodes) after alias expansion
MAX_ALIASED = 10_000         # values reached through aliases (``*name``)


class _DepthLimit:
    """Refuses to compose a document nested deeper than MAX_DEPTH (mixed in before the composer)."""

    file: str
    depth: int

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise UserError(f"values nested more than {MAX_DEPTH} levels deep", file=self.file,
                                line=mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Loader(_DepthLimit, yaml.SafeLoader):
    """Pure-Python PyYAML's SafeLoader, within the depth limit."""

    def __init__(self, text: str, file: str):
        super().__init__(text)
        self.file, self.depth = file, 0


if yaml.__with_libyaml__:
    class _FastLoader(_DepthLimit, yaml.composer.Composer, yaml.cyaml.CParser, yaml.constructor.SafeConstructor,
                      yaml.resolver.Resolver):
        """libyaml's scanner and parser under PyYAML's own composer, resolver and constructor.

        Scanning is most of the cost of reading a record or a scenario: the shipped YAML files read at
        0.6 MB/s through pure-Python PyYAML and at 2.9 MB/s this way. Only the events come from C:
        nodes, tags, values and lines are made exactly as ``_Loader`` makes them, and a document libyaml
        refuses is read again by ``_Loader``, so error messages are PyYAML's. libyaml follows the YAML
        spec where PyYAML is stricter than it (a tab between words, a '?' inside a plain scalar in
        brackets), so such documents now load instead of failing (tests/test_yaml_reading.py).
        """

        def __init__(self, text: str, file: str):
            yaml.cyaml.CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.file, self.depth = file, 0
else:                                                          # pragma: no cover - wheels ship libyaml
    _FastLoader = None


class _Builder:
    """Python values from a composed node graph, counting values so that aliases cannot explode."""

    def __init__(self, loader: _Loader, file: str, origins: Origins):
        self.loader, self.file, self.origins = loader, file, origins
        self.values = self.aliased = 0
        self.seen: set[int] = set()

    def fail(self, msg: str, node: yaml.Node, path: Path_) -> UserError:
        return UserError(msg, file=self.file, line=node.start_mark.line + 1, path=_fmt(path) or None)

    def count(self, node: yaml.Node, path: Path_) -> None:
        self.values += 1
        if id(node) in self.seen:
            self.aliased += 1
            if self.aliased > MAX_ALIASED:
                raise self.fail(f"aliases (*name) expand to more than {MAX_ALIASED:,} values", node, path)
        elif isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.seen.add(id(node))
        if self.values > MAX_VALUES:
            raise self.fail(f"more than {MAX_VALUES:,} values (aliases included)", node, path)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count(node, path)
        self.origins[path] = (self.file, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise self.fail(f"malformed YAML: tag '{node.tag}' is not allowed (files are loaded safely)", node, path)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, path + (i,)) for i, v in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("mapping keys must be plain strings", key_node, path)
            key = self.scalar(key_node, path)
            if isinstance(key, (int, float, bool)) or key is None:
                key = str(key) if key is not None else "null"
            if not isinstance(key, str):
                raise self.fail("mapping keys must be plain strings", key_node, path)
            if key in out:
                raise self.fail(f"duplicate key '{key}'", key_node, path)
            out[key] = self.build(value_node, path + (key,))
        return out

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as exc:
            raise self.fail(f"cannot read {node.value!r}: {exc}", node, path) from None
        if isinstance(value, str):
            bad = control_character(value)
            if bad is not None:
                raise self.fail(f"control character {bad[1]} in the text; only printable text, tabs and line "
                                "ends are allowed", node, path)
        return value


def _fmt(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


format_path = _fmt


# Parsed documents keyed by (file name, text hash). A sweep loads the same base
# scenario once per parameter point and a calibration once per prior bound, so
# each file is parsed once; keying on the text itself means an edited file is
# never served stale.
_PARSED: dict[tuple[str, str], tuple[bytes, Origins]] = {}
_PARSED_MAX = 64


def load_yaml(file: str | Path) -> tuple[Any, Origins]:
    """Load one YAML file safely; returns the data and the origin of every node.

    The caller owns the returned objects (they are copies of a cached parse),
    so it may change them in place.
    """
    file = Path(file)
    text = read_yaml_text(file)
    key = (str(file), hashlib.sha256(text.encode("utf-8")).hexdigest())
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        data, origins = _parse(text, file)
        _PARSED[key] = (pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), origins)
    blob, origins = _PARSED[key]
    # A pickle round trip copies plain YAML data several times faster than deepcopy.
    return pickle.loads(blob), dict(origins)


def read_yaml_text(file: Path, field: str | None = None) -> str:
    """The text of a YAML file within the document size limit (a regular file, UTF-8)."""
    try:
        return read_text(file, MAX_BYTES, "YAML file", field)
    except UserError as exc:
        if exc.message.startswith("control character"):
            raise UserError(f"malformed YAML: {exc.message}", file=exc.file, line=exc.line) from None
        raise


def _parse(text: str, file: Path | str) -> tuple[Any, Origins]:
    if _FastLoader is not None:
        try:
            return _parse_with(_FastLoader, text, file)
        except (yaml.YAMLError, UserError):
            pass                   # refused: PyYAML's own parser reads it again and words the error
    return _parse_with(_Loader, text, file)


def _parse_with(loader_class, text: str, file: Path | str) -> tuple[Any, Origins]:
    loader = None
    try:
        loader = loader_class(text, str(file))
        node = loader.get_single_node()
        if node is None:
            return {}, {(): (str(file), 1)}
        origins: Origins = {}
        data = _Builder(loader, str(file), origins).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = "; ".join(str(x) for x in (exc.context, exc.problem) if x) or "malformed YAML"
        if "'\\t'" in problem:
            problem += " (indent with spaces, not tabs)"
        raise UserError(f"malformed YAML: {problem}", file=str(file), line=line) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise UserError(f"malformed YAML: control character U+{char:04X} is not allowed", file=str(file),
                        line=line) from None
    except yaml.YAMLError as exc:
        raise UserError(f"malformed YAML: {' '.join(str(exc).split())}", file=str(file)) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, origins


def parse_value(text: str, label: str) -> Any:
    """One value written on the command line (``--set PATH=VALUE``), read as YAML within the same limits."""
    if len(text) > MAX_BYTES:
        raise UserError(f"{label}: the value is longer than {MAX_BYTES // MiB} MiB")
    try:
        data, _ = _parse(text, label)
    except UserError as exc:
        raise UserError(f"cannot read the value: {exc.message}", path=label) from None
    return data


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
