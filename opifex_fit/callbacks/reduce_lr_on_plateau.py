"""ReduceLROnPlateau: cut ``lr_scale`` when a monitored value stops improving."""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from opifex_fit.callbacks.base import ORDER_LR_CONTROL, check_every, status_field
from opifex_fit.callbacks._monitor import MonitorCallback

_log = logging.getLogger(__name__)


@dataclasses.dataclass
class PlateauState:
  """What ``state_dict`` holds: the checks without improvement, the cooldown
  checks left and the best monitored value."""

  wait: int = 0
  cooldown_counter: int = 0
  best: float | None = None


class ReduceLROnPlateau(MonitorCallback):
  """Multiplies ``learner.lr_scale`` by ``factor`` after a plateau (Keras).

  At each check: during cooldown the counter ticks down and ``wait`` is reset;
  a value better than the best by more than ``min_delta`` becomes the best
  and resets ``wait``; otherwise, out of cooldown, ``wait`` grows, and when it
  reaches ``patience`` the scale becomes ``max(lr_scale * factor,
  min_lr_scale)`` (only if it is above ``min_lr_scale``), ``wait`` resets and
  the cooldown counter is set to ``cooldown``. Exactly as Keras, the counter
  drops by one at the start of each check and a check counts towards ``wait``
  only once it is back at zero, so ``cooldown=c`` leaves ``c - 1`` checks
  uncounted. NaN never improves.

  It acts through ``lr_scale``, the multiplier on every update, so an optax
  schedule inside the optimizer keeps its own course and the two compose:
  the effective step is ``schedule(step) * lr_scale``. Changing the scale does
  not recompile.

  Gradient clipping and weight decay stay optax's:
  ``optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))`` clips the
  gradient before Adam, and ``optax.adamw(1e-3, weight_decay=1e-4)`` decays the
  weights decoupled from the gradient. ``lr_scale`` multiplies the final update
  of the whole transformation, so this callback scales the clipped step and the
  decay alike, also through ``optax.inject_hyperparams`` (whose own
  ``learning_rate`` it leaves as it is).

  Checks happen, as for EarlyStopping, after each validation for ``val_*``
  monitors, at each epoch end for training metrics (each chunk for full-batch
  data), or every ``every`` steps if given.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> plateau = cb.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
    ...                                patience=5, cooldown=2, min_lr_scale=1e-3)
    >>> # learner.fit(data, steps=20_000, validation_data=val, callbacks=[plateau])

  Args:
    monitor: the logged name to watch (checked against the logs at fit start).
    factor: multiplier in (0, 1) applied on a plateau.
    patience: checks without improvement before reducing.
    min_lr_scale: the scale never goes below this.
    mode: "min", "max" or "auto" (from the name).
    min_delta: the smallest change that counts as an improvement.
    cooldown: the cooldown counter set at each reduction (see above).
    every: check every this many steps instead of at validation/epoch ends.
    verbose: print a line at each reduction.
  """

  order = ORDER_LR_CONTROL

  def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
               min_lr_scale: float = 0.0, *, mode: str = "auto", min_delta: float = 1e-4,
               cooldown: int = 0, every: int | None = None, verbose: int = 0):
    super().__init__(monitor, mode, min_delta)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
      raise ValueError(f"factor must be a number in (0, 1) (ReduceLROnPlateau only"
                       f" reduces); got {factor!r}")
    for name, value in (("patience", patience), ("cooldown", cooldown)):
      if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int; got {value!r}")
    if isinstance(min_lr_scale, bool) or not isinstance(min_lr_scale, (int, float)) \
        or not (math.isfinite(min_lr_scale) and min_lr_scale >= 0):
      raise ValueError(f"min_lr_scale must be a finite number >= 0; got {min_lr_scale!r}")
    self.factor, self.patience, self.cooldown = float(factor), patience, cooldown
    self.min_lr_scale, self.verbose = float(min_lr_scale), verbose
    self.every = check_every(every)
    self._reset()

  # The fields of ``status`` (a ``PlateauState``, what ``state_dict`` holds) as attributes.
  wait = status_field("wait")
  cooldown_counter = status_field("cooldown_counter")
  best = status_field("best")

  def _reset(self):
    self.status = PlateauState()

  def on_fit_begin(self, learner):
    self._reset()

  def check(self, learner) -> None:
    """One Keras ``on_epoch_end`` step on ``learner.logs[monitor]``."""
    current = self.current(learner)
    if current is None:
      return
    if self.cooldown_counter > 0:
      self.cooldown_counter -= 1
      self.wait = 0
    if not math.isnan(current) and self.is_improvement(current, self.best):
      self.best, self.wait = current, 0
    elif self.cooldown_counter == 0:
      self.wait += 1
      if self.wait >= self.patience:
        old = learner.lr_scale
        # float32 comparison as Keras: a scale stored at the floor counts as there.
        if np.float32(old) > np.float32(self.min_lr_scale):
          new = max(old * self.factor, self.min_lr_scale)
          learner.lr_scale = new
          self.cooldown_counter, self.wait = self.cooldown, 0
          msg = (f"ReduceLROnPlateau: {self.monitor} has not improved for {self.patience}"
                 f" checks; lr_scale {old:.4g} -> {new:.4g} at step {learner.step}")
          _log.info(msg)
          if self.verbose:
            print(msg)
