"""EarlyStopping: stop when a monitored value has stopped improving."""

from __future__ import annotations

import math

from opifex_fit.callbacks.base import ORDER_EARLY_STOPPING, check_every
from opifex_fit.callbacks.monitor import MonitorCallback
from opifex_fit.state import copy_tree


class EarlyStopping(MonitorCallback):
  """Stops training when ``monitor`` has not improved for ``patience`` checks.

  Keras semantics: a check improves when it beats the best value by more than
  ``min_delta``; ``wait`` resets only when it also beats ``baseline`` (if
  given); training stops once ``wait >= patience``, never at the first check.
  With ``restore_best_weights`` the weights of the best check are put back at
  the end of the fit, whether or not it stopped early.

  A check happens after each validation for ``val_*`` monitors, at each epoch
  end for training metrics (once per chunk for full-batch data), or every
  ``every`` steps if given. The stop takes effect at the chunk boundary.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> stopper = cb.EarlyStopping(monitor="val_loss", patience=5,
    ...                            restore_best_weights=True)

  Args:
    monitor: the logged name to watch (checked against the logs at fit start).
    patience: checks without improvement before stopping.
    min_delta: the smallest change that counts as an improvement.
    mode: "min", "max" or "auto" (from the name).
    baseline: a value to beat; until it is beaten, ``wait`` keeps growing.
    restore_best_weights: restore the best check's weights at fit end.
    start_from_step: no check before this global step (warm-up).
    every: check every this many steps instead of at validation/epoch ends.
    verbose: print a line when stopping and restoring.

  ``state_dict`` keeps ``wait``, ``best`` and the step counters, so they survive
  a checkpoint resume; the best weights themselves live on the device and are
  re-captured after a resume at the next improvement.
  """

  order = ORDER_EARLY_STOPPING

  def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
               mode: str = "auto", baseline: float | None = None,
               restore_best_weights: bool = False, start_from_step: int = 0, *, every=None,
               verbose: int = 0):
    super().__init__(monitor, mode, min_delta)
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
      raise ValueError(f"patience must be a non-negative int; got {patience!r}")
    if baseline is not None and not (isinstance(baseline, (int, float)) and math.isfinite(baseline)):
      raise ValueError(f"baseline must be a finite number or None; got {baseline!r}")
    if isinstance(start_from_step, bool) or not isinstance(start_from_step, int) \
        or start_from_step < 0:
      raise ValueError(f"start_from_step must be a non-negative int; got {start_from_step!r}")
    self.patience, self.baseline, self.verbose = patience, baseline, verbose
    self.restore_best_weights, self.start_from_step = restore_best_weights, start_from_step
    self.every = check_every(every)
    self._reset()

  def _reset(self):
    self.wait, self.checks, self.best, self.best_step, self.stopped_step = 0, 0, None, 0, 0
    self.best_weights = None

  def on_fit_begin(self, learner):
    self._reset()

  def check(self, learner):
    current = self.current(learner)
    if current is None or learner.step < self.start_from_step:
      return
    self.checks += 1
    if self.restore_best_weights and self.best_weights is None:
      self._capture(learner)  # the current weights are the best seen so far
    self.wait += 1
    if not math.isnan(current) and self.is_improvement(current, self.best):
      self.best, self.best_step = current, learner.step
      if self.restore_best_weights:
        self._capture(learner)
      if self.baseline is None or self.is_improvement(current, self.baseline):
        self.wait = 0
      return
    if self.wait >= self.patience and self.checks > 1:
      self.stopped_step = learner.step
      learner.stop_training = True
      if self.verbose:
        print(f"EarlyStopping: {self.monitor} did not improve for {self.wait} checks;"
              f" stopping at step {learner.step} (best {self.best} at step {self.best_step})")

  def _capture(self, learner):
    self.best_weights = copy_tree((learner.state.params, learner.state.rest))
    self.best_step = learner.step

  def on_fit_end(self, learner):
    if self.restore_best_weights and self.best_weights is not None:
      params, rest = self.best_weights
      learner.state = learner.state.replace(params=params, rest=rest)
      if self.verbose:
        print(f"EarlyStopping: restored the weights of step {self.best_step}")
    self.best_weights = None

  def state_dict(self):
    return {"wait": self.wait, "checks": self.checks, "best": self.best,
            "best_step": self.best_step, "stopped_step": self.stopped_step}

  def load_state_dict(self, state):
    self.wait, self.checks = int(state["wait"]), int(state["checks"])
    self.best = None if state["best"] is None else float(state["best"])
    self.best_step, self.stopped_step = int(state["best_step"]), int(state["stopped_step"])
