"""TensorBoard: scalars, histograms, images and hparams of a fit."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.callbacks.base import ORDER_LOGGER, Callback, check_every

_WRITER_METHODS = ("write_scalars", "write_images", "write_histograms", "write_hparams",
                   "flush", "close")


class TensorBoard(Callback):
  """Writes what the fit logs to TensorBoard event files.

  At every due step (``every`` steps, or every chunk boundary if None) it
  writes one scalar per entry of ``learner.logs`` under the same name (``loss``,
  ``pde_loss``, ``lr_scale``, ``<term>_weight``, ``skipped_updates``, metrics
  added by other callbacks) plus ``steps_per_sec`` measured between two writes
  (the first write only sets the clock, so compilation is not counted).
  Validation values (``val_*``) are written after each validation at its step.

  ``histograms=True`` adds a histogram of every parameter (``params/<path>``)
  and of its gradient (``grads/<path>``) at the same cadence. The gradient is
  that of the weighted training loss on the whole training data, from a jitted
  function of this callback compiled once; the training chunk is untouched.

  ``images(learner) -> {name: array}`` adds images: ``[H, W]``, ``[H, W, C]`` or
  ``[N, H, W, C]``, C in 1, 3, 4. A float single-channel array is a field
  (a PINN solution, a residual map) and is rescaled from its own min..max to
  black..white; float RGB(A) is read as intensities in [0, 1]; uint8 as is.

  Hyperparameters are written once when the fit begins: the model and problem
  class, parameter count, loss terms, seed and any scalar hyperparameters of an
  ``optax.inject_hyperparams`` optimizer, updated with the ``hparams`` mapping
  given (``hparams=False`` writes none).

  All files go to ``logdir`` (one event file per fit) and only process 0 writes.
  Any writer with CLU's ``MetricWriter`` methods can be passed as ``writer``
  (then ``logdir`` may be None; the writer is flushed, not closed, at fit end).

  Example:
    >>> import tempfile
    >>> from opifex_fit import callbacks as cb
    >>> tb = cb.TensorBoard(tempfile.mkdtemp(), every=100, histograms=True,
    ...                     hparams={"lr": 1e-3})
    >>> # learner.fit(data, steps=1000, callbacks=[tb]); tensorboard --logdir ...
  """

  order = ORDER_LOGGER

  def __init__(self, logdir=None, every: int | None = None, histograms: bool = False,
               images: Callable[[Any], Mapping[str, Any]] | None = None,
               hparams: Mapping[str, Any] | bool | None = None, writer=None):
    if writer is None:
      if not isinstance(logdir, (str, os.PathLike)) or not os.fspath(logdir):
        raise TypeError(f"logdir must be a directory path (or pass writer=); got {logdir!r}")
    else:
      missing = [m for m in _WRITER_METHODS if not callable(getattr(writer, m, None))]
      if missing:
        raise TypeError(f"writer must have CLU MetricWriter methods {_WRITER_METHODS};"
                        f" {writer!r} lacks {missing}")
    if not isinstance(histograms, bool):
      raise TypeError(f"histograms must be True or False; got {histograms!r}")
    if images is not None and not callable(images):
      raise TypeError(f"images must be a function learner -> {{name: array}} or None;"
                      f" got {images!r}")
    if not (hparams is None or hparams is False or isinstance(hparams, Mapping)):
      raise TypeError(f"hparams must be a mapping name -> value, None or False; got {hparams!r}")
    self.logdir = None if logdir is None else os.fspath(logdir)
    self.every = check_every(every)
    self.histograms, self.images, self.hparams = histograms, images, hparams
    self._user_writer = writer
    self.writer = writer
    self._clock = None
    # Scalars only read logs, so they may run while the next chunk computes;
    # histograms and images read the weights of this very step.
    self.observer = not histograms and images is None
    self.requires_device_data = histograms  # gradients on learner.data

  # -- events ---------------------------------------------------------------
  def on_fit_begin(self, learner):
    if self._user_writer is None:
      from opifex_fit.writers import SummaryWriter  # noqa: PLC0415 - keeps cb import light
      self.writer = SummaryWriter(self.logdir)
    self._clock = None
    if self.hparams is not False:
      hp = dict(default_hparams(learner), **(self.hparams or {}))
      if hasattr(self.writer, "active"):  # ours: place it at the current (resumed) step
        self.writer.write_hparams(hp, step=learner.step)
      else:
        self.writer.write_hparams(hp)

  def on_step_end(self, learner):
    step = learner.step
    scalars = {k: v for k, v in learner.logs.items() if np.ndim(v) == 0}
    if self._clock is not None and step > self._clock[1]:
      elapsed = max(time.perf_counter() - self._clock[0], 1e-9)
      scalars["steps_per_sec"] = (step - self._clock[1]) / elapsed
    self.writer.write_scalars(step, scalars)
    if self.histograms:
      self._write_histograms(learner)
    if self.images is not None:
      self.writer.write_images(step, self._images(learner))
    # The clock starts after our own writing (and its one-off compilation).
    self._clock = (time.perf_counter(), step)

  def on_validation_end(self, learner):
    if not self.is_due(learner.step):  # otherwise on_step_end wrote them already
      val = {k: v for k, v in learner.logs.items() if k.startswith("val_")}
      self.writer.write_scalars(learner.step, val)

  def on_fit_end(self, learner):
    if self.writer is None:
      return
    if self._user_writer is None:
      self.writer.close()
      self.writer = None
    else:
      self.writer.flush()

  # -- helpers ---------------------------------------------------------------
  def _write_histograms(self, learner):
    # Recompiled only if the model or the loss terms change (model growth, new terms).
    run = learner.compile("tensorboard_grads", _params_and_grads, key=self)
    params, grads = jax.device_get(run(learner.data))
    arrays = {f"params/{k}": v for k, v in named_leaves(params).items()}
    arrays.update({f"grads/{k}": v for k, v in named_leaves(grads).items()})
    self.writer.write_histograms(learner.step, arrays)

  def _images(self, learner) -> dict:
    out = self.images(learner)
    if not isinstance(out, Mapping):
      raise TypeError(f"TensorBoard images(learner) must return a mapping name -> array;"
                      f" got {type(out).__name__}")
    return {name: _field_to_intensity(np.asarray(jax.device_get(a))) for name, a in out.items()}


def _params_and_grads(s, data):
  """The parameters and the gradient of the weighted loss (for ``learner.compile``)."""
  def loss(p):
    terms = s.term_losses(data, params=p)
    return sum(s.loss_weights[t] * v for t, v in terms.items())
  return s.params, jax.grad(loss)(s.params)


def named_leaves(tree) -> dict[str, np.ndarray]:
  """``{"layers/0/kernel": array, ...}``: readable paths of a params pytree."""
  out = {}
  for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
    keys = [str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path]
    if len(path) > 1 and isinstance(path[-1], jax.tree_util.GetAttrKey) and keys[-1] == "value":
      keys = keys[:-1]  # nnx.Param's own attribute adds nothing
    out["/".join(keys)] = leaf
  return out


def _field_to_intensity(arr: np.ndarray) -> np.ndarray:
  """A float single-channel field rescaled to [0, 1]; anything else unchanged."""
  if not np.issubdtype(arr.dtype, np.floating) or not (arr.ndim == 2 or arr.shape[-1] == 1):
    return arr
  finite = arr[np.isfinite(arr)]
  if finite.size == 0:
    return np.zeros_like(arr)
  lo, hi = finite.min(), finite.max()
  return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def default_hparams(learner) -> dict[str, Any]:
  """What identifies a run: model, size, problem, terms, seed, optimizer settings."""
  params = learner.state.params
  hp = {"model": type(learner.model).__name__,
        "num_params": int(sum(np.size(a) for a in jax.tree.leaves(params))),
        "problem": type(learner.problem).__name__,
        "loss_terms": ",".join(learner.term_names()),
        "seed": getattr(learner, "seed", 0)}
  for state in jax.tree.leaves(learner.state.opt_state,
                               is_leaf=lambda x: hasattr(x, "hyperparams")):
    for name, value in getattr(state, "hyperparams", {}).items():
      if isinstance(value, (jax.Array, np.ndarray, float, int)) and np.size(value) == 1:
        hp[f"optimizer.{name}"] = float(jnp.asarray(value))
  return hp
