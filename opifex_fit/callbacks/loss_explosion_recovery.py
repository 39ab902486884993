"""LossExplosionRecovery: roll back to the last good state, cut the LR, retry."""

from __future__ import annotations

import math
import warnings

from opifex_fit.callbacks.base import ORDER_GUARD, Callback, check_every
from opifex_fit.state import copy_tree, scalar

# Counters that keep moving forward through a rollback: the retry is charged to
# the step budget, so steps, epochs, History and checkpoints stay monotonic.
COUNTERS = ("step", "epoch", "batch_pos", "perm", "skipped")


class LossExplosionRecovery(Callback):
  """Undoes a diverging stretch of training and retries it more gently.

  At every check (every ``snapshot_every`` steps, or every chunk boundary when
  None) the chunk's mean ``loss`` is judged. It is bad when it is non-finite,
  larger than ``factor`` times the best loss of this fit, or when the chunk
  skipped non-finite updates (``learner.state.skipped`` grew). A good check
  keeps an on-device copy of the state as a candidate snapshot; the candidate
  becomes the *good* snapshot at the next good check (its own weights have
  then produced a good loss, so an explosion that began on a chunk's last
  update is never mistaken for good). A bad check rolls the whole training
  state (weights, other model state, optimizer state, loss weights, data, RNG)
  back to the good snapshot and sets ``lr_scale`` to the snapshot's times
  ``lr_factor ** retries``; the step counters keep counting. After
  ``max_retries`` bad checks in a row the fit stops with the good snapshot's
  weights (a Checkpoint callback then writes them at fit end) and a warning.

  It runs first (order -100) so every other callback sees the repaired state.
  Cost: one state copy per check (two are held), no extra host sync.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> guard = cb.LossExplosionRecovery(factor=10.0, max_retries=3, lr_factor=0.5,
    ...                                  snapshot_every=100)

  Args:
    factor: a loss above ``factor`` x the best loss so far is an explosion.
    max_retries: bad checks in a row before giving up.
    lr_factor: ``lr_scale`` multiplier per retry, in (0, 1].
    snapshot_every: check/snapshot cadence in steps (None: every chunk).
    verbose: print a line at each rollback.

  ``state_dict`` keeps the best loss and the retry counters; the snapshots
  themselves live on the device and are re-taken after a resume.
  """

  order = ORDER_GUARD

  def __init__(self, factor: float = 10.0, max_retries: int = 3, lr_factor: float = 0.5,
               snapshot_every: int | None = None, verbose: int = 1):
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 1:
      raise ValueError(f"factor must be a number > 1; got {factor!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
      raise ValueError(f"max_retries must be a non-negative int; got {max_retries!r}")
    if isinstance(lr_factor, bool) or not isinstance(lr_factor, (int, float)) \
        or not 0 < lr_factor <= 1:
      raise ValueError(f"lr_factor must be in (0, 1]; got {lr_factor!r}")
    self.factor, self.max_retries, self.lr_factor = float(factor), max_retries, float(lr_factor)
    self.every = check_every(snapshot_every, "snapshot_every")
    self.verbose = verbose
    self.best, self.retries, self.rollbacks = None, 0, 0
    self.stop_reason: str | None = None
    self._good = self._pending = self._learner = None

  def on_fit_begin(self, learner):
    self.best, self.retries, self.rollbacks, self.stop_reason = None, 0, 0, None
    self._learner, self._pending = learner, None
    self._snapshot_start()

  def _snapshot_start(self):
    # The state the fit starts from is the first good snapshot.
    learner = self._learner
    self._good, self._good_step = copy_tree(learner.state), learner.step
    self._skipped_seen = int(learner.state.skipped)

  def on_step_end(self, learner):
    loss = learner.logs.get("loss", math.nan)
    skipped = int(learner.logs.get("skipped_updates", self._skipped_seen))
    reason = self._judge(loss, skipped - self._skipped_seen)
    self._skipped_seen = skipped
    if reason is None:
      self.best = loss if self.best is None else min(self.best, loss)
      if self._pending is not None:  # its weights just produced a good loss
        self._good, self._good_step = self._pending
      self._pending = (copy_tree(learner.state), learner.step)
      self.retries = 0
      return
    self._pending = None  # taken just before the bad chunk: not trusted
    self.retries += 1
    if self.retries > self.max_retries:
      self._give_up(learner, reason)
      return
    scale = float(self._good.lr_scale) * self.lr_factor ** self.retries
    self._roll_back(learner, scale)
    self.rollbacks += 1
    if self.verbose:
      print(f"LossExplosionRecovery: {reason} at step {learner.step}; rolled back to the "
            f"state of step {self._good_step}, lr_scale -> {scale:.3g} "
            f"(retry {self.retries}/{self.max_retries})")

  def _judge(self, loss: float, new_skips: int) -> str | None:
    if not math.isfinite(loss):
      return f"loss={loss}"
    if new_skips > 0:
      return f"{new_skips} non-finite update(s) skipped"
    if self.best is not None and loss > self.factor * self.best:
      return f"loss={loss:.4g} > {self.factor:g} x best {self.best:.4g}"
    return None

  def _roll_back(self, learner, lr_scale: float | None = None):
    now = learner.state
    # A copy: the good snapshot must survive the donation of the next chunk.
    state = copy_tree(self._good).replace(**{f: getattr(now, f) for f in COUNTERS})
    if lr_scale is not None:
      state = state.replace(lr_scale=scalar(lr_scale, state.lr_scale.dtype))
    learner.state = state

  def _give_up(self, learner, reason: str):
    self._roll_back(learner)
    learner.stop_training = True
    self.stop_reason = (
        f"LossExplosionRecovery: training diverged {self.max_retries + 1} times in a row "
        f"(last: {reason} at step {learner.step}); stopped with the last good weights, "
        f"those of step {self._good_step}")
    warnings.warn(self.stop_reason, RuntimeWarning, stacklevel=2)

  def on_fit_end(self, learner):
    self._good = self._pending = self._learner = None  # free the device copies

  def state_dict(self):
    return {"best": self.best, "retries": self.retries, "rollbacks": self.rollbacks}

  def load_state_dict(self, state):
    self.best = None if state["best"] is None else float(state["best"])
    self.retries, self.rollbacks = int(state["retries"]), int(state["rollbacks"])
    if getattr(self, "_learner", None) is not None:
      # Loaded by a Checkpoint resume, which has just replaced learner.state:
      # the restored state, not the one on_fit_begin saw, is where the fit starts.
      self._snapshot_start()
