"""Months as the model's clock: one step is one month."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator


def _parse_month(v: Any) -> str:
    if isinstance(v, _dt.date):
        return f"{v.year:04d}-{v.month:02d}"
    if isinstance(v, str):
        m = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", v.strip())
        if m and 1 <= int(m.group(2)) <= 12:
            if m.group(3) is not None:
                try:
                    _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError as exc:
                    raise ValueError(f"{v!r} is not a date: {exc}") from None
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    raise ValueError(f"expected a month like 2000-01, got {v!r}")


Month = Annotated[str, BeforeValidator(_parse_month)]


def month_index(month: str) -> int:
    """Months since year 0, so that differences are month counts."""
    y, m = month.split("-")
    return int(y) * 12 + int(m) - 1


def month_str(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
