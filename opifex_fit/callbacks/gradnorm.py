"""GradNorm: adaptive loss weights that equalise training rates (Chen et al., ICML 2018)."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from opifex_fit.callbacks import _balancing as bal
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every, status_field

_MIN_WEIGHT = 1e-6  # weights are clipped here before renormalising: they stay positive
_TINY = 1e-30       # guards L_i(0) = 0 (a term that starts exactly satisfied)


@dataclasses.dataclass
class GradNormState:
  """What ``state_dict`` holds: the initial losses ``L_i(0)`` (None until
  measured), the weights' optimizer state (its leaves as nested lists; None
  before the first update) and the number of updates."""

  initial_losses: dict[str, float] | None = None
  optimizer_state: list | None = None
  updates: int = 0


class GradNorm(Callback):
  """Chen, Badrinarayanan, Lee, Rabinovich, "GradNorm", ICML 2018 (Algorithm 1).

  Every ``every`` steps, on the whole training data (``learner.data``),
  with ``W`` the last shared layer and ``w_i`` the loss weights of the
  balanced terms (``T`` of them)::

    G_i   = || dW (w_i L_i) ||_2              gradient norm of the weighted term
    L~_i  = L_i(t) / L_i(0)                   inverse training rate
    r_i   = L~_i / mean_j L~_j
    L_grad = sum_i | G_i - stop_grad(mean_j G_j * r_i ** alpha) |
    w     <- w - lr * dL_grad/dw              one step on the weights only
    w     <- T * max(w, 1e-6) / sum(max(w, 1e-6))   positive, sum w_i = T

  The target is a constant (stop-gradient), only ``W`` enters ``G``, and the
  weights are renormalised after every step, as in the paper. ``L_i(0)`` are
  the unweighted losses of the initial weights, at t = 0 as in the paper:
  computed at ``on_fit_begin`` of the first fit (from the state training
  starts from) and kept in ``state_dict``, so a resumed or continued run uses
  the same ones. The weights are updated once per ``every`` optimizer steps,
  at chunk boundaries (not at every step inside a chunk): between two updates
  the chunk trains with constant weights. The first update starts
  from the current weights (the problem's ``weights=``, 1.0 by default, as the
  paper's ``w_i(0) = 1``) renormalised to sum to ``T``. Terms not balanced
  keep their weight. A non-finite update leaves the weights unchanged.

  Logs ``gradnorm_loss`` (``L_grad``), ``gradnorm_G_<term>`` and
  ``gradnorm_r_<term>``; the weights themselves appear as ``<term>_weight``
  (the weights in force during each chunk).

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> gn = cb.GradNorm(alpha=1.5, every=100)
    >>> # learner.fit(data, steps=20_000, callbacks=[gn]); learner.history["bc_weight"]

  Args:
    alpha: asymmetry ``>= 0``: larger pulls lagging terms harder (paper: 0.12
      to 3; 1.5 is its common default). ``alpha = 0`` equalises gradient norms.
    every: update cadence in optimizer steps.
    lr: step size of the plain gradient step on the weights.
    layer: the shared layer ``W``. None: the model's last parameterised layer
      (the parent module of the last ``nnx.Param`` leaf in the parameter
      order, e.g. ``"layers/3"`` of an MLP: its kernel and bias). A string
      selects the leaves at or under that path (``"layers/3"``,
      ``"layers/3/kernel"``); a callable ``path -> bool`` filters leaf paths.
    terms: the balanced terms (default: all loss terms; at least two).
    optimizer: an optax transformation for the weights instead of plain
      gradient descent (e.g. ``optax.adam(0.025)``); then leave ``lr`` unset.
  """

  order = ORDER_PHYSICS
  requires_device_data = True  # reads learner.data: refused for streamed data

  def __init__(self, alpha: float = 1.5, every: int = 100, lr: float | None = None,
               layer=None, *, terms=None, optimizer: optax.GradientTransformation | None = None):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) \
        or not math.isfinite(alpha) or alpha < 0:
      raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}")
    self.every = check_every(every, allow_none=False)
    if optimizer is not None and lr is not None:
      raise ValueError(f"give lr (plain gradient descent) or optimizer, not both; got lr={lr!r}"
                       f" and optimizer={optimizer!r}")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))
                           or not math.isfinite(lr) or lr <= 0):
      raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
      raise TypeError(f"optimizer must be an optax.GradientTransformation; got {optimizer!r}")
    if layer is not None and not (isinstance(layer, str) and layer) and not callable(layer):
      raise TypeError(f"layer must be None, a parameter path string like 'layers/3' or a "
                      f"callable path -> bool; got {layer!r}")
    self.alpha = float(alpha)
    self.lr = 0.025 if lr is None and optimizer is None else lr
    self.tx = optimizer if optimizer is not None else optax.sgd(self.lr)
    self.layer = layer
    self.terms = bal.check_terms_arg(terms)
    self._names: tuple[str, ...] = ()
    self._select: tuple[int, ...] = ()
    self.status = GradNormState()
    self._opt_state = None  # on device; rebuilt from status.optimizer_state when None

  # The fields of ``status`` (a ``GradNormState``) as attributes.
  initial_losses = status_field("initial_losses")
  updates = status_field("updates")

  # -- events ---------------------------------------------------------------
  def on_fit_begin(self, learner):
    self._names = bal.resolve_terms(learner, self.terms, "GradNorm", min_terms=2)
    self._select = select_layer(bal.parameter_paths(learner.state.params), self.layer)
    if self.initial_losses is not None and set(self.initial_losses) != set(self._names):
      raise ValueError(f"GradNorm: the saved initial losses are for terms {sorted(self.initial_losses)};"
                       f" this fit balances {list(self._names)}")
    if self.initial_losses is None and learner.data is not None:
      self.initial_losses = self._losses_now(learner)  # L_i(0): the weights training starts from

  def _losses_now(self, learner) -> dict[str, float]:
    """The unweighted term losses of the current state on the training data."""
    names = self._names
    run = learner.compile("gradnorm_initial", lambda s, data: s.term_losses(data, names),
                          key=(self, names))
    values = jax.device_get(run(learner.data))
    return {n: float(values[n]) for n in names}

  def log_names(self, learner):
    names = bal.resolve_terms(learner, self.terms, "GradNorm")
    return ["gradnorm_loss", *[f"gradnorm_{k}_{t}" for k in ("G", "r") for t in names]]

  def on_step_end(self, learner):
    fn = learner.compile("gradnorm", self._update_fn(), key=(self, self._names, self._select))
    weights = bal.weight_vector(learner, self._names)
    first = self.initial_losses is None
    init = jnp.asarray([1.0] * len(self._names) if first else
                       [self.initial_losses[n] for n in self._names], jnp.float32)
    new_w, self._opt_state, info = fn(learner.data, weights, init, jnp.asarray(first),
                                      self._optimizer_state(weights))
    bal.write_weights(learner, self._names, new_w)
    info, opt = jax.device_get((info, self._opt_state))
    self.status.optimizer_state = [np.asarray(x).tolist() for x in jax.tree.leaves(opt)]
    if first:
      self.initial_losses = {n: float(v) for n, v in zip(self._names, info["losses"])}
    self.updates += 1
    learner.logs["gradnorm_loss"] = float(info["L_grad"])
    for i, n in enumerate(self._names):
      learner.logs[f"gradnorm_G_{n}"] = float(info["G"][i])
      learner.logs[f"gradnorm_r_{n}"] = float(info["r"][i])

  # -- state ----------------------------------------------------------------
  def load_state_dict(self, state):
    super().load_state_dict(state)  # the status fields
    self._opt_state = None  # rebuilt from status.optimizer_state at the next update

  # -- helpers ----------------------------------------------------------------
  def _optimizer_state(self, weights):
    if self._opt_state is None:
      template = self.tx.init(weights)
      saved = self.status.optimizer_state
      if saved is not None:
        leaves, treedef = jax.tree.flatten(template)
        if len(leaves) != len(saved):
          raise ValueError("GradNorm: the saved optimizer state does not match this optimizer")
        template = treedef.unflatten([jnp.asarray(v, dtype=leaf.dtype).reshape(leaf.shape)
                                      for v, leaf in zip(saved, leaves)])
      self._opt_state = template
    return self._opt_state

  def _update_fn(self):
    """``update(s, data, weights, init, first, opt_state)``, compiled by ``learner.compile``
    (on a mesh the per-point losses split over the data axis, as in training)."""
    names, select = self._names, self._select
    alpha, tx, count = self.alpha, self.tx, len(names)

    def update(s, data, weights, init, first, opt_state):
      losses, grads = s.term_gradients(data, names, select=select)
      norms = bal.grad_norms(grads)                    # ||dW L_i||
      # Start from the current weights renormalised to sum T (w_i(0) = 1 by default).
      weights = count * weights / jnp.sum(weights)
      l0 = jnp.maximum(jnp.where(first, losses, init), _TINY)
      inv_rate = losses / l0
      r = inv_rate / jnp.mean(inv_rate)

      def l_grad(w):
        g = jnp.abs(w) * norms                         # ||dW (w_i L_i)||, w_i > 0
        target = jax.lax.stop_gradient(jnp.mean(g) * r ** alpha)
        return jnp.sum(jnp.abs(g - target)), g

      (value, g), dw = jax.value_and_grad(l_grad, has_aux=True)(weights)
      step, new_opt = tx.update(dw, opt_state, weights)
      new = jnp.maximum(optax.apply_updates(weights, step), _MIN_WEIGHT)
      new = count * new / jnp.sum(new)
      ok = jnp.all(jnp.isfinite(new))
      new = jnp.where(ok, new, weights)
      new_opt = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new_opt, opt_state)
      return new, new_opt, {"losses": losses, "G": g, "r": r, "L_grad": value}
    return update


def select_layer(paths: list[str], layer) -> tuple[int, ...]:
  """Indices of the parameter leaves that form the shared layer ``W``."""
  if not paths:
    raise ValueError("GradNorm: the model has no nnx.Param leaves")
  if layer is None:
    last = paths[-1].split("/")
    prefix = "/".join(last[:-1]) if len(last) > 1 else paths[-1]
    chosen = [i for i, p in enumerate(paths) if p == prefix or p.startswith(prefix + "/")]
  elif isinstance(layer, str):
    prefix = layer.strip("/")
    chosen = [i for i, p in enumerate(paths) if p == prefix or p.startswith(prefix + "/")]
  else:
    chosen = [i for i, p in enumerate(paths) if layer(p)]
  if not chosen:
    raise ValueError(f"GradNorm: layer={layer!r} matches no parameter; the parameters are "
                     f"{paths}")
  return tuple(chosen)
