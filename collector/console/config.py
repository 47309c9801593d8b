"""``[collector.console]``: the investigator's console (docs/console.md)."""

from __future__ import annotations

from pydantic import Field

from chronolog.config_loading import StrictModel

__all__ = ["ConsoleConfig"]


class ConsoleConfig(StrictModel):
    """The web console for investigators, on the API port (TLS, or loopback without it)."""

    enabled: bool = Field(True, description="Serve the console under /console/.")
    session_seconds: int = Field(
        1800, ge=1, le=8 * 3600,
        description="How long a console sign-in lasts, in seconds; it is never extended: sign in "
        "again after it.",
    )
