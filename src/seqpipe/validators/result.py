"""The structured outcome of a validation: what the file is, whether it is usable, and where it is not."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
# Findings listed per file and severity: the first ones say what is wrong; a broken file has thousands.
MAX_ERRORS = 20


@dataclass(frozen=True)
class Issue:
    """One finding, located by byte offset (compressed stream), record number (1-based) and/or line."""

    message: str
    severity: Severity = "error"
    offset: int | None = None
    record: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = [
            f"{name} {value}"
            for name, value in (("byte", self.offset), ("record", self.record), ("line", self.line))
            if value is not None
        ]
        return f"{self.severity}: {self.message}" + (f" ({', '.join(where)})" if where else "")


@dataclass
class HeaderSummary:
    version: str | None = None
    samples: list[str] = field(default_factory=list)
    contigs: list[str] = field(default_factory=list)
    # contig → MD5 of its sequence, from @SQ M5 tags or ##contig=<...,md5=...>
    reference_md5s: dict[str, str] = field(default_factory=dict)
    reference: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ValidationResult:
    location: str
    format: str
    mode: Literal["quick", "deep"]
    size: int | None = None
    bytes_read: int = 0
    records: int | None = None
    index: str | None = None
    header: HeaderSummary = field(default_factory=HeaderSummary)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(self, message: str, **where: int | None) -> None:
        self.issues.append(Issue(message, "error", **where))

    def warn(self, message: str, **where: int | None) -> None:
        self.issues.append(Issue(message, "warning", **where))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("issues")
        data["valid"] = self.valid
        data["errors"] = [asdict(i) for i in self.errors]
        data["warnings"] = [asdict(i) for i in self.warnings]
        return data
