"""Loading configs from YAML (once, at the edge) with errors that name the file and the field.

Reading is bounded, so no file makes ``validate`` hang, exhaust memory or end
in a traceback: at most :data:`MAX_FILE_BYTES` are read from the opened file (a
symlink to ``/dev/zero`` is refused after 1 MiB), the YAML nesting depth is
capped at :data:`MAX_DEPTH` (checked while composing, before Python recursion
could overflow), the document's size with every alias expanded is capped at
:data:`MAX_NODES` (a "billion laughs" alias bomb fails after a few hundred
events), duplicate mapping keys are rejected, and every file-system, decoding
and YAML fault becomes a one-line :class:`ConfigError` naming the file.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from qlearn_sense.config._models import ExperimentConfig, FieldError, short_repr

MAX_FILE_BYTES = 2**20
"""Largest config file read, bytes (1 MiB; shipped configs are a few kB)."""

MAX_DEPTH = 64
"""Deepest accepted YAML nesting (configs nest 3 or 4 levels)."""

MAX_NODES = 100_000
"""Most YAML nodes in a document with every alias expanded (configs have a few hundred)."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_UNION_TAGS = ("constant", "action_potential", "sinusoid")


class _NoValue:
    """An error triple's value that is not printed: an absent field, or a whole section."""

    def __init__(self, text: str):
        self._text = text

    def __repr__(self) -> str:
        return self._text


MISSING = _NoValue("<missing>")
"""The value of a ``(path, value, accepted)`` error triple for a required field that is absent."""

SECTION = _NoValue("<section>")
"""The value of an error triple raised by a check of a whole section (the section is not printed)."""

_PLAIN = {
    "finite_number": "accepted: a finite number (not NaN or infinity)",
    "int_type": "accepted: an integer (not a float, string or boolean)",
}


class _Shown(str):
    """Text standing for a value too large to keep (printed without quotes)."""

    def __repr__(self) -> str:
        return str(self)


class ConfigError(ValueError):
    """An invalid config. ``errors`` lists ``(field_path, value, accepted)`` triples.

    ``value`` is :data:`MISSING` for an absent required field (:data:`SECTION` for a
    check of a whole section, whose message names the fields); containers and
    long strings are kept as a short text. The message quotes each value in at
    most 80 characters, so a huge value is never formatted in full. File-level
    problems (path ``"<file>"``) give a one-line message.

    Attributes:
      source: the file (or ``"<dict>"``) the config came from.
      errors: ``(field_path, value, accepted)`` triples.
    """

    def __init__(self, source: str, errors: list[tuple[str, Any, str]]):
        self.source = source
        self.errors = errors
        if len(errors) == 1 and errors[0][0] == "<file>":
            super().__init__(f"invalid config {source}: {errors[0][2]}")
            return
        lines = [f"{path}: {accepted}" if isinstance(value, _NoValue)
                 else f"{path}: got {short_repr(value)}; {accepted}" for path, value, accepted in errors]
        super().__init__(f"invalid config {source}:\n  " + "\n  ".join(lines))


def _shown(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, _NoValue)):
        return value
    if isinstance(value, str) and len(value) <= 80:
        return value
    if isinstance(value, dict):
        return _Shown("{...}")
    return _Shown(short_repr(value))


def _loc(parts) -> str:
    kept = []
    for i, p in enumerate(parts):
        if isinstance(p, str) and ("[" in p or p.startswith(("function-", "tagged-union"))):
            continue
        if i >= 1 and parts[i - 1] == "signal" and p in _UNION_TAGS:  # the discriminated union's tag
            continue
        kept.append(str(p))
    return ".".join(kept)


def validation_errors(exc: ValidationError) -> list[tuple[str, Any, str]]:
    """A pydantic ``ValidationError`` as ``(field_path, value, accepted)`` triples.

    A missing field gives ``(path, MISSING, "field required")``; a
    :class:`qlearn_sense.config.FieldError` raised by a cross-field check gives
    its own path (under the model's), value and message.
    """
    out = []
    for err in exc.errors(include_url=False):
        loc = _loc(err["loc"])
        kind = err["type"]
        msg = err["msg"]
        value = err.get("input")
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            out.append((".".join(p for p in (loc, cause.path) if p), _shown(cause.value), cause.accepted))
            continue
        if kind == "missing":
            out.append((loc or "<root>", MISSING, "field required"))
            continue
        if kind == "extra_forbidden":
            msg = "unknown key; remove it or check its spelling"
        elif kind.startswith("value_error"):
            msg = msg.removeprefix("Value error, ")
            if isinstance(value, dict):  # a check of the whole section: its message names the fields
                value = SECTION
        elif kind in _PLAIN:
            msg = _PLAIN[kind]
        elif "ctx" in err:
            msg = f"accepted: {msg.lower()}"
        out.append((loc or "<root>", _shown(value), msg))
    return out


