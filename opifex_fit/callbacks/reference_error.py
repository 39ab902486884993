"""ReferenceSolution: log the relative L2 error against a known solution.

The losses of a PINN say little about its true error; logging the relative
L2 error against an exact solution or a reference grid makes the History,
the progress bar and TensorBoard show it.

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> pts = of.problems.reference.grid({"x": (0, 1), "y": (0, 1)}, 50)
  >>> ref = of.ReferenceSolution.from_function(
  ...     lambda p: np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1]), pts, every=1000)
  >>> # learner.fit(..., callbacks=[ref]); learner.history["rel_l2"]
  >>> # or directly: ref.error(learner)
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.callbacks.base import ORDER_METRICS, Callback, check_every
from opifex_fit.problems.base import to_device_tree


class ReferenceSolution(Callback):
  """Logs ``||predict(points) - values|| / ||values||`` as ``name``.

  Args:
    points: inputs of ``learner.predict`` (an ``(n, dim)`` array, or a pytree
      for multi-input models).
    values: the reference outputs at ``points``, with as many entries as the
      predictions.
    every: step cadence (None: every chunk boundary where logs are fetched).
    name: the log name (default ``"rel_l2"``).

  Runs just before ``History`` records (order 9), on device, in its own
  jitted function compiled once.
  """

  order = ORDER_METRICS - 1

  def __init__(self, points, values, *, every: int | None = None, name: str = "rel_l2"):
    self.points = to_device_tree(points, "points")
    values = np.asarray(values)
    if not np.all(np.isfinite(values)) or not np.any(values):
      raise ValueError("values must be finite and not all zero (the error is relative)")
    self.values = to_device_tree(values, "values")
    self.every = check_every(every)
    if not isinstance(name, str) or not name:
      raise ValueError(f"name must be a non-empty string; got {name!r}")
    self.name = name

  @classmethod
  def from_function(cls, exact: Callable, points, **kwargs) -> "ReferenceSolution":
    """``values = exact(points)`` (numpy or jax, evaluated once)."""
    return cls(points, np.asarray(exact(np.asarray(points))), **kwargs)

  def log_names(self, learner):
    return [self.name]

  def on_fit_begin(self, learner):
    model, predict = learner.model, learner.problem.predict
    pred = jax.eval_shape(lambda x: predict(model, x), self.points)
    if pred.size != self.values.size:
      raise ValueError(f"ReferenceSolution: the model predicts {pred.shape} at the reference"
                       f" points but values has shape {self.values.shape}")

  def on_step_end(self, learner):
    learner.logs[self.name] = self.error(learner)

  def error(self, learner) -> float:
    """The current relative L2 error of ``learner``'s model."""
    predict = learner.problem.predict

    def rel_l2(s, points, values):
      pred = predict(s.model, points).reshape(-1)
      ref = values.reshape(-1).astype(pred.dtype)
      return jnp.linalg.norm(pred - ref) / jnp.linalg.norm(ref)
    return float(learner.compile("reference_solution", rel_l2, key=self)(self.points, self.values))
