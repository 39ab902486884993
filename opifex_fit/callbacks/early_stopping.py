"""EarlyStopping: stop when a monitored value has stopped improving."""

from __future__ import annotations

import dataclasses
import math

from opifex_fit.callbacks.base import ORDER_EARLY_STOPPING, check_every, status_field
from opifex_fit.callbacks._monitor import MonitorCallback
from opifex_fit.engine.state import copy_tree


@dataclasses.dataclass
class StoppingState:
  """The host part of EarlyStopping's state: what ``state_dict`` holds."""

  wait: int = 0
  checks: int = 0
  best: float | None = None
  best_step: int = 0
  stopped_step: int = 0


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

  State: ``status`` (a ``StoppingState``: ``wait``, ``checks``, ``best``,
  ``best_step``, ``stopped_step``) is what ``state_dict`` returns; the best
  weights are ``device_state()`` (arrays), which ``Checkpoint`` writes next to
  the TrainState, so a resumed fit restores exactly the weights an
  uninterrupted one would.

  Checkpoints and the end of the fit: the weights go back at ``on_fit_end``,
  after the final checkpoint was written (Checkpoint saves at the last chunk
  boundary, also after an early stop). The final checkpoint thus holds the
  training state of the last step, from which a resumed fit continues, plus
  the best weights in this callback's device state; ``learner.model`` after
  ``fit`` holds the best weights (Keras).
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

  # The fields of ``status`` as attributes.
  wait = status_field("wait")
  checks = status_field("checks")
  best = status_field("best")
  best_step = status_field("best_step")
  stopped_step = status_field("stopped_step")

  def _reset(self):
    self.status, self.best_weights = StoppingState(), None

  def on_fit_begin(self, learner):
    self._reset()

  def check(self, learner):
    current, status = self.current(learner), self.status
    if current is None or learner.step < self.start_from_step:
      return
    status.checks += 1
    if self.restore_best_weights and self.best_weights is None:
      self._capture(learner)  # the current weights are the best seen so far
    status.wait += 1
    if not math.isnan(current) and self.is_improvement(current, status.best):
      status.best, status.best_step = current, learner.step
      if self.restore_best_weights:
        self._capture(learner)
      if self.baseline is None or self.is_improvement(current, self.baseline):
        status.wait = 0
      return
    if status.wait >= self.patience and status.checks > 1:
      status.stopped_step = learner.step
      learner.stop_training = True
      if self.verbose:
        print(f"EarlyStopping: {self.monitor} did not improve for {status.wait} checks;"
              f" stopping at step {learner.step} (best {status.best} at step {status.best_step})")

  def _capture(self, learner):
    self.best_weights = copy_tree({"params": learner.state.params, "rest": learner.state.rest})
    self.status.best_step = learner.step

  def on_fit_end(self, learner):
    if self.restore_best_weights and self.best_weights is not None:
      learner.state = learner.state.replace(**copy_tree(self.best_weights))
      if self.verbose:
        print(f"EarlyStopping: restored the weights of step {self.best_step}")

  # -- device state: the best weights, saved by Checkpoint ----------------------------
  def device_state(self):
    return self.best_weights

  def device_state_like(self, learner):
    if not self.restore_best_weights:
      return None
    return {"params": learner.state.params, "rest": learner.state.rest}

  def load_device_state(self, tree):
    self.best_weights = copy_tree(tree)