_format = validation_errors  # the name callers of the first version used


# -- bounded YAML ------------------------------------------------------------------------------


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with depth, expanded-size and recursion caps and duplicate-key errors."""

    def __init__(self, stream, name: str):
        super().__init__(stream)
        self.name = name
        self._depth = 0
        self._sizes: dict[int, int] = {}
        self._open_anchors: set[str] = set()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent) and event.anchor in self._open_anchors:
            raise ComposerError(None, None, f"alias *{event.anchor} refers to a collection that contains it "
                                            "(a recursive structure)", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(None, None, f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
        anchor = event.anchor if isinstance(event, (SequenceStartEvent, MappingStartEvent)) else None
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)
        size = self._sizes.get(id(node))
        if size is None:
            if isinstance(node, SequenceNode):
                size = 1 + sum(self._sizes.get(id(c), 1) for c in node.value)
            elif isinstance(node, MappingNode):
                size = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
            else:
                size = 1
            self._sizes[id(node)] = size
        if size > MAX_NODES:
            raise ComposerError(None, None, f"the document expands to more than {MAX_NODES} values once its "
                                            "aliases (*name) are replaced; a config has a few hundred",
                                node.start_mark)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue
                if first is not key_node:
                    raise ConstructorError(None, None, f"duplicate key {short_repr(key)} (first at line "
                                                       f"{first.start_mark.line + 1}); give each key once",
                                           key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class _NamedText(io.StringIO):
    """A text stream with a ``name``, so YAML marks name the file instead of ``<unicode string>``."""

    def __init__(self, text: str, name: str):
        super().__init__(text)
        self.name = name


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _yaml_problem(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(_one_line(p) for p in (exc.context, exc.problem) if p) or "syntax error"
        where = f' in "{mark.name}", line {mark.line + 1}, column {mark.column + 1}' if mark is not None else ""
        return what + where
    if isinstance(exc, RecursionError):
        return f"nesting too deep (more than {MAX_DEPTH} levels)"
    return _one_line(short_repr(exc, 200) if not isinstance(exc, yaml.YAMLError) else str(exc))


def parse_yaml(text: str, name: str = "<string>") -> Any:
    """Parse YAML text with the caps of this module (safe tags only).

    Args:
      text: the document.
      name: the source named in errors (a file path).

    Returns:
      The document (dicts, lists, scalars), or None for an empty document.

    Raises:
      ConfigError: not valid YAML, nesting deeper than :data:`MAX_DEPTH`, more
        than :data:`MAX_NODES` values with aliases expanded, a recursive alias,
        or a duplicate key; one line naming ``name``, the line and the column.
    """
    loader = None
    try:
        loader = _BoundedLoader(_NamedText(text, name), name)
        return loader.get_single_data()
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise ConfigError(name, [("<file>", name, f"not valid YAML: {_yaml_problem(exc)}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _read_capped(path: Path) -> bytes:
    """At most ``MAX_FILE_BYTES + 1`` bytes of the file (never blocks on a FIFO without a writer)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode) and getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # a pipe (e.g. bash <(...)): wait for its writer
        chunks, total = [], 0
        while total <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 16, MAX_FILE_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _os_problem(exc: OSError, path: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory; accepted: a YAML config file, e.g. configs/quickstart.yaml"
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop)"
    if isinstance(exc, NotADirectoryError):
        return "file not found: a folder in the path is a file"
    return f"cannot read the file: {exc.strerror or _one_line(str(exc))}"


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file safely: bounded size, UTF-8, bounded YAML (see :func:`parse_yaml`).

    Args:
      path: the file.

    Returns:
      The parsed document (None for an empty file).

    Raises:
      ConfigError: one line naming the file: missing, a directory, a symlink
        loop, unreadable (permission), larger than :data:`MAX_FILE_BYTES`, not
        UTF-8 text (e.g. a binary file), or not valid YAML.
    """
    path = Path(path)
    name = str(path)

    def fail(problem: str) -> ConfigError:
        return ConfigError(name, [("<file>", name, problem)])

    try:
        raw = _read_capped(path)
    except OSError as exc:
        raise fail(_os_problem(exc, path)) from None
    except ValueError as exc:  # e.g. an embedded NUL byte in the path
        raise fail(f"not a valid file name: {_one_line(str(exc))}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"larger than {MAX_FILE_BYTES} bytes (1 MiB); a config is a few kB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); is it a binary "
                   "file?") from None
    return parse_yaml(text, name)


# -- validation ----------------------------------------------------------------------------------


def _is_budget(data: Any) -> bool:
    return isinstance(data, dict) and ("grid" in data or ("base" in data and "sensor" not in data))


def config_kind(source: str | Path | dict) -> Literal["experiment", "budget"]:
    """Whether a config (a file or a parsed mapping) is an experiment or a budget sweep.

    A budget config (:class:`qlearn_sense.experiments.BudgetConfig`) has a
    ``grid`` section, or a ``base`` experiment and no ``sensor``.

    Args:
      source: a YAML file path, or a parsed mapping.

    Returns:
      ``"budget"`` or ``"experiment"`` (also for documents that are not
      mappings: their validation says what is wrong).

    Raises:
      ConfigError: the file cannot be read or parsed (see :func:`load_yaml`).
    """
    data = source if isinstance(source, dict) else load_yaml(source)
    return "budget" if _is_budget(data) else "experiment"


def check_config(config: ExperimentConfig, source: str = "<dict>") -> None:
    """Run the memory and physics checks of :mod:`qlearn_sense.config._checks` on a validated config.

    Raises:
      ConfigError: the run would need more memory than the limit, the coherence
        factor is below the floor, or the phase is outside the window; or
        ``QLEARN_SENSE_MAX_MEMORY_GB`` is not a positive number.
    """
    from qlearn_sense.config._checks import MEMORY_LIMIT_ENV, memory_checks, physics_checks

    try:
        errors = memory_checks(config)
    except ValueError:
        raise ConfigError(source, [(MEMORY_LIMIT_ENV, os.environ.get(MEMORY_LIMIT_ENV),
                                    "accepted: a positive number of GiB, e.g. 16")]) from None
    errors += physics_checks(config)
    if errors:
        raise ConfigError(source, [(p, _shown(v), a) for p, v, a in errors])


def validate_physics(config: ExperimentConfig, source: str = "<dict>") -> None:
    """:func:`check_config` under the name the CLI uses (``load_config`` already runs it; idempotent).

    Raises:
      ConfigError: as :func:`check_config`.
    """
    check_config(config, source)


def config_from_dict(data: Any, source: str = "<dict>", *, checks: bool = True) -> ExperimentConfig:
    """Validate a plain dict as an :class:`ExperimentConfig`.

    Args:
      data: the parsed config.
      source: named in errors (the file).
      checks: also run :func:`check_config` (memory estimate, coherence floor,
        phase window).

    Raises:
      ConfigError: on unknown keys, wrong types or out-of-range values, unknown
        backend/device/observable names, a budget config, or a failed check; the
        message names each field path, its value and what is accepted.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, [("<root>", _shown(type(data).__name__), "expected a mapping of config sections")])
    if _is_budget(data):
        raise ConfigError(source, [("<file>", source, "this is a budget config (it has base/grid sections); run "
                                                      f"`qlearn-sense budget {source}`")])
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, validation_errors(exc)) from None
    if checks:
        check_config(config, source)
    return config


def load_config(path: str | Path, *, checks: bool = True) -> ExperimentConfig:
    """Read and validate a YAML experiment config file.

    Args:
      path: the YAML file.
      checks: also run :func:`check_config`.

    Raises:
      ConfigError: the file is missing, unreadable, too large, not UTF-8, not
        YAML (see :func:`load_yaml`), a budget config, or fails validation.
    """
    return config_from_dict(load_yaml(path), str(path), checks=checks)


def config_to_yaml(config: ExperimentConfig) -> str:
    """The validated config as YAML (all defaults filled in); round-trips through :func:`load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def config_hash(config: ExperimentConfig) -> str:
    """SHA-256 (hex, 16 chars) of the config's canonical JSON."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = [
    "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "MISSING", "SECTION", "ConfigError", "check_config", "config_from_dict",
    "config_hash", "config_kind", "config_to_yaml", "load_config", "load_yaml", "parse_yaml", "validate_physics",
    "validation_errors",
]
