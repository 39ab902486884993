"""CausalWeighting: respect causality in time-dependent PINNs (Wang, Sankaran, Perdikaris 2022)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback
from opifex_fit.engine.step_hooks import StepHook
from opifex_fit.problems import device_sampling as ds
from opifex_fit.problems.pde import PDEProblem


class CausalWeighting(Callback):
  """Weights the residual loss over time chunks so that early times are learned first.

  Algorithm ("Respecting causality is all you need for training
  physics-informed neural networks", Wang, Sankaran, Perdikaris 2022,
  eq. 2.9-2.11; jaxpi's ``causal_tol``/``num_chunks``): the time interval is
  split into ``n_chunks`` equal chunks; ``L_i`` is the mean squared residual
  of the points of ``term`` whose time lies in chunk ``i``; then, inside
  every jitted step::

    w_i = stop_gradient(exp(-eps * sum_{k < i} L_k))     (w_0 = 1)
    <term>_loss = mean_i(w_i * L_i)

  so chunk ``i`` only counts once the earlier ones are solved. With random
  points (rather than jaxpi's time grid) each chunk holds the points that
  fall in it; an empty chunk has ``L_i = 0``.

  ``schedule`` (optional) is the paper's Algorithm 1: a rising list of eps
  values; at each chunk boundary, once ``min_i w_i > tol``, the next eps is
  used. eps lives in the step hook's device state, so changing it never
  recompiles (``learner.set_hook_state("causal", ...)`` works too).

  Logs ``causal_eps``, ``causal_weight_min`` (``w_{M-1}``, the smallest),
  ``causal_weight_mean`` and ``causal_residual_loss`` (the plain mean
  squared residual of the step's points, what ``<term>_loss`` is without
  causality). ``evaluate`` and validation report the plain loss.

  Example:
    >>> import numpy as np, jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> box = of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)})
    >>> problem = of.PDEProblem(lambda x, u, d: d["t"] - 0.1 * d["xx"], box,
    ...                         [of.InitialCondition(lambda x: jnp.cos(np.pi * x[0]))])
    >>> learner = of.Learner(of.models.MLP(2, [16, 1], rngs=nnx.Rngs(0)), problem)
    >>> history = learner.fit(problem.sample(256, n_initial=64), steps=20, verbose=0,
    ...                       callbacks=[cb.CausalWeighting(n_chunks=8, eps=1.0)])
    >>> 0.0 < history["causal_weight_min"][-1] <= 1.0
    True

  Args:
    n_chunks: M, the number of time chunks (jaxpi: 32).
    eps: the causality parameter (jaxpi: 1.0; the paper anneals it).
    term: the residual term weighted (default ``"pde"``).
    time: the time coordinate (default ``"t"``).
    schedule: None, or a rising list of eps values (starting at ``eps``).
    tol: the ``min_i w_i`` that moves the schedule on (the paper's delta, 0.99).
  """

  order = ORDER_PHYSICS

  def __init__(self, n_chunks: int = 32, eps: float = 1.0, *, term: str = "pde", time: str = "t",
               schedule=None, tol: float = 0.99):
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, int) or n_chunks < 1:
      raise ValueError(f"n_chunks must be a positive int; got {n_chunks!r}")
    eps = _positive(eps, "eps")
    if schedule is not None:
      schedule = [_positive(e, "schedule entries") for e in schedule]
      if not schedule or schedule[0] != eps or schedule != sorted(set(schedule)):
        raise ValueError(f"schedule must be a rising list starting at eps={eps}; got {schedule!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol <= 1:
      raise ValueError(f"tol must be in (0, 1]; got {tol!r}")
    self.n_chunks, self.eps, self.term, self.time = n_chunks, float(eps), term, time
    self.schedule, self.tol = schedule, float(tol)
    self.observer = schedule is None  # nothing to decide at boundaries without one
    self.stage = 0  # index into schedule
    self._hook = None

  def step_hook(self, learner):
    problem = learner.problem
    if not isinstance(problem, PDEProblem):
      raise TypeError(f"CausalWeighting weights a PDEProblem's residual; the problem is "
                      f"{type(problem).__name__}")
    if self.time not in problem.domain.names:
      raise ValueError(f"time={self.time!r} is not a coordinate of the domain {problem.domain!r}")
    if self.term not in ("pde", *problem.condition_names):
      raise ValueError(f"term={self.term!r} is not a residual term of the problem; terms: "
                       f"{list(problem.term_names())}")
    if self._hook is None or self._hook[0] is not problem:
      self._hook = (problem, CausalHook(problem, self.term, self.time, self.n_chunks, self.eps))
    return self._hook[1]

  def log_names(self, learner):
    return CausalHook.LOGS

  def on_step_end(self, learner):
    if self.schedule is None or self.stage + 1 >= len(self.schedule):
      return
    if learner.logs["causal_weight_min"] > self.tol:
      self.stage += 1
      hs = learner.hook_state(CausalHook.name)
      learner.set_hook_state(CausalHook.name, dict(hs, eps=self.schedule[self.stage]))

  def state_dict(self):
    return {"stage": self.stage}

  def load_state_dict(self, state):
    self.stage = int(state["stage"])

  def __repr__(self):
    return f"CausalWeighting(n_chunks={self.n_chunks}, eps={self.eps})"


class CausalHook(StepHook):
  """The in-step half of ``CausalWeighting`` (pure; see its docstring)."""

  name = "causal"
  LOGS = ("causal_eps", "causal_weight_min", "causal_weight_mean", "causal_residual_loss")

  def __init__(self, problem, term: str, time: str, n_chunks: int, eps: float):
    self.problem, self.term, self.n_chunks, self.eps = problem, term, n_chunks, eps
    self.axis = problem.domain.index(time)
    self.t0 = float(problem.domain.low[self.axis])
    self.t1 = float(problem.domain.high[self.axis])

  def init(self, learner):
    dtype = learner.state.lr_scale.dtype  # the params' float dtype
    return {"eps": jnp.asarray(self.eps, dtype), "weights": jnp.ones((self.n_chunks,), dtype),
            "residual_loss": jnp.asarray(jnp.nan, dtype)}

  def loss_terms(self, hs, model, batch, terms_fn):
    value = batch[self.term]
    terms = terms_fn(model, {k: v for k, v in batch.items() if k != self.term})
    pts = ds.points_of(value)
    mask = value.get("mask") if isinstance(value, Mapping) else None
    sq, counted = self._squared_residuals(model, pts, mask)
    chunk_losses, weights = causal_weights(sq, counted, pts[:, self.axis], self.t0, self.t1,
                                           self.n_chunks, hs["eps"])
    terms[self.term] = jnp.mean(weights * chunk_losses)
    plain = jnp.sum(sq * counted) / jnp.maximum(jnp.sum(counted), 1.0)
    hs = dict(hs, weights=weights.astype(hs["weights"].dtype),
              residual_loss=plain.astype(hs["residual_loss"].dtype))
    return terms, hs

  def point_weights(self, hs, model, term, points, mask):
    """jaxpi's causal NTK: point ``j`` of chunk ``i`` counts ``w_i / (M |C_i|)``."""
    if term != self.term:
      return None
    sq, counted = self._squared_residuals(model, points, mask)
    t = points[:, self.axis]
    _, weights = causal_weights(sq, counted, t, self.t0, self.t1, self.n_chunks, hs["eps"])
    index = chunk_index(t, self.t0, self.t1, self.n_chunks)
    counts = jax.ops.segment_sum(counted, index, self.n_chunks)
    return counted * weights[index] / (self.n_chunks * jnp.maximum(counts[index], 1.0))

  def _squared_residuals(self, model, points, mask):
    """``(sq, counted)``: each point's mean squared residual, and 1 where it counts."""
    r = self.problem.pointwise_residuals(model, self.term, points)
    sq = (r ** 2).reshape(r.shape[0], -1).mean(axis=1)
    return sq, jnp.ones_like(sq) if mask is None else mask.astype(sq.dtype)

  def logs(self, hs):
    w = hs["weights"]
    return {"causal_eps": hs["eps"], "causal_weight_min": jnp.min(w),
            "causal_weight_mean": jnp.mean(w), "causal_residual_loss": hs["residual_loss"]}


def causal_weights(sq, counted, t, t0: float, t1: float, n_chunks: int, eps):
  """``(L, w)``: per-chunk mean squared residuals ``L_i`` and their causal
  weights ``w_i = exp(-eps * sum_{k<i} L_k)`` (no gradient through ``w``)."""
  index = chunk_index(t, t0, t1, n_chunks)
  sums = jax.ops.segment_sum(sq * counted, index, n_chunks)
  counts = jax.ops.segment_sum(counted, index, n_chunks)
  chunk_losses = sums / jnp.maximum(counts, 1.0)
  before = jnp.cumsum(chunk_losses) - chunk_losses  # sum over k < i
  return chunk_losses, jax.lax.stop_gradient(jnp.exp(-eps * before))


def chunk_index(t, t0: float, t1: float, n_chunks: int):
  """The time chunk of each time in ``t``: ``0 .. n_chunks - 1`` (equal intervals)."""
  return jnp.clip(jnp.floor((t - t0) / (t1 - t0) * n_chunks).astype(jnp.int32), 0, n_chunks - 1)


def _positive(value, name):
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
      or value <= 0:
    raise ValueError(f"{name} must be a positive finite number; got {value!r}")
  return float(value)
