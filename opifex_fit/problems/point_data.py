"""Observations at given points: sensor data, a pinned pressure, inverse problems' data.

``of.PointData(points, values, component=None, name="data")`` is one loss
term, ``mean((u_c(x_i) - values_i)^2)`` over its points, with ``u_c`` the
model output (after ``output_transform``) or its ``component``-th entry.
Its points are fixed: they come with the term, are never resampled and ride
in the training data as ``{"x": points, "u": values}``, so a callback that
replaces the data may also replace them with arrays of the same shapes.

``PDEProblem(observations=(x, u))`` is the same term named ``"data"``.

Example (NS2d-C pins the pressure, output 2, at one corner):
  >>> import opifex_fit as of
  >>> pin = of.PointData([[0.0, 0.0]], [0.0], component=2, name="p_pin")
  >>> pin.points.shape, pin.values.shape
  ((1, 2), (1,))
"""

from __future__ import annotations

import numpy as np


class PointData:
  """Observations of all outputs, or of one (``component``), at ``points``.

  Args:
    points: ``(n, dim)`` coordinates, in the domain's coordinate order.
    values: ``(n,)`` (one output, or the chosen ``component``) or ``(n, k)``
      for all ``k`` outputs of a vector model.
    component: the observed output index, or None for all outputs.
    name: the loss term's name (``"data"`` by default).
  """

  kind = "data"
  default_name = "data"

  def __init__(self, points, values, *, component=None, name: str | None = None):
    points, values = np.asarray(points, np.float64), np.asarray(values, np.float64)
    if points.ndim != 2 or points.shape[0] == 0:
      raise ValueError(f"PointData points must have shape (n, dim) with n > 0; got {points.shape}")
    if values.ndim not in (1, 2) or values.shape[0] != points.shape[0]:
      raise ValueError(f"PointData values must have shape ({points.shape[0]},) or"
                       f" ({points.shape[0]}, k), one row per point; got {values.shape}")
    for a, what in ((points, "points"), (values, "values")):
      if not np.all(np.isfinite(a)):
        raise ValueError(f"PointData {what} hold non-finite values; expected finite data")
    if component is not None and (isinstance(component, bool) or not isinstance(component, int)
                                  or component < 0):
      raise ValueError(f"component must be a non-negative int output index or None; got {component!r}")
    if component is not None and values.ndim != 1:
      raise ValueError(f"PointData(component={component}) observes one output, so values must"
                       f" have shape ({points.shape[0]},); got {values.shape}")
    if name is not None and (not isinstance(name, str) or not name.isidentifier()):
      raise ValueError(f"name must be an identifier string; got {name!r}")
    self.points, self.values, self.component = points, values, component
    self.name_given = name is not None
    self.name = name if name is not None else self.default_name

  def __repr__(self) -> str:
    return (f"PointData(name={self.name!r}, n={len(self.points)}, component={self.component})")

  def data(self) -> dict:
    """The term's training data: ``{"x": points, "u": values}``."""
    return {"x": self.points, "u": self.values}

  def check_outputs(self, n_outputs: int, values_shape, where: str) -> None:
    """Refuses values whose shape does not match the model's ``n_outputs``."""
    n = values_shape[0]
    if self.component is not None:
      if self.component >= n_outputs:
        raise ValueError(f"{where}: component={self.component} but the model has {n_outputs}"
                         " output(s)")
      want = [(n,)]
    else:
      want = [(n,), (n, 1)] if n_outputs == 1 else [(n, n_outputs)]
    if tuple(values_shape) not in want:
      raise ValueError(f"{where}['u'] has shape {tuple(values_shape)}; the model gives"
                       f" {n_outputs} output(s) per point"
                       f"{'' if self.component is None else f' and component={self.component}'}"
                       f" is observed, so expected {' or '.join(map(str, want))}")
