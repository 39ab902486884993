"""NTKDiagnostics: the empirical neural tangent kernel of each loss term."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.callbacks import _balancing as bal
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every
from opifex_fit.problems.supervised import Supervised
from opifex_fit.parallel.sharding import host_value

STATS = ("trace", "lmax", "lmin", "cond", "trace_ratio")


class NTKDiagnostics(Callback):
  """Spectrum of the empirical NTK per loss term, on a fixed-size point subset.

  For each term ``i``, with ``r_i`` the vector of its per-point residuals on
  ``m_i = min(n_points, points of the term)`` points (evenly spaced through
  the term's current training points; the active ones of a masked buffer)
  and ``J_i = d r_i / d theta`` (all parameters, by ``jax.jacrev``)::

    K_ii = J_i J_i^T                    (m_i x m_i; rows per residual component)
    ntk_trace_i = tr K_ii,   ntk_lmax_i, ntk_lmin_i = extreme eigenvalues
    ntk_cond_i  = lmax / lmin           (inf when lmin <= m eps lmax: K singular)
    ntk_trace_ratio_i = sum_j tr(K_jj)/m_j  /  (tr(K_ii)/m_i)

  The trace ratio is the weight of NTK loss balancing (Wang, Yu, Perdikaris,
  "When and why PINNs fail to train", J. Comput. Phys. 2022, Algorithm 1:
  ``lambda_i = sum_j tr K_jj / tr K_ii``), with traces per point so that terms
  of different sizes compare; with equal sizes it is exactly the paper's
  ratio. The callback only logs it; nothing is reweighted.

  Per-point residuals come from ``problem.pointwise_residuals(model, term,
  points)`` for PDE problems (the ``"data"`` term of observations: the
  prediction error), and from the per-example prediction error
  ``model(x) - y`` for ``Supervised``. Loss terms added with
  ``add_loss_term`` have no points and are not analysed. The subset is chosen
  without randomness (the training RNG is untouched) and re-read at every
  call, so resampled points are followed. Computed in one jitted function,
  compiled once per subset shape.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> ntk = cb.NTKDiagnostics(every=1000, n_points=64)
    >>> # learner.fit(data, steps=10_000, callbacks=[ntk]); learner.history["ntk_cond_pde"]

  Args:
    every: cadence in optimizer steps.
    n_points: points per term (cost: ``n_points`` reverse passes and an
      ``n_points x n_points`` eigendecomposition per term).
    terms: the analysed terms (default: all the problem's terms).
  """

  order = ORDER_PHYSICS
  requires_device_data = True  # reads learner.data: refused for streamed data

  def __init__(self, every: int = 1000, n_points: int = 64, *, terms=None):
    self.every = check_every(every, allow_none=False)
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
      raise ValueError(f"n_points must be a positive int; got {n_points!r}")
    self.n_points = n_points
    self.terms = bal.check_terms_arg(terms)
    self._names: tuple[str, ...] = ()

  def on_fit_begin(self, learner):
    problem = learner.problem
    if not (isinstance(problem, Supervised) or hasattr(problem, "pointwise_residuals")):
      raise TypeError(f"NTKDiagnostics needs per-point residuals: a PDEProblem, a Supervised "
                      f"problem or a problem with pointwise_residuals(model, term, points);"
                      f" got {type(problem).__name__}")
    self._names = bal.resolve_terms(learner, self.terms, "NTKDiagnostics",
                                    available=problem.term_names())

  def log_names(self, learner):
    names = bal.resolve_terms(learner, self.terms, "NTKDiagnostics",
                              available=learner.problem.term_names())
    return [f"ntk_{k}_{t}" for k in STATS for t in names]

  def on_step_end(self, learner):
    fn = learner.compile("ntk_diagnostics", self._ntk_fn(learner.problem), key=(self, self._names))
    subsets = {t: self._subset(learner, t) for t in self._names}
    out = jax.device_get(fn(subsets))
    for t in self._names:
      for k in STATS:
        learner.logs[f"ntk_{k}_{t}"] = float(out[t][k])

  # -- helpers ----------------------------------------------------------------
  def _subset(self, learner, term):
    """The term's analysed points, gathered outside jit (fixed shapes)."""
    problem, data = learner.problem, learner.data
    if isinstance(problem, Supervised):
      return problem.take(data, _spread(problem.num_examples(data), self.n_points))
    v = data[term]
    if isinstance(v, Mapping) and set(v) == {"x", "u"}:  # observations (PointData)
      idx = _spread(v["x"].shape[0], self.n_points)
      return {"x": v["x"][idx], "u": v["u"][idx]}
    if isinstance(v, Mapping):  # a masked buffer: only the active points
      active = np.flatnonzero(host_value(v["mask"]))
      return v["points"][active[_spread(len(active), self.n_points)]]
    return v[_spread(v.shape[0], self.n_points)]

  def _ntk_fn(self, problem):
    """``ntk(s, subsets)``, compiled by ``learner.compile``."""
    names = self._names

    def residual(model, term, sub):
      if isinstance(problem, Supervised):
        x, y = sub
        pred = problem.predict(model, x)
        return jnp.concatenate([(p - t).reshape(-1) for p, t in
                                zip(jax.tree.leaves(pred), jax.tree.leaves(y))])
      if isinstance(sub, Mapping):
        return problem.observation_residuals(model, term, sub)
      return problem.pointwise_residuals(model, term, sub)

    def ntk(s, subsets):
      out = {}
      for t in names:
        vec = lambda p, t=t: residual(s.merge(p), t, subsets[t]).reshape(-1)
        jac = jax.jacrev(vec)(s.params)
        rows = [j.reshape(j.shape[0], -1).astype(jnp.float32) for j in jax.tree.leaves(jac)]
        k = sum(r @ r.T for r in rows)
        out[t] = spectrum(k)
      per_point = jnp.stack([out[t]["trace"] / out[t]["m"] for t in names])
      for i, t in enumerate(names):
        out[t]["trace_ratio"] = jnp.sum(per_point) / per_point[i]
        del out[t]["m"]
      return out
    return ntk


def spectrum(k: jax.Array) -> dict:
  """Trace, extreme eigenvalues and condition number of a PSD kernel matrix."""
  m = k.shape[0]
  eig = jnp.linalg.eigvalsh(k)
  lmax = eig[-1]
  # Eigenvalues under m * eps * lmax are round-off (numpy's matrix_rank rule).
  tol = m * jnp.finfo(k.dtype).eps * lmax
  lmin = jnp.where(eig[0] > tol, eig[0], 0.0)
  cond = jnp.where(lmin > 0, lmax / jnp.where(lmin > 0, lmin, 1.0), jnp.inf)
  return {"trace": jnp.trace(k), "lmax": lmax, "lmin": lmin, "cond": cond,
          "m": jnp.asarray(m, k.dtype)}


def _spread(n: int, k: int) -> np.ndarray:
  """``min(n, k)`` distinct indices evenly spread over ``range(n)``."""
  if n < 1:
    raise ValueError("NTKDiagnostics: a loss term has no (active) points")
  count = min(n, k)
  return np.unique(np.round(np.linspace(0, n - 1, count)).astype(np.int32))
