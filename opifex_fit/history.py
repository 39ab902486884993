"""History: what ``fit`` returns, a mapping name -> list of floats."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Iterator


class History(Mapping):
  """Records of the logged metrics, one per chunk boundary.

  ``history["loss"]`` and ``history.loss`` are the same list; ``history.steps``
  holds the global step of each record. A metric that appears late (validation
  runs less often than training records) is padded with NaN before its first
  value and on records where it was not computed, so every list has
  ``len(history.steps)`` entries and lines up with ``steps``.

  Example:
    >>> h = History()
    >>> h.record(100, {"loss": 0.5})
    >>> h.record(200, {"loss": 0.25, "val_loss": 0.3})
    >>> h.loss, h.steps, h["val_loss"][1]
    ([0.5, 0.25], [100, 200], 0.3)
  """

  def __init__(self):
    self._data: dict[str, list[float]] = {}
    self.steps: list[int] = []

  def record(self, step: int, logs: Mapping[str, float]) -> None:
    """Appends one record; a repeated step updates that record in place."""
    if self.steps and self.steps[-1] == step:
      row = len(self.steps) - 1
    else:
      self.steps.append(int(step))
      row = len(self.steps) - 1
      for values in self._data.values():
        values.append(math.nan)
    for name, value in logs.items():
      if name not in self._data:
        self._data[name] = [math.nan] * len(self.steps)
      self._data[name][row] = float(value)

  def __getitem__(self, name: str) -> list[float]:
    return self._data[name]

  def __getattr__(self, name: str) -> list[float]:
    if name.startswith("_"):
      raise AttributeError(name)
    try:
      return self._data[name]
    except KeyError:
      raise AttributeError(f"History has no metric {name!r}; it has "
                           f"{sorted(self._data)}") from None

  def __iter__(self) -> Iterator[str]:
    return iter(self._data)

  def __len__(self) -> int:
    return len(self._data)

  def state_dict(self) -> dict:
    return {"steps": list(self.steps), "data": {k: list(v) for k, v in self._data.items()}}

  def load_state_dict(self, state: dict) -> None:
    self.steps = [int(s) for s in state["steps"]]
    self._data = {k: [float(x) for x in v] for k, v in state["data"].items()}

  def __repr__(self) -> str:
    last = {k: v[-1] for k, v in self._data.items() if v}
    return f"History(records={len(self.steps)}, last={last})"
