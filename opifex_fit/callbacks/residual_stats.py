"""ResidualStats: per-term residual statistics collected inside the chunk."""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from opifex_fit.callbacks import _balancing as bal
from opifex_fit.callbacks.base import ORDER_METRICS, Callback, check_every
from opifex_fit.engine.step_hooks import PeriodicStats
from opifex_fit.problems import device_sampling as ds
from opifex_fit.problems.pde import PDEProblem
from opifex_fit.problems.supervised import Supervised


class ResidualStats(Callback):
  """Logs statistics of every term's pointwise residuals, computed on the device.

  At every step that completes a multiple of ``every``, on that step's batch
  and the parameters it was computed with, for each term: ``<term>_residual_mean``
  (mean ``|r|``), ``<term>_residual_max`` (max ``|r|``) and
  ``<term>_residual_std`` (standard deviation of ``r``). Residuals are those
  of the problem: a ``PDEProblem``'s PDE and condition residuals (masked
  rows, e.g. mesh padding, do not count; vector residuals count every
  component), or a ``Supervised`` problem's ``prediction - target`` (its term
  ``data``). Observation terms of a PDE problem are left out. Values reach
  History, TensorBoard and CSV at the boundary of that step (NaN before).

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> x = np.linspace(-1, 1, 64)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
    ...                      optax.adam(1e-2))
    >>> history = learner.fit((x, np.sin(3 * x)), steps=100, verbose=0,
    ...                       callbacks=[cb.ResidualStats(every=50)])
    >>> history["data_residual_max"][-1] >= history["data_residual_mean"][-1]
    True

  Args:
    every: the cadence in optimizer steps (also a chunk boundary).
    terms: the terms (default: every residual term of the problem).
  """

  order = ORDER_METRICS

  def __init__(self, every: int = 100, *, terms=None):
    self.every = check_every(every, allow_none=False)
    self.terms = bal.check_terms_arg(terms)
    self._hook = None

  def _terms(self, learner):
    problem = learner.problem
    if isinstance(problem, PDEProblem):
      available = ("pde", *problem.condition_names)
    elif isinstance(problem, Supervised):
      available = ("data",)
    else:
      raise TypeError(f"ResidualStats knows the residuals of PDEProblem and Supervised; the "
                      f"problem is {type(problem).__name__}")
    return bal.resolve_terms(learner, self.terms, "ResidualStats", available=available)

  def log_names(self, learner):
    return tuple(f"{t}_residual_{s}" for t in self._terms(learner) for s in ("mean", "max", "std"))

  def step_hook(self, learner):
    terms, problem = self._terms(learner), learner.problem
    if self._hook is None or self._hook[0] != (terms, id(problem)):
      def compute(info):
        model, out = info.model(), {}
        for t in terms:
          r, counted = _residuals(problem, model, info.batch, t)
          n = jnp.maximum(jnp.sum(counted), 1.0)
          mean = jnp.sum(r * counted) / n
          out[f"{t}_residual_mean"] = jnp.sum(jnp.abs(r) * counted) / n
          out[f"{t}_residual_max"] = jnp.max(jnp.abs(r) * counted)
          out[f"{t}_residual_std"] = jnp.sqrt(jnp.sum((r - mean) ** 2 * counted) / n)
        return out
      names = self.log_names(learner)
      hook = PeriodicStats("residual_stats", self.every, names, compute,
                           learner.state.lr_scale.dtype)
      self._hook = ((terms, id(problem)), hook)
    return self._hook[1]

  def __repr__(self):
    return f"ResidualStats(every={self.every}, terms={self.terms})"


def _residuals(problem, model, batch, term):
  """Flat residuals ``r`` and a 0/1 weight per entry (masked rows: 0)."""
  if isinstance(problem, Supervised):
    x, y = batch
    r = (model(x) - y).reshape(-1)
    return r, jnp.ones_like(r)
  value = batch[term]
  r = problem.pointwise_residuals(model, term, ds.points_of(value))
  r = r.reshape(r.shape[0], -1)
  mask = value.get("mask") if isinstance(value, Mapping) else None
  counted = jnp.ones_like(r) if mask is None else jnp.broadcast_to(
      mask[:, None].astype(r.dtype), r.shape)
  return r.reshape(-1), counted.reshape(-1)
