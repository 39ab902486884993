"""WeightPenalty: L1, L2 and spectral-norm penalties on the weights, as loss terms."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit import validators
from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback
from opifex_fit.callbacks.tensorboard import named_leaves
from opifex_fit.engine.step_hooks import StepHook

TERMS = ("l1", "l2", "spectral")


class WeightPenalty(Callback):
  """Adds regularization terms ``l1``, ``l2`` and ``spectral`` to the loss.

  Each nonzero coefficient adds one loss term, logged like any other as
  ``l1_loss`` / ``l2_loss`` / ``spectral_loss`` (the raw penalty), with the
  coefficient as its weight in ``learner.loss_weights`` (``"l1"``, ``"l2"``,
  ``"spectral"``), so a callback or the user can change it between chunks
  without recompiling. A zero coefficient adds no term. The penalties, over
  the selected ``nnx.Param`` arrays ``w``:

  * ``l1``: ``sum |w|`` (subgradient ``sign(w)``, 0 at 0);
  * ``l2``: ``sum w**2`` (the gradient of the weighted term is ``2 * l2 * w``:
    a coupled weight decay that Adam rescales; for decoupled decay use
    ``optax.adamw(learning_rate, weight_decay=...)``);
  * ``spectral``: the sum over the selected real 2-D kernels of their largest
    singular value, differentiated as ``u^T W v`` with ``u, v`` held constant
    (gradient ``u v^T``, that of the exact largest singular value once the
    iteration has converged). In training, as in spectral normalisation
    (Miyato et al. 2018), the right singular vector ``v`` of each kernel is
    carried from step to step in the state (a step hook, so it is
    checkpointed), and ``steps_per_update`` power steps refine it at every
    step: the estimate follows the slowly changing weights. ``evaluate`` and
    validation estimate it afresh with ``power_iterations`` steps from a
    fixed start vector. Estimates never exceed the true value; a fresh one
    converges like ``(s2 / s1) ** (2 * power_iterations)``.

  Gradient clipping through ``optax.chain(optax.clip_by_global_norm(c),
  optax.adam(...))`` clips the gradient of the whole loss, penalties included;
  ``learner.lr_scale`` (ReduceLROnPlateau) scales the step they take.

  Args:
    l1, l2, spectral: the coefficients (finite, >= 0).
    paths: which parameters: None (all ``nnx.Param`` arrays, biases included),
      a substring or list of substrings of the path (``"kernel"``,
      ``"layers/0"``; paths read like ``layers/0/kernel``), or a predicate
      ``path -> bool``. Selecting nothing raises ValueError at fit start.
    power_iterations: power-iteration steps of a fresh spectral estimate (default 20).
    steps_per_update: power steps per training step on the carried vectors (default 1).

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> x = np.linspace(-1, 1, 64)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), of.Supervised())
    >>> reg = cb.WeightPenalty(l2=1e-2, paths="kernel")   # weights only, not biases
    >>> h = learner.fit((x, np.sin(3 * x)), steps=20, verbose=0, callbacks=[reg])
    >>> "l2_loss" in h, round(float(learner.loss_weights["l2"]), 6)
    (True, 0.01)
  """

  order = ORDER_PHYSICS - 10  # registers its terms before callbacks that read the terms

  def __init__(self, l1: float = 0.0, l2: float = 0.0, spectral: float = 0.0, paths=None, *,
               power_iterations: int = 20, steps_per_update: int = 1):
    self.coefficients = {name: validators.check_number(value, name) for name, value in
                         (("l1", l1), ("l2", l2), ("spectral", spectral))}
    self.select = _selector(paths)
    self.paths = paths
    self.power_iterations = validators.positive_int(power_iterations, "power_iterations",
                                                    allow_none=False)
    self.steps_per_update = validators.positive_int(steps_per_update, "steps_per_update",
                                                    allow_none=False)
    self._hook = None
    paths_key = _paths_key(paths)
    self._fns = {name: _term_fn(name, (paths_key, self.power_iterations if name == "spectral"
                                       else None), self.select) for name in TERMS}

  def selected(self, model) -> dict[str, jax.Array]:
    """The penalized arrays of ``model``, by path."""
    return select_arrays(model, self.select)

  def on_fit_begin(self, learner):
    chosen = self.selected(learner.model)
    if not chosen:
      raise ValueError(f"WeightPenalty: paths={self.paths!r} selects no parameter; the"
                       f" parameter paths are {list(named_leaves(learner.state.params))}")
    if self.coefficients["spectral"] and not any(_is_matrix(w) for w in chosen.values()):
      raise ValueError(f"WeightPenalty: spectral={self.coefficients['spectral']} but"
                       f" paths={self.paths!r} selects no real 2-D kernel; selected"
                       f" {list(chosen)}")
    for name in TERMS:
      if self.coefficients[name]:
        try:
          learner.add_loss_term(name, self._fns[name], weight=self.coefficients[name])
        except ValueError as e:
          raise ValueError(f"WeightPenalty: the learner already has a loss term {name!r} that"
                           f" is not this penalty with paths={self.paths!r} and power_iterations="
                           f"{self.power_iterations} (a learner keeps its loss terms; change"
                           f" the weight through learner.loss_weights[{name!r}])") from e

  def step_hook(self, learner):
    if not self.coefficients["spectral"]:
      return None
    if self._hook is None:
      self._hook = CarriedSpectralHook(self.select, self.power_iterations, self.steps_per_update)
    return self._hook

  def __repr__(self):
    coefs = ", ".join(f"{k}={v:g}" for k, v in self.coefficients.items() if v)
    return f"WeightPenalty({coefs}, paths={self.paths!r})"


# One function object per configuration: a new WeightPenalty with the same paths
# in a later fit re-adds the very same term (a no-op for the learner).
_TERM_FNS: dict = {}


def _term_fn(name: str, key, select) -> Callable:
  if (name, key) not in _TERM_FNS:
    iterations = key[1]
    penalty = {"l1": l1_penalty, "l2": l2_penalty,
               "spectral": lambda ws: spectral_penalty(ws, iterations)}[name]
    _TERM_FNS[name, key] = lambda model, data: penalty(select_arrays(model, select))
  return _TERM_FNS[name, key]


def _paths_key(paths):
  if paths is None or callable(paths):
    return paths
  return (paths,) if isinstance(paths, str) else tuple(paths)


def select_arrays(model, select) -> dict[str, jax.Array]:
  """The ``nnx.Param`` arrays of ``model`` whose path ``select`` accepts, by path."""
  return {p: w for p, w in named_leaves(nnx.state(model, nnx.Param)).items() if select(p)}


def l1_penalty(arrays: dict) -> jax.Array:
  return sum(_abs_sum(w) for w in arrays.values())


def _abs_sum(w) -> jax.Array:
  """``sum |w|`` with the subgradient ``sign(w)``: 0 at 0, so zero weights stay zero
  (``jnp.abs`` differentiates to 1 at 0 and would push zero biases off zero)."""
  if jnp.issubdtype(w.dtype, jnp.complexfloating):
    return jnp.sum(jnp.abs(w))
  return jnp.sum(w * jax.lax.stop_gradient(jnp.sign(w)))


def l2_penalty(arrays: dict) -> jax.Array:
  return sum(jnp.sum(jnp.abs(w) ** 2) for w in arrays.values())


def spectral_penalty(arrays: dict, iterations: int) -> jax.Array:
  """Sum of the largest singular values of the real 2-D arrays (power iteration)."""
  return sum(largest_singular_value(w, iterations) for w in arrays.values() if _is_matrix(w))


def largest_singular_value(w: jax.Array, iterations: int, v=None):
  """``u^T W v`` after ``iterations`` power steps from ``v`` (default a fixed
  start); ``u, v`` constant. With ``v`` given, returns ``(estimate, new v)``."""
  carried = v is not None
  if v is None:
    v = jax.random.normal(jax.random.key(0), (w.shape[1],), w.dtype)
  wc = jax.lax.stop_gradient(w)
  def step(_, v):
    v = wc.T @ (wc @ v)
    return v / (jnp.linalg.norm(v) + 1e-12)
  v = jax.lax.fori_loop(0, iterations, step, v / (jnp.linalg.norm(v) + 1e-12))
  u = wc @ v
  u = u / (jnp.linalg.norm(u) + 1e-12)
  return (u @ w @ v, v) if carried else u @ w @ v


class CarriedSpectralHook(StepHook):
  """The training-time spectral term: power-iteration vectors carried in the state."""

  name = "spectral_power_iteration"

  def __init__(self, select, init_iterations: int, steps_per_update: int):
    self.select, self.init_iterations = select, init_iterations
    self.steps_per_update = steps_per_update

  def init(self, learner):
    # Start where a fresh estimate ends, so the first steps are already converged.
    out = {}
    for path, w in select_arrays(learner.model, self.select).items():
      if _is_matrix(w):
        out[path] = largest_singular_value(jnp.asarray(w), self.init_iterations,
                                           jnp.ones((w.shape[1],), w.dtype))[1]
    return out

  def loss_terms(self, hs, model, batch, terms_fn):
    terms = terms_fn(model, batch)  # its fresh spectral estimate is replaced (and DCE'd)
    arrays, new, total = select_arrays(model, self.select), {}, 0.0
    for path, v in hs.items():
      sigma, new[path] = largest_singular_value(arrays[path], self.steps_per_update, v)
      total = total + sigma
    terms["spectral"] = total
    return terms, new


def _is_matrix(w) -> bool:
  return w.ndim == 2 and not jnp.issubdtype(w.dtype, jnp.complexfloating)


def _selector(paths) -> Callable[[str], bool]:
  if paths is None:
    return lambda p: True
  if callable(paths):
    return lambda p: bool(paths(p))
  subs = (paths,) if isinstance(paths, str) else paths
  if not isinstance(subs, (list, tuple)) or not subs or \
      not all(isinstance(s, str) and s for s in subs):
    raise ValueError(f"paths must be None, a substring or list of substrings of parameter"
                     f" paths (e.g. 'kernel', ['layers/0']), or a predicate path -> bool;"
                     f" got {paths!r}")
  return lambda p: any(s in p for s in subs)
