"""Load a TOML configuration file into a strict pydantic model.

A mistake in a configuration file gets one line per problem, naming the key, the value given
and what was expected; an unknown key is a mistake, not something to ignore. Callers turn a
`ConfigError` into exit status 2.

Drop-ins: the ``*.toml`` files of the directory ``FILE.d`` beside ``FILE``
(``/etc/chronolog/chronolog.toml.d/``), in name order, are laid over ``FILE``: their tables
merge key by key into the ones before, and any other value (a number, a list, a list of tables
such as ``[[agent.files]]``) replaces the earlier one. An operator can so leave the packaged
file alone (a conffile is never asked about on upgrade) and keep each host's settings in a
file of their own.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from chronolog.cliutil import ConfigError

__all__ = ["ConfigError", "StrictModel", "drop_ins", "load_section"]

# The top-level tables a chronolog configuration file may hold. Each program validates its
# own table strictly and refuses any top-level key not listed here.
KNOWN_SECTIONS = ("agent", "collector", "client")

# Values under keys with these words are never echoed back in an error message.
_SECRET_WORDS = ("token", "password", "secret", "key")

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_section(path: str | Path, section: str, model: type[M]) -> M:
    """Read ``path`` and its drop-ins and validate their ``[section]`` table. A file without
    that table is refused: it was most likely meant for another program (an empty table means
    every default)."""
    path = Path(path)
    files = [path, *drop_ins(path)]
    document: dict[str, Any] = {}
    for file in files:
        document = _merged(document, _read(file))
    source = str(path) if len(files) == 1 else f"{path} (with {', '.join(f.name for f in files[1:])})"
    if section not in document:
        raise ConfigError(f"{source}: no [{section}] table, so nothing here is for this program (a file "
                          f"meant for the {section} has one; an empty [{section}] means every default)")
    return validate_section(document[section], section, model, source=source)


def drop_ins(path: Path) -> list[Path]:
    """The drop-in files laid over ``path``, in the order they apply."""
    return sorted(path.with_name(path.name + ".d").glob("*.toml"))


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    unknown = sorted(set(document) - set(KNOWN_SECTIONS))
    if unknown:
        allowed = ", ".join(f"[{s}]" for s in KNOWN_SECTIONS)
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} (expected one of {allowed})")
    return document


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: tables merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def validate_section(data: Any, section: str, model: type[M], source: str = "config") -> M:
    """Validate an already-parsed table; errors name keys as ``section.a.b``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {section} = {_show(data)}: expected a table")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"{source}: {_describe(section, err, model)}" for err in e.errors()]
        raise ConfigError("\n".join(lines)) from None


def _describe(section: str, err: Any, model: type[BaseModel]) -> str:
    loc = [str(part) for part in err["loc"]]
    key = ".".join([section, *loc])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"{key}: unknown key{hint}"
    if kind == "missing":
        return f"{key}: required key is missing"
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message.replace("Input should be ", "expected ")
    value = "<hidden>" if any(w in key.lower() for w in _SECRET_WORDS) else _show(err["input"])
    return f"{key} = {value}: {message}"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at ``loc``, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel class inside ``X``, ``list[X]`` or ``X | None``, if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
