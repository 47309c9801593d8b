"""config.example.toml documents every option, each at its real default."""

from __future__ import annotations

import tomllib
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from agent.config import AgentConfig
from chronolog.cli.settings import ClientConfig
from collector.config import CollectorConfig

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _keys(model: type[BaseModel], prefix: str) -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(f"{prefix}.{name}")
        inner = _model_in(field.annotation)
        if inner is not None:
            keys |= _keys(inner, f"{prefix}.{name}")
    return keys


def _documented(table: dict[str, object], prefix: str, text: str) -> set[str]:
    keys = set()
    for name, value in table.items():
        keys.add(f"{prefix}.{name}")
        if isinstance(value, dict):
            keys |= _documented(value, f"{prefix}.{name}", text)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            keys |= _documented(value[0], f"{prefix}.{name}", text)
    return keys


def test_every_option_is_in_the_example() -> None:
    text = EXAMPLE.read_text()
    doc = tomllib.loads(text)
    documented = (_documented(doc["agent"], "agent", text) | _documented(doc["collector"], "collector", text)
                  | _documented(doc["client"], "client", text))
    # Options whose default is "unset" appear as a commented line.
    commented = {
        line.lstrip("# ").split(" =")[0]
        for line in text.splitlines()
        if line.startswith("# ") and " = " in line
    }
    wanted = _keys(AgentConfig, "agent") | _keys(CollectorConfig, "collector") | _keys(ClientConfig, "client")
    missing = {k for k in wanted - documented if k.rsplit(".", 1)[1] not in commented}
    assert not missing, f"options missing from config.example.toml: {sorted(missing)}"


def test_the_example_shows_the_real_defaults() -> None:
    doc = tomllib.loads(EXAMPLE.read_text())
    assert AgentConfig.model_validate(doc["agent"]) == AgentConfig()
    assert CollectorConfig.model_validate(doc["collector"]) == CollectorConfig()
    assert ClientConfig.model_validate(doc["client"]) == ClientConfig()
