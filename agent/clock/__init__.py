"""Clock verification: how far this host's clock can be from UTC, or why that is unknown."""
