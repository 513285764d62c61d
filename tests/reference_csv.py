"""The CSV reader evolino had before the column-at-a-time one (evolino/tasks/table.py): every cell converted by
Python's float(), blank lines dropped. Kept as the reference the new reader must agree with on files without blank
lines inside the data (where the rules changed on purpose: a blank line there is now a row of missing values).
"""

from __future__ import annotations

import csv
import math

import numpy as np


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _looks_like_header(rows: list[list[str]]) -> bool:
    if len(rows) < 2:
        return _number(rows[0][0]) is None if rows[0] else False
    for j, cell in enumerate(rows[0]):
        below = [row[j] for row in rows[1:] if row[j]]
        if _number(cell) is None and below and all(_number(c) is not None for c in below):
            return True
    return all(_number(cell) is None for cell in rows[0]) and any(_number(c) is not None for c in rows[1])


def read_csv(path, header: bool | None = None) -> tuple[list[str], list[np.ndarray]]:
    """(names, columns) as the old reader made them."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [[cell.strip() for cell in row] for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path} is empty")
    width = len(rows[0])
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ValueError(f"{path}: line {number} has {len(row)} cells, the first has {width}")
    if header is None:
        header = _looks_like_header(rows)
    names = [cell or f"column_{j}" for j, cell in enumerate(rows[0])] if header else \
        [f"column_{j}" for j in range(width)]
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"{path} has no data rows")
    columns = []
    for j in range(width):
        cells = [row[j] for row in body]
        values = [_number(cell) if cell else math.nan for cell in cells]
        columns.append(np.array(cells) if any(v is None for v in values) else np.array(values, dtype=np.float64))
    return names, columns
