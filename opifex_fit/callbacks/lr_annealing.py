"""LRAnnealing: gradient-statistics loss weights (Wang, Teng, Perdikaris 2021; jaxpi)."""

from __future__ import annotations

import math

import jax.numpy as jnp

from opifex_fit import validators
from opifex_fit.callbacks import _balancing as bal
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every

_EPS = 1e-5  # relative guard on the denominators, as jaxpi: w_hat <= 1 / _EPS

MODES = ("mean", "max")


class LRAnnealing(Callback):
  """Learning-rate-annealing loss weights, from per-term gradient statistics.

  Every ``every`` steps, with ``g_i = grad_theta L_i`` the gradient of the
  unweighted term ``L_i`` with respect to ALL model parameters ``theta``, on
  the whole training data (``learner.data``):

  ``mode="mean"`` (jaxpi's ``grad_norm`` scheme; Wang, Sankaran, Wang,
  Perdikaris 2023, "An expert's guide to training PINNs"), every balanced
  term, residual included::

    w_hat_i = mean_j ||g_j||_2 / (||g_i||_2 + 1e-5 * mean_j ||g_j||_2)

  (the guide writes the sum over j, which is T times this; jaxpi's code, which
  we follow, uses the mean).

  ``mode="max"`` (Wang, Teng, Perdikaris 2021, SIAM J. Sci. Comput. 43(5),
  "Understanding and mitigating gradient flow pathologies in PINNs",
  Algorithm 1, eq. 40), for the non-residual terms only::

    w_hat_i = w_r * max_theta |g_r| / (mean_theta |g_i| + 1e-5 * w_r * max_theta |g_r|)

  where ``r`` is ``residual_term`` and ``w_r`` its weight, which this
  callback never changes (1 in the paper, where ``L = L_r + sum_i w_i L_i``;
  with ``w_r = 1`` this is exactly the paper's formula). ``max`` and ``mean``
  run over all parameter entries (every layer, weights and biases).

  Both modes then move the weights with a running average (the paper's
  ``alpha = 1 - momentum = 0.1``)::

    w_i <- momentum * w_i + (1 - momentum) * w_hat_i

  ``L_i`` is the term as the training step computes it (``as_trained=True``,
  as jaxpi): after the fit's step hooks, so with ``cb.CausalWeighting`` the
  residual's gradient is that of the causally weighted residual loss.
  ``as_trained=False`` uses the plain mean squared residual. ``at_start=True``
  also updates once before the first step of a fit that starts at step 0
  (jaxpi updates at every multiple of its cadence, step 0 included).

  Logs ``lra_grad_<term>`` (``||g_i||`` in mean mode; ``mean|g_i|`` in max
  mode, and ``max|g_r|`` for the residual term) and ``lra_target_<term>``
  (``w_hat_i``). A non-finite estimate leaves the weights unchanged.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> lra = cb.LRAnnealing(every=100, momentum=0.9, mode="mean")
    >>> # learner.fit(data, steps=20_000, callbacks=[lra]); learner.history["bc_weight"]

  Args:
    every: update cadence in optimizer steps (jaxpi: 1000; the paper: 10).
    momentum: in [0, 1); 0 replaces the weights by ``w_hat`` at every update.
    mode: ``"mean"`` or ``"max"``.
    terms: the balanced terms (default all; at least two). In max mode they
      must include ``residual_term``.
    residual_term: max mode only: the anchor term (default ``"pde"``).
    as_trained: gradients of the terms after the step hooks (default True).
    at_start: also update before step 0 (default False; jaxpi: True).
  """

  order = ORDER_PHYSICS
  requires_device_data = True  # reads learner.data: refused for streamed data

  def __init__(self, every: int = 100, momentum: float = 0.9, mode: str = "mean", *,
               terms=None, residual_term: str | None = None, as_trained: bool = True,
               at_start: bool = False):
    self.every = check_every(every, allow_none=False)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
        or not math.isfinite(momentum) or not 0 <= momentum < 1:
      raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
    if mode not in MODES:
      raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if residual_term is not None and mode != "max":
      raise ValueError(f"residual_term is only used with mode='max'; got residual_term="
                       f"{residual_term!r} with mode={mode!r}")
    if residual_term is not None and (not isinstance(residual_term, str) or not residual_term):
      raise ValueError(f"residual_term must be a loss term name; got {residual_term!r}")
    self.momentum, self.mode = float(momentum), mode
    self.as_trained = validators.check_bool(as_trained, "as_trained")
    self.at_start = validators.check_bool(at_start, "at_start")
    self.residual_term = residual_term or ("pde" if mode == "max" else None)
    self.terms = bal.check_terms_arg(terms)
    self._names: tuple[str, ...] = ()

  def on_fit_begin(self, learner):
    self._names = bal.resolve_terms(learner, self.terms, "LRAnnealing", min_terms=2)
    if self.mode == "max" and self.residual_term not in self._names:
      raise ValueError(f"LRAnnealing(mode='max'): residual_term={self.residual_term!r} is not "
                       f"among the balanced terms {list(self._names)}; pass residual_term=")
    if self.at_start and learner.step == 0:
      self.on_step_end(learner)

  def log_names(self, learner):
    names = bal.resolve_terms(learner, self.terms, "LRAnnealing")
    return [f"lra_{k}_{t}" for k in ("grad", "target") for t in names]

  def on_step_end(self, learner):
    fn = learner.compile("lr_annealing", self._update_fn(), key=(self, self._names),
                         hooked=self.as_trained)
    new_w, stats, target = fn(learner.data, bal.weight_vector(learner, self._names))
    bal.apply_update(learner, self._names, new_w, "lra", ("grad", stats), target)

  def _update_fn(self):
    """``update(s, data, weights)``, compiled by ``learner.compile``."""
    names, momentum, mode, hooked = self._names, self.momentum, self.mode, self.as_trained
    anchor = names.index(self.residual_term) if mode == "max" else None

    def update(s, data, weights):
      _, grads = s.term_gradients(data, names, hooked=hooked)
      if mode == "mean":
        stats = bal.grad_norms(grads)
        num = jnp.mean(stats)
        target = num / (stats + _EPS * num)
      else:
        flat = jnp.concatenate([jnp.abs(g.reshape(g.shape[0], -1)) for g in grads], axis=1)
        stats = jnp.mean(flat, axis=1).at[anchor].set(jnp.max(flat[anchor]))
        num = weights[anchor] * stats[anchor]
        # The residual term keeps its weight: its "target" is its own weight.
        target = (num / (stats + _EPS * num)).at[anchor].set(weights[anchor])
      return bal.running_average(weights, target, momentum), stats, target
    return update
