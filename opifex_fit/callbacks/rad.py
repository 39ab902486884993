"""RAD: residual-based adaptive distribution (Wu et al. 2023)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from opifex_fit import validators
from opifex_fit.callbacks import _residual_sampling as rs
from opifex_fit.problems import device_sampling
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every


class RAD(Callback):
  """Every ``every`` steps, redraws a term's collocation points from the residual density.

  Algorithm (Wu, Zhu, Tan, Kartha, Lu 2023, CMAME 403, "RAD"): draw a fresh
  uniform pool of ``pool_size`` points where the term lives, evaluate
  ``ε = |residual|`` on it (in chunks of ``chunk_size`` points, so memory is
  bounded), and draw as many points as the term has now, without
  replacement, with probability ``p ∝ ε^k / mean(ε^k) + c``. They replace
  the term's points in the training state: same shape and dtype, so the
  training chunk never recompiles. The pool and selection keys come from
  ``learner.next_key()`` (the checkpointed RNG), so a resumed run redraws
  exactly what an uninterrupted one would. The paper's recommended RAD is
  ``k=1, c=1``; ``k=0`` (or large ``c``) is plain uniform resampling.

  A term stored as a masked buffer (``{"points", "mask"}``, e.g. grown by
  RARD) gets all its rows redrawn and keeps its mask.

  On a mesh (``Learner(mesh=...)``) each chunk of the pool is split over the
  data axis; the result equals the one-device result up to float summation
  order, and the function still compiles once per fit.

  Logs (at each resampling): ``rad_<term>_residual``, the mean |residual|
  over the pool (a Monte-Carlo estimate of the mean residual over the
  domain) and ``rad_<term>_max_residual``, its maximum over the pool.
  ``learner.trace_counts["rad_<term>"]`` counts the traces of its function.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> rad = cb.RAD(every=2000, k=1.0, c=1.0, pool_size=100_000)
    >>> # learner.fit(problem.sample(2000, 400), steps=20_000, callbacks=[rad])

  Args:
    every: resample every this many optimizer steps.
    k: exponent of the residual (>= 0).
    c: uniform share of the density (>= 0).
    pool_size: candidate points per resampling; at least the term's points.
    terms: loss terms to resample: ``"pde"`` and/or boundary/initial
      condition names.
    chunk_size: points per residual evaluation batch.
  """

  order = ORDER_PHYSICS
  requires_device_data = True  # reads learner.data: refused for streamed data

  def __init__(self, every: int, k: float = 1.0, c: float = 1.0, pool_size: int = 100_000,
               terms=("pde",), chunk_size: int = 8192):
    self.every = check_every(every, allow_none=False)
    self.k = validators.check_number(k, "k")
    self.c = validators.check_number(c, "c")
    self.pool_size = rs.check_count(pool_size, "pool_size")
    self.terms = rs.check_term_names(terms)
    self.chunk_size = rs.check_count(chunk_size, "chunk_size")

  def on_fit_begin(self, learner):
    rs.check_problem_terms("RAD", learner, self.terms)
    for term in self.terms:
      n = rs.term_points(learner.data, term)[0].shape[0]
      if self.pool_size < n:
        raise ValueError(f"RAD: pool_size={self.pool_size} is smaller than the {n} points of term"
                         f" {term!r}; sampling without replacement needs pool_size >= {n}")

  def log_names(self, learner):
    return [f"rad_{t}_{s}" for t in self.terms for s in ("residual", "max_residual")]

  def on_step_end(self, learner):
    data = dict(learner.data)
    for term in self.terms:
      points, mask = rs.term_points(data, term)
      fn = learner.compile(f"rad_{term}", self._resample_fn(learner.problem, term, points.shape[0],
                                                            points.dtype),
                           key=(self, points.shape[0], jnp.dtype(points.dtype).name))
      new, mean_eps, max_eps = fn(learner.next_key())
      data[term] = {"points": new, "mask": mask} if isinstance(data[term], Mapping) else new
      learner.logs[f"rad_{term}_residual"] = float(mean_eps)
      learner.logs[f"rad_{term}_max_residual"] = float(max_eps)
    learner.data = data

  def _resample_fn(self, problem, term, n, dtype):
    """``resample(s, key) -> (points, mean ε, max ε)``, compiled by ``learner.compile``."""
    return build_rad(problem, term, n, dtype, k=self.k, c=self.c, pool_size=self.pool_size,
                     chunk_size=self.chunk_size)

  def resample(self, learner) -> None:
    """Resamples now: what ``on_step_end`` does at its cadence ("what",
    apart from "when"), e.g. between the fits of ``of.recipes.resampling_rounds``."""
    self.on_step_end(learner)

  def __repr__(self):
    return (f"RAD(every={self.every}, k={self.k}, c={self.c}, pool_size={self.pool_size},"
            f" terms={self.terms})")


def build_rad(problem, term, n, dtype, *, k, c, pool_size, chunk_size):
  sample = device_sampling.term_sampler(problem, term)

  def resample(s, key):
    k_pool, k_pick = jax.random.split(key)
    pool = sample(k_pool, pool_size, dtype)
    eps = rs.abs_residuals(s.residuals(term, pool, chunk_size=chunk_size))
    index = rs.choose_without_replacement(k_pick, rs.density(eps, k, c), n)
    return pool[index], jnp.mean(eps), jnp.max(eps)
  return resample
