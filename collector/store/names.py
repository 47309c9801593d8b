"""Names the store turns into paths, checked in one place."""

from __future__ import annotations

import re

__all__ = ["TENANT_NAME"]

# 1-63 of a-z, 0-9, '-', '_', starting with a letter or digit: safe as a directory name.
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
