"""The investigator's console: pages served by the collector on its API port (docs/console.md)."""
