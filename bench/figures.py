"""A figure: one measured number with its unit, its target and, where there is one, the
baseline it is compared with. Every target here is an upper bound ("at most")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    baseline: float | None = None
    notes: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return math.isfinite(self.value) and self.value <= self.target

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "target": self.target,
        }
        if self.baseline is not None:
            data["baseline"] = round(self.baseline, 3)
        data["met"] = self.met
        if self.notes:
            data["notes"] = self.notes
        return data
