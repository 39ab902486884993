"""LossExplosionRecovery: roll back to the last good state, cut the LR, retry."""

from __future__ import annotations

import dataclasses
import math
import warnings

from opifex_fit.engine import snapshots
from opifex_fit.callbacks.base import ORDER_GUARD, Callback, check_every, status_field
from opifex_fit.engine.state import scalar

# Counters that keep moving forward through a rollback: the retry is charged to
# the step budget, so steps, epochs, History and checkpoints stay monotonic.
COUNTERS = ("step", "epoch", "batch_pos", "perm", "skipped")
# A term's jump counts when it adds more than this share of the summed best
# losses: a term near zero that wobbles by 10x changes nothing.
SIGNIFICANT = 0.01


@dataclasses.dataclass
class RecoveryState:
  """What ``state_dict`` holds: the best judged losses and the counters."""

  best: float | None = None            # of the unweighted sum
  best_terms: dict | None = None       # "<term>_loss" -> its own best
  retries: int = 0
  rollbacks: int = 0


class LossExplosionRecovery(Callback):
  """Undoes a diverging stretch of training and retries it more gently.

  At every check (every ``snapshot_every`` steps, or every chunk boundary when
  None) the chunk's *unweighted* losses, its ``<term>_loss`` logs, are
  judged, so loss weights moved by GradNorm or LRAnnealing never count as an
  explosion. It is bad when the sum is non-finite or larger than ``factor``
  times its best of this fit, when one term is larger than ``factor`` times
  its own best (and the jump is over 1% of the summed bests: a term near zero
  may wobble), or when the chunk skipped non-finite updates. Each term is
  judged on its own, so a large term (a ``WeightPenalty``'s ``l2_loss`` of
  100) cannot hide a 10^4x jump of a small one. A good
  check keeps an on-device copy of the state as a candidate snapshot; the
  candidate is *promoted* to the good snapshot at the next good check (its own
  weights have then produced a good loss, so an explosion that began on a
  chunk's last update is never mistaken for good). A bad check rolls the
  training state (weights, other model state, optimizer state, loss weights,
  data, RNG) back to the good snapshot and sets ``lr_scale`` to the
  snapshot's times ``lr_factor ** retries``; the step counters keep counting.

  ``retries`` counts the rollbacks since the last promotion: it resets only
  when a new snapshot is promoted, so the lr cut compounds over retries that
  fail again (a good check right after a rollback does not reset it). Once
  ``retries`` would exceed ``max_retries``, the fit stops with the good
  snapshot's weights (a Checkpoint then writes them at fit end) and a warning.

  Snapshots know their structure (``opifex_fit.engine.snapshots``). When the state's
  structure changed since the good snapshot (an optimizer switch, a new loss
  term, resized data: e.g. SwitchOptimizer, Conservation's penalty, RARD's
  buffer), a good check re-takes the snapshot at once (and the best loss
  starts over from its loss); a bad one restores only the fields that still
  match (another optimizer starts from its fresh state) and then re-takes it.
  A mismatched snapshot is never put back whole.

  A check right after the training points were replaced (RAD/RARD
  resampling, ``learner.data = ...``: ``learner.data_version`` changed) does
  not compare with the best loss: a finite loss on other points becomes the
  new reference (non-finite losses and skipped updates still roll back).

  It runs first (order -100) so every other callback sees the repaired state.
  Cost: one state copy per check (two are held), no extra host sync.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> guard = cb.LossExplosionRecovery(factor=10.0, max_retries=3, lr_factor=0.5,
    ...                                  snapshot_every=100)

  Args:
    factor: an unweighted loss above ``factor`` x the best so far is an explosion.
    max_retries: rollbacks without a promoted snapshot before giving up.
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
    self.status = RecoveryState()
    self.stop_reason: str | None = None
    self._good = self._pending = self._learner = None

  # The fields of ``status`` as attributes.
  best = status_field("best")
  best_terms = status_field("best_terms")
  retries = status_field("retries")
  rollbacks = status_field("rollbacks")

  def on_fit_begin(self, learner):
    self.status, self.stop_reason = RecoveryState(), None
    self._learner = learner
    self._snapshot_start()

  def _snapshot_start(self):
    # The state the fit starts from is the first good snapshot.
    learner = self._learner
    self._good, self._pending = snapshots.take(learner), None
    self._skipped_seen = int(learner.state.skipped)
    self._data_seen = learner.data_version

  def on_step_end(self, learner):
    loss, terms = unweighted_loss(learner), term_losses(learner)
    skipped = int(learner.logs.get("skipped_updates", self._skipped_seen))
    new_points, self._data_seen = learner.data_version != self._data_seen, learner.data_version
    if new_points and math.isfinite(loss) and skipped == self._skipped_seen:
      # The points changed since the last check (RAD/RARD resampling, a new
      # learner.data): a finite loss on other points is the new reference,
      # not a verdict on the weights (non-finite ones are still judged).
      self._good, self._pending = snapshots.take(learner), None
      self.status.best, self.status.best_terms = loss, terms
      return
    reason = self._judge(loss, terms, skipped - self._skipped_seen)
    self._skipped_seen = skipped
    if reason is None:
      self._good_check(learner, loss, terms)
      return
    self._pending = None  # taken just before the bad chunk: not trusted
    self.status.retries += 1
    if self.status.retries > self.max_retries:
      self._give_up(learner, reason)
      return
    scale = float(self._good.state.lr_scale) * self.lr_factor ** self.status.retries
    self._roll_back(learner, scale)
    self.status.rollbacks += 1
    if self.verbose:
      print(f"LossExplosionRecovery: {reason} at step {learner.step}; rolled back to the "
            f"state of step {self._good.step}, lr_scale -> {scale:.3g} "
            f"(retry {self.status.retries}/{self.max_retries})")

  def _good_check(self, learner, loss: float, terms: dict):
    status = self.status
    if snapshots.stale_fields(self._good, learner):
      # The structure changed (optimizer, loss terms, data): start over from
      # here, and judge against losses of the new structure only.
      self._good, self._pending = snapshots.take(learner), None
      status.best, status.best_terms = loss, terms
      return
    status.best = loss if status.best is None else min(status.best, loss)
    bests = status.best_terms or {}
    status.best_terms = {t: min(v, bests.get(t, v)) for t, v in terms.items()}
    if self._pending is not None:  # its weights just produced a good loss
      self._good, status.retries = self._pending, 0
    self._pending = snapshots.take(learner)

  def _judge(self, loss: float, terms: dict, new_skips: int) -> str | None:
    if not math.isfinite(loss):
      return f"loss={loss}"
    if new_skips > 0:
      return f"{new_skips} non-finite update(s) skipped"
    best = self.status.best
    if best is not None and loss > self.factor * best:
      return f"unweighted loss={loss:.4g} > {self.factor:g} x best {best:.4g}"
    bests = self.status.best_terms or {}
    floor = SIGNIFICANT * sum(bests.values())
    for name, value in terms.items():
      ref = bests.get(name)
      if ref is not None and value > self.factor * ref and value - ref > floor:
        return f"{name}={value:.4g} > {self.factor:g} x its best {ref:.4g}"
    return None

  def _roll_back(self, learner, lr_scale: float | None = None):
    extra = {} if lr_scale is None else \
        {"lr_scale": scalar(lr_scale, self._good.state.lr_scale.dtype)}
    old = self._good
    restored = snapshots.restore(learner, old, keep=COUNTERS, **extra)
    self._data_seen = learner.data_version  # its own restore is no new data
    if restored:
      # What was put back has the current structure: snapshot it, with the old
      # snapshot's step and lr_scale (the lr cut is applied relative to those).
      new = snapshots.take(learner)
      self._good = new._replace(step=old.step,
                                state=new.state.replace(lr_scale=old.state.lr_scale))

  def _give_up(self, learner, reason: str):
    self._roll_back(learner)
    learner.stop_training = True
    self.stop_reason = (
        f"LossExplosionRecovery: training diverged {self.max_retries + 1} times without a "
        f"good stretch in between (last: {reason} at step {learner.step}); stopped with the "
        f"last good weights, those of step {self._good.step}")
    warnings.warn(self.stop_reason, RuntimeWarning, stacklevel=2)

  def on_fit_end(self, learner):
    self._good = self._pending = self._learner = None  # free the device copies

  def load_state_dict(self, state):
    super().load_state_dict(state)  # the status fields
    if getattr(self, "_learner", None) is not None:
      # Loaded by a Checkpoint resume, which has just replaced learner.state:
      # the restored state, not the one on_fit_begin saw, is where the fit starts.
      self._snapshot_start()


def term_losses(learner) -> dict:
  """The chunk's ``<term>_loss`` logs (empty if one is missing)."""
  names = [f"{t}_loss" for t in learner.term_names()]
  if any(n not in learner.logs for n in names):
    return {}
  return {n: float(learner.logs[n]) for n in names}


def unweighted_loss(learner) -> float:
  """The sum of the chunk's ``<term>_loss`` logs (``loss`` if one is missing)."""
  terms = term_losses(learner)
  return float(sum(terms.values())) if terms else float(learner.logs.get("loss", math.nan))
