"""Supervised: fit ``model(x)`` to targets ``y``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.problems.base import Problem, probe_model, shared_leading_dim, to_device_tree


def mse(pred, target):
  return jnp.mean((pred - target) ** 2)


def mae(pred, target):
  return jnp.mean(jnp.abs(pred - target))


def relative_l2(pred, target, eps: float = 1e-12):
  """Per-sample ``||pred - target|| / ||target||`` averaged over the batch (the
  metric of the FNO/DeepONet papers); each sample is the whole of one leading
  index (all grid points and channels)."""
  diff = (pred - target).reshape(pred.shape[0], -1)
  ref = target.reshape(target.shape[0], -1)
  return jnp.mean(jnp.linalg.norm(diff, axis=1) / (jnp.linalg.norm(ref, axis=1) + eps))


def example_count(tree) -> int | None:
  """The leading dimension N shared by all leaves, where leaves of leading
  dimension 1 are shared inputs (None if the leaves disagree)."""
  dims = {np.shape(a)[0] if np.ndim(a) else None for a in jax.tree.leaves(tree)}
  if None in dims or len(dims - {1}) > 1:
    return None
  return max(dims) if dims else None


LOSSES: dict[str, Callable] = {"mse": mse, "mae": mae, "relative_l2": relative_l2}


def _check_metrics(metrics) -> dict[str, Callable]:
  if isinstance(metrics, str):
    metrics = (metrics,)
  if not isinstance(metrics, Mapping):
    unknown = [m for m in metrics if m not in LOSSES]
    if unknown:
      raise ValueError(f"metrics must be names in {sorted(LOSSES)} or a mapping name -> "
                       f"callable; got unknown {unknown!r}")
    metrics = {m: LOSSES[m] for m in metrics}
  for name, fn in metrics.items():
    if not isinstance(name, str) or not name or not callable(fn):
      raise TypeError(f"metrics must map names to callables (pred, target) -> scalar; got "
                      f"{name!r}: {fn!r}")
  return dict(metrics)


def _tree_mean(fn, pred, target):
  """``fn`` on each output (multi-output models), averaged."""
  values = [fn(p, t) for p, t in zip(jax.tree.leaves(pred), jax.tree.leaves(target))]
  return sum(values) / len(values)


class Supervised(Problem):
  """Regression on ``(x, y)`` pairs: one loss term, ``"data"``.

  ``x`` and ``y`` are arrays, or pytrees of arrays for multi-input models (for
  a DeepONet, ``x = (u_sensors, y_query)``), all with the same leading
  (example) dimension N, except inputs with a leading dimension of 1: those
  are shared by every example (DeepONet's aligned queries ``(1, P, d)``, for
  which the trunk runs once), passed whole to every minibatch, never sliced.
  ``y`` must have the model output's shape exactly: a
  target of shape ``(N,)`` against an output ``(N, 1)`` is refused rather than
  silently broadcast to ``(N, N)``.

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> x = np.linspace(-1, 1, 64)[:, None]; y = x ** 2
    >>> model = of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0))
    >>> learner = of.Learner(model, of.Supervised("mse"), optax.adam(1e-2))
    >>> before = learner.evaluate((x, y))["loss"]
    >>> history = learner.fit((x, y), steps=200, verbose=0)
    >>> learner.evaluate((x, y))["loss"] < 0.1 * before
    True

  Args:
    loss: ``"mse"``, ``"mae"``, ``"relative_l2"`` or a callable
      ``(pred, target) -> scalar``. For neural operators use
      ``"relative_l2"`` (the papers' metric), so ``val_loss`` is it.
    metrics: evaluation-only metrics, names from the losses above or a
      mapping ``name -> (pred, target) -> scalar``; reported by ``evaluate``
      and in validation logs as ``val_<name>`` (e.g. an FNO trained on
      ``"mse"`` with ``metrics=("relative_l2",)``), never trained on.
  """

  def __init__(self, loss: str | Callable = "mse", *, metrics=()):
    if isinstance(loss, str):
      if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable; got {loss!r}")
      self.loss_name, self.loss_fn = loss, LOSSES[loss]
    elif callable(loss):
      self.loss_name, self.loss_fn = getattr(loss, "__name__", "custom"), loss
    else:
      raise TypeError(f"loss must be a string or a callable (pred, target) -> scalar;"
                      f" got {loss!r} of type {type(loss).__name__}")
    self._metrics = _check_metrics(metrics)

  def term_names(self):
    return ("data",)

  def prepare(self, model, data, argname: str = "data"):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
      raise TypeError(f"{argname} must be a pair (x, y) of arrays (or pytrees of "
                      f"arrays); got {type(data).__name__}")
    x, y = to_device_tree(data[0], f"{argname}[0] (x)"), to_device_tree(data[1], f"{argname}[1] (y)")
    nx, ny = example_count(x), shared_leading_dim(y)
    if nx is None or ny is None or nx != ny:
      raise ValueError(f"{argname}: x and y must share one leading (example) dimension; "
                       f"got x shapes {jax.tree.map(np.shape, x)} and y shapes "
                       f"{jax.tree.map(np.shape, y)}")
    out = probe_model(model, x, argname)
    if jax.tree.structure(out) != jax.tree.structure(y) or any(
        o.shape != t.shape for o, t in zip(jax.tree.leaves(out), jax.tree.leaves(y))):
      shapes_out = jax.tree.map(lambda a: a.shape, out)
      shapes_y = jax.tree.map(np.shape, y)
      one_short = [np.ndim(t) + 1 == o.ndim for o, t in zip(jax.tree.leaves(out), jax.tree.leaves(y))]
      hint = " (for a single output, reshape y to y[:, None])" if any(one_short) else ""
      raise ValueError(f"{argname}: the model output has shape {shapes_out} but y has "
                       f"shape {shapes_y}; expected them equal{hint}")
    return (x, y)

  def num_examples(self, data) -> int | None:
    return example_count(data)

  def take(self, data, index):
    n = example_count(data)
    return jax.tree.map(lambda a: a if a.shape[0] == 1 < n else jnp.take(a, index, axis=0),
                        data)

  def model_inputs(self, data):
    return data[0]

  def metric_names(self):
    return tuple(self._metrics)

  def metrics(self, model, data):
    x, y = data
    pred = model(x)  # the loss's own model call: XLA keeps one
    return {name: _tree_mean(fn, pred, y) for name, fn in self._metrics.items()}

  def loss_terms(self, model, data):
    x, y = data
    return {"data": self.loss_fn(model(x), y)}

  def __repr__(self):
    return f"Supervised(loss={self.loss_name!r})"
