"""What a spider scrapes: the rows of one tracking page, as strings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class WaybillPageItem:
    courier: str
    waybill: str
    rows: list[dict[str, str]] = field(default_factory=list)  # time, code, text, location
    parsed: object | None = None  # the ParsedWaybill, set by NormalizePipeline
