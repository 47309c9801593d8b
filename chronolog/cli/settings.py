"""Where ``chronolog`` finds its collector and credential when the command line does not say.

In order: the option (``--url``, ``--token-file``, ...), its environment variable
(``CHRONOLOG_URL``, ...), the ``[client]`` table of the client configuration file, the
built-in default. The file is ``$CHRONOLOG_CONFIG``, else ``$XDG_CONFIG_HOME/chronolog/client.toml``
(``~/.config/chronolog/client.toml``); a missing default file means no settings. ``make run``
writes one there for the collector it starts (tools/run_local.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from chronolog.config_loading import StrictModel, load_section
from chronolog.tls import Level

__all__ = ["ClientConfig", "config_path", "load_settings"]

DEFAULT_URL = "http://127.0.0.1:8470"


def _absolute(path: Path) -> Path:
    if not path.is_absolute():
        raise ValueError(f"expected an absolute path, got {str(path)!r}")
    return path


AbsolutePath = Annotated[Path, AfterValidator(_absolute)]


class ClientConfig(StrictModel):
    url: str = Field(DEFAULT_URL, description="The collector's base URL.")
    token_file: AbsolutePath | None = Field(
        None, description="File holding an investigator's (or, for admin, an admin's) token.")
    ca_file: AbsolutePath | None = Field(
        None, description="CA of the collector's certificate for https; unset: the system's CAs.")
    tls_level: Level = Field("high", description="CRYPTREC suite level for https.")
    client_cert: AbsolutePath | None = Field(None, description="Client certificate for mutual TLS.")
    client_key: AbsolutePath | None = Field(None, description="Its private key.")


def config_path() -> tuple[Path, bool]:
    """The client configuration file, and whether it was asked for by name (then it must exist)."""
    explicit = os.environ.get("CHRONOLOG_CONFIG")
    if explicit:
        return Path(explicit), True
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chronolog" / "client.toml", False


def load_settings() -> ClientConfig:
    path, named = config_path()
    if not named and not path.exists():
        return ClientConfig()
    return load_section(path, "client", ClientConfig)
