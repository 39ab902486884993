"""Errors against a known solution: relative L2 and evaluation grids.

Example:
  >>> import numpy as np
  >>> from opifex_fit.problems.reference import relative_l2, grid
  >>> relative_l2(np.array([1.0, 2.0]), np.array([1.0, 2.5]))   # 0.5 / sqrt(1 + 6.25)
  0.18569533817705186
  >>> grid({"x": (0, 1), "y": (0, 1)}, 3).shape
  (9, 2)
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def relative_l2(pred, ref) -> float:
  """``||pred - ref||_2 / ||ref||_2`` over all entries (shapes must match up to size-1 axes)."""
  pred, ref = np.asarray(pred, np.float64), np.asarray(ref, np.float64)
  if pred.size != ref.size:
    raise ValueError(f"pred has shape {pred.shape} and ref has shape {ref.shape}; expected the"
                     " same number of entries")
  pred, ref = pred.reshape(-1), ref.reshape(-1)
  norm = np.linalg.norm(ref)
  if norm == 0:
    raise ValueError("ref is identically zero; the relative L2 error is undefined")
  return float(np.linalg.norm(pred - ref) / norm)


def grid(bounds, n) -> np.ndarray:
  """A tensor grid over ``bounds`` (name -> (low, high), or an ``of.Box``), ``(prod(n), dim)``.

  ``n`` is points per coordinate: an int or one int per coordinate. The first
  coordinate varies slowest (``np.meshgrid(..., indexing="ij")``).
  """
  if hasattr(bounds, "names"):
    bounds = dict(zip(bounds.names, zip(bounds.low, bounds.high)))
  if not isinstance(bounds, Mapping) or not bounds:
    raise ValueError(f"bounds must be a non-empty mapping name -> (low, high) or a Box; got {bounds!r}")
  counts = [n] * len(bounds) if np.ndim(n) == 0 else list(n)
  if len(counts) != len(bounds) or any(int(c) < 2 for c in counts):
    raise ValueError(f"n must be an int >= 2 or one such int per coordinate {list(bounds)}; got {n!r}")
  axes = [np.linspace(lo, hi, int(c)) for (lo, hi), c in zip(bounds.values(), counts)]
  return np.stack([a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij")], axis=-1)
