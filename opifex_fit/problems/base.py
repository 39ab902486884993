"""What the Learner asks of a problem.

A problem turns (model, data) into named loss terms. The learner owns the
loop, the weights of the terms, batching and validation; the problem owns the
meaning of the data. ``Supervised`` and ``PDEProblem`` implement this.

Contract (all methods are called outside jit except ``loss_terms`` and
``predict``, which are traced inside the jitted chunk):

* ``term_names()``: the loss terms, e.g. ``("data",)`` or ``("pde", "bc")``.
* ``default_weights()``: term -> float (missing terms weigh 1.0).
* ``default_data(seed)``: data when ``fit(data=None)``; raise ValueError if the
  problem has none.
* ``prepare(model, data, argname)``: validate and convert user data to a pytree
  of jax arrays; raise ValueError/TypeError naming ``argname``, the bad value
  and what was expected, before anything compiles (probe the model with
  ``jax.eval_shape``).
* ``num_examples(data)``: the shared leading dimension that minibatches slice,
  or None when the data cannot be minibatched (then ``batch_size`` must be
  None).
* ``take(data, index)``: the minibatch at integer ``index`` array.
* ``loss_terms(model, data)``: dict term -> scalar, traced.
* ``predict(model, x)``: the model output for inputs ``x``, traced.
* ``model_inputs(data)``: the inputs in prepared data (None: unknown); only
  for error messages.
* ``metric_names()`` / ``metrics(model, data)``: quantities reported by
  ``evaluate`` and validation (``val_<name>``) but never trained on; traced.
* ``pad_for_devices(data, n_devices, previous)`` / ``unpad_for_devices(data,
  record, head)``: on a mesh, data padded so that its rows split over the
  devices, and back (what checkpoints store). The default pads nothing:
  leaves whose rows do not divide are replicated by the placement instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class Problem:
  """Base class with the defaults most problems want."""

  def term_names(self) -> tuple[str, ...]:
    raise NotImplementedError

  def default_weights(self) -> dict[str, float]:
    return {name: 1.0 for name in self.term_names()}

  def default_data(self, seed: int):
    raise ValueError(f"{type(self).__name__} has no default data: pass data= to fit")

  def prepare(self, model, data, argname: str = "data"):
    return to_device_tree(data, argname)

  def num_examples(self, data) -> int | None:
    return shared_leading_dim(data)

  def take(self, data, index):
    return jax.tree.map(lambda a: jnp.take(a, index, axis=0), data)

  def loss_terms(self, model, data) -> dict:
    raise NotImplementedError

  def predict(self, model, x):
    return model(x)

  def model_inputs(self, data):
    """The part of prepared ``data`` the model is applied to (for messages
    about ``predict`` inputs), or None if the problem does not say."""
    del data

  def metric_names(self) -> tuple[str, ...]:
    return ()

  def metrics(self, model, data) -> dict:
    return {}

  def pad_for_devices(self, data, n_devices: int, previous: dict):
    """``(data, record)``: ``data`` with rows added so that they split over
    ``n_devices`` (the loss must not change), and a record of what was added
    (``previous``: the record of the current data, kept where the data come
    back already padded). Default: nothing padded, ``(data, {})``."""
    del n_devices, previous
    return data, {}

  def unpad_for_devices(self, data, record: dict, head):
    """``data`` without the rows ``pad_for_devices`` added (``record``);
    ``head(a, n)`` gives the first ``n`` rows of ``a``. Default: unchanged."""
    del record, head
    return data


def shared_leading_dim(tree) -> int | None:
  """The common leading dimension of all leaves, or None if they differ."""
  dims = {np.shape(a)[0] if np.ndim(a) else None for a in jax.tree.leaves(tree)}
  if len(dims) != 1 or None in dims:
    return None
  return dims.pop()


def to_device_tree(tree, argname: str):
  """Converts every leaf to a jax array, refusing non-numeric and non-finite."""
  def convert(path, leaf):
    where = argname + jax.tree_util.keystr(path)
    try:
      arr = np.asarray(leaf)
    except Exception as e:
      raise TypeError(f"{where} must be an array; got {type(leaf).__name__}") from e
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
      raise TypeError(f"{where} must be a numeric array; got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
      bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
      raise ValueError(f"{where} holds {bad} non-finite value(s) (NaN/inf);"
                       " expected finite data")
    if np.issubdtype(arr.dtype, np.floating) and arr.dtype == np.float64 \
        and not jax.config.jax_enable_x64:
      arr = arr.astype(np.float32)
    return jnp.asarray(arr)
  if not jax.tree.leaves(tree):
    raise ValueError(f"{argname} holds no arrays; got {tree!r}")
  return jax.tree_util.tree_map_with_path(convert, tree)


def probe_model(model, inputs, argname: str, what: str = "x"):
  """The model's output shapes on ``inputs`` (abstract: nothing runs or
  compiles); a model that cannot take them raises ValueError naming the shapes."""
  from flax import nnx  # noqa: PLC0415 - keeps this module's imports light
  try:
    return nnx.eval_shape(lambda m, a: m(a), model, inputs)
  except Exception as e:  # noqa: BLE001 - rethrown with the shapes that matter
    raise ValueError(f"{argname}: the model cannot be applied to {what} of shape "
                     f"{jax.tree.map(np.shape, inputs)}: {type(e).__name__}: {e}") from e
