"""RAR-D: residual-based adaptive refinement with distribution (Wu et al. 2023)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit import validators
from opifex_fit.parallel import sharding
from opifex_fit.callbacks import _residual_sampling as rs
from opifex_fit.problems import device_sampling
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every


class RARD(Callback):
  """Every ``every`` steps, adds ``n_add`` points drawn from the residual density.

  Algorithm (Wu, Zhu, Tan, Kartha, Lu 2023, CMAME 403, "RAR-D"): keep the
  current points and add ``n_add`` new ones, drawn without replacement from
  a fresh uniform pool of ``pool_size`` candidates with probability
  ``p ∝ ε^k / mean(ε^k) + c`` (ε = |residual|; the paper's RAR-D defaults
  ``k=2, c=0``; ``k→∞, c=0`` is greedy RAR).

  So that adding never recompiles, each term becomes a fixed-size buffer at
  ``on_fit_begin`` (before the chunk compiles): ``{"points": (capacity,
  dim), "mask": (capacity,) bool}`` with the current points active and the
  rest inactive (copies of a real point, so they stay finite); the PDE loss
  is the masked mean. New points fill inactive rows. At capacity nothing is
  added any more and a note is printed once (with ``verbose``).

  To continue growing in a later ``fit``, pass ``learner.data`` as its data
  (its active points are kept); other data starts a fresh buffer.

  On a mesh the buffer may be padded to a multiple of the device count; the
  padding rows are masked and never filled, so at most ``capacity`` points
  are ever active. Each chunk of the pool is evaluated split over the data
  axis (see ``RAD``).

  Logs (at each refinement): ``rard_points``, the active points over all of
  its terms. ``learner.trace_counts["rard_<term>"]`` counts traces of its
  jitted function. Pool and selection keys come from ``learner.next_key()``.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> rard = cb.RARD(every=1000, n_add=200, capacity=4000)
    >>> # learner.fit(problem.sample(2000, 400), steps=20_000, callbacks=[rard])

  Args:
    every: add points every this many optimizer steps.
    k: exponent of the residual (>= 0).
    c: uniform share of the density (>= 0).
    n_add: points added per refinement.
    capacity: rows of the buffer (the most points the term can have); at
      least the term's current points.
    pool_size: candidates per refinement (>= ``n_add``).
    terms: loss terms to refine: ``"pde"`` and/or condition names.
    chunk_size: points per residual evaluation batch.
    verbose: print a note when a buffer is full.
  """

  order = ORDER_PHYSICS
  requires_device_data = True  # reads learner.data: refused for streamed data

  def __init__(self, every: int, k: float = 2.0, c: float = 0.0, n_add: int | None = None,
               capacity: int | None = None, pool_size: int = 100_000, terms=("pde",),
               chunk_size: int = 8192, verbose: int = 1):
    self.every = check_every(every, allow_none=False)
    self.k = validators.check_number(k, "k")
    self.c = validators.check_number(c, "c")
    self.n_add = rs.check_count(n_add, "n_add")
    self.capacity = rs.check_count(capacity, "capacity")
    self.pool_size = rs.check_count(pool_size, "pool_size")
    if self.pool_size < self.n_add:
      raise ValueError(f"pool_size={pool_size} is smaller than n_add={n_add}; sampling without"
                       f" replacement needs pool_size >= n_add")
    self.terms = rs.check_term_names(terms)
    self.chunk_size = rs.check_count(chunk_size, "chunk_size")
    self.verbose = verbose
    self._noted: set = set()

  def on_fit_begin(self, learner):
    rs.check_problem_terms("RARD", learner, self.terms)
    data = dict(learner.data)
    for term in self.terms:
      points, mask = rs.term_points(data, term)
      pts = sharding.host_value(points)  # sharded over processes too
      active = pts if mask is None else pts[sharding.host_value(mask)]
      n = active.shape[0]
      if n > self.capacity:
        raise ValueError(f"RARD: capacity={self.capacity} is smaller than the {n} points term"
                         f" {term!r} has now; expected capacity >= {n}")
      if n == 0:
        raise ValueError(f"RARD: term {term!r} has no active points to start from")
      pad = np.repeat(active[:1], self.capacity - n, axis=0)
      data[term] = {"points": jnp.asarray(np.concatenate([active, pad]), points.dtype),
                    "mask": jnp.asarray(np.arange(self.capacity) < n)}
    # The data changes structure: done here, before the training chunk compiles.
    learner.state = learner.state.replace(data=data)
    self._noted = set()

  def log_names(self, learner):
    return ["rard_points"]

  def on_step_end(self, learner):
    data, total = dict(learner.data), 0
    for term in self.terms:
      points, mask = data[term]["points"], data[term]["mask"]
      # Read from the state (not a counter), so rolled-back states stay right.
      n = int(np.count_nonzero(sharding.host_value(mask)))
      if n < self.capacity:
        fn = learner.compile(f"rard_{term}", self._refine_fn(learner.problem, term, points.dtype),
                             key=(self, jnp.dtype(points.dtype).name))
        points, mask, count = fn(learner.next_key(), points, mask)
        data[term] = {"points": points, "mask": mask}
        n = int(count)
      if n >= self.capacity and term not in self._noted:
        self._noted.add(term)
        if self.verbose:
          print(f"RARD: term {term!r} reached capacity={self.capacity} points at step"
                f" {learner.step}; no more points are added")
      total += n
    learner.data = data
    learner.logs["rard_points"] = float(total)

  def _refine_fn(self, problem, term, dtype):
    return build_rard(problem, term, dtype, k=self.k, c=self.c, n_add=self.n_add,
                      capacity=self.capacity, pool_size=self.pool_size, chunk_size=self.chunk_size)

  def resample(self, learner) -> None:
    """Resamples now: what ``on_step_end`` does at its cadence ("what",
    apart from "when"), e.g. between the fits of ``of.recipes.resampling_rounds``."""
    self.on_step_end(learner)

  def __repr__(self):
    return (f"RARD(every={self.every}, k={self.k}, c={self.c}, n_add={self.n_add},"
            f" capacity={self.capacity}, terms={self.terms})")


def build_rard(problem, term, dtype, *, k, c, n_add, capacity, pool_size, chunk_size):
  """``refine(s, key, points, mask) -> (points, mask, active count)``, for ``learner.compile``."""
  sample = device_sampling.term_sampler(problem, term)

  def refine(s, key, points, mask):
    k_pool, k_pick = jax.random.split(key)
    pool = sample(k_pool, pool_size, dtype)
    eps = rs.abs_residuals(s.residuals(term, pool, chunk_size=chunk_size))
    index = rs.choose_without_replacement(k_pick, rs.density(eps, k, c), n_add)
    # The first n_add free rows below capacity: on a mesh the buffer has
    # masked padding rows past it, which are not free. Past capacity the fill
    # index is out of bounds and mode="drop" writes nothing there.
    rows = mask.shape[0]
    free = ~mask & (jnp.arange(rows) < capacity)
    slots = jnp.nonzero(free, size=n_add, fill_value=rows)[0]
    points = points.at[slots].set(pool[index], mode="drop")
    mask = mask.at[slots].set(True, mode="drop")
    return points, mask, jnp.sum(mask)
  return refine
