"""Data-driven coefficients: from scattered nodes to a grid, and a traceable lookup.

A residual that reads a coefficient known only as data (a COMSOL field, a
measured conductivity) needs it as a function of ONE point that JAX can
trace inside the jitted step. Two steps, as DeepXDE users do it by hand:

1. ``scattered_to_grid`` (host, once): ``scipy.interpolate.griddata`` from
   the scattered nodes onto a tensor grid; points outside the nodes' convex
   hull take the nearest node's value, so the grid has no NaN.
2. ``grid_interpolator`` (traceable): ``jax.scipy.interpolate.RegularGridInterpolator``
   on that grid, wrapped to take one point ``(dim,)`` or a batch ``(n, dim)``.

Example:
  >>> import numpy as np, jax.numpy as jnp
  >>> nodes = np.random.default_rng(0).random((400, 2))
  >>> axes = (np.linspace(0, 1, 21), np.linspace(0, 1, 21))
  >>> grid = scattered_to_grid(nodes, 2 * nodes[:, 0] + nodes[:, 1], axes)   # a linear field
  >>> a = grid_interpolator(axes, grid)
  >>> round(float(a(jnp.array([0.5, 0.25]))), 4)                            # 2 * 0.5 + 0.25
  1.25
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np
from jax.scipy.interpolate import RegularGridInterpolator
from scipy import interpolate

METHODS = ("linear", "nearest", "cubic")


def scattered_to_grid(points, values, axes: Sequence, *, method: str = "linear") -> np.ndarray:
  """``values`` at scattered ``points (n, dim)`` resampled on the grid ``axes``.

  Args:
    points: node coordinates ``(n, dim)``.
    values: ``(n,)`` or ``(n, k)`` values at the nodes.
    axes: one increasing 1-D array of grid coordinates per dimension.
    method: ``"linear"``, ``"nearest"`` or ``"cubic"`` (``cubic`` in 1-D and 2-D), as
      ``scipy.interpolate.griddata``.

  Returns:
    ``(len(axes[0]), ..., len(axes[-1]))`` (+ ``(k,)``) values on the grid.
  """
  points, values = np.asarray(points, np.float64), np.asarray(values, np.float64)
  if points.ndim != 2 or points.shape[0] < points.shape[1] + 1:
    raise ValueError(f"points must have shape (n, dim) with n > dim; got {points.shape}")
  if values.shape[:1] != points.shape[:1] or values.ndim > 2:
    raise ValueError(f"values must have shape ({points.shape[0]},) or ({points.shape[0]}, k);"
                     f" got {values.shape}")
  if method not in METHODS:
    raise ValueError(f"method must be one of {METHODS}; got {method!r}")
  axes = _check_axes(axes, points.shape[1])
  mesh = np.stack([m.reshape(-1) for m in np.meshgrid(*axes, indexing="ij")], axis=-1)
  if points.shape[1] == 1:  # griddata needs 2-D+; in 1-D np.interp per column is exact
    order = np.argsort(points[:, 0])
    cols = values.reshape(len(points), -1)[order]
    out = np.stack([np.interp(mesh[:, 0], points[order, 0], c) for c in cols.T], axis=-1)
  else:
    out = interpolate.griddata(points, values, mesh, method=method)
    holes = np.isnan(out)
    if holes.any():  # outside the convex hull of the nodes
      near = interpolate.griddata(points, values, mesh, method="nearest")
      out = np.where(holes, near, out)
  return out.reshape(tuple(len(a) for a in axes) + values.shape[1:])


def grid_interpolator(axes: Sequence, values, *, method: str = "linear") -> Callable:
  """A traceable ``f(x)`` interpolating gridded ``values``; ``x`` is one point or a batch.

  ``method`` is ``"linear"`` or ``"nearest"`` (those of
  ``jax.scipy.interpolate.RegularGridInterpolator``). Outside the grid the
  values are extrapolated linearly.
  """
  if method not in ("linear", "nearest"):
    raise ValueError(f"method must be 'linear' or 'nearest'; got {method!r}")
  values = np.asarray(values)
  axes = _check_axes(axes, len(axes) if isinstance(axes, Sequence) else -1)
  if values.shape[:len(axes)] != tuple(len(a) for a in axes):
    raise ValueError(f"values must have shape {tuple(len(a) for a in axes)} (+ trailing); got"
                     f" {values.shape}")
  lookup = RegularGridInterpolator(tuple(jnp.asarray(a) for a in axes), jnp.asarray(values),
                                   method=method, bounds_error=False, fill_value=None)

  def interpolate_at(x):
    x = jnp.asarray(x)
    return lookup(x[None])[0] if x.ndim == 1 else lookup(x)
  return interpolate_at


def _check_axes(axes, dim: int) -> list[np.ndarray]:
  if not isinstance(axes, Sequence) or len(axes) != dim:
    raise ValueError(f"axes must be a sequence of {dim} 1-D arrays (one per coordinate); got"
                     f" {type(axes).__name__} of length {len(axes) if hasattr(axes, '__len__') else '?'}")
  out = [np.asarray(a, np.float64) for a in axes]
  for i, a in enumerate(out):
    if a.ndim != 1 or len(a) < 2 or not np.all(np.diff(a) > 0):
      raise ValueError(f"axes[{i}] must be a strictly increasing 1-D array of >= 2 values; got"
                       f" shape {a.shape}")
  return out
