"""Resample: fresh uniform collocation points, drawn inside the jitted step."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every
from opifex_fit.engine.step_hooks import StepHook
from opifex_fit.problems import device_sampling as ds
from opifex_fit.problems.pde import PDEProblem


class Resample(Callback):
  """Replaces a PDE term's collocation points by fresh uniform ones every ``every`` steps.

  As jaxpi's samplers and DeepXDE's ``PDEPointResampler(period)`` do, but
  on the device: the points are drawn inside the jitted step (a step hook),
  so ``every=1`` (new points at every step, jaxpi's default) never shortens
  the chunks and costs no host round trip. The points of the first
  ``every`` steps are the ones passed to ``fit``; from then on, at every step
  ``s`` with ``s % every == 0``, each chosen term gets as many uniform points
  as it has, drawn from the state's key and ``s``. A resumed fit therefore
  draws exactly the points an uninterrupted one would. ``learner.data``
  holds the latest points after each chunk (and checkpoints store them).

  Terms: ``"pde"`` (the interior) and conditions whose faces are named
  (their points are spread over the faces in proportion to their measure);
  a term stored with a mask (mesh padding, RARD buffers) keeps its mask.

  Example:
    >>> import numpy as np, jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> problem = of.PDEProblem(lambda x, u, d: d["xx"] + 1.0, of.Interval("x", 0.0, 1.0),
    ...                         [of.DirichletBC(0.0)])
    >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), problem,
    ...                      optax.adam(1e-2))
    >>> data = problem.sample(64, 2)
    >>> _ = learner.fit(data, steps=20, callbacks=[cb.Resample(every=1)], verbose=0)
    >>> bool(np.any(learner.data["pde"] != data["pde"]))   # fresh points, same shape
    True
    >>> learner.trace_counts["chunk"]                       # every=1: still one chunk
    1

  Args:
    every: resample at every step ``s`` with ``s % every == 0`` (1: every step).
    terms: the terms to resample (default ``("pde",)``, as jaxpi and
      DeepXDE's default).
  """

  order = ORDER_PHYSICS
  in_step = True  # ``every`` acts inside the step: it sets no chunk boundaries
  requires_device_data = True

  def __init__(self, every: int = 1, *, terms=("pde",)):
    self.every = check_every(every, allow_none=False)
    terms = (terms,) if isinstance(terms, str) else tuple(terms)
    if not terms or not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms):
      raise ValueError(f"terms must be distinct term names; got {terms!r}")
    self.terms = terms
    self._hook = None

  def step_hook(self, learner):
    problem = learner.problem
    if not isinstance(problem, PDEProblem):
      raise TypeError(f"Resample draws collocation points of a PDEProblem; the problem is "
                      f"{type(problem).__name__}")
    if self._hook is None or self._hook[0] is not problem:
      samplers = tuple((t, ds.term_sampler(problem, t)) for t in self.terms)
      self._hook = (problem, _ResampleHook(samplers, self.every))
    return self._hook[1]

  def __repr__(self):
    return f"Resample(every={self.every}, terms={self.terms})"


class _ResampleHook(StepHook):
  name = "resample"

  def __init__(self, samplers, every: int):
    self.samplers, self.every = samplers, every

  def prepare_data(self, hs, data, key, step):
    def fresh(d):
      out = dict(d)
      for i, (term, draw) in enumerate(self.samplers):
        pts = ds.points_of(d[term])
        new = draw(jax.random.fold_in(key, i), pts.shape[0], pts.dtype)
        out[term] = ds.with_points(d[term], new)
      return out

    due = (step > 0) & (step % self.every == 0)
    if self.every == 1:
      return hs, jax.tree.map(lambda a, b: jnp.where(due, a, b), fresh(data), data)
    return hs, jax.lax.cond(due, fresh, lambda d: dict(d), data)
