"""GradientStats: gradient and update statistics collected inside the chunk."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from opifex_fit import validators
from opifex_fit.callbacks.base import ORDER_METRICS, Callback, check_every
from opifex_fit.callbacks.tensorboard import named_leaves
from opifex_fit.engine.step_hooks import PeriodicStats


class GradientStats(Callback):
  """Logs gradient statistics of the training step, computed on the device.

  At every step that completes a multiple of ``every`` (the guide's
  AdvancedMetricsCollector, without a host round trip), from the step's
  gradient ``g`` (of the weighted total loss) and its update ``u``:

  * ``grad_norm``: ``optax.tree.norm(g)`` (the global norm);
  * ``grad_max``: ``max |g|`` over every parameter entry;
  * ``update_ratio``: ``||u|| / ||theta||``, the update's size relative to
    the parameters before it (``lr_scale`` included);
  * with ``per_layer=True``, ``grad_norm/<path>`` per parameter array (e.g.
    ``grad_norm/layers/0/kernel``; TensorBoard groups them).

  The values go into ``learner.logs`` at the chunk boundary of that step
  (chunks end on multiples of ``every``), so History, TensorBoard and CSV
  get them like any other metric; before the first one they are NaN.

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> x = np.linspace(-1, 1, 64)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
    ...                      optax.adam(1e-2))
    >>> history = learner.fit((x, np.sin(3 * x)), steps=100, verbose=0,
    ...                       callbacks=[cb.GradientStats(every=50)])
    >>> history.steps, history["grad_norm"][-1] > 0
    ([50, 100], True)

  Args:
    every: the cadence in optimizer steps (also a chunk boundary).
    per_layer: also log one norm per parameter array.
  """

  order = ORDER_METRICS

  def __init__(self, every: int = 100, *, per_layer: bool = False):
    self.every = check_every(every, allow_none=False)
    self.per_layer = validators.check_bool(per_layer, "per_layer")
    self._hook = None

  def _paths(self, learner):
    return list(named_leaves(learner.state.params)) if self.per_layer else []

  def log_names(self, learner):
    return ("grad_norm", "grad_max", "update_ratio",
            *[f"grad_norm/{p}" for p in self._paths(learner)])

  def step_hook(self, learner):
    names = tuple(self.log_names(learner))
    if self._hook is None or self._hook[0] != names:
      paths = self._paths(learner)

      def compute(info):
        out = {"grad_norm": optax.tree.norm(info.grads),
               "grad_max": jnp.max(jnp.stack([jnp.max(jnp.abs(g)) for g in jax.tree.leaves(info.grads)])),
               "update_ratio": optax.tree.norm(info.updates) / optax.tree.norm(info.params)}
        for path, g in zip(paths, jax.tree.leaves(info.grads)):
          out[f"grad_norm/{path}"] = jnp.linalg.norm(g.ravel())
        return out
      dtype = learner.state.lr_scale.dtype
      self._hook = (names, PeriodicStats("gradient_stats", self.every, names, compute, dtype))
    return self._hook[1]

  def __repr__(self):
    return f"GradientStats(every={self.every}, per_layer={self.per_layer})"
