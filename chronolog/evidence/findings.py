"""A finding of a verification: what kind of wrong, where, and what was found. Shared by the
store's verify and the evidence bundle's, so that both read alike."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"
