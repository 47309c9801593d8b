"""A finding of a verification: what kind of wrong, where, and what was found. Shared by the
store's verify and the evidence bundle's, so that both read alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

__all__ = ["Finding", "FindingsReport"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


class FindingsReport:
    """What every verification report does with its findings; mixed into a dataclass that
    has a ``findings`` list."""

    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return not self.findings

    def add(self, kind: str, where: str, detail: str) -> None:
        self.findings.append(Finding(kind, where, detail))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(cast(Any, self))
        d["clean"] = self.clean
        return d
