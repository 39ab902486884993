"""NTKWeighting: loss weights from the trace of each term's NTK (jaxpi's ``ntk`` scheme)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from opifex_fit import validators
from opifex_fit.callbacks import _balancing as bal
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every
from opifex_fit.engine import step_hooks
from opifex_fit.problems.pde import PDEProblem


class NTKWeighting(Callback):
  """Loss weights that equalise the neural tangent kernel of the residual terms.

  Every ``every`` steps, for each balanced term ``i`` with residuals
  ``r_ij`` at its points ``x_ij`` (Wang, Yu, Perdikaris 2022, "When and why
  PINNs fail to train: a neural tangent kernel perspective"; jaxpi's
  ``weighting.scheme = "ntk"``)::

    tr_i = mean_j ||d r_ij / d theta||^2       (the mean of the NTK's diagonal)
    w_hat_i = mean_k(tr_k) / tr_i
    w_i <- momentum * w_i + (1 - momentum) * w_hat_i

  with ``theta`` all model parameters, on the training points (the first
  ``n_points`` of each term, if given; masked rows such as mesh padding do
  not count). The cadence and the running average are those of
  ``LRAnnealing`` (jaxpi: every 1000 steps, momentum 0.9). A non-finite
  estimate leaves the weights unchanged. Logs ``ntk_trace_<term>`` and
  ``ntk_target_<term>``.

  ``as_trained=True`` (the default, as jaxpi) takes each point's share as
  the training step weights it, after the fit's step hooks
  (``StepHook.point_weights``): with ``cb.CausalWeighting`` the residual's
  trace is jaxpi's causally weighted one, ``tr = mean_i w_i mean_{j in C_i}
  ||d r_j / d theta||^2`` over the time chunks ``C_i`` and their causal
  weights ``w_i``. Without such a hook (or ``as_trained=False``) it is the
  plain mean above. ``at_start=True`` also updates once before the first step
  of a fit that starts at step 0 (jaxpi updates at step 0).

  Example:
    >>> import jax.numpy as jnp, numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> problem = of.PDEProblem(lambda x, u, d: d["xx"] + np.pi ** 2 * jnp.sin(np.pi * x[0]),
    ...                         of.Interval("x", 0.0, 1.0), [of.DirichletBC(0.0)])
    >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), problem)
    >>> history = learner.fit(problem.sample(64, 2), steps=20, verbose=0,
    ...                       callbacks=[cb.NTKWeighting(every=10, momentum=0.0)])
    >>> # momentum 0: the weight the chunk after step 10 trains with is that update's target
    >>> round(history["pde_weight"][-1] / history["ntk_target_pde"][0], 4)
    1.0

  Args:
    every: update cadence in optimizer steps (jaxpi: 1000).
    momentum: in [0, 1); 0 replaces the weights by ``w_hat`` at each update.
    terms: the balanced terms (default: ``"pde"`` and every condition; at least two).
    n_points: use at most this many points per term (None: all).
    chunk_size: points per Jacobian block (bounds memory: ``chunk_size`` x
      number of parameters floats at a time).
    as_trained: weight the points as the training step does (default True).
    at_start: also update before step 0 (default False; jaxpi: True).
  """

  order = ORDER_PHYSICS
  requires_device_data = True

  def __init__(self, every: int = 1000, momentum: float = 0.9, *, terms=None,
               n_points: int | None = None, chunk_size: int = 256, as_trained: bool = True,
               at_start: bool = False):
    self.every = check_every(every, allow_none=False)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
        or not math.isfinite(momentum) or not 0 <= momentum < 1:
      raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
    for name, value in (("n_points", n_points), ("chunk_size", chunk_size)):
      if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int{' or None' if name == 'n_points' else ''};"
                         f" got {value!r}")
    self.momentum, self.n_points, self.chunk_size = float(momentum), n_points, chunk_size
    self.as_trained = validators.check_bool(as_trained, "as_trained")
    self.at_start = validators.check_bool(at_start, "at_start")
    self.terms = bal.check_terms_arg(terms)
    self._names: tuple[str, ...] = ()

  def _resolve(self, learner):
    problem = learner.problem
    if not isinstance(problem, PDEProblem):
      raise TypeError(f"NTKWeighting needs the pointwise residuals of a PDEProblem; the problem "
                      f"is {type(problem).__name__}")
    available = ("pde", *problem.condition_names)
    return bal.resolve_terms(learner, self.terms, "NTKWeighting", available=available,
                             min_terms=2)

  def on_fit_begin(self, learner):
    self._names = self._resolve(learner)
    if self.at_start and learner.step == 0:
      self.on_step_end(learner)

  def log_names(self, learner):
    return [f"ntk_{k}_{t}" for k in ("trace", "target") for t in self._resolve(learner)]

  def on_step_end(self, learner):
    fn = learner.compile("ntk_weighting", self._update_fn(),
                         key=(self, self._names, self.n_points, self.chunk_size),
                         hooked=self.as_trained)
    points = {t: _points_and_mask(learner.data[t], self.n_points) for t in self._names}
    new_w, traces, target = fn(points, bal.weight_vector(learner, self._names))
    bal.apply_update(learner, self._names, new_w, "ntk", ("trace", traces), target)

  def _update_fn(self):
    names, momentum, chunk, hooked = self._names, self.momentum, self.chunk_size, self.as_trained

    def update(s, points, weights):
      shares = {t: s.point_weights(t, *points[t]) if hooked else None for t in names}
      traces = jnp.stack([ntk_trace(s, t, *points[t], chunk, shares[t]) for t in names])
      target = jnp.mean(traces) / traces
      return bal.running_average(weights, target, momentum), traces, target
    return update

  def __repr__(self):
    return f"NTKWeighting(every={self.every}, momentum={self.momentum}, terms={self.terms})"


def ntk_trace(s, term: str, points, mask, chunk_size: int, shares=None) -> jax.Array:
  """``sum_j a_j ||d r_j / d theta||^2`` over the points of ``term``, with
  ``a_j = shares`` (default: the plain mean over the unmasked points; per
  residual component for systems), Jacobians ``chunk_size`` points at a time
  (float32 or wider)."""
  if shares is None:
    shares = step_hooks.mean_shares(points, mask)
  total = jnp.zeros((), jnp.promote_types(points.dtype, jnp.float32))
  for start in range(0, points.shape[0], chunk_size):
    block = points[start:start + chunk_size]

    def flat(p, block=block):
      return s.residuals(term, block, params=p).reshape(block.shape[0], -1)
    jac = jax.jacrev(flat)(s.params)
    per_row = sum(jnp.sum(j.reshape(j.shape[0], j.shape[1], -1) ** 2, axis=(1, 2))
                  for j in jax.tree.leaves(jac))
    total = total + jnp.sum(per_row * shares[start:start + chunk_size])
  width = jax.eval_shape(lambda: s.residuals(term, points[:1])).size  # vector residuals
  return total / width


def _points_and_mask(value, n_points):
  points, mask = (value["points"], value["mask"]) if isinstance(value, Mapping) else (value, None)
  if n_points is not None:
    points = points[:n_points]
    mask = None if mask is None else mask[:n_points]
  return points, None if mask is None else mask.astype(points.dtype)
