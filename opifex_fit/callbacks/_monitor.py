"""MonitorCallback: the shared base of callbacks that watch one logged value."""

from __future__ import annotations

import math

from opifex_fit.callbacks.base import Callback

MODES = ("auto", "min", "max")


class MonitorCallback(Callback):
  """Watches ``learner.logs[monitor]``; knows which direction is better.

  ``mode="auto"`` means "max" for names containing ``acc``/``auc`` or starting
  with ``fmeasure`` (as Keras), "min" otherwise (losses, errors). The learner
  checks ``monitor`` against the logged names when the fit starts.

  Example (a monitor that keeps the best value it saw):
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> class Best(cb.MonitorCallback):
    ...   every, best = 10, None
    ...   def check(self, learner):
    ...     if self.is_improvement(self.current(learner), self.best):
    ...       self.best = self.current(learner)
    >>> x = np.linspace(-1, 1, 32)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
    ...                      optax.adam(1e-2))
    >>> best = Best("loss")
    >>> _ = learner.fit((x, x ** 2), steps=50, verbose=0, callbacks=[best])
    >>> best.best == min(learner.history.loss)
    True
  """

  def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0):
    if not isinstance(monitor, str) or not monitor:
      raise ValueError(f"monitor must be a metric name such as 'val_loss'; got {monitor!r}")
    if mode not in MODES:
      raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if not isinstance(min_delta, (int, float)) or not math.isfinite(min_delta):
      raise ValueError(f"min_delta must be a finite number; got {min_delta!r}")
    self.monitor = monitor
    if mode == "auto":
      name = monitor.lower()
      mode = "max" if ("acc" in name or "auc" in name or name.startswith("fmeasure")) else "min"
    self.mode = mode
    self.min_delta = abs(float(min_delta))

  # A check happens after each validation for val_* monitors, at each epoch
  # end for training metrics, or every ``every`` steps when that is set.
  def on_step_end(self, learner):
    if self.every is not None:
      self.check(learner)

  def on_validation_end(self, learner):
    if self.every is None and self.monitor.startswith("val_"):
      self.check(learner)

  def on_epoch_end(self, learner):
    if self.every is None and not self.monitor.startswith("val_"):
      self.check(learner)

  def check(self, learner) -> None:
    """One look at the monitored value; subclasses decide what it means."""
    raise NotImplementedError

  def is_improvement(self, value: float, reference: float | None) -> bool:
    """``value`` beats ``reference`` by more than ``min_delta``."""
    if reference is None:
      return True
    if self.mode == "min":
      return value < reference - self.min_delta
    return value > reference + self.min_delta

  def current(self, learner) -> float | None:
    value = learner.logs.get(self.monitor)
    return None if value is None else float(value)
