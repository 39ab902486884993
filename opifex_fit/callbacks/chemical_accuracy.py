"""ChemicalAccuracy: stop when a potential-energy surface is chemically accurate."""

from __future__ import annotations

import dataclasses
import math

from opifex_fit import validators
from opifex_fit.callbacks.base import ORDER_EARLY_STOPPING, check_every, status_field
from opifex_fit.callbacks._monitor import MonitorCallback
from opifex_fit.problems.energy_forces import CHEMICAL_ACCURACY


@dataclasses.dataclass
class ChemicalAccuracyState:
  """What survives a checkpoint (``state_dict``): the target, the step it was
  first met (or None), the best monitored value so far and the number of checks."""
  target: float
  reached_step: int | None = None
  best: float | None = None
  checks: int = 0


class ChemicalAccuracy(MonitorCallback):
  """Stops training once ``monitor`` is at or below ``target``.

  The default target is 1 kcal/mol in Hartree (1.594e-3), the usual meaning
  of chemical accuracy, watched on ``val_energy_mae`` of ``of.EnergyForces``
  (for force targets, watch ``val_force_mae``). The first step at which the
  target is met is kept in ``reached_step``, logged as
  ``chemical_accuracy_step`` (in ``learner.logs`` and the History record of
  that step) and saved in checkpoints: a run resumed after reaching the
  same target stops again at its first check (one chunk later) and keeps the
  original step; a different target starts a new search. With
  ``stop=False`` it only records. A check happens at every chunk boundary
  where the monitored value was just computed (after each validation for
  ``val_*`` monitors), or only every ``every`` steps if given. It runs in
  ``on_step_end``, where the validation logs are already present and before
  ``cb.Checkpoint`` saves, so the checkpoint of the step that reached the
  target records it.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> stopper = cb.ChemicalAccuracy()            # 1 kcal/mol on val_energy_mae
    >>> round(stopper.target, 6)
    0.001594

  Args:
    target: the value to reach, in the monitored metric's units.
    monitor: a logged name, e.g. ``val_energy_mae`` or ``val_force_mae_kcal``.
    stop: stop training when the target is reached (else only record it).
    every: check every this many steps instead of at validation/epoch ends.
    verbose: print a line when the target is reached.
  """

  order = ORDER_EARLY_STOPPING

  def __init__(self, target: float = CHEMICAL_ACCURACY, monitor: str = "val_energy_mae",
               *, stop: bool = True, every=None, verbose: int = 0):
    super().__init__(monitor, mode="min")
    if isinstance(target, bool) or not isinstance(target, (int, float)) \
        or not math.isfinite(target) or target <= 0:
      raise ValueError(f"target must be a finite positive number (e.g. 1.594e-3 Hartree);"
                       f" got {target!r}")
    validators.check_bool(stop, "stop")
    self.target, self.stop, self.verbose = float(target), stop, verbose
    self.every = check_every(every)
    self.status = ChemicalAccuracyState(self.target)

  reached_step = status_field("reached_step")

  def on_fit_begin(self, learner):
    self.status = ChemicalAccuracyState(self.target)  # a Checkpoint (later order) may restore it

  def on_step_end(self, learner):
    self.check(learner)

  def on_validation_end(self, learner):
    pass  # checked in on_step_end, before a checkpoint of this step is saved

  def on_epoch_end(self, learner):
    pass

  def log_names(self, learner):
    return ("chemical_accuracy_step",)

  def check(self, learner):
    current = self.current(learner)
    if current is None:
      return
    s = self.status
    s.checks += 1
    s.best = s.best if math.isnan(current) else min(current, s.best if s.best is not None else current)
    if s.reached_step is None and current <= self.target:
      s.reached_step = int(learner.step)
      entry = {"chemical_accuracy_step": float(learner.step)}
      learner.logs.update(entry)
      learner.history.record(learner.step, entry)  # joins the record of this step
      if self.verbose:
        print(f"ChemicalAccuracy: {self.monitor} = {current:.4g} <= {self.target:.4g} "
              f"at step {learner.step}")
    if self.stop and s.reached_step is not None:
      learner.stop_training = True

  def load_state_dict(self, state):
    super().load_state_dict(state)  # the status fields
    if float(self.status.target) != self.target:
      # A new target is a new search; the best value still holds.
      self.status.target, self.status.reached_step = self.target, None
