"""Load a TOML configuration file into a strict pydantic model.

A mistake in a configuration file gets one line per problem, naming the key, the value given
and what was expected; an unknown key is a mistake, not something to ignore. Callers turn a
`ConfigError` into exit status 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from chronolog.cliutil import ConfigError

__all__ = ["ConfigError", "StrictModel", "load_section"]

# The top-level tables a chronolog configuration file may hold. Each program validates its
# own table strictly and refuses any top-level key not listed here.
KNOWN_SECTIONS = ("agent", "collector")

# Values under keys with these words are never echoed back in an error message.
_SECRET_WORDS = ("token", "password", "secret", "key")

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_section(path: str | Path, section: str, model: type[M]) -> M:
    """Read ``path`` and validate its ``[section]`` table (absent means all defaults)."""
    path = Path(path)
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
    return validate_section(document.get(section, {}), section, model, source=str(path))


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
