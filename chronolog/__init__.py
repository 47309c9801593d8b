"""chronolog's shared package: what both the agent and the collector need.

It imports neither ``agent`` nor ``collector``. Its modules:

- ``config_loading``: TOML files into strict pydantic models, with one clear message per mistake.
- ``timefmt``: instants as integer microseconds, RFC 3339 rendering in an IANA zone.
- ``timestamps``: finding and normalising the event time of a log line.
- ``wire``: the agent-to-collector batch format (encoder and decoder in one place).
- ``logs``: structured (logfmt) logging for both processes.
- ``cli``: the ``chronolog`` command, a client of the collector's HTTP API.
"""

__version__ = "0.1.0"
