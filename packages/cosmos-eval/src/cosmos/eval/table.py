"""``EvalTable``: what every evaluation protocol returns, a list of rows that prints as markdown and saves JSON."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["EvalTable"]

# decimals per column when printed (PSNR in dB to 0.01, ratios to 0.001); other floats get 3
DECIMALS = {"psnr": 2, "sampson_px": 3, "ssim": 3, "iou": 3}


def _cell(value: Any, decimals: int) -> str:
    if isinstance(value, np.generic) or (isinstance(value, torch.Tensor) and value.numel() == 1):
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{decimals}f}"
    return str(value)


def _jsonable(value: Any) -> Any:
    """NaN and inf become ``null`` (strict JSON); tuples and arrays become lists, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray | torch.Tensor):  # arrays become (nested) lists, 0-d ones numbers
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class EvalTable:
    """Rows of results (one dict per row, e.g. a model on a scene) with a title and free-form metadata.

    ``str(table)`` is a markdown table (columns in first-seen key order unless ``columns`` is given; floats
    rounded per :data:`DECIMALS`); :meth:`save_json` writes strict JSON (NaN and inf as ``null``).

    Attributes:
        title: what was measured (printed above the table).
        rows: the results; values are str, int, float, bool or None.
        columns: the column order for printing (``None``: every key, in first-seen order).
        metadata: how it was measured (protocol settings, seeds, data), saved with the rows.
    """

    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: tuple[str, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def column_names(self) -> tuple[str, ...]:
        if self.columns is not None:
            return tuple(self.columns)
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row))
        return tuple(names)

    def to_markdown(self) -> str:
        """The rows as a GitHub markdown table, preceded by ``**title**``."""
        names = self.column_names()
        lines = [
            f"**{self.title}**",
            "",
            "| " + " | ".join(names) + " |",
            "|" + "|".join("---" for _ in names) + "|",
        ]
        for row in self.rows:
            cells = [_cell(row.get(name), DECIMALS.get(name, 3)) for name in names]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "title": self.title,
                "columns": list(self.column_names()),
                "rows": self.rows,
                "metadata": self.metadata,
            }
        )

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as indented strict JSON (parents created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")
        return path

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> EvalTable:
        """Read a table written by :meth:`save_json` (``null`` values stay ``None``)."""
        data = json.loads(Path(path).read_text())
        return cls(data["title"], data["rows"], tuple(data["columns"]), data.get("metadata", {}))
